// tcplife: TCP sessions from birth to CLOSE with bytes and duration, without
// kprobes. Owner and local port come from the shared socket identity map, so
// sessions closed from softirq or by the peer still show their process.
import { usage } from '../lib/errors.js';
import { LIFE_EVENT_LAYOUT, decodeLifeEvent } from '../lib/gen/tcplife.js';
import type { LifeEvent } from '../lib/gen/tcplife.js';
import { attachIdentity, familyFilter, fillPortMap, formatAddr, identityAutoload, ipVersion, ownerComm, parsePorts } from '../lib/net.js';
import { Columns } from '../lib/output.js';
import { defineTool } from '../lib/tool.js';
import { bool, hhmmss, u16, u32, u64 } from '../lib/tracer.js';

interface Opts {
	time?: boolean;
	timestamp?: boolean;
	wide?: boolean;
	csv?: boolean;
	pid?: number;
	localport?: string[];
	remoteport?: string[];
	ipv4?: boolean;
	ipv6?: boolean;
	minMs?: number;
	header: boolean;
}

/** What a row shows, computed once per event. */
export interface Session {
	time: string;
	rel: number;
	pid: number;
	comm: string;
	/** the owner (pid, comm) is known */
	owned: boolean;
	tid: number;
	ip: number;
	laddr: string;
	lport: number;
	raddr: string;
	rport: number;
	txKb: number;
	rxKb: number;
	ms: number;
}

/** BCC's KB columns: bytes / 1024 printed with %d (truncated). */
export const kb = (bytes: number): number => Math.trunc(bytes / 1024);

export function session(e: LifeEvent, time: string, rel: number): Session {
	return {
		time,
		rel,
		pid: e.pid,
		comm: ownerComm(e.comm),
		owned: !!e.owned,
		tid: e.tid,
		ip: ipVersion(e.family),
		laddr: formatAddr(e.family, e.saddr),
		lport: e.lport,
		raddr: formatAddr(e.family, e.daddr),
		rport: e.dport,
		txKb: kb(e.tx_bytes),
		rxKb: kb(e.rx_bytes),
		ms: e.span_ns / 1e6,
	};
}

/** Column specs for BCC's default and -w layouts (text), and the JSON record. */
export function lifeColumns(o: { time?: boolean; timestamp?: boolean; wide?: boolean }, extra: Columns<Session>['json'] = []): Columns<Session> {
	const w = !!o.wide;
	return new Columns<Session>([
		{ header: 'TIME', width: 8, show: !!o.time, text: (s) => s.time },
		{ header: 'TIME(s)', width: 9, show: !!o.timestamp, text: (s) => s.rel.toFixed(6) },
		{ header: 'PID', key: 'pid', width: 5, text: (s) => String(s.pid), json: (s) => (s.owned ? s.pid : null) },
		{ key: 'tid', json: (s) => (s.owned ? s.tid : null) },
		{ header: 'COMM', key: 'comm', width: w ? 16 : 10, text: (s) => s.comm.slice(0, w ? 16 : 10), json: (s) => (s.owned ? s.comm : null) },
		{ header: 'IP', key: 'ip', width: 2, show: w, text: (s) => String(s.ip), json: (s) => s.ip },
		{ header: 'LADDR', key: 'laddr', width: w ? 26 : 15, text: (s) => s.laddr },
		{ header: 'LPORT', key: 'lport', width: 5, text: (s) => String(s.lport), json: (s) => s.lport },
		{ header: 'RADDR', key: 'raddr', width: w ? 26 : 15, text: (s) => s.raddr },
		{ header: 'RPORT', key: 'rport', width: 5, text: (s) => String(s.rport), json: (s) => s.rport },
		{ header: 'TX_KB', key: 'tx_kb', width: w ? 6 : 5, right: true, text: (s) => String(s.txKb), json: (s) => s.txKb },
		{ header: 'RX_KB', key: 'rx_kb', width: w ? 6 : 5, right: true, text: (s) => String(s.rxKb), json: (s) => s.rxKb },
		{ header: 'MS', key: 'ms', text: (s) => s.ms.toFixed(2), json: (s) => Math.round(s.ms * 1000) / 1000 },
		...extra,
	]);
}

/** BCC's -s (CSV) header and rows. */
export function csvHeader(o: { time?: boolean; timestamp?: boolean }): string {
	return [o.time && 'TIME', o.timestamp && 'TIME(s)', 'PID', 'COMM', 'IP', 'LADDR', 'LPORT', 'RADDR', 'RPORT', 'TX_KB', 'RX_KB', 'MS']
		.filter(Boolean)
		.join(',');
}

export function csvRow(s: Session, o: { time?: boolean; timestamp?: boolean }): string {
	const f: (string | number)[] = [];
	if (o.time) f.push(s.time);
	if (o.timestamp) f.push(s.rel.toFixed(6));
	f.push(s.pid, s.comm, s.ip, s.laddr, s.lport, s.raddr, s.rport, s.txKb, s.rxKb, s.ms.toFixed(2));
	return f.join(',');
}

