// sslsniff end to end: a Node HTTPS server (OpenSSL embedded in the node
// binary) and curl (libssl.so.3) and gnutls-cli (libgnutls) clients on
// loopback. Every request and response is checked as captured on both
// sides: the exact bytes, their length, the process, redaction of
// credentials, and each filter with a match and a miss.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { marker, ndjson, requireRoot, runTool, sleep, startTool } from './helpers.js';
import type { ToolRun } from './helpers.js';

const SECRET = 'hunter2-s3cr3t';
let dir = '';
let server: ChildProcess | undefined;
let port = 0;

const SERVER = `
const https = require('node:https');
const fs = require('node:fs');
const s = https.createServer({ key: fs.readFileSync(process.argv[1] + '/k.pem'), cert: fs.readFileSync(process.argv[1] + '/c.pem') }, (req, res) => {
	let body = '';
	req.on('data', (d) => (body += d));
	req.on('end', () => res.end('hello ' + req.url + ' ' + body.length + '\\n'));
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

before(async () => {
	if (process.getuid?.() !== 0) return;
	dir = mkdtempSync(join(tmpdir(), 'ebt-ssl-'));
	execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
		'-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
	server = spawn(process.execPath, ['-e', SERVER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
	port = await new Promise<number>((res, rej) => {
		server!.stdout!.setEncoding('utf8').once('data', (d: string) => res(Number(d.trim())));
		server!.once('exit', () => rej(new Error('https server exited')));
	});
});
after(() => {
	server?.kill('SIGKILL');
	if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Block {
	func: string;
	time: number;
	comm: string;
	pid: number;
	len: number;
	rest: string[];
	data?: string;
	end?: string;
}

/** sslsniff's text output as blocks: the row, and the data between the markers. */
function blocks(stdout: string): Block[] {
	const out: Block[] = [];
	const lines = stdout.split('\n');
	for (let i = 0; i < lines.length; i++) {
		const m = /^(READ\/RECV|WRITE\/SEND|HANDSHAKE) +(\d+\.\d{9}) +(.{16}) (\d+) +(\d+)(.*)$/.exec(lines[i]);
		if (!m) continue;
		const b: Block = { func: m[1], time: Number(m[2]), comm: m[3].trim(), pid: Number(m[4]), len: Number(m[5]), rest: m[6].trim().split(/ +/).filter(Boolean) };
		if (lines[i + 1] === '----- DATA -----') {
			const end = lines.findIndex((l, j) => j > i + 1 && /^----- END DATA( \(TRUNCATED, \d+ bytes lost\))? -----$/.test(l));
			b.data = lines.slice(i + 2, end).join('\n');
			b.end = lines[end];
			i = end;
		}
		out.push(b);
	}
	return out;
}

/** One HTTPS POST with curl (libssl): a marker path, an Authorization header and a password field. */
function curl(path: string): number {
	const r = spawnSync('curl', ['-sk', '--http1.1', `https://127.0.0.1:${port}${path}`, '-H', `Authorization: Bearer ${SECRET}`,
		'-d', `user=me&password=${SECRET}&n=1`], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	assert.equal(r.stdout, `hello ${path} ${`user=me&password=${SECRET}&n=1`.length}\n`);
	return r.pid!;
}

async function sniff(args: string[], work: () => number | void, until: (stdout: string) => boolean): Promise<{ run: ToolRun; pid: number | void }> {
	const run = startTool(['sslsniff', ...args]);
	await run.attached();
	const pid = work();
	await run.waitFor(until, 8000);
	await sleep(200);
	await run.stop();
	return { run, pid };
}

