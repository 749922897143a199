// httptrace: HTTP/1.x message parsing (several in one buffer), traceparent,
// filters, and the pairing of requests and responses per connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP_DIR } from '../../lib/gen/httptrace.js';
import type { HttpEvent } from '../../lib/gen/httptrace.js';
import { Pairer, parseMessage, parsePorts, parseStatusFilter, parseTraceparent, pathOf, splitMessages } from '../../tools/httptrace.js';
import type { Exchange } from '../../tools/httptrace.js';

test('messages: request and status lines with their headers; anything else is not a message', () => {
	assert.deepEqual(parseMessage('GET /a?b=1 HTTP/1.1\r\nHost: x:80\r\nTraceParent: 00-a-b-01\r\n\r\n'), {
		kind: 'request', method: 'GET', target: '/a?b=1', version: 'HTTP/1.1', headers: { host: 'x:80', traceparent: '00-a-b-01' },
	});
	assert.deepEqual(parseMessage('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), { kind: 'response', version: 'HTTP/1.1', status: 404, headers: { 'content-length': '0' } });
	assert.equal(parseMessage('HTTP/1.1 200')?.status, 200);
	assert.equal(parseMessage('get / HTTP/1.1\r\n'), undefined);
	assert.equal(parseMessage('GET /\r\n'), undefined);
	assert.equal(parseMessage('POST /x HTTP/2\r\n')?.version, 'HTTP/2');
	assert.equal(parseMessage('hello world'), undefined);
});

test('several messages in one buffer: pipelined requests, bodies skipped by Content-Length', () => {
	const two = 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /3 HTTP/1.1\r\n\r\n';
	assert.deepEqual(splitMessages(two).map((m) => m.target), ['/1', '/2', '/3']);
	// a chunked body cannot be skipped from here: stop after it
	assert.equal(splitMessages('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n').length, 1);
	// a response without Content-Length runs to the close
	assert.equal(splitMessages('HTTP/1.0 200 OK\r\n\r\nHTTP/1.0 200 OK\r\n\r\n').length, 1);
	assert.deepEqual(splitMessages('junk'), []);
	// 1xx, 204 and 304 responses have no body: the next response follows at once
	assert.deepEqual(splitMessages('HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').map((m) => m.status), [304, 204, 200]);
});

test('traceparent, --status, --port, paths', () => {
	assert.deepEqual(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true });
	assert.equal(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined);
	assert.equal(parseTraceparent('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), undefined);
	assert.equal(parseTraceparent(undefined), undefined);
	const f = parseStatusFilter('404,5xx');
	assert.deepEqual([200, 404, 500, 503, 499].map(f), [false, true, true, true, false]);
	assert.throws(() => parseStatusFilter('600'), /not a status code/);
	assert.deepEqual([...parsePorts('80, 8080')], [80, 8080]);
	assert.throws(() => parsePorts('0'), /not a port/);
	assert.equal(pathOf('/a/b?c=1'), '/a/b');
	assert.equal(pathOf('http://h:8080/p?q'), '/p');
	assert.equal(pathOf('*'), '*');
});

const ev = (over: Partial<HttpEvent> & { text?: string }): HttpEvent => {
	const data = new Uint8Array(Buffer.from(over.text ?? '', 'latin1'));
	return { ts_ns: 0, pid: 1, tid: 1, fd: 5, len: data.length, captured: data.length, family: 2, lport: 8080, rport: 40000, dir: HTTP_DIR.DIR_READ,
		laddr: [127, 0, 0, 1, ...Array(12).fill(0)], raddr: [127, 0, 0, 1, ...Array(12).fill(0)], comm: 'srv', data, ...over } as HttpEvent;
};

test('pairing: per connection, in order, sides from the direction; interim 1xx wait; close forgets', () => {
	const got: Exchange[] = [];
	const p = new Pairer((x) => got.push(x));
	p.event(ev({ ts_ns: 1e6, text: 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n' }));
	p.event(ev({ ts_ns: 2e6, fd: 6, text: 'PUT /c HTTP/1.1\r\nExpect: 100-continue\r\n\r\n' }));
	p.event(ev({ ts_ns: 3e6, fd: 6, dir: HTTP_DIR.DIR_WRITE, text: 'HTTP/1.1 100 Continue\r\n\r\n' }));
	p.event(ev({ ts_ns: 4e6, dir: HTTP_DIR.DIR_WRITE, text: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }));
	p.event(ev({ ts_ns: 5e6, fd: 6, dir: HTTP_DIR.DIR_WRITE, text: 'HTTP/1.1 201 Created\r\n\r\n' }));
	p.event(ev({ ts_ns: 6e6, dir: HTTP_DIR.DIR_WRITE, text: 'HTTP/1.1 404 Not Found\r\n\r\n' }));
	assert.deepEqual(got.map((x) => [x.side, x.method, x.target, x.status, (x.endNs - x.startNs) / 1e6]), [
		['server', 'GET', '/a', 200, 3], ['server', 'PUT', '/c', 201, 3], ['server', 'GET', '/b', 404, 5]]);
	// a client: writes the request, reads the response
	p.event(ev({ ts_ns: 7e6, pid: 2, dir: HTTP_DIR.DIR_WRITE, text: 'GET /d HTTP/1.1\r\n\r\n' }));
	p.event(ev({ ts_ns: 9e6, pid: 2, text: 'HTTP/1.1 302 Found\r\n\r\n' }));
	assert.deepEqual(got.slice(3).map((x) => [x.side, x.target, x.status, x.pid]), [['client', '/d', 302, 2]]);
	// closed: a late response has no request
	p.event(ev({ ts_ns: 10e6, fd: 7, text: 'GET /e HTTP/1.1\r\n\r\n' }));
	p.event(ev({ ts_ns: 11e6, fd: 7, dir: HTTP_DIR.DIR_CLOSE }));
	p.event(ev({ ts_ns: 12e6, fd: 7, dir: HTTP_DIR.DIR_WRITE, text: 'HTTP/1.1 200 OK\r\n\r\n' }));
	assert.equal(got.length, 4);
	assert.equal(p.unpaired, 1);
});
