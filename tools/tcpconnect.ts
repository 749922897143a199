// tcpconnect: trace active TCP connects without kprobes. CLOSE->SYN_SENT in
// connect()'s process context remembers the caller; SYN_SENT->ESTABLISHED
// (or ->CLOSE, -x) reports it, whatever context the kernel completes it in.
import { usage } from '../lib/errors.js';
import {
	CONNECT_COUNT_LAYOUT, CONNECT_EVENT_LAYOUT, CONNECT_KEY_LAYOUT,
	decodeConnectCount, decodeConnectEvent, decodeConnectKey,
} from '../lib/gen/tcpconnect.js';
import type { ConnectCount, ConnectEvent, ConnectKey } from '../lib/gen/tcpconnect.js';
import {
	attachIdentity, dumpRecords, errnoInfo, familyFilter, fillPortMap, formatAddr, identityAutoload, ipVersion, parsePorts,
} from '../lib/net.js';
import { Columns } from '../lib/output.js';
import { tracepointExists } from '../lib/preflight.js';
import { defineTool } from '../lib/tool.js';
import { bool, u16, u32 } from '../lib/tracer.js';
import { resolveUid } from '../lib/users.js';

interface Opts {
	timestamp?: boolean;
	pid?: number;
	port?: string[];
	ipv4?: boolean;
	ipv6?: boolean;
	lport?: boolean;
	printUid?: boolean;
	uid?: string;
	count?: boolean;
	failed?: boolean;
	latency?: boolean;
}

/** BCC's -c summary: counts sorted descending, one line per (source, destination, port). */
export function formatCounts(rows: { key: ConnectKey; value: ConnectCount }[], failed: boolean): string[] {
	const sorted = [...rows].sort((a, b) => b.value.connects + b.value.failures - (a.value.connects + a.value.failures));
	const head = `${'LADDR'.padEnd(25)} ${'RADDR'.padEnd(25)} ${'RPORT'.padEnd(20)} ${failed ? `${'CONNECTS'.padEnd(10)} FAILED` : 'CONNECTS'}`;
	const lines = ['', head];
	for (const { key, value } of sorted) {
		const l = `${formatAddr(key.family, key.saddr).padEnd(25)} ${formatAddr(key.family, key.daddr).padEnd(25)} ${String(key.dport).padEnd(20)} `;
		lines.push(failed ? `${l}${String(value.connects).padEnd(10)} ${value.failures}` : `${l}${String(value.connects).padEnd(10)}`);
	}
	return lines;
}

/**
 * The column spec of the event rows, text and JSON. BCC prints TIME(s) with
 * "%-9.3f" and UID with "%-6d" and no separator after either: 8 and 5 wide
 * plus the column gap.
 */
export function connectColumns(
	a: { timestamp?: boolean; printUid?: boolean; lport?: boolean; latency?: boolean; failed?: boolean },
	firstNs: () => number,
	epoch: (ns: number) => number,
): Columns<ConnectEvent> {
	return new Columns<ConnectEvent>([
		{ header: 'TIME(s)', width: 8, show: !!a.timestamp, text: (e) => ((e.ts_ns - firstNs()) / 1e9).toFixed(3) },
		{ key: 'ts', json: (e) => epoch(e.ts_ns) },
		{ header: 'UID', key: 'uid', width: 5, show: !!a.printUid, text: (e) => String(e.uid), json: (e) => e.uid },
		{ header: 'PID', key: 'pid', width: 7, text: (e) => String(e.pid), json: (e) => e.pid },
		{ key: 'tid', json: (e) => e.tid },
		{ header: 'COMM', key: 'comm', width: 12, text: (e) => e.comm.slice(0, 12), json: (e) => e.comm },
		{ header: 'IP', key: 'ip', width: 2, text: (e) => String(ipVersion(e.family)), json: (e) => ipVersion(e.family) },
		{ header: 'SADDR', key: 'saddr', width: 16, text: (e) => formatAddr(e.family, e.saddr) },
		{ header: 'LPORT', key: 'lport', width: 6, show: !!a.lport, text: (e) => String(e.lport), json: (e) => e.lport },
		{ header: 'DADDR', key: 'daddr', width: 16, text: (e) => formatAddr(e.family, e.daddr) },
		{ header: 'DPORT', key: 'dport', width: 6, text: (e) => String(e.dport), json: (e) => e.dport },
		{ header: 'LAT(ms)', key: 'lat_ms', width: 8, right: true, show: !!a.latency, text: (e) => (e.lat_ns / 1e6).toFixed(2), json: (e) => (a.latency ? Math.round(e.lat_ns / 1e3) / 1e3 : undefined) },
		{ header: 'RESULT', show: !!a.failed, text: (e) => (e.failed ? errnoInfo(e.err).reason : 'ok') },
		{ key: 'failed', json: (e) => e.failed !== 0 },
		{ key: 'error', json: (e) => (e.failed ? errnoInfo(e.err).name : null) },
		{ key: 'reason', json: (e) => (e.failed ? errnoInfo(e.err).reason : null) },
	]);
}

