// biolatency: block device I/O latency as log2 histograms, aggregated in the
// kernel (tp_btf block_rq_issue/insert -> block_rq_complete, raw_tp or
// classic tracepoints as fallbacks), printed per interval as BCC prints them.
import { diskDev, diskName, devString, formatReqFlags, inflight, reqFlagsFromBtf } from '../lib/blockdev.js';
import type { ReqFlags } from '../lib/blockdev.js';
import { kernelBtf } from '../lib/btf.js';
import { ToolError, usage } from '../lib/errors.js';
import { BIOLAT_STAT, HIST_EXT_LAYOUT, HIST_KEY_LAYOUT, HIST_KEY_SIZE, decodeHistKey } from '../lib/gen/biolatency.js';
import { formatSections, groupSlots, histogramJson, sumPerCpuU64 } from '../lib/histogram.js';
import type { Section } from '../lib/histogram.js';
import { tracepointExists } from '../lib/preflight.js';
import { checkIntervalCount, defineTool } from '../lib/tool.js';
import { hhmmss, u32, u8 } from '../lib/tracer.js';
import type { LoadedObject, Tracer } from '../lib/tracer.js';

export type Hook = 'tp_btf' | 'raw_tp' | 'tracepoint';
/* indexes in the stats map */
const { STAT_STARTED, STAT_TIMED, STAT_NO_START, STAT_PARTIAL, STAT_LOST } = BIOLAT_STAT;
/* enum start_state in bpf/biolatency.bpf.c */
const START_ISSUED = 2;
const HOOKS: Hook[] = ['tp_btf', 'raw_tp', 'tracepoint'];

interface Opts {
	timestamp?: boolean;
	queued?: boolean;
	milliseconds?: boolean;
	disks?: boolean;
	flags?: boolean;
	extension?: boolean;
	disk?: string;
	hook?: string;
	interval?: number;
	count?: number;
}

/** BCC's -e line: avg and total truncated like Python's "%ld" of a float. */
export function extensionLine(total: number, count: number, unit: string): string {
	return `avg = ${Math.trunc(total / count)} ${unit}, total: ${total} ${unit}, count: ${count}`;
}

/** How one histogram key becomes a section (disk = vda, flags = Sync-Write). */
export function sectionOf(
	key: { dev: number; flags: number },
	mode: { disks?: boolean; flags?: boolean },
	rf: ReqFlags | undefined,
	nameOf: (dev: number) => string | undefined = diskName,
): Omit<Section, 'slots'> & { sort: string } {
	if (mode.disks) {
		const name = nameOf(key.dev) ?? '?';
		return { name: 'disk', label: name, keyJson: { dev: devString(key.dev) }, sort: name };
	}
	if (mode.flags && rf) {
		return { name: 'flags', label: formatReqFlags(rf, key.flags), keyJson: { cmd_flags: key.flags }, sort: String(key.flags).padStart(10, '0') };
	}
	return { sort: '' };
}

/** A recorded start in the classic-tracepoint mode: keyed by (dev, sector). */
export interface ClassicStart {
	key: Buffer;
	dev: number;
	ts: bigint;
	issued: boolean;
}

/** Starts younger than this may belong to requests the disk does not count in flight yet. */
const MIN_AGE_NS = 1_000_000n;

/**
 * The classic tracepoints carry no request pointer, so the kernel-side
 * sweep cannot tell a request in flight from one whose completion went
 * unseen. Per disk, the starts older than MIN_AGE_NS that outnumber the
 * requests the disk had in flight *before* the map was read are unseen
 * completions (a request issued before that read and still in flight at
 * it was counted in flight): the oldest of them are returned, to be
 * forgotten and reported. Never more than the true number.
 */
export function unseenClassic(starts: ClassicStart[], inflightBefore: Map<number, number>, now: bigint): ClassicStart[] {
	const byDev = new Map<number, ClassicStart[]>();
	for (const s of starts) {
		if (!s.issued || now - s.ts < MIN_AGE_NS) continue;
		let l = byDev.get(s.dev);
		if (!l) byDev.set(s.dev, (l = []));
		l.push(s);
	}
	const out: ClassicStart[] = [];
	for (const [dev, l] of byDev) {
		const n = inflightBefore.get(dev);
		if (n === undefined || l.length <= n) continue;
		l.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
		out.push(...l.slice(0, l.length - n));
	}
	return out;
}

