// tcpretrans end to end: two network namespaces joined by a veth pair, a
// share of the client's packets dropped by an nftables rule on the server
// side; the tool's retransmits for that flow must agree with the client
// namespace's own RetransSegs counter over the same period.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { parseCounters } from '../../lib/net.js';
import { linksStillPresent, ndjson, requireRoot, sleep, startTool } from './helpers.js';
import { Workload, commMarker } from './tcp-workload.js';

const id = randomBytes(3).toString('hex');
const NS_C = `ebt-rtc-${id}`; // client side
const NS_S = `ebt-rts-${id}`; // server side (packets dropped on input here)
const NET = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`;
const C_ADDR = `${NET}.1`;
const S_ADDR = `${NET}.2`;
const w = new Workload();
let ready = false;

const sh = (args: string[], input?: string) => execFileSync(args[0], args.slice(1), { encoding: 'utf8', input });
const inNs = (ns: string) => ['ip', 'netns', 'exec', ns];

before(() => {
	if (process.getuid?.() !== 0) return;
	sh(['ip', 'netns', 'add', NS_C]);
	sh(['ip', 'netns', 'add', NS_S]);
	sh(['ip', 'link', 'add', `ebc${id}`, 'netns', NS_C, 'type', 'veth', 'peer', 'name', `ebs${id}`, 'netns', NS_S]);
	sh(['ip', '-n', NS_C, 'addr', 'add', `${C_ADDR}/24`, 'dev', `ebc${id}`]);
	sh(['ip', '-n', NS_S, 'addr', 'add', `${S_ADDR}/24`, 'dev', `ebs${id}`]);
	for (const [ns, dev] of [[NS_C, `ebc${id}`], [NS_S, `ebs${id}`]]) {
		sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
		sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
	}
	ready = true;
});

after(() => {
	w.close();
	for (const ns of [NS_C, NS_S]) {
		try {
			sh(['ip', 'netns', 'del', ns]);
		} catch {
			/* not created */
		}
	}
});

function retransSegs(ns: string): number {
	const v = parseCounters(sh([...inNs(ns), 'cat', '/proc/net/snmp'])).Tcp?.RetransSegs;
	assert.equal(typeof v, 'number');
	return v!;
}

function lossProbes(ns: string): number {
	return parseCounters(sh([...inNs(ns), 'cat', '/proc/net/netstat'])).TcpExt?.TCPLossProbes ?? NaN;
}

/** Drop `pct`% of the client's packets to the server port, on the server's input. */
function addLoss(port: number, pct: number): void {
	sh([...inNs(NS_S), 'nft', '-f', '-'], `table inet ebtloss {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr ${C_ADDR} tcp dport ${port} numgen random mod 100 < ${pct} drop
	}
}
`);
}

function removeLoss(): void {
	sh([...inNs(NS_S), 'nft', 'delete', 'table', 'inet', 'ebtloss']);
}

/** Wait until the client namespace has no TCP socket left but TIME-WAIT ones (nothing more to retransmit). */
async function drained(): Promise<void> {
	const t0 = Date.now();
	for (;;) {
		const out = sh([...inNs(NS_C), 'ss', '-Htan']).split('\n').filter((l) => l.trim() && !l.startsWith('TIME-WAIT'));
		if (!out.length) return;
		if (Date.now() - t0 > 60000) throw new Error(`sockets left in ${NS_C}: ${out.join('; ')}`);
		await sleep(100);
	}
}

interface Rt {
	pid: number | null;
	comm: string | null;
	ip: number;
	laddr: string;
	lport: number;
	raddr: string;
	rport: number;
	type: string;
	state: string;
	seq?: number;
	segs: number;
	err: number;
}

/** One lossy transfer from the client namespace; returns the flow and the kernel's RetransSegs delta. */
async function lossyTransfer(tools: { attached(): Promise<void> }[], bytes = 400 * 1024) {
	const title = commMarker('trc');
	const srv = w.start('server', commMarker('trs'), [S_ADDR, bytes, 1], { wrap: inNs(NS_S) });
	const { port } = await srv.message<{ port: number }>('port');
	await Promise.all(tools.map((t) => t.attached()));
	const c = w.start('session', title, [S_ADDR, port, bytes, 1, 0], { wrap: inNs(NS_C), waitGo: true });
	await c.message('waiting');
	const before = retransSegs(NS_C);
	const tlpBefore = lossProbes(NS_C);
	addLoss(port, 25);
	c.go();
	const done = await c.message<{ sessions: { lport: number; got: number }[] }>('done', 120000);
	removeLoss();
	await drained();
	const delta = retransSegs(NS_C) - before;
	const tlpDelta = lossProbes(NS_C) - tlpBefore;
	return { title, port, lport: done.sessions[0].lport, delta, tlpDelta, client: c };
}

test('tcpretrans: retransmits of a lossy flow agree with the kernel RetransSegs; -c per-flow count; -s; -6 excludes', async (t) => {
	if (!requireRoot(t)) return;
	assert.ok(ready);
	const json = startTool(['tcpretrans', '--json']);
	const count = startTool(['tcpretrans', '-c']);
	const text = startTool(['tcpretrans', '-s', '-4']);
	const v6 = startTool(['tcpretrans', '-6', '--json']);
	const f = await lossyTransfer([json, count, text, v6]);
	assert.ok(f.delta > 0, 'the drop rule caused no retransmits');
	const flow = (e: Rt) => e.laddr === C_ADDR && e.raddr === S_ADDR && e.lport === f.lport && e.rport === f.port;
	// every segment the kernel counted has been reported once the tool's sum reaches it
	await json.waitFor((o) => ndjson<Rt>(o).filter(flow).reduce((n, e) => n + e.segs, 0) >= f.delta);
	const [rj, rc, rt, r6] = await Promise.all([json.stop(), count.stop(), text.stop(), v6.stop()]);
	for (const r of [rj, rc, rt, r6]) assert.equal(r.code, 0, r.stderr);

	const evs = ndjson<Rt>(rj.stdout).filter(flow);
	// RetransSegs counts a retransmit before handing it to the device; the
	// tracepoint (6.13+) also reports attempts that failed (err != 0), some
	// before that point (-EBUSY: previous copy still queued) and some after.
	// Without failures (the usual case) the sums are equal.
	const sent = evs.filter((e) => e.err === 0).reduce((n, e) => n + e.segs, 0);
	const all = evs.reduce((n, e) => n + e.segs, 0);
	assert.ok(sent <= f.delta && f.delta <= all, `segments: tool ${sent} sent, ${all} attempted; kernel RetransSegs ${f.delta}`);
	for (const e of evs) {
		assert.equal(e.pid, f.client.pid);
		assert.equal(e.comm, f.title);
		assert.equal(e.ip, 4);
		assert.equal(e.type, 'retransmit');
	}

	const lines = rc.stdout.split('\n');
	assert.ok(lines.includes(`${'LADDR:LPORT'.padEnd(25)} ${'RADDR:RPORT'.padEnd(25)} ${'RETRANSMITS'.padEnd(10)} SEGS`), rc.stdout);
	const key = `${`[${C_ADDR}]#${f.lport}`.padEnd(20)} <-> ${`[${S_ADDR}]#${f.port}`.padEnd(20)}`;
	const row = lines.filter((l) => l.startsWith(key));
	assert.equal(row.length, 1, rc.stdout);
	assert.deepEqual(row[0].slice(key.length).trim().split(/\s+/).map(Number), [evs.length, all]);

	const tl = rt.stdout.split('\n');
	assert.equal(tl[0], 'TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ');
	const mine = tl.filter((l) => l.split(/\s+/)[3] === `${C_ADDR}:${f.lport}` && l.split(/\s+/)[5] === `${S_ADDR}:${f.port}`);
	assert.equal(mine.length, evs.length, `text:\n${mine.join("\n")}\njson:\n${evs.map((e) => JSON.stringify(e)).join("\n")}`);
	for (const l of mine) {
		const p = l.split(/\s+/);
		assert.match(p[0], /^\d\d:\d\d:\d\d$/);
		assert.deepEqual([p[1], p[2], p[4]], [String(f.client.pid), '4', 'R>']);
		assert.match(p[7], /^\d+$/);
	}

	assert.equal(ndjson<Rt>(r6.stdout).filter(flow).length, 0);
	assert.deepEqual(linksStillPresent(json.linkIds), []);
});

test('tcpretrans: -l without kprobes says so and reports the TCPLossProbes delta of the same period', async (t) => {
	if (!requireRoot(t)) return;
	assert.ok(ready);
	// run the tool in the client namespace, so /proc/net/netstat is that namespace's
	const tool = startTool(['tcpretrans', '-l', '--json'], { wrap: inNs(NS_C) });
	const f = await lossyTransfer([tool]);
	await sleep(200);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, /-l needs a kprobe on tcp_send_loss_probe/);
	const rec = ndjson<{ type?: string; count?: number }>(r.stdout).filter((o) => o.type === 'lossprobes');
	assert.equal(rec.length, 1, r.stdout);
	assert.equal(rec[0].count, f.tlpDelta);
});
