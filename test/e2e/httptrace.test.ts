// httptrace end to end: a Node HTTP server (an event loop, many connections
// on one thread) and curl and raw-socket clients on loopback. Each request
// is checked on both sides (process, method, path, status, latency at least
// the server's delay), over keep-alive and pipelined connections, with every
// filter matching and missing, and the JSON attribute names.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { marker, ndjson, requireRoot, runTool, sleep, startTool, withoutTracefs } from './helpers.js';
import type { ToolRun } from './helpers.js';

let server: ChildProcess | undefined;
let port = 0;

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
	const u = new URL(req.url, 'http://x');
	const ms = Number(u.searchParams.get('ms') || 0);
	setTimeout(() => {
		res.statusCode = u.pathname.endsWith('/missing') ? 404 : 200;
		res.end('ok ' + req.url + '\\n');
	}, ms);
});
s.keepAliveTimeout = 5000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

before(async () => {
	if (process.getuid?.() !== 0) return;
	server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
	port = await new Promise<number>((res, rej) => {
		server!.stdout!.setEncoding('utf8').once('data', (d: string) => res(Number(d.trim())));
		server!.once('exit', () => rej(new Error('http server exited')));
	});
});
after(() => server?.kill('SIGKILL'));

interface Row {
	pid: number;
	comm: string;
	side: string;
	method: string;
	path: string;
	status: number;
	ms: number;
}

function rows(stdout: string): Row[] {
	return [...stdout.matchAll(/^\d\d:\d\d:\d\d (\d+) +(.{12}) ([CS]) (\S+) +(\S+) +(\d{3}) +(\d+\.\d\d)$/gm)].map((m) => ({
		pid: Number(m[1]), comm: m[2].trim(), side: m[3], method: m[4], path: m[5], status: Number(m[6]), ms: Number(m[7]),
	}));
}

function curl(...urls: string[]): number {
	const r = spawnSync('curl', ['-s', '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', ...urls.map((u) => `http://127.0.0.1:${port}${u}`)], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	return r.pid!;
}

async function trace(args: string[], work: () => Promise<unknown> | unknown, until: (s: string) => boolean): Promise<ToolRun> {
	const run = startTool(['httptrace', ...args]);
	await run.attached();
	await work();
	await run.waitFor(until, 8000);
	await sleep(200);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	return run;
}

test('httptrace: both sides of each request over one keep-alive connection, with latency and status', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('h');
	let cpid = 0;
	const run = await trace([], () => (cpid = curl(`/${mk}/a?ms=40`, `/${mk}/missing`, `/${mk}/b`)), (s) => rows(s).filter((r) => r.path.startsWith(`/${mk}/`)).length >= 6);
	assert.match(run.stdout, /^TIME {5}PID {5}COMM {9}S METHOD  PATH {22}STATUS {6}MS$/m);
	assert.ok(run.stdout.split('\n').every((l) => l.length <= 80), 'within 80 columns');
	const mine = rows(run.stdout).filter((r) => r.path.startsWith(`/${mk}/`));
	const server_ = mine.filter((r) => r.side === 'S');
	const client = mine.filter((r) => r.side === 'C');
	assert.deepEqual(server_.map((r) => [r.path, r.status, r.pid, r.comm, r.method]), [
		[`/${mk}/a`, 200, server!.pid, 'node', 'GET'], [`/${mk}/missing`, 404, server!.pid, 'node', 'GET'], [`/${mk}/b`, 200, server!.pid, 'node', 'GET']]);
	assert.deepEqual(client.map((r) => [r.path, r.status, r.pid, r.comm]), [[`/${mk}/a`, 200, cpid, 'curl'], [`/${mk}/missing`, 404, cpid, 'curl'], [`/${mk}/b`, 200, cpid, 'curl']]);
	// the 40 ms the server waited (its timer may fire up to 1 ms early against the read), on both sides
	assert.ok(server_[0].ms >= 39 && client[0].ms >= server_[0].ms, JSON.stringify(mine));
	assert.ok(server_[0].ms < 2000);
});

test('httptrace: pipelined requests (two in one write) pair in order on both sides', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('hp');
	const run = await trace(['--json'], () => new Promise<void>((res, rej) => {
		const s = connect(port, '127.0.0.1', () => s.write(`GET /${mk}/one?ms=30 HTTP/1.1\r\nHost: x\r\n\r\nGET /${mk}/two HTTP/1.1\r\nHost: x\r\n\r\n`));
		let got = '';
		s.setEncoding('latin1').on('data', (d: string) => {
			got += d;
			if ((got.match(/HTTP\/1\.1 200/g) ?? []).length === 2) {
				s.end();
				res();
			}
		});
		s.on('error', rej);
	}), (s) => (s.match(new RegExp(`/${mk}/`, 'g')) ?? []).length >= 4);
	const recs = ndjson<Record<string, any>>(run.stdout).filter((r) => String(r['url.path']).startsWith(`/${mk}/`));
	const srv = recs.filter((r) => r.side === 'server');
	assert.deepEqual(srv.map((r) => r['url.path']), [`/${mk}/one`, `/${mk}/two`]);
	// the second waited behind the first (HTTP/1.1 answers in order)
	assert.ok(srv[0].duration_ms >= 29, JSON.stringify(srv));
	const cli = recs.filter((r) => r.side === 'client');
	assert.deepEqual(cli.map((r) => [r['url.path'], r.pid]), [[`/${mk}/one`, process.pid], [`/${mk}/two`, process.pid]]);
});