export default defineTool<Opts>({
	name: 'tcpconnect',
	description: 'Trace active TCP connections (connect()), with the connecting process, addresses and port.',
	options: {
		timestamp: { alias: 't', type: 'boolean', describe: 'include a timestamp column (seconds since the first event)' },
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'trace this PID only' },
		port: { alias: 'P', type: 'string', array: true, requiresArg: true, describe: 'comma-separated list of destination ports to trace' },
		ipv4: { alias: '4', type: 'boolean', describe: 'trace IPv4 family only' },
		ipv6: { alias: '6', type: 'boolean', describe: 'trace IPv6 family only' },
		lport: { alias: 'L', type: 'boolean', describe: 'include an LPORT column' },
		'print-uid': { alias: 'U', type: 'boolean', describe: 'include a UID column' },
		uid: { alias: 'u', type: 'string', requiresArg: true, describe: 'trace this UID or user name only' },
		count: { alias: 'c', type: 'boolean', describe: 'count connects per source IP, destination IP and port; print at the end' },
		failed: { alias: 'x', type: 'boolean', describe: 'include failed connects, with the reason (refused, timeout, ...)' },
		latency: { type: 'boolean', describe: 'include a LAT(ms) column: SYN sent to handshake complete' },
	},
	examples: [
		['ebpf-tools tcpconnect', 'trace all TCP connect()s'],
		['ebpf-tools tcpconnect -t', 'include timestamps'],
		['ebpf-tools tcpconnect -p 181', 'only trace PID 181'],
		['ebpf-tools tcpconnect -P 80', 'only trace port 80'],
		['ebpf-tools tcpconnect -P 80,81', 'only trace port 80 and 81'],
		['ebpf-tools tcpconnect -4', 'only trace IPv4 family'],
		['ebpf-tools tcpconnect -6', 'only trace IPv6 family'],
		['ebpf-tools tcpconnect -U', 'include UID'],
		['ebpf-tools tcpconnect -u 1000', 'only trace UID 1000'],
		['ebpf-tools tcpconnect -c', 'count connects per src ip and dest ip/port'],
		['ebpf-tools tcpconnect -L', 'include LPORT while printing outputs'],
		['ebpf-tools tcpconnect -x --latency', 'include failed connects, and the handshake latency'],
		['ebpf-tools tcpconnect --cgroup /sys/fs/cgroup/system.slice', 'only trace tasks in that cgroup'],
	],
	validate(a) {
		if (a.pid !== undefined && (!Number.isInteger(a.pid) || a.pid <= 0)) throw usage(`--pid ${a.pid}: must be a positive PID`);
		if (a.uid !== undefined && resolveUid(a.uid) === undefined)
			throw usage(`--uid ${a.uid}: no such user`, 'give a numeric UID or a name from /etc/passwd');
		if (a.port !== undefined) parsePorts(a.port, '--port');
		familyFilter(a);
	},
	async run(t, a) {
		const ports = a.port !== undefined ? parsePorts(a.port, '--port') : [];
		const uid = a.uid !== undefined ? resolveUid(a.uid) : undefined;
		const failedSyscall = !!a.failed && t.tracefs && tracepointExists('syscalls', 'sys_enter_connect');
		const ident = identityAutoload(t.tracefs);
		const obj = t.open('tcpconnect', {
			layouts: { connect_event: CONNECT_EVENT_LAYOUT, connect_key: CONNECT_KEY_LAYOUT, connect_count: CONNECT_COUNT_LAYOUT },
			autoload: { ...ident, tcpconnect_enter: failedSyscall, tcpconnect_exit: failedSyscall },
			globals: {
				targ_tgid: a.pid ? u32(a.pid) : undefined,
				targ_uid: uid !== undefined ? u32(uid) : undefined,
				targ_family: u16(familyFilter(a)),
				filter_ports: ports.length ? bool(true) : undefined,
				do_count: a.count ? bool(true) : undefined,
				trace_failed: a.failed ? bool(true) : undefined,
			},
		});
		fillPortMap(obj, 'ports', ports);
		obj.attach('tcpconnect_state');
		attachIdentity(obj, ident);
		if (failedSyscall) {
			obj.tracepoint('tcpconnect_enter', 'syscalls', 'sys_enter_connect');
			obj.tracepoint('tcpconnect_exit', 'syscalls', 'sys_exit_connect');
		} else if (a.failed && a.verbose) {
			t.out.info('tracefs unavailable: connect() calls failing before a SYN is sent are not shown');
		}

		let firstNs = 0;
		const cols = connectColumns(a, () => firstNs, (ns) => t.clock.epochSeconds(ns));
		t.stream(obj, decodeConnectEvent, (e) => {
			if (!firstNs) firstNs = e.ts_ns;
			t.out.event(cols, e);
		});
		if (a.count) {
			t.atEnd(() => {
				const rows = dumpRecords(obj.obj.mapDump('counts'), 40, 16, decodeConnectKey, decodeConnectCount);
				if (t.out.records) {
					for (const { key, value } of rows.sort((x, y) => y.value.connects - x.value.connects))
						t.out.record({
							type: 'count', ip: ipVersion(key.family), saddr: formatAddr(key.family, key.saddr),
							daddr: formatAddr(key.family, key.daddr), dport: key.dport, connects: value.connects,
							...(a.failed ? { failures: value.failures } : {}),
						});
				}
				if (!t.out.json) {
					for (const l of formatCounts(rows, !!a.failed)) t.out.line(l);
				}
				t.out.flush();
			});
		} else if (!t.out.json) {
			t.out.line(cols.header());
			t.out.flush();
		}
		t.out.info(`Tracing connect${a.failed ? ' (including failures)' : ''}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
