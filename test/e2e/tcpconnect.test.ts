// tcpconnect end to end: connects from marked client processes to loopback
// servers on ephemeral ports; exact PID, COMM, addresses, ports; failures,
// filters (matching and excluded), counts, IPv6.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { linksStillPresent, ndjson, requireRoot, startTool } from './helpers.js';
import { Workload, closedPort, commMarker } from './tcp-workload.js';

const w = new Workload();
after(() => w.close());

interface Ev {
	pid: number;
	tid: number;
	comm: string;
	ip: number;
	saddr: string;
	daddr: string;
	dport: number;
	lport?: number;
	failed: boolean;
	error: string | null;
	reason: string | null;
	lat_ms?: number;
}

async function server(host: string) {
	const s = w.start('server', commMarker('tcs'), [host, 0, 0]);
	const { port } = await s.message<{ port: number }>('port');
	return { s, port };
}

test('tcpconnect: N connects from a marked client, exact PID/COMM/addresses/DPORT (text layout)', async (t) => {
	if (!requireRoot(t)) return;
	const { port } = await server('127.0.0.1');
	const tool = startTool(['tcpconnect', '-L']);
	await tool.attached();
	const title = commMarker('tcc');
	const c = w.start('connect', title, ['127.0.0.1', port, 5]);
	const done = await c.message<{ results: { ok: boolean; lport: number }[] }>('done');
	await tool.waitFor((o) => o.split('\n').filter((l) => l.includes(title)).length >= 5);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const lines = r.stdout.split('\n');
	assert.equal(lines[0], 'PID     COMM         IP SADDR            LPORT  DADDR            DPORT');
	const mine = lines.filter((l) => l.includes(title));
	assert.equal(mine.length, 5);
	const lports = done.results.map((x) => x.lport).sort();
	const seen: number[] = [];
	for (const l of mine) {
		// fixed BCC columns: %-7d %-12.12s %-2d %-16s %-6d %-16s %-6d
		assert.equal(l.slice(0, 8), `${String(c.pid).padEnd(7)} `);
		assert.equal(l.slice(8, 21), `${title.padEnd(12)} `);
		const f = l.split(/\s+/);
		assert.deepEqual([f[2], f[3], f[5], f[6]], ['4', '127.0.0.1', '127.0.0.1', String(port)]);
		seen.push(Number(f[4]));
	}
	assert.deepEqual(seen.sort(), lports);
	assert.deepEqual(linksStillPresent(tool.linkIds), []);
});

test('tcpconnect: -x shows a refused connect with its reason; without -x it is not shown', async (t) => {
	if (!requireRoot(t)) return;
	const port = await closedPort('127.0.0.1');
	const withX = startTool(['tcpconnect', '-x', '--json']);
	const without = startTool(['tcpconnect', '--json']);
	await Promise.all([withX.attached(), without.attached()]);
	const title = commMarker('tcx');
	const c = w.start('connect', title, ['127.0.0.1', port, 2]);
	const done = await c.message<{ results: { ok: boolean; code: string }[] }>('done');
	assert.deepEqual(done.results.map((x) => x.code), ['ECONNREFUSED', 'ECONNREFUSED']);
	await withX.waitFor((o) => ndjson<Ev>(o).filter((e) => e.comm === title).length >= 2);
	const [rx, rn] = await Promise.all([withX.stop(), without.stop()]);
	const evs = ndjson<Ev>(rx.stdout).filter((e) => e.comm === title);
	assert.equal(evs.length, 2);
	for (const e of evs) {
		assert.equal(e.pid, c.pid);
		assert.equal(e.failed, true);
		assert.equal(e.error, 'ECONNREFUSED');
		assert.equal(e.reason, 'refused');
		assert.equal(e.daddr, '127.0.0.1');
		assert.equal(e.dport, port);
	}
	assert.equal(ndjson<Ev>(rn.stdout).filter((e) => e.comm === title).length, 0);
});