test('httptrace --json: OpenTelemetry attribute names, server address, traceparent', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('hj');
	const run = await trace(['--json', '--side', 'client'], () => curl(`/${mk}/x?ms=5&q=1`), (s) => s.includes(`/${mk}/x`));
	const recs = ndjson<Record<string, any>>(run.stdout).filter((r) => String(r['url.path']).startsWith(`/${mk}/`));
	assert.equal(recs.length, 1, run.stdout);
	const r = recs[0];
	assert.equal(r.side, 'client');
	assert.equal(r.comm, 'curl');
	assert.equal(r['http.request.method'], 'GET');
	assert.equal(r['url.path'], `/${mk}/x`);
	assert.equal(r['url.full_target'], `/${mk}/x?ms=5&q=1`);
	assert.equal(r['http.response.status_code'], 200);
	assert.equal(r['server.address'], '127.0.0.1');
	assert.equal(r['server.port'], port);
	assert.equal(r['http.request.header.host'], `127.0.0.1:${port}`);
	assert.equal(r.trace_id, '0af7651916cd43dd8448eb211c80319c');
	assert.equal(r.parent_span_id, 'b7ad6b7169203331');
	assert.ok(r.duration_ms >= 4 && r.ts > 1e9);
});

test('httptrace filters: --status, --side, --port, -m, -p each match and miss', async (t) => {
	if (!requireRoot(t)) return;
	const cases: [string[], (r: Row) => boolean][] = [
		[['--status', '4xx'], (r) => r.status === 404],
		[['--status', '200'], (r) => r.status === 200],
		[['--side', 'server'], (r) => r.side === 'S'],
		[['--side', 'client'], (r) => r.side === 'C'],
		[['-m', '50'], (r) => r.path.endsWith('/slow')],
		[['-p', String(server!.pid)], (r) => r.side === 'S'],
		[['--port', String(port)], () => true],
	];
	for (const [args, want] of cases) {
		const mk = marker('hf');
		const run = startTool(['httptrace', ...args]);
		await run.attached();
		curl(`/${mk}/fast`, `/${mk}/missing`, `/${mk}/slow?ms=60`);
		await sleep(400);
		const r = await run.stop();
		assert.equal(r.code, 0, r.stderr);
		const mine = rows(r.stdout).filter((x) => x.path.startsWith(`/${mk}/`));
		const all = [`/${mk}/fast`, `/${mk}/missing`, `/${mk}/slow`].flatMap((p) => ['S', 'C'].map((side) => ({ path: p, side, status: p.endsWith('missing') ? 404 : 200 })));
		const expected = all.filter((x) => want({ ...x, pid: 0, comm: '', method: 'GET', ms: x.path.endsWith('slow') ? 60 : 0 } as Row)).map((x) => `${x.side} ${x.path}`).sort();
		assert.deepEqual(mine.map((x) => `${x.side} ${x.path}`).sort(), expected, `${args.join(' ')}:\n${r.stdout}`);
	}
	// a port nobody uses: nothing
	const mk = marker('hf');
	const none = startTool(['httptrace', '--port', '1']);
	await none.attached();
	curl(`/${mk}/fast`);
	await sleep(300);
	const r = await none.stop();
	assert.equal(rows(r.stdout).filter((x) => x.path.startsWith(`/${mk}/`)).length, 0, r.stdout);
});

test('httptrace without tracefs and no CAP_SYS_ADMIN to mount it: the raw syscall tracepoints give the same exchanges', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('hr');
	const caps = '-all,+bpf,+perfmon';
	const run = startTool(['httptrace', '--port', String(port)], { wrap: withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`) });
	await run.attached();
	assert.match(run.stderr, /raw syscall tracepoints/);
	const cpid = curl(`/${mk}/a?ms=25`, `/${mk}/missing`);
	await run.waitFor((s) => rows(s).filter((r) => r.path.startsWith(`/${mk}/`)).length >= 4);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const mine = rows(r.stdout).filter((x) => x.path.startsWith(`/${mk}/`)).map((x) => [x.side, x.path, x.status, x.pid]).sort();
	assert.deepEqual(mine, [['C', `/${mk}/a`, 200, cpid], ['C', `/${mk}/missing`, 404, cpid], ['S', `/${mk}/a`, 200, server!.pid], ['S', `/${mk}/missing`, 404, server!.pid]].sort());
});

test('httptrace usage errors: one line, exit 2', () => {
	for (const args of [['--status', '600'], ['--status', 'abc'], ['--side', 'both'], ['--port', '70000'], ['-m', '-5'], ['-p', '0'], ['-p', '999999999']]) {
		const r = runTool(['httptrace', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, /^httptrace: /);
	}
});
