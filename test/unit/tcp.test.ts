// The TCP tools without privileges: address formatting against inet_ntop,
// port lists, kernel counter parsing, BCC's exact text layouts (tcpconnect,
// tcplife incl. CSV, tcpretrans -c), and option errors before the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LifeEvent } from '../../lib/gen/tcplife.js';
import { errnoInfo, familyFilter, formatAddr, ipv6, parseCounters, parsePorts, tcpState } from '../../lib/net.js';
import { connectColumns, formatCounts } from '../../tools/tcpconnect.js';
import type { ConnectEvent } from '../../lib/gen/tcpconnect.js';
import { csvHeader, csvRow, kb, lifeColumns, session } from '../../tools/tcplife.js';
import { formatRetransCounts } from '../../tools/tcpretrans.js';
import { runTool } from '../e2e/helpers.js';

const v6 = (s: number[]) => s;

test('IPv6 text matches glibc inet_ntop (values from Python socket.inet_ntop)', () => {
	const cases: [number[], string][] = [
		[[32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
		[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
		[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '::'],
		[[254, 128, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], 'fe80::1:0:0:1'],
		[[32, 1, 13, 184, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], '2001:db8::1:0:0:1'],
		[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3], '::ffff:10.1.2.3'],
		[[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '1::'],
		[[0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8], '1:2:3:4:5:6:7:8'],
		[[32, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:0:0:1::1'],
		[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], '::2'],
	];
	for (const [b, s] of cases) assert.equal(ipv6(v6(b)), s);
	assert.equal(formatAddr(2, [127, 0, 0, 1, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]), '127.0.0.1');
	assert.equal(formatAddr(10, cases[1][0]), '::1');
});

test('port lists: comma-separated, 1-65535, duplicates dropped; anything else is a usage error', () => {
	assert.deepEqual(parsePorts('80,443', '-P'), [80, 443]);
	assert.deepEqual(parsePorts(['80', '81,80'], '-P'), [80, 81]);
	assert.deepEqual(parsePorts(22, '-P'), [22]);
	for (const bad of ['0', '65536', 'http', '80,', '-1', '1.5'])
		assert.throws(() => parsePorts(bad, '-P'), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /-P/.test(e.message));
	assert.throws(() => parsePorts(Array.from({ length: 65 }, (_, i) => String(i + 1)).join(','), '-P'), /at most 64/);
	assert.equal(familyFilter({ ipv4: true }), 2);
	assert.equal(familyFilter({ ipv6: true }), 10);
	assert.equal(familyFilter({}), 0);
	assert.throws(() => familyFilter({ ipv4: true, ipv6: true }), /exclude/);
});

test('kernel counters parsed as nstat reads /proc/net/snmp and /proc/net/netstat', () => {
	const text = 'Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm ActiveOpens RetransSegs\nTcp: 1 17 123\nTcpExt: TCPLossProbes TCPLossProbeRecovery\nTcpExt: 9 2\n';
	const c = parseCounters(text);
	assert.equal(c.Tcp.RetransSegs, 123);
	assert.equal(c.Tcp.ActiveOpens, 17);
	assert.equal(c.TcpExt.TCPLossProbes, 9);
	assert.equal(c.Ip.DefaultTTL, 64);
	assert.deepEqual(parseCounters(''), {});
	assert.deepEqual(parseCounters('Tcp: A B\nUdp: 1 2\n'), {});
});

test('TCP state names and errno reasons', () => {
	assert.equal(tcpState(1), 'ESTABLISHED');
	assert.equal(tcpState(2), 'SYN_SENT');
	assert.equal(tcpState(12), 'NEW_SYN_RECV');
	assert.equal(tcpState(99), 'UNKNOWN(99)');
	assert.deepEqual(errnoInfo(111), { name: 'ECONNREFUSED', reason: 'refused' });
	assert.deepEqual(errnoInfo(110), { name: 'ETIMEDOUT', reason: 'timeout' });
	assert.deepEqual(errnoInfo(0), { name: null, reason: 'closed' });
	assert.deepEqual(errnoInfo(4242), { name: 'E4242', reason: 'errno 4242' });
});

const life = (o: Partial<LifeEvent> = {}): LifeEvent => ({
	ts_ns: 0, span_ns: 1500254000, rx_bytes: 30 * 1024 + 1, tx_bytes: 100 * 1024 + 1023,
	saddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], daddr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
	comm: 'curlverylongname', pid: 1234, tid: 1234, uid: 0, lport: 80, dport: 43, family: 2, active: 1, owned: 1, ...o,
});

test('tcplife rows as BCC formats them (default, -w) and KB rounded down', () => {
	const c = lifeColumns({});
	assert.equal(c.header(), 'PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS');
	// '%-5d %-10.10s %s%-15s %-5d %-15s %-5d %5d %5d %.2f' % (1234, 'curlverylongname', '', '127.0.0.1', 80, '10.0.0.1', 43, 100, 30, 1500.254)
	assert.equal(c.row(session(life(), '', 0)), '1234  curlverylo 127.0.0.1       80    10.0.0.1        43      100    30 1500.25');
	const w = lifeColumns({ wide: true });
	assert.equal(w.header(), 'PID   COMM             IP LADDR                      LPORT RADDR                      RPORT  TX_KB  RX_KB MS');
	const e6 = life({
		family: 10, comm: 'curl', lport: 443, span_ns: 1.5e6,
		saddr: [32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], daddr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3],
	});
	// '%-5d %-16.16s %-2s %-26s %-5s %-26s %-5d %6d %6d %.2f'
	assert.equal(w.row(session(e6, '', 0)), '1234  curl             6  2001:db8::1                443   ::ffff:10.1.2.3            43       100     30 1.50');
	const t = lifeColumns({ time: true, timestamp: true });
	assert.equal(t.header(), 'TIME     TIME(s)   PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS');
	assert.equal(t.row(session(life(), '12:34:56', 1.5)).slice(0, 19), '12:34:56 1.500000  ');
	assert.equal(kb(1023), 0);
	assert.equal(kb(102401), 100);
	assert.equal(session(life({ comm: '', pid: 0 }), '', 0).comm, '?');
	// JSON: the owner as numbers and a string, or null when it was never seen
	assert.deepEqual(pick(c.object(session(life(), '', 0))), { pid: 1234, tid: 1234, comm: 'curlverylongname' });
	assert.deepEqual(pick(c.object(session(life({ comm: '', pid: 0, tid: 0, owned: 0 }), '', 0))), { pid: null, tid: null, comm: null });
});

const pick = (o: Record<string, unknown>) => ({ pid: o.pid, tid: o.tid, comm: o.comm });

test('tcplife -s: BCC CSV header and rows', () => {
	assert.equal(csvHeader({ time: true, timestamp: true }), 'TIME,TIME(s),PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS');
	assert.equal(csvHeader({}), 'PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS');
	// '%d,%s,%s,%s,%s,%s,%d,%d,%d,%.2f' with TIME '%s,' and TIME(s) '%.6f,'
	assert.equal(csvRow(session(life(), '12:34:56', 0.25), { time: true, timestamp: true }),
		'12:34:56,0.250000,1234,curlverylongname,4,127.0.0.1,80,10.0.0.1,43,100,30,1500.25');
});

test('tcpconnect rows as BCC prints them, with -t, -U and -L', () => {
	const e: ConnectEvent = {
		ts_ns: 3_500_000_000, lat_ns: 250_000, saddr: [127, 0, 0, 1, ...Array(12).fill(0)], daddr: [10, 0, 0, 1, ...Array(12).fill(0)],
		comm: 'curlverylongname', pid: 1234, tid: 1234, uid: 1000, lport: 40000, dport: 80, family: 2, failed: 0, pad: 0, err: 0,
	} as ConnectEvent;
	const c = connectColumns({ timestamp: true, printUid: true, lport: true }, () => 1_000_000_000, (ns) => ns / 1e9);
	// '%-9s' % 'TIME(s)' + '%-6s' % 'UID' + '%-7s %-12s %-2s %-16s %-6s %-16s %s' (no gap after TIME(s) and UID)
	assert.equal(c.header(), 'TIME(s)  UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT');
	// '%-9.3f' % 2.5 + '%-6d' % 1000 + '%-7d %-12.12s %-2d %-16s %-6d %-16s %d'
	assert.equal(c.row(e), '2.500    1000  1234    curlverylong 4  127.0.0.1        40000  10.0.0.1         80');
	assert.equal(connectColumns({}, () => 0, (ns) => ns).header(), 'PID     COMM         IP SADDR            DADDR            DPORT');
});

test('tcpconnect -c summary: BCC header and columns, largest count first', () => {
	const k = (d: number, dport: number) => ({ saddr: [127, 0, 0, 1, ...Array(12).fill(0)], daddr: [10, 0, 0, d, ...Array(12).fill(0)], family: 2, dport });
	const lines = formatCounts([
		{ key: k(1, 80), value: { connects: 3, failures: 0 } },
		{ key: k(2, 443), value: { connects: 70, failures: 0 } },
	], false);
	assert.equal(lines[0], '');
	// '%-25s %-25s %-20s %-10s' % ('LADDR', 'RADDR', 'RPORT', 'CONNECTS'), then '%-25s %-25s %-20s %-10d'
	assert.equal(lines[1], 'LADDR                     RADDR                     RPORT                CONNECTS');
	assert.equal(lines[2], '127.0.0.1                 10.0.0.2                  443                  70        ');
	assert.equal(lines[3], '127.0.0.1                 10.0.0.1                  80                   3         ');
	assert.match(formatCounts([], true)[1], /CONNECTS\s+FAILED$/);
});

test('tcpretrans -c summary: [addr]#port <-> [addr]#port and counts, fewest first', () => {
	const k = (lport: number) => ({ saddr: [10, 0, 0, 1, ...Array(12).fill(0)], daddr: [10, 0, 0, 2, ...Array(12).fill(0)], family: 2, lport, dport: 5555 });
	const lines = formatRetransCounts([
		{ key: k(40000), value: { retransmits: 9, segs: 20 } },
		{ key: k(22), value: { retransmits: 7, segs: 7 } },
	]);
	assert.equal(lines[1], 'LADDR:LPORT               RADDR:RPORT               RETRANSMITS SEGS');
	// '%-20s <-> %-20s' % ('[10.0.0.1]#22', '[10.0.0.2]#5555') + ' %10d' % 7
	assert.equal(lines[2], '[10.0.0.1]#22        <-> [10.0.0.2]#5555               7     7');
	assert.ok(lines[3].startsWith('[10.0.0.1]#40000     <-> [10.0.0.2]#5555               9'));
});

test('TCP tools refuse bad options with one line and exit 2, before touching the kernel', () => {
	const cases: [string[], RegExp][] = [
		[['tcpconnect', '-4', '-6'], /-4 and -6 exclude each other/],
		[['tcpconnect', '-P', '80,x'], /--port 80,x: 'x' is not a port/],
		[['tcpconnect', '-p', '0'], /--pid 0: must be a positive PID/],
		[['tcpconnect', '-u', 'no-such-user-ebt'], /--uid no-such-user-ebt: no such user/],
		[['tcplife', '-m', '-5'], /--min-ms -5/],
		[['tcplife', '-m', 'soon'], /--min-ms: expected a number/],
		[['tcplife', '-L', '70000'], /--localport 70000/],
		[['tcplife', '-D', ''], /remoteport/],
		[['tcpretrans', '-4', '-6'], /-4 and -6 exclude each other/],
		[['tcpretrans', '--bogus'], /Unknown argument: bogus/],
	];
	for (const [args, re] of cases) {
		const r = runTool(args);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.match(r.stderr, re);
	}
});

test('--help of each TCP tool shows its BCC options', () => {
	const want: Record<string, string[]> = {
		tcpconnect: ['-t, --timestamp', '-p, --pid', '-P, --port', '-4, --ipv4', '-6, --ipv6', '-L, --lport', '-U, --print-uid', '-u, --uid', '-c, --count', '-x, --failed', '--latency'],
		tcplife: ['-T, --time', '-t, --timestamp', '-w, --wide', '-s, --csv', '-p, --pid', '-L, --localport', '-D, --remoteport', '-m, --min-ms', '--header'],
		tcpretrans: ['-s, --sequence', '-c, --count', '-4, --ipv4', '-6, --ipv6', '-l, --lossprobe'],
	};
	for (const [tool, opts] of Object.entries(want)) {
		const h = runTool([tool, '--help']);
		assert.equal(h.code, 0, h.stderr);
		for (const o of opts) assert.ok(h.stdout.includes(o), `${tool} --help lacks ${o}`);
	}
});