test('tcpconnect -x: a connect that fails inside connect() after SYN_SENT (no local port left) shows connect()\'s errno', async (t) => {
	if (!requireRoot(t)) return;
	// a namespace with two ephemeral ports: two connects to one server hold
	// them, the third fails in inet_hash_connect with EADDRNOTAVAIL after the
	// socket went SYN_SENT, and the kernel closes it with no socket error
	const ns = `ebtpr${process.pid}`;
	execFileSync('ip', ['netns', 'add', ns]);
	t.after(() => execFileSync('ip', ['netns', 'del', ns]));
	execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
	execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=40000 40001']);
	const tool = startTool(['tcpconnect', '-x', '--json']);
	await tool.attached();
	const script = `
		const net = require('node:net');
		const srv = net.createServer(() => {}).listen(5000, '127.0.0.1', () => { // not from the tiny ephemeral range
			const port = srv.address().port, held = [], codes = [];
			const next = () => {
				const c = net.connect(port, '127.0.0.1');
				c.on('connect', () => { held.push(c); codes.push('ok'); next(); });
				c.on('error', (e) => { codes.push(e.code); console.log(JSON.stringify({ pid: process.pid, port, codes })); process.exit(0); });
			};
			next();
		});`;
	const out = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' })) as { pid: number; port: number; codes: string[] };
	assert.deepEqual(out.codes, ['ok', 'ok', 'EADDRNOTAVAIL']);
	await tool.waitFor((o) => ndjson<Ev>(o).filter((e) => e.pid === out.pid).length >= 3);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const evs = ndjson<Ev>(r.stdout).filter((e) => e.pid === out.pid && e.dport === out.port);
	assert.deepEqual(evs.map((e) => [e.failed, e.lport]), [[false, 40000], [false, 40001], [true, 0]]);
	assert.equal(evs[2].error, 'EADDRNOTAVAIL');
	assert.equal(evs[2].reason, 'no local addr');
	assert.equal(evs[2].daddr, '127.0.0.1');
});

test('tcpconnect: -P matches the listed ports and excludes others', async (t) => {
	if (!requireRoot(t)) return;
	const a = await server('127.0.0.1');
	const b = await server('127.0.0.1');
	const tool = startTool(['tcpconnect', '--json', '-P', `${a.port},1`]);
	await tool.attached();
	const title = commMarker('tcP');
	const ca = w.start('connect', title, ['127.0.0.1', a.port, 3]);
	const cb = w.start('connect', title, ['127.0.0.1', b.port, 3]);
	await Promise.all([ca.message('done'), cb.message('done')]);
	await tool.waitFor((o) => ndjson<Ev>(o).filter((e) => e.comm === title).length >= 3);
	// a connect to the excluded port that completed before the stop would be in the buffer by now
	const later = w.start('connect', title, ['127.0.0.1', a.port, 1]);
	await later.message('done');
	await tool.waitFor((o) => ndjson<Ev>(o).filter((e) => e.comm === title).length >= 4);
	const r = await tool.stop();
	const evs = ndjson<Ev>(r.stdout).filter((e) => e.comm === title);
	assert.equal(evs.length, 4);
	assert.ok(evs.every((e) => e.dport === a.port));
	assert.deepEqual(new Set(evs.map((e) => e.pid)), new Set([ca.pid, later.pid]));
});

test('tcpconnect: -p traces the given process only', async (t) => {
	if (!requireRoot(t)) return;
	const { port } = await server('127.0.0.1');
	const title = commMarker('tcp');
	const ca = w.start('connect', title, ['127.0.0.1', port, 3], { waitGo: true });
	const cb = w.start('connect', title, ['127.0.0.1', port, 3], { waitGo: true });
	await Promise.all([ca.message('waiting'), cb.message('waiting')]);
	const tool = startTool(['tcpconnect', '--json', '-p', String(ca.pid)]);
	await tool.attached();
	cb.go();
	await cb.message('done');
	ca.go();
	await ca.message('done');
	await tool.waitFor((o) => ndjson<Ev>(o).filter((e) => e.comm === title).length >= 3);
	const r = await tool.stop();
	const evs = ndjson<Ev>(r.stdout).filter((e) => e.comm === title);
	assert.equal(evs.length, 3);
	assert.ok(evs.every((e) => e.pid === ca.pid && e.dport === port));
});

