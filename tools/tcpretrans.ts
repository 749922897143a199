// tcpretrans: trace TCP retransmits without kprobes (tcp:tcp_retransmit_skb
// as tp_btf). The PID is the socket's owner from the shared identity map:
// retransmits run in softirq, where the current task is unrelated.
import { ToolError } from '../lib/errors.js';
import {
	RETRANS_COUNT_LAYOUT, RETRANS_EVENT_LAYOUT, RETRANS_KEY_LAYOUT,
	decodeRetransCount, decodeRetransEvent, decodeRetransKey,
} from '../lib/gen/tcpretrans.js';
import type { RetransCount, RetransEvent, RetransKey } from '../lib/gen/tcpretrans.js';
import {
	attachIdentity, dumpRecords, endpoint, familyFilter, formatAddr, identityAutoload, ipVersion, kernelCounter, tcpState,
} from '../lib/net.js';
import { Columns } from '../lib/output.js';
import { defineTool } from '../lib/tool.js';
import { bool, hhmmss, u16 } from '../lib/tracer.js';

interface Opts {
	sequence?: boolean;
	count?: boolean;
	ipv4?: boolean;
	ipv6?: boolean;
	lossprobe?: boolean;
}

const TYPE: Record<number, string> = { 1: 'R', 2: 'L' };

/** BCC's -c summary lines: `[addr]#port <-> [addr]#port      count`, ascending. */
export function formatRetransCounts(rows: { key: RetransKey; value: RetransCount }[]): string[] {
	const ep = (fam: number, a: number[], p: number) => `[${formatAddr(fam, a)}]#${p}`;
	const lines = ['', `${'LADDR:LPORT'.padEnd(25)} ${'RADDR:RPORT'.padEnd(25)} ${'RETRANSMITS'.padEnd(10)} SEGS`];
	for (const { key, value } of [...rows].sort((x, y) => x.value.retransmits - y.value.retransmits)) {
		const flow = `${ep(key.family, key.saddr, key.lport).padEnd(20)} <-> ${ep(key.family, key.daddr, key.dport).padEnd(20)}`;
		lines.push(`${flow} ${String(value.retransmits).padStart(10)} ${String(value.segs).padStart(5)}`);
	}
	return lines;
}