export default defineTool<Opts>({
	name: 'tcplife',
	description: 'Trace TCP sessions: who opened them, for how long, and how many bytes went each way.',
	options: {
		time: { alias: 'T', type: 'boolean', describe: 'include a time column on output (HH:MM:SS)' },
		timestamp: { alias: 't', type: 'boolean', describe: 'include a timestamp column (seconds since the first session)' },
		wide: { alias: 'w', type: 'boolean', describe: 'wide column output (fits IPv6 addresses)' },
		csv: { alias: 's', type: 'boolean', describe: 'comma separated values output' },
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'trace this PID only' },
		localport: { alias: 'L', type: 'string', array: true, requiresArg: true, describe: 'comma-separated list of local ports to trace' },
		remoteport: { alias: 'D', type: 'string', array: true, requiresArg: true, describe: 'comma-separated list of remote ports to trace' },
		ipv4: { alias: '4', type: 'boolean', describe: 'trace IPv4 family only' },
		ipv6: { alias: '6', type: 'boolean', describe: 'trace IPv6 family only' },
		'min-ms': { alias: 'm', type: 'number', requiresArg: true, describe: 'only sessions that lasted at least this many milliseconds (filtered in the kernel)' },
		header: { type: 'boolean', default: true, describe: 'print the header line; --no-header for sort/awk pipelines' },
	},
	examples: [
		['ebpf-tools tcplife', 'trace all TCP connect()s'],
		['ebpf-tools tcplife -m 1000', 'only sessions that lasted 1 second or more'],
		['ebpf-tools tcplife -t', 'include time column (HH:MM:SS)'],
		['ebpf-tools tcplife -w', 'wider columns (fit IPv6)'],
		['ebpf-tools tcplife -stT', 'csv output, with times & timestamps'],
		['ebpf-tools tcplife -p 181', 'only trace PID 181'],
		['ebpf-tools tcplife -L 80', 'only trace local port 80'],
		['ebpf-tools tcplife -L 80,81', 'only trace local ports 80 and 81'],
		['ebpf-tools tcplife -D 80', 'only trace remote port 80'],
		['ebpf-tools tcplife -4', 'only trace IPv4 family'],
		['ebpf-tools tcplife -6', 'only trace IPv6 family'],
		['ebpf-tools tcplife --no-header -s | sort -t, -k10 -n', 'sessions by bytes sent'],
	],
	validate(a) {
		if (a.pid !== undefined && (!Number.isInteger(a.pid) || a.pid <= 0)) throw usage(`--pid ${a.pid}: must be a positive PID`);
		if (a.minMs !== undefined && !(a.minMs >= 0 && a.minMs < 1e12))
			throw usage(`--min-ms ${a.minMs}: must be a number of milliseconds, 0 or more`);
		if (a.localport !== undefined) parsePorts(a.localport, '--localport');
		if (a.remoteport !== undefined) parsePorts(a.remoteport, '--remoteport');
		familyFilter(a);
	},
	async run(t, a) {
		const lports = a.localport !== undefined ? parsePorts(a.localport, '--localport') : [];
		const rports = a.remoteport !== undefined ? parsePorts(a.remoteport, '--remoteport') : [];
		const ident = identityAutoload(t.tracefs);
		const obj = t.open('tcplife', {
			layouts: { life_event: LIFE_EVENT_LAYOUT },
			autoload: ident,
			globals: {
				targ_tgid: a.pid ? u32(a.pid) : undefined,
				targ_family: u16(familyFilter(a)),
				filter_lports: lports.length ? bool(true) : undefined,
				filter_rports: rports.length ? bool(true) : undefined,
				min_ns: a.minMs ? u64(BigInt(Math.round(a.minMs * 1e6))) : undefined,
			},
		});
		fillPortMap(obj, 'lports', lports);
		fillPortMap(obj, 'rports', rports);
		obj.attach('tcplife_state');
		if (!attachIdentity(obj, ident) && a.verbose)
			t.out.info('tracefs unavailable: accepted sockets are attributed at their first state change in process context');

		const cols = lifeColumns(a, [
			{ key: 'ts', json: () => t.clock.epochSeconds(cur.ts_ns) },
			{ key: 'tx_bytes', json: () => cur.tx_bytes },
			{ key: 'rx_bytes', json: () => cur.rx_bytes },
			{ key: 'uid', json: () => (cur.owned ? cur.uid : null) },
			{ key: 'side', json: () => (cur.active ? 'client' : 'server') },
		]);
		let firstNs = 0;
		let cur!: LifeEvent;
		t.stream(obj, decodeLifeEvent, (e) => {
			if (!firstNs) firstNs = e.ts_ns;
			cur = e;
			const s = session(e, hhmmss(t.clock.epochSeconds(e.ts_ns)), (e.ts_ns - firstNs) / 1e9);
			if (a.csv && !t.out.json) {
				if (t.out.records) t.out.record(cols.object(s));
				t.out.line(csvRow(s, a));
			} else t.out.event(cols, s);
		});
		if (!t.out.json && a.header) {
			t.out.line(a.csv ? csvHeader(a) : cols.header());
			t.out.flush();
		}
		t.out.info(`Tracing TCP sessions${a.minMs ? ` lasting ${a.minMs} ms or more` : ''}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