test('tcpconnect: -c counts equal the number of connects', async (t) => {
	if (!requireRoot(t)) return;
	const { port } = await server('127.0.0.1');
	const tool = startTool(['tcpconnect', '-c']);
	await tool.attached();
	const c = w.start('connect', commMarker('tcn'), ['127.0.0.1', port, 7]);
	await c.message('done');
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const lines = r.stdout.split('\n');
	assert.ok(lines.includes(`${'LADDR'.padEnd(25)} ${'RADDR'.padEnd(25)} ${'RPORT'.padEnd(20)} CONNECTS`), r.stdout);
	const row = lines.filter((l) => l.split(/\s+/)[2] === String(port));
	assert.equal(row.length, 1, r.stdout);
	assert.deepEqual(row[0].trim().split(/\s+/), ['127.0.0.1', '127.0.0.1', String(port), '7']);
});

test('tcpconnect: IPv6 on ::1 with -6 and --latency; -6 excludes IPv4', async (t) => {
	if (!requireRoot(t)) return;
	const s6 = await server('::1');
	const s4 = await server('127.0.0.1');
	const tool = startTool(['tcpconnect', '-6', '--latency', '--json']);
	await tool.attached();
	const title = commMarker('tc6');
	const c6 = w.start('connect', title, ['::1', s6.port, 2]);
	const c4 = w.start('connect', title, ['127.0.0.1', s4.port, 2]);
	await Promise.all([c6.message('done'), c4.message('done')]);
	await tool.waitFor((o) => ndjson<Ev>(o).filter((e) => e.comm === title).length >= 2);
	const r = await tool.stop();
	const evs = ndjson<Ev>(r.stdout).filter((e) => e.comm === title);
	assert.equal(evs.length, 2);
	for (const e of evs) {
		assert.equal(e.pid, c6.pid);
		assert.equal(e.ip, 6);
		assert.equal(e.saddr, '::1');
		assert.equal(e.daddr, '::1');
		assert.equal(e.dport, s6.port);
		assert.equal(typeof e.lat_ms, 'number');
		assert.ok(e.lat_ms! >= 0 && e.lat_ms! < 5000);
	}
});

test('tcpconnect: -c keeps one row per IPv4 flow when IPv6 connects run on the same CPU', async (t) => {
	if (!requireRoot(t)) return;
	// The event is built in a per-CPU scratch slot: an IPv4 address fills 4 of
	// the 16 address bytes, so the rest must not keep an earlier IPv6 event's
	// bytes (they are part of the count key). Every peer runs on CPU 0, and on
	// loopback the handshake completes in softirq on that CPU too.
	const s4 = await server('127.0.0.1');
	const s6 = await server('::1');
	const tool = startTool(['tcpconnect', '-c']);
	await tool.attached();
	const pin = { wrap: ['taskset', '-c', '0'] };
	for (const [host, port, n] of [['127.0.0.1', s4.port, 1], ['::1', s6.port, 1], ['127.0.0.1', s4.port, 2]] as const)
		await w.start('connect', commMarker('tcv'), [host, port, n], pin).message('done');
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const rows = (port: number) => r.stdout.split('\n').filter((l) => l.split(/\s+/)[2] === String(port)).map((l) => l.trim().split(/\s+/));
	assert.deepEqual(rows(s4.port), [['127.0.0.1', '127.0.0.1', String(s4.port), '3']], r.stdout);
	assert.deepEqual(rows(s6.port), [['::1', '::1', String(s6.port), '1']], r.stdout);
});
