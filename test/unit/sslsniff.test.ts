// sslsniff: redaction of credentials, BCC's hexdump and data block layout,
// --extra-lib parsing, and BCC's --no-X flags parsed as flags.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from '../../lib/cli.js';
import { SSL_RW } from '../../lib/gen/sslsniff.js';
import spec, { eventBlock, hexdump, parseExtraLib, payload, redact } from '../../tools/sslsniff.js';

test('redact: header values, form fields and JSON members; the rest untouched', () => {
	const req = [
		'POST /login?token=abc123&page=2 HTTP/1.1',
		'Host: example.com',
		'authorization: Basic dXNlcjpwYXNz',
		'Proxy-Authorization: Bearer xyz',
		'Cookie: sid=1; theme=dark',
		'X-Cookie-Count: 3',
		'',
		'user=me&password=hunter2&remember=1',
	].join('\r\n');
	assert.equal(redact(req), [
		'POST /login?token=[REDACTED]&page=2 HTTP/1.1',
		'Host: example.com',
		'authorization: [REDACTED]',
		'Proxy-Authorization: [REDACTED]',
		'Cookie: [REDACTED]',
		'X-Cookie-Count: 3',
		'',
		'user=me&password=[REDACTED]&remember=1',
	].join('\r\n'));
	assert.equal(redact('HTTP/1.1 200 OK\r\nSet-Cookie: a=b; HttpOnly\r\n\r\n'), 'HTTP/1.1 200 OK\r\nSet-Cookie: [REDACTED]\r\n\r\n');
	assert.equal(redact('{"user":"me","password":"p\\"w","api_key": "k1","n":1}'), '{"user":"me","password":"[REDACTED]","api_key": "[REDACTED]","n":1}');
	assert.equal(redact('client_secret=s&access_token=t'), 'client_secret=[REDACTED]&access_token=[REDACTED]');
	assert.equal(redact('user_password=a&db-pwd=b&tokens=3'), 'user_password=[REDACTED]&db-pwd=[REDACTED]&tokens=3');
	assert.equal(redact('{"pwd":"x","token": 12345,"refresh_token":null}'), '{"pwd":"[REDACTED]","token": "[REDACTED]","refresh_token":"[REDACTED]"}');
	// empty values and look-alikes stay
	assert.equal(redact('password=&passwordless=1\r\nCookie:\r\n'), 'password=&passwordless=1\r\nCookie:\r\n');
	assert.equal(redact('GET /tokens HTTP/1.1'), 'GET /tokens HTTP/1.1');
});

test('payload: UTF-8 with replacement, hex 32 digits a line, redaction in both unless turned off', () => {
	const bytes = Buffer.concat([Buffer.from('Cookie: x=1\r\n'), Buffer.from([0xff, 0x41])]);
	assert.equal(payload(bytes, { hex: false, redact: true }), 'Cookie: [REDACTED]\r\n\ufffdA');
	assert.equal(payload(bytes, { hex: false, redact: false }), 'Cookie: x=1\r\n\ufffdA');
	assert.equal(hexdump(Buffer.from('0123456789abcdefXYZ')), '30313233343536373839616263646566\n58595a');
	const hex = payload(bytes, { hex: true, redact: true });
	assert.equal(Buffer.from(hex.replace(/\n/g, ''), 'hex').toString('latin1'), 'Cookie: [REDACTED]\r\n\xffA');
	assert.equal(hexdump(new Uint8Array(0)), '');
});

test('event block: BCC markers, truncation with the bytes lost, handshakes without data', () => {
	assert.deepEqual(eventBlock('ROW', { rw: SSL_RW.RW_WRITE, len: 5, buf_filled: 5 }, 'hello'), ['ROW', '----- DATA -----', 'hello', '----- END DATA -----', '']);
	assert.deepEqual(eventBlock('ROW', { rw: SSL_RW.RW_READ, len: 100, buf_filled: 20 }, 'x'), ['ROW', '----- DATA -----', 'x', '----- END DATA (TRUNCATED, 80 bytes lost) -----', '']);
	assert.deepEqual(eventBlock('ROW', { rw: SSL_RW.RW_HANDSHAKE, len: 1, buf_filled: 0 }, ''), ['ROW']);
});

test('--extra-lib TYPE:PATH', () => {
	assert.deepEqual(parseExtraLib('openssl:/opt/lib/libssl.so.1.1'), { type: 'openssl', path: '/opt/lib/libssl.so.1.1' });
	assert.deepEqual(parseExtraLib('nss:/usr/lib/libnspr4.so'), { type: 'nss', path: '/usr/lib/libnspr4.so' });
	for (const bad of ['openssl', 'wolfssl:/x', ':/x', 'gnutls:']) assert.throws(() => parseExtraLib(bad), /TYPE:PATH/);
});

test('--no-openssl, --no-gnutls, --no-nss are flags (as -o -g -n), --no-redact negates --redact', () => {
	const a = parse(spec, ['--no-openssl', '-g', '--no-redact']);
	assert.equal(a.noOpenssl, true);
	assert.equal(a.noGnutls, true);
	assert.equal(a.noNss, undefined);
	assert.equal(a.redact, false);
	assert.equal(parse(spec, []).redact, true);
});