export default defineTool<Opts>({
	name: 'biolatency',
	description: 'Summarize block device I/O latency as a histogram.',
	positionals: [
		{ name: 'interval', describe: 'output interval, in seconds (default: print once, at Ctrl-C)' },
		{ name: 'count', describe: 'number of outputs (default: unlimited)' },
	],
	options: {
		timestamp: { alias: 'T', type: 'boolean', describe: 'include timestamp on output' },
		queued: { alias: 'Q', type: 'boolean', describe: 'include OS queued time in I/O time' },
		milliseconds: { alias: 'm', type: 'boolean', describe: 'millisecond histogram' },
		disks: { alias: 'D', type: 'boolean', describe: 'print a histogram per disk device' },
		flags: { alias: 'F', type: 'boolean', describe: 'print a histogram per set of I/O flags' },
		extension: { alias: 'e', type: 'boolean', describe: 'summarize average/total value' },
		disk: { alias: 'd', type: 'string', requiresArg: true, describe: 'trace this disk only (name as in /sys/block)' },
		hook: {
			type: 'string',
			requiresArg: true,
			choices: HOOKS,
			describe: 'kernel hooks to use (default: the first that works of tp_btf, raw_tp, tracepoint)',
		},
	},
	examples: [
		['ebpf-tools biolatency', 'summarize block I/O latency as a histogram'],
		['ebpf-tools biolatency 1 10', 'print 1 second summaries, 10 times'],
		['ebpf-tools biolatency -mT 1', '1s summaries, milliseconds, and timestamps'],
		['ebpf-tools biolatency -Q', 'include OS queued time in I/O time'],
		['ebpf-tools biolatency -D', 'show each disk device separately'],
		['ebpf-tools biolatency -F', 'show I/O flags separately'],
		['ebpf-tools biolatency -e', 'show extension summary (total, average)'],
		['ebpf-tools biolatency -d sdc', 'trace sdc only'],
		['ebpf-tools biolatency --json 5', 'one JSON object per histogram, every 5 seconds'],
	],
	validate(a) {
		if (a.hook !== undefined && !HOOKS.includes(a.hook as Hook))
			throw usage(`--hook ${a.hook}: must be one of ${HOOKS.join(', ')}`);
		if (a.disks && a.flags) throw usage('can only use -D or -F');
		checkIntervalCount(a);
		if (a.cgroup !== undefined)
			throw usage('--cgroup is not supported by biolatency', 'block I/O is issued and completed outside the submitting task (kworkers, interrupts)');
		if (a.disk !== undefined) {
			const r = diskDev(a.disk);
			if (!r.ok && r.why === 'partition')
				throw usage(`-d ${a.disk}: a partition; requests are timed per whole disk`, r.parent ? `use -d ${r.parent}` : 'give a name from /sys/block');
			if (!r.ok) throw usage(`-d ${a.disk}: no such disk`, 'give a name from /sys/block');
		}
		if (a.flags && a.hook === 'tracepoint')
			throw usage('-F needs the request\'s flags, which the classic tracepoints do not carry', 'use --hook tp_btf or raw_tp');
	},
	async run(t, a) {
		const btf = kernelBtf();
		let rf: ReqFlags | undefined;
		if (a.flags) {
			rf = reqFlagsFromBtf(btf);
			if (!rf) throw new ToolError('UNSUPPORTED', 'biolatency: -F: the kernel BTF has no enum req_op / req_flag_bits');
		}
		// block_rq_insert/issue/merge lost their request_queue argument in Linux 5.11
		const rqArg = (btf.tracepointArgs('block_rq_issue') ?? 1) >= 2 ? 1 : 0;
		const hasMerge = btf.tracepointArgs('block_rq_merge') !== undefined;
		const hooks: Hook[] = a.hook ? [a.hook as Hook] : HOOKS;
		const dev = a.disk !== undefined ? diskDev(a.disk) : undefined;

		// the sweep that finds unseen completions (see bpf/biolatency.bpf.c):
		// bpf_for_each_map_elem (5.13) and struct request's state (4.18)
		const canSweep =
			btf.enumValues('bpf_func_id')?.has('BPF_FUNC_for_each_map_elem') === true &&
			btf.structMembers('request')?.includes('state') === true;

		let obj: LoadedObject | undefined;
		let hook: Hook = hooks[0];
		let firstErr: unknown;
		for (const h of hooks) {
			if (h === 'tracepoint' && (!t.tracefs || !tracepointExists('block', 'block_rq_complete'))) {
				firstErr ??= new ToolError('UNSUPPORTED', 'biolatency: the block tracepoints are not available (tracefs)');
				continue;
			}
			if (h === 'tracepoint' && a.flags) {
				firstErr ??= new ToolError('UNSUPPORTED', 'biolatency: -F needs tp_btf or raw_tp block tracepoints');
				continue;
			}
			try {
				obj = open(t, h, a, { rf, rqArg, hasMerge, sweep: canSweep && h !== 'tracepoint', dev: dev?.ok ? dev.dev : undefined });
				hook = h;
				break;
			} catch (e) {
				firstErr ??= e;
				if (a.verbose) t.out.info(`biolatency: ${h} unavailable: ${e instanceof Error ? e.message : e}`);
			}
		}
		if (!obj) throw firstErr;
		if (a.verbose) t.out.info(`biolatency: using ${hook} hooks`);

		const unit = a.milliseconds ? 'msecs' : 'usecs';
		const keyView = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);
		let interval = 0;
		let dropsSeen = 0;
		let missedSeen = 0;
		let unseenSeen = 0;
		const lo = obj;
		let sweep = canSweep && hook !== 'tracepoint';
		const stats = () => {
			const st = lo.dump('stats');
			const n = Array.from({ length: st.count }, (_, i) => sumPerCpuU64(st.values.subarray(i * st.valueSize, (i + 1) * st.valueSize), 8)[0]);
			n[STAT_LOST] += unseenClassicTotal;
			return n;
		};
		// classic tracepoints: unseen completions found from user space
		let unseenClassicTotal = 0;
		const sweepClassic = () => {
			const devs = new Set<number>();
			const before = lo.dump('start');
			for (let i = 0; i < before.count; i++) devs.add(Number(before.keys.readBigUInt64LE(i * before.keySize)));
			const inflightBefore = new Map<number, number>();
			for (const dev of devs) {
				const n = inflight(dev);
				if (n !== undefined) inflightBefore.set(dev, n);
			}
			const d = lo.dump('start');
			const now = BigInt(t.clock.nowNs());
			const starts: ClassicStart[] = [];
			for (let i = 0; i < d.count; i++) {
				const key = d.keys.subarray(i * d.keySize, (i + 1) * d.keySize);
				const v = d.values.subarray(i * d.valueSize, (i + 1) * d.valueSize);
				starts.push({ key, dev: Number(key.readBigUInt64LE(0)), ts: v.readBigUInt64LE(0), issued: v.readUInt32LE(8) === START_ISSUED });
			}
			for (const s of unseenClassic(starts, inflightBefore, now)) if (lo.obj.mapDelete('start', s.key)) unseenClassicTotal++;
		};
		const print = () => {
			interval++;
			if (sweep) {
				try {
					lo.obj.run('sweep');
				} catch (e) {
					sweep = false;
					t.out.warn(`biolatency: cannot check for unseen completions: ${e instanceof Error ? e.message : e}`);
				}
			} else if (hook === 'tracepoint') sweepClassic();
			const now = Date.now() / 1000;
			const dump = lo.dump('hists', { delete: true });
			const meta = new Map<string, Omit<Section, 'slots'> & { sort: string }>();
			const grouped = groupSlots(
				dump,
				dump.keySize,
				dump.valueSize,
				(k) => {
					const key = decodeHistKey(keyView(k), 0, HIST_KEY_SIZE);
					const id = `${key.dev}/${key.flags}`;
					if (!meta.has(id)) meta.set(id, sectionOf(key, a, rf));
					return { section: id, slot: key.slot };
				},
				(v) => sumPerCpuU64(v, 8)[0],
			);
			const sections: Section[] = [...grouped]
				.map(([id, slots]) => ({ ...meta.get(id)!, slots }))
				.sort((x, y) => ((x as { sort: string }).sort < (y as { sort: string }).sort ? -1 : 1))
				.map(({ name, label, keyJson, slots }) => ({ name, label, keyJson, slots }));
			let ext: number[] | undefined;
			if (a.extension) {
				const d = lo.dump('ext', { delete: true });
				ext = d.count ? sumPerCpuU64(d.values, 16) : [0, 0];
			}
			if (t.out.records) {
				for (const s of sections) {
					const h = histogramJson(s, unit, now);
					const { type, ...rest } = h;
					t.out.record({ type, interval, ...rest });
				}
				if (ext && ext[1] > 0)
					t.out.record({ type: 'summary', interval, timestamp: now, unit, avg: Math.trunc(ext[0] / ext[1]), total: ext[0], count: ext[1] });
			}
			if (!t.out.json) {
				t.out.line('');
				if (a.timestamp) t.out.line(hhmmss(now));
				for (const l of formatSections(sections, unit)) t.out.line(l);
				if (ext && ext[1] > 0) t.out.line(`\n${extensionLine(ext[0], ext[1], unit)}\n`);
			}
			const drops = lo.percpuSum('drops');
			if (drops > dropsSeen) {
				t.reportLost(drops - dropsSeen, 'a map was full');
				dropsSeen = drops;
			}
			const unseen = stats()[STAT_LOST];
			if (unseen > unseenSeen) {
				t.reportLost(unseen - unseenSeen, 'I/O completions the kernel did not run the BPF program for');
				unseenSeen = unseen;
			}
			const missed = t.missedRuns();
			if (missed > missedSeen) {
				t.reportLost(missed - missedSeen, 'the kernel skipped the BPF program: it was already running on that CPU');
				missedSeen = missed;
			}
			t.out.flush();
		};

		if (a.interval !== undefined) t.every(a.interval, a.count, print);
		t.out.info('Tracing block device I/O... Hit Ctrl-C to end.');
		const reason = await t.run();
		// Ctrl-C or --duration: print what the last (partial) interval gathered, as BCC does
		if (reason === 'signal' || reason === 'duration') print();
		if (a.verbose) {
			const n = stats();
			t.out.info(
				`biolatency: ${n[STAT_STARTED]} starts recorded, ${n[STAT_TIMED]} completions timed, ` +
					`${n[STAT_NO_START]} without a recorded start (issued before tracing or filtered), ${n[STAT_PARTIAL]} partial, ` +
					`${n[STAT_LOST]} unseen (${sweep ? 'request reuse and idle-request sweep' : hook === 'tracepoint' ? 'sector reuse and in-flight counts' : 'request reuse only'}), ` +
					`${t.missedRuns()} program runs skipped by the kernel`,
			);
		}
	},
});