export default defineTool<Opts>({
	name: 'tcpretrans',
	description: 'Trace TCP retransmits: flow, state and owning process; or count them per flow.',
	options: {
		sequence: { alias: 's', type: 'boolean', describe: 'display TCP sequence numbers' },
		count: { alias: 'c', type: 'boolean', describe: 'count retransmits per flow; print at the end' },
		ipv4: { alias: '4', type: 'boolean', describe: 'trace IPv4 family only' },
		ipv6: { alias: '6', type: 'boolean', describe: 'trace IPv6 family only' },
		lossprobe: { alias: 'l', type: 'boolean', describe: 'include tail loss probe attempts (needs kprobes; else the TCPLossProbes counter)' },
	},
	examples: [
		['ebpf-tools tcpretrans', 'trace TCP retransmits'],
		['ebpf-tools tcpretrans -l', 'include TLP attempts'],
		['ebpf-tools tcpretrans -4', 'trace IPv4 family only'],
		['ebpf-tools tcpretrans -6', 'trace IPv6 family only'],
		['ebpf-tools tcpretrans -c', 'count retransmits per flow'],
		['ebpf-tools tcpretrans -s --json', 'one JSON object per retransmit, with sequence numbers'],
	],
	validate(a) {
		familyFilter(a);
	},
	async run(t, a) {
		const ident = identityAutoload(t.tracefs);
		const obj = t.open('tcpretrans', {
			layouts: { retrans_event: RETRANS_EVENT_LAYOUT, retrans_key: RETRANS_KEY_LAYOUT, retrans_count: RETRANS_COUNT_LAYOUT },
			autoload: { ...ident, tcpretrans_tlp: !!a.lossprobe },
			globals: { targ_family: u16(familyFilter(a)), do_count: a.count ? bool(true) : undefined },
		});
		obj.attach('tcpretrans_state');
		attachIdentity(obj, ident);
		obj.attach('tcpretrans_skb');

		// Tail loss probes have no tracepoint: a kprobe, only where one really attaches.
		let tlpBase: number | undefined;
		if (a.lossprobe) {
			try {
				obj.attach('tcpretrans_tlp');
			} catch (e) {
				if (!(e instanceof ToolError)) throw e;
				tlpBase = kernelCounter('TcpExt', 'TCPLossProbes');
				t.out.info(
					tlpBase === undefined
						? 'Note: -l needs a kprobe on tcp_send_loss_probe, which this kernel does not allow, and /proc/net/netstat has no TCPLossProbes: tail loss probes are not shown'
						: 'Note: -l needs a kprobe on tcp_send_loss_probe, which this kernel does not allow: the TCPLossProbes counter delta is printed at the end instead',
				);
				if (a.verbose) t.out.info(`kprobe attach: ${e.message}`);
			}
		}

		const cols = new Columns<RetransEvent>([
			{ header: 'TIME', width: 8, text: (e) => hhmmss(t.clock.epochSeconds(e.ts_ns)) },
			{ key: 'ts', json: (e) => t.clock.epochSeconds(e.ts_ns) },
			{ header: 'PID', key: 'pid', width: 7, text: (e) => String(e.pid), json: (e) => (e.pid || null) },
			{ key: 'comm', json: (e) => e.comm || null },
			{ header: 'IP', key: 'ip', width: 2, text: (e) => String(ipVersion(e.family)), json: (e) => ipVersion(e.family) },
			{ header: 'LADDR:LPORT', width: 20, text: (e) => endpoint(e.family, e.saddr, e.lport) },
			{ key: 'laddr', json: (e) => formatAddr(e.family, e.saddr) },
			{ key: 'lport', json: (e) => e.lport },
			{ header: 'T>', key: 'type', width: 2, text: (e) => `${TYPE[e.type] ?? '?'}>`, json: (e) => (e.type === 2 ? 'tlp' : 'retransmit') },
			{ header: 'RADDR:RPORT', width: 20, text: (e) => endpoint(e.family, e.daddr, e.dport) },
			{ key: 'raddr', json: (e) => formatAddr(e.family, e.daddr) },
			{ key: 'rport', json: (e) => e.dport },
			{ header: 'STATE', key: 'state', width: a.sequence ? 12 : undefined, text: (e) => tcpState(e.state) },
			{ header: 'SEQ', key: 'seq', show: !!a.sequence, text: (e) => String(e.seq), json: (e) => (a.sequence ? e.seq : undefined) },
			{ key: 'segs', json: (e) => e.segs },
			{ key: 'err', json: (e) => e.err },
		]);
		t.stream(obj, decodeRetransEvent, (e) => t.out.event(cols, e));
		t.atEnd(() => {
			if (a.count) {
				const rows = dumpRecords(obj.obj.mapDump('counts'), 40, 16, decodeRetransKey, decodeRetransCount);
				if (t.out.records) {
					for (const { key, value } of rows)
						t.out.record({
							type: 'count', ip: ipVersion(key.family), laddr: formatAddr(key.family, key.saddr), lport: key.lport,
							raddr: formatAddr(key.family, key.daddr), rport: key.dport, retransmits: value.retransmits, segs: value.segs,
						});
				}
				if (!t.out.json) for (const l of formatRetransCounts(rows)) t.out.line(l);
			}
			if (tlpBase !== undefined) {
				const n = (kernelCounter('TcpExt', 'TCPLossProbes') ?? tlpBase) - tlpBase;
				if (t.out.records) t.out.record({ type: 'lossprobes', count: n, source: '/proc/net/netstat TcpExt TCPLossProbes' });
				if (!t.out.json) t.out.line(`\nTCPLossProbes: ${n} tail loss probes sent while tracing (all sockets in this network namespace, /proc/net/netstat)`);
			}
			t.out.flush();
		});
		if (!a.count && !t.out.json) {
			t.out.line(cols.header());
			t.out.flush();
		}
		t.out.info(`Tracing retransmits${a.count ? ' (counting per flow)' : ''}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
