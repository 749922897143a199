// --otlp against a real OTLP/HTTP receiver on loopback (a small server this
// test runs): the records a tool prints with --json arrive as log records
// with their members as attributes, while stdout keeps the text output; an
// unreachable collector is a one-line runtime error, never a silent loss.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { marker, requireRoot, runTool, startTool } from './helpers.js';

interface KeyValue {
	key: string;
	value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values: KeyValue['value'][] } };
}
interface LogRecord {
	timeUnixNano: string;
	severityText: string;
	body: { stringValue: string };
	attributes: KeyValue[];
}
interface Received {
	resource: Record<string, unknown>;
	record: LogRecord;
	attrs: Record<string, unknown>;
}

const plain = (v: KeyValue['value']): unknown =>
	v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? v.arrayValue?.values.map(plain);
const toMap = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, plain(kv.value)]));

interface Span {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	kind: number;
	startTimeUnixNano: string;
	endTimeUnixNano: string;
	attributes: KeyValue[];
	status?: { code?: number };
}
const spans: { resource: Record<string, unknown>; span: Span; attrs: Record<string, unknown> }[] = [];

const received: Received[] = [];
const paths: string[] = [];
const server = createServer((req, res) => {
	let body = '';
	req.on('data', (d) => (body += d));
	req.on('end', () => {
		paths.push(req.url ?? '');
		if (req.url === '/v1/traces') {
			const t = JSON.parse(body) as { resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { spans: Span[] }[] }[] };
			for (const rs of t.resourceSpans)
				for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ resource: toMap(rs.resource.attributes), span, attrs: toMap(span.attributes) });
			res.writeHead(200, { 'content-type': 'application/json' });
			return res.end('{}');
		}
		const msg = JSON.parse(body) as { resourceLogs: { resource: { attributes: KeyValue[] }; scopeLogs: { logRecords: LogRecord[] }[] }[] };
		for (const rl of msg.resourceLogs)
			for (const sl of rl.scopeLogs)
				for (const record of sl.logRecords) received.push({ resource: toMap(rl.resource.attributes), record, attrs: toMap(record.attributes) });
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end('{}');
	});
});
let url = '';

before(async () => {
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('execsnoop --otlp: every exec arrives as a log record; stdout stays text', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('otlp');
	const run = startTool(['execsnoop', `--otlp=${url}`, '--otlp-header', 'x-ebt-test=yes']);
	await run.attached();
	const pids = [0, 1, 2].map((i) => spawnSync('/bin/true', [`${mk}-${i}`]).pid);
	await run.waitFor((s) => (s.match(new RegExp(`${mk}-`, 'g')) ?? []).length >= 3);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, /^PCOMM +PID +PPID +RET ARGS$/m, 'text output on stdout');
	// delivered before the tool exited
	const mine = received.filter((x) => String(x.attrs.args ?? '').includes(mk));
	assert.equal(mine.length, 3, JSON.stringify(received.slice(-5)));
	assert.ok(paths.every((p) => p === '/v1/logs'), paths.join(' '));
	for (let i = 0; i < 3; i++) {
		const x = mine.find((m) => (m.attrs.args as string[]).includes(`${mk}-${i}`));
		assert.ok(x, `exec ${i} missing`);
		assert.equal(x.attrs.pid, pids[i]);
		assert.equal(x.attrs.comm, 'true');
		assert.deepEqual(x.attrs.args, ['/bin/true', `${mk}-${i}`]);
		assert.equal(x.attrs['ebpf_tools.tool'], 'execsnoop');
		assert.equal(x.record.body.stringValue, 'execsnoop event');
		assert.equal(x.resource['service.name'], 'ebpf-tools');
		assert.equal(x.resource['ebpf_tools.tool'], 'execsnoop');
		// the event's own time, not the export's
		const ms = Number(BigInt(x.record.timeUnixNano) / 1_000_000n);
		assert.ok(Math.abs(ms - Date.now()) < 60_000, `time ${x.record.timeUnixNano}`);
		assert.ok(typeof x.attrs.ts === 'number' && Math.abs(x.attrs.ts * 1000 - ms) <= 1, `ts ${x.attrs.ts}`);
	}
});

test('biolatency --otlp --json: histograms arrive with their buckets; stdout is the same NDJSON', async (t) => {
	if (!requireRoot(t)) return;
	const n0 = received.length;
	// not runTool (spawnSync): the receiver runs in this process's event loop
	const run = startTool(['biolatency', `--otlp=${url}/v1/logs`, '--json', '-D', '--duration', '2']);
	await run.attached();
	const file = join('/var/tmp', `${marker('otlpbio')}.data`);
	try {
		// some disk I/O of our own, so there is a histogram to send
		spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', 'count=20', 'oflag=direct', 'status=none']);
	} finally {
		rmSync(file, { force: true });
	}
	const r = await run.exited;
	assert.equal(r.code, 0, r.stderr);
	const printed = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
	assert.ok(printed.some((p) => p.type === 'histogram'), r.stdout);
	const got = received.slice(n0);
	assert.equal(got.length, printed.length, `${got.length} records received, ${printed.length} printed`);
	for (const [i, p] of printed.entries()) {
		assert.equal(got[i].attrs.type, p.type);
		if (p.type === 'histogram') {
			assert.equal(got[i].attrs.total_count, p.total_count);
			assert.deepEqual(JSON.parse(got[i].attrs.buckets as string), p.buckets);
			assert.equal(got[i].attrs['key.disk'], (p.key as Record<string, unknown>).disk);
		}
	}
});

