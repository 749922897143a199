// tcplife end to end: sessions with known byte counts and durations between
// a marked client and a marked server process on loopback; both sides
// attributed to their own process; -m filtered in the kernel; CSV; filters.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { linksStillPresent, ndjson, requireRoot, startTool, withoutTracefs } from './helpers.js';
import { Workload, commMarker } from './tcp-workload.js';

const w = new Workload();
after(() => w.close());

interface Life {
	pid: number;
	comm: string;
	ip: number;
	laddr: string;
	lport: number;
	raddr: string;
	rport: number;
	tx_kb: number;
	rx_kb: number;
	tx_bytes: number;
	rx_bytes: number;
	ms: number;
	side: string;
}

interface Done {
	sessions: { lport: number; hold: number; got: number; ms: number }[];
}

const TX = 100 * 1024;
const RX = 30 * 1024;

async function server(host: string) {
	const title = commMarker('tls');
	const s = w.start('server', title, [host, TX, RX]);
	const { port } = await s.message<{ port: number }>('port');
	return { s, port, title };
}

/** A byte count as tcplife sees it: data plus at most the SYN/FIN sequence numbers. */
function bytesOk(n: number, data: number): boolean {
	return n >= data && n <= data + 2;
}

test('tcplife: TX_KB/RX_KB and MS of known sessions; the server side belongs to the server', async (t) => {
	if (!requireRoot(t)) return;
	const srv = await server('127.0.0.1');
	const tool = startTool(['tcplife', '--json']);
	await tool.attached();
	const title = commMarker('tlc');
	const c = w.start('session', title, ['127.0.0.1', srv.port, TX, RX, 1500, 100]);
	const done = await c.message<Done>('done');
	assert.deepEqual(done.sessions.map((s) => s.got), [RX, RX]);
	await tool.waitFor((o) => ndjson<Life>(o).filter((e) => e.comm === title || e.comm === srv.title).length >= 4);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const evs = ndjson<Life>(r.stdout);
	for (const s of done.sessions) {
		const client = evs.filter((e) => e.lport === s.lport && e.rport === srv.port);
		const server = evs.filter((e) => e.lport === srv.port && e.rport === s.lport);
		assert.equal(client.length, 1, `client side of ${s.lport}: ${r.stdout}`);
		assert.equal(server.length, 1, `server side of ${s.lport}: ${r.stdout}`);
		const [ce, se] = [client[0], server[0]];
		assert.equal(ce.pid, c.pid);
		assert.equal(ce.comm, title);
		assert.equal(ce.side, 'client');
		assert.equal(se.pid, srv.s.pid);
		assert.equal(se.comm, srv.title);
		assert.equal(se.side, 'server');
		assert.deepEqual([ce.tx_kb, ce.rx_kb, se.tx_kb, se.rx_kb], [100, 30, 30, 100]);
		assert.ok(bytesOk(ce.tx_bytes, TX) && bytesOk(ce.rx_bytes, RX), JSON.stringify(ce));
		assert.ok(bytesOk(se.tx_bytes, RX) && bytesOk(se.rx_bytes, TX), JSON.stringify(se));
		assert.deepEqual([ce.laddr, ce.raddr, ce.ip], ['127.0.0.1', '127.0.0.1', 4]);
		// the session spans the client's measured time (connect to close) plus the handshake
		for (const e of [ce, se]) {
			assert.ok(e.ms >= s.hold, `${e.ms} ms < ${s.hold}`);
			assert.ok(e.ms <= s.ms + 50, `${e.ms} ms, client measured ${s.ms}`);
		}
	}
	assert.deepEqual(linksStillPresent(tool.linkIds), []);
});

test('tcplife: -m 1000 keeps 1.5 s sessions and drops 0.1 s ones (in the kernel)', async (t) => {
	if (!requireRoot(t)) return;
	const srv = await server('127.0.0.1');
	const long = startTool(['tcplife', '-m', '1000', '--json']);
	const all = startTool(['tcplife', '--json']);
	await Promise.all([long.attached(), all.attached()]);
	const title = commMarker('tlm');
	const c = w.start('session', title, ['127.0.0.1', srv.port, TX, RX, 1500, 100, 100]);
	const done = await c.message<Done>('done');
	await all.waitFor((o) => ndjson<Life>(o).filter((e) => e.comm === title).length >= 3);
	// the long session's events were emitted before the short ones: both tools have them by now
	await long.waitFor((o) => ndjson<Life>(o).filter((e) => e.comm === title).length >= 1);
	const [rl, ra] = await Promise.all([long.stop(), all.stop()]);
	const lp = (o: string) => ndjson<Life>(o).filter((e) => e.comm === title).map((e) => e.lport).sort();
	assert.deepEqual(lp(ra.stdout), done.sessions.map((s) => s.lport).sort());
	assert.deepEqual(lp(rl.stdout), [done.sessions[0].lport]);
	// the server sides follow the same rule
	const srvSide = (o: string) => ndjson<Life>(o).filter((e) => e.pid === srv.s.pid).map((e) => e.rport).sort();
	assert.deepEqual(srvSide(rl.stdout), [done.sessions[0].lport]);
	assert.equal(srvSide(ra.stdout).length, 3);
	assert.match(rl.stderr, /lasting 1000 ms or more/);
});