function open(
	t: Tracer,
	hook: Hook,
	a: Opts,
	o: { rf?: ReqFlags; rqArg: number; hasMerge: boolean; sweep: boolean; dev?: number },
): LoadedObject {
	const progs = {
		tp_btf: ['btf_insert', 'btf_issue', 'btf_merge', 'btf_complete', 'btf_requeue'],
		raw_tp: ['raw_insert', 'raw_issue', 'raw_merge', 'raw_complete', 'raw_requeue'],
		tracepoint: ['tp_insert', 'tp_issue', '', 'tp_complete', 'tp_requeue'],
	};
	const [insert, issue, merge, complete, requeue] = progs[hook];
	const want = new Set([issue, complete, requeue]);
	if (a.queued) {
		want.add(insert);
		if (merge && o.hasMerge) want.add(merge);
	}
	const autoload: Record<string, boolean> = { sweep: o.sweep };
	for (const list of Object.values(progs)) for (const p of list) if (p) autoload[p] = want.has(p);
	const obj = t.open('biolatency', {
		layouts: { hist_key: HIST_KEY_LAYOUT, hist_ext: HIST_EXT_LAYOUT },
		autoload,
		// the event channel is unused: keep it small
		maps: t.usePerfBuffer ? {} : { events: { maxEntries: 4096 } },
		globals: {
			targ_queued: u8(!!a.queued),
			targ_ms: u8(!!a.milliseconds),
			targ_per_disk: u8(!!a.disks),
			targ_per_flag: u8(!!a.flags),
			targ_ext: u8(!!a.extension),
			filter_dev: u8(o.dev !== undefined),
			targ_dev: o.dev !== undefined ? u32(o.dev) : undefined,
			flags_mask: o.rf ? u32(o.rf.mask) : undefined,
			rq_arg: u32(o.rqArg),
		},
	});
	const attach = (p: string, name: string) => {
		if (hook === 'tp_btf') obj.attach(p);
		else if (hook === 'raw_tp') obj.rawTracepoint(p, name);
		else obj.tracepoint(p, 'block', name);
	};
	const names: Record<string, string> = {
		[insert]: 'block_rq_insert',
		[issue]: 'block_rq_issue',
		[complete]: 'block_rq_complete',
		[requeue]: 'block_rq_requeue',
	};
	if (merge) names[merge] = 'block_rq_merge';
	try {
		for (const p of want) attach(p, names[p]);
	} catch (e) {
		obj.obj.close(); // detach what did attach before trying the next hook
		throw e;
	}
	return obj;
}