test('tcpconnect -c --otlp: the per-flow counts printed at the end reach the collector too', async (t) => {
	if (!requireRoot(t)) return;
	const target = createServer();
	await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
	const port = (target.address() as AddressInfo).port;
	try {
		const run = startTool(['tcpconnect', '-c', `--otlp=${url}`]);
		await run.attached();
		for (let i = 0; i < 3; i++) spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
		const r = await run.stop();
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1 +127\\.0\\.0\\.1 +${port} +3 *$`, 'm'), r.stdout);
		const mine = received.filter((x) => x.attrs['ebpf_tools.tool'] === 'tcpconnect' && x.attrs.type === 'count' && x.attrs.dport === port);
		assert.equal(mine.length, 1, JSON.stringify(received.slice(-5)));
		assert.equal(mine[0].attrs.connects, 3);
		assert.equal(mine[0].attrs.daddr, '127.0.0.1');
	} finally {
		target.close();
	}
});

test('httptrace --otlp: each exchange is a span of its side, child of the request\'s traceparent, with its own times', async (t) => {
	if (!requireRoot(t)) return;
	const web = spawn(process.execPath, ['-e', `const s = require('node:http').createServer((q, r) => setTimeout(() => { r.statusCode = q.url.includes('fail') ? 503 : 200; r.end('x'); }, 20)); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
	t.after(() => web.kill('SIGKILL'));
	const port = await new Promise<number>((res) => web.stdout!.setEncoding('utf8').once('data', (d: string) => res(Number(d.trim()))));
	const mk = marker('otlph');
	const run = startTool(['httptrace', `--otlp=${url}`, '--port', String(port)]);
	await run.attached();
	// not spawnSync: the receiver runs in this event loop
	await new Promise<void>((res, rej) => {
		const c = spawn('curl', ['-s', '-o', '/dev/null', '-H', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
			`http://127.0.0.1:${port}/${mk}/ok?x=1`, `http://127.0.0.1:${port}/${mk}/fail`]);
		c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`curl ${code}`))));
	});
	await run.waitFor((s) => (s.match(new RegExp(`/${mk}/`, 'g')) ?? []).length >= 4);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const mine = spans.filter((x) => String(x.attrs['url.path']).startsWith(`/${mk}/`));
	assert.equal(mine.length, 4, JSON.stringify(spans.slice(-4)));
	for (const x of mine) {
		assert.equal(x.span.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
		assert.equal(x.span.parentSpanId, '00f067aa0ba902b7');
		assert.equal(x.span.name, 'GET');
		assert.equal(x.resource['service.name'], 'ebpf-tools');
		assert.equal(x.attrs['server.port'], port);
		const ms = Number(BigInt(x.span.endTimeUnixNano) - BigInt(x.span.startTimeUnixNano)) / 1e6;
		// the server's 20 ms timer (Node's clock may start it up to 1 ms before the read returned)
		assert.ok(ms >= 19 && ms < 5000, `${ms} ms`);
		assert.ok(Math.abs(Number(BigInt(x.span.endTimeUnixNano) / 1_000_000n) - Date.now()) < 60_000);
	}
	// SERVER = 2, CLIENT = 3; ERROR = 2 for a 503
	const kinds = mine.map((x) => [x.attrs['url.path'], x.span.kind, x.attrs['http.response.status_code'], x.span.status?.code ?? 0]).sort();
	assert.deepEqual(kinds, [[`/${mk}/fail`, 2, 503, 2], [`/${mk}/fail`, 3, 503, 2], [`/${mk}/ok`, 2, 200, 0], [`/${mk}/ok`, 3, 200, 0]]);
	assert.equal(mine.find((x) => x.span.kind === 2 && x.attrs['url.path'] === `/${mk}/ok`)!.attrs['url.query'], 'x=1');
	// the same exchanges also went out as log records (what --json prints)
	assert.equal(received.filter((x) => String(x.attrs['url.path']).startsWith(`/${mk}/`)).length, 4);
});

test('--otlp to a port nobody listens on: one line, exit 1, the count of records not delivered', async (t) => {
	if (!requireRoot(t)) return;
	const closed = createServer();
	await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
	const port = (closed.address() as AddressInfo).port;
	await new Promise((r) => closed.close(r));
	const mk = marker('otlpx');
	const run = startTool(['execsnoop', `--otlp=http://127.0.0.1:${port}`]);
	await run.attached();
	spawnSync('/bin/true', [mk]);
	await run.waitFor((s) => s.includes(mk));
	const r = await run.stop();
	assert.equal(r.code, 1, r.stderr);
	const lines = r.stderr.trim().split('\n');
	assert.match(lines[lines.length - 1], new RegExp(`^execsnoop: OTLP: (\\d+) of \\1 records not delivered to http://127\\.0\\.0\\.1:${port}/v1/logs`));
	assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('--otlp with a bad URL or header: usage error before the kernel is touched', () => {
	for (const args of [['--otlp=ftp://x'], ['--otlp=not a url'], ['--otlp', '--otlp-header', 'novalue']]) {
		const r = runTool(['execsnoop', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.match(r.stderr, /^execsnoop: .*(otlp|OTLP)/);
	}
});