test('tcplife: -p, -L and -D select one side; -6 excludes IPv4', async (t) => {
	if (!requireRoot(t)) return;
	const srv = await server('127.0.0.1');
	const byPid = startTool(['tcplife', '--json', '-p', String(srv.s.pid)]);
	const byL = startTool(['tcplife', '--json', '-L', String(srv.port)]);
	const byD = startTool(['tcplife', '--json', '-D', `1,${srv.port}`]);
	const v6 = startTool(['tcplife', '--json', '-6']);
	await Promise.all([byPid.attached(), byL.attached(), byD.attached(), v6.attached()]);
	const title = commMarker('tlf');
	const c = w.start('session', title, ['127.0.0.1', srv.port, TX, RX, 50, 50]);
	const done = await c.message<Done>('done');
	const ports = done.sessions.map((s) => s.lport).sort();
	await byPid.waitFor((o) => ndjson(o).length >= 2);
	await byL.waitFor((o) => ndjson(o).length >= 2);
	await byD.waitFor((o) => ndjson<Life>(o).filter((e) => e.comm === title).length >= 2);
	const [rp, rl, rd, r6] = await Promise.all([byPid.stop(), byL.stop(), byD.stop(), v6.stop()]);
	const serverSide = (o: string) => ndjson<Life>(o).filter((e) => e.rport !== 0 && ports.includes(e.rport));
	assert.deepEqual(ndjson<Life>(rp.stdout).map((e) => [e.pid, e.lport]), [[srv.s.pid, srv.port], [srv.s.pid, srv.port]]);
	assert.deepEqual(serverSide(rl.stdout).map((e) => e.rport).sort(), ports);
	assert.ok(ndjson<Life>(rl.stdout).every((e) => e.lport === srv.port));
	const d = ndjson<Life>(rd.stdout).filter((e) => e.comm === title);
	assert.deepEqual(d.map((e) => e.lport).sort(), ports);
	assert.ok(ndjson<Life>(rd.stdout).every((e) => e.rport === srv.port || e.rport === 1));
	assert.equal(ndjson<Life>(r6.stdout).filter((e) => e.comm === title || e.pid === srv.s.pid).length, 0);
});

test('tcplife: IPv6 sessions on ::1 with -w; -s CSV exactly as BCC; --no-header', async (t) => {
	if (!requireRoot(t)) return;
	const srv = await server('::1');
	const wide = startTool(['tcplife', '-w', '-6', '-D', String(srv.port)]);
	const csv = startTool(['tcplife', '-s', '-T', '-t', '-D', String(srv.port)]);
	const bare = startTool(['tcplife', '-s', '--no-header', '-D', String(srv.port)]);
	await Promise.all([wide.attached(), csv.attached(), bare.attached()]);
	const title = commMarker('tl6');
	const c = w.start('session', title, ['::1', srv.port, TX, RX, 200]);
	const done = await c.message<Done>('done');
	const lport = done.sessions[0].lport;
	for (const tool of [wide, csv, bare]) await tool.waitFor((o) => o.includes(title));
	const [rw, rc, rb] = await Promise.all([wide.stop(), csv.stop(), bare.stop()]);
	const wl = rw.stdout.split('\n');
	assert.equal(wl[0], 'PID   COMM             IP LADDR                      LPORT RADDR                      RPORT  TX_KB  RX_KB MS');
	const row = wl.find((l) => l.includes(title))!;
	// %-5d %-16.16s %-2s %-26s %-5d %-26s %-5d %6d %6d %.2f
	const cols = [String(c.pid).padEnd(5), title.padEnd(16), '6 ', '::1'.padEnd(26), String(lport).padEnd(5), '::1'.padEnd(26), String(srv.port).padEnd(5), '100'.padStart(6), '30'.padStart(6)];
	assert.ok(row.startsWith(cols.join(' ') + ' '), `${row}\n${cols.join(' ')}`);
	assert.match(row.slice(cols.join(' ').length + 1), /^\d+\.\d\d$/);
	const cl = rc.stdout.split('\n');
	assert.equal(cl[0], 'TIME,TIME(s),PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS');
	const f = cl.find((l) => l.includes(title))!.split(',');
	assert.equal(f.length, 12);
	assert.match(f[0], /^\d\d:\d\d:\d\d$/);
	assert.match(f[1], /^\d+\.\d{6}$/);
	assert.deepEqual(f.slice(2, 11), [String(c.pid), title, '6', '::1', String(lport), '::1', String(srv.port), '100', '30']);
	assert.match(f[11], /^\d+\.\d\d$/);
	assert.ok(Number(f[11]) >= 200);
	const bl = rb.stdout.split('\n').filter(Boolean);
	assert.ok(!bl.some((l) => l.startsWith('PID,')), rb.stdout);
	assert.deepEqual(bl.find((l) => l.includes(title))!.split(',').slice(0, 4), [String(c.pid), title, '6', '::1']);
});

test('tcplife without tracefs (and no CAP_SYS_ADMIN to mount it): the server side is still attributed, at its close', async (t) => {
	if (!requireRoot(t)) return;
	const srv = await server('127.0.0.1');
	const caps = '-all,+bpf,+perfmon';
	const tool = startTool(['tcplife', '--json', '-L', String(srv.port), '-v'], {
		wrap: withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`),
	});
	await tool.attached();
	const title = commMarker('tln');
	const c = w.start('session', title, ['127.0.0.1', srv.port, TX, RX, 50]);
	const done = await c.message<Done>('done');
	await tool.waitFor((o) => ndjson(o).length >= 1);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, /tracefs unavailable/);
	const evs = ndjson<Life>(r.stdout);
	assert.equal(evs.length, 1, r.stdout);
	assert.deepEqual([evs[0].pid, evs[0].comm, evs[0].rport, evs[0].tx_kb, evs[0].rx_kb], [srv.s.pid, srv.title, done.sessions[0].lport, 30, 100]);
});