test('sslsniff: a request and its response on both sides (curl via libssl, node with embedded OpenSSL), credentials redacted', async (t) => {
	if (!requireRoot(t)) return;
	const path = `/${marker('ssl')}`;
	const { run, pid } = await sniff([], () => curl(path), (s) => blocks(s).filter((b) => b.data?.includes(path)).length >= 4);
	assert.equal(run.child.exitCode, 0, run.stderr);
	assert.match(run.stdout, /^FUNC {9}TIME\(s\) {12}COMM {13}PID {5}LEN$/m);
	assert.match(run.stderr, /Sniffing .*libssl\.so\.3 \(openssl\).*node \(openssl\)/);
	// each side's calls joined: a message may take more than one call (headers and body apart)
	const bs = blocks(run.stdout);
	const calls = (p: number | undefined, func: string) => bs.filter((b) => b.pid === p && b.func === func);
	const joined = (xs: Block[]) => xs.map((b) => b.data ?? '').join('');
	const curlOut = calls(pid as number, 'WRITE/SEND');
	const nodeIn = calls(server!.pid, 'READ/RECV');
	const nodeOut = calls(server!.pid, 'WRITE/SEND');
	const curlIn = calls(pid as number, 'READ/RECV');
	for (const [name, xs] of Object.entries({ curlOut, nodeIn, nodeOut, curlIn })) assert.ok(xs.length, `${name} missing:\n${run.stdout}`);
	assert.ok(curlOut.every((b) => b.comm === 'curl') && nodeIn.every((b) => b.comm === 'node'));
	// the same bytes on both sides, with the secrets out
	assert.ok(joined(curlOut).startsWith(`POST ${path} HTTP/1.1\r\n`), joined(curlOut));
	assert.equal(joined(nodeIn), joined(curlOut));
	assert.equal(nodeIn.reduce((n, b) => n + b.len, 0), curlOut.reduce((n, b) => n + b.len, 0));
	assert.match(joined(curlOut), /\r\nAuthorization: \[REDACTED\]\r\n/);
	assert.ok(joined(curlOut).endsWith('user=me&password=[REDACTED]&n=1'), joined(curlOut));
	assert.ok(!run.stdout.includes(SECRET), 'a secret was printed');
	assert.ok(joined(curlIn).startsWith('HTTP/1.1 200 OK') && joined(curlIn).includes(`hello ${path} `), joined(curlIn));
	assert.equal(joined(nodeOut), joined(curlIn));
	// LEN is each call's real byte count: the response is printed whole (nothing to redact)
	assert.equal(Buffer.byteLength(joined(curlIn)), curlIn.reduce((n, b) => n + b.len, 0));
	assert.ok(curlIn.every((b) => b.end === '----- END DATA -----'));
	// times are taken at each call's return: in order within a process (across two, a read may return before the write does)
	assert.ok(curlOut[0].time <= curlIn[0].time && nodeIn[0].time <= nodeOut[0].time);
});

test('sslsniff --no-redact --json: exact bytes and lengths; -p and -c select one side; -u matches or not', async (t) => {
	if (!requireRoot(t)) return;
	const path = `/${marker('sslj')}`;
	const { run, pid } = await sniff(['--no-redact', '--json'], () => curl(path), (s) => (s.match(new RegExp(`hello ${path}`, 'g')) ?? []).length >= 2);
	const recs = ndjson<Record<string, any>>(run.stdout).filter((r) => r.pid === pid || r.pid === server!.pid);
	for (const r of recs) {
		assert.equal(Buffer.byteLength(r.data), r.len);
		assert.equal(r.truncated, 0);
		assert.ok(['read', 'write'].includes(r.func));
		assert.equal(r.uid, 0);
		assert.ok(r.ts > 1e9 && r.latency_ms >= 0);
	}
	const sent = recs.filter((r) => r.pid === pid && r.func === 'write').map((r) => r.data).join('');
	assert.ok(sent.startsWith(`POST ${path} HTTP/1.1\r\n`) && sent.includes(`Authorization: Bearer ${SECRET}\r\n`) && sent.endsWith(`password=${SECRET}&n=1`), sent);
	assert.equal(recs.filter((r) => r.pid === server!.pid && r.func === 'read').map((r) => r.data).join(''), sent);

	// -p: the server only
	const p1 = `/${marker('sslp')}`;
	const byPid = await sniff(['-p', String(server!.pid), '--json'], () => curl(p1), (s) => s.includes(`hello ${p1}`));
	const r1 = ndjson<Record<string, any>>(byPid.run.stdout).filter((r) => String(r.data).includes(p1));
	assert.deepEqual(r1.map((r) => [r.comm, r.func]).sort(), [['node', 'read'], ['node', 'write']]);
	assert.match(byPid.run.stderr, new RegExp(`in PID ${server!.pid}`));
	// -c curl: the client only
	const p2 = `/${marker('sslc')}`;
	const byComm = await sniff(['-c', 'curl', '--json'], () => curl(p2), (s) => s.includes(`hello ${p2}`));
	const r2 = ndjson<Record<string, any>>(byComm.run.stdout).filter((r) => String(r.data).includes(p2));
	assert.deepEqual(r2.map((r) => [r.comm, r.func]).sort(), [['curl', 'read'], ['curl', 'write']]);
	assert.ok(r2.every((r) => r.pid === byComm.pid));
	// -u: root's calls match uid 0, not another uid
	const p3 = `/${marker('sslu')}`;
	const byUid = await sniff(['-u', '0', '--json'], () => curl(p3), (s) => (s.match(new RegExp(`hello ${p3}`, 'g')) ?? []).length >= 2);
	assert.equal(ndjson<Record<string, any>>(byUid.run.stdout).filter((r) => String(r.data).includes(p3)).length, 4);
	const p4 = `/${marker('sslv')}`;
	const other = startTool(['sslsniff', '-u', '4242', '--json']);
	await other.attached();
	curl(p4);
	await sleep(500);
	const r4 = await other.stop();
	assert.equal(r4.code, 0, r4.stderr);
	assert.ok(!r4.stdout.includes(p4), r4.stdout);
});

test('sslsniff --max-buffer-size truncates visibly; --hexdump; -x -l --handshake columns', async (t) => {
	if (!requireRoot(t)) return;
	const path = `/${marker('sslt')}`;
	const { run } = await sniff(['--max-buffer-size', '20', '-c', 'curl'], () => curl(path), (s) => blocks(s).filter((b) => b.comm === 'curl').length >= 2);
	const w = blocks(run.stdout).find((b) => b.func === 'WRITE/SEND')!;
	assert.ok(w, run.stdout);
	assert.equal(w.data, `POST ${path}`.slice(0, 20));
	assert.equal(w.end, `----- END DATA (TRUNCATED, ${w.len - 20} bytes lost) -----`);

	const p2 = `/${marker('sslh')}`;
	const hx = await sniff(['--hexdump', '-c', 'curl', '-x', '-l', '--handshake'], () => curl(p2), (s) => blocks(s).filter((b) => b.func === 'READ/RECV').length >= 1);
	assert.match(hx.run.stdout, /^FUNC {9}TIME\(s\) {12}COMM {13}PID {5}LEN {4}UID {5}TID {5}LAT\(ms\)$/m);
	const bs = blocks(hx.run.stdout);
	const hs = bs.find((b) => b.func === 'HANDSHAKE');
	assert.ok(hs, hx.run.stdout);
	assert.equal(hs.data, undefined, 'a handshake has no data');
	assert.equal(hs.len, 1);
	const wr = bs.find((b) => b.func === 'WRITE/SEND')!;
	// UID, TID, LAT(ms)
	assert.equal(wr.rest.length, 3, JSON.stringify(wr));
	assert.equal(wr.rest[0], '0');
	assert.equal(Number(wr.rest[1]), wr.pid);
	assert.match(wr.rest[2], /^\d+\.\d{3}$/);
	assert.match(hs.rest[2], /^\d+\.\d{3}$/);
	const hexLines = wr.data!.split('\n');
	assert.ok(hexLines.every((l) => /^[0-9a-f]{2,32}$/.test(l)) && hexLines.slice(0, -1).every((l) => l.length === 32), wr.data);
	// redaction shortened the bytes shown ('Bearer <secret>' is '[REDACTED]'), not LEN
	const bytes = Buffer.from(hexLines.join(''), 'hex');
	assert.equal(bytes.length, wr.len - `Bearer ${SECRET}`.length - SECRET.length + 2 * '[REDACTED]'.length);
	assert.ok(bytes.toString('latin1').startsWith(`POST ${p2} HTTP/1.1\r\n`));
	assert.ok(!bytes.toString('latin1').includes(SECRET), 'redacted in hex too');
});

test('sslsniff: GnuTLS (gnutls-cli) writes and reads', async (t) => {
	if (!requireRoot(t)) return;
	const path = `/${marker('sslg')}`;
	const { run } = await sniff(['-c', 'gnutls-cli', '--no-openssl'], () => {
		const r = spawnSync('gnutls-cli', ['--insecure', '--logfile=/dev/null', '-p', String(port), '127.0.0.1'], {
			input: `GET ${path} HTTP/1.0\r\nCookie: session=${SECRET}\r\n\r\n`, encoding: 'utf8', timeout: 10000,
		});
		assert.match(r.stdout, new RegExp(`hello ${path} 0`));
		return r.pid;
	}, (s) => blocks(s).some((b) => b.func === 'READ/RECV' && b.data?.includes(`hello ${path}`)));
	assert.match(run.stderr, /libgnutls\.so\.30 \(gnutls\)/);
	const bs = blocks(run.stdout).filter((b) => b.comm === 'gnutls-cli');
	const w = bs.find((b) => b.func === 'WRITE/SEND' && b.data?.includes(path));
	assert.ok(w, run.stdout);
	assert.ok(w.data!.includes('Cookie: [REDACTED]'), w.data);
	assert.ok(bs.some((b) => b.func === 'READ/RECV' && b.data?.includes(`hello ${path} 0`)), run.stdout);
	assert.ok(!run.stdout.includes(SECRET));
});

test('sslsniff usage errors: one line, exit 2', () => {
	for (const args of [
		['--max-buffer-size', '0'],
		['--max-buffer-size', '40000'],
		['--extra-lib', 'wolfssl:/lib/x.so'],
		['--extra-lib', 'openssl:/nonexistent/libssl.so'],
		['--extra-lib', 'openssl:/bin/true'],
		['-o', '-g', '-n'],
		['--no-openssl', '--no-gnutls', '--no-nss'],
		['-c', 'a-name-longer-than-15'],
		['-p', '999999999'],
	]) {
		const r = runTool(['sslsniff', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, /^sslsniff: /);
	}
});
