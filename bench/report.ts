// Medians and ratios of the bench runs, as markdown (stdout) and JSON summaries.
import type { Entry, Kind, Tracer } from './entries.js';
import { median } from './proc.js';
import type { Options, Run } from './run.js';

export interface RateSummary {
	target: number;
	/** median achieved ops/s */
	rate: number;
	/** median captured / generated */
	capture: number;
	/** every repeat captured at least what was generated */
	lossless: boolean;
	/** median events missing (generated - captured, >= 0) and median lost events the tracer reported */
	missing: number;
	reported: number;
	cpuMsPer1k: number;
	runs: number;
	errors: number;
}

export interface KindSummary {
	kind: Tracer;
	byRate: RateSummary[];
	/** median achieved workload rate at max, and the workload alone */
	maxRate?: number;
	baseRate?: number;
	/** median over repeats of (workload alone ops/s) / (ops/s under this tracer) */
	slowdown?: number;
	/** the highest target whose repeats were all lossless, with every lower target lossless too */
	highestLossless?: { target: number; rate: number } | null;
	cpuMsPer1k?: number;
	startupMs?: number;
	bannerMs?: number;
	/** median over repeats of the largest VmHWM seen in that repeat */
	rssMb?: number;
}

export interface EntrySummary {
	tool: string;
	workload: string;
	fixedRate: number;
	kinds: KindSummary[];
	targets: { cpuPer1kVsBpftrace?: boolean; startupUnder400ms?: boolean; rssUnder60MB?: boolean; maxLosslessOrReported?: boolean; slowdownVsPeer?: boolean };
}

const fmtInt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '' : Math.round(n).toLocaleString('en-US'));
const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '' : n.toFixed(d));
const pct = (x: number) => (!Number.isFinite(x) ? '' : x >= 1 && x < 1.0005 ? '100%' : `${(x * 100).toFixed(x > 0.999 && x < 1 ? 2 : 1)}%`);
const rateLabel = (t: number) => (t === 0 ? 'max' : `${fmtInt(t)}/s`);

function summarizeKind(e: Entry, kind: Tracer, runs: Run[], fixed: number): KindSummary {
	const mine = runs.filter((r) => r.kind === kind);
	const targets = [...new Set(mine.map((r) => r.target))];
	const byRate: RateSummary[] = targets.map((target) => {
		const rs = mine.filter((r) => r.target === target);
		const ok = rs.filter((r) => !r.error && r.captured !== undefined);
		return {
			target,
			rate: median(ok.map((r) => r.rate)),
			capture: median(ok.map((r) => r.captured! / r.generated)),
			lossless: ok.length > 0 && ok.length === rs.length && ok.every((r) => r.captured! >= r.generated),
			missing: median(ok.map((r) => Math.max(0, r.generated - r.captured!))),
			reported: median(ok.map((r) => r.lostReported ?? 0)),
			cpuMsPer1k: median(ok.map((r) => r.cpuMsPer1k ?? NaN)),
			runs: rs.length,
			errors: rs.length - ok.length,
		};
	});
	const s: KindSummary = { kind, byRate };
	const max = byRate.find((b) => b.target === 0);
	if (max) {
		s.maxRate = max.rate;
		const base = runs.filter((r) => r.kind === 'base' && !r.error);
		s.baseRate = median(base.map((r) => r.rate));
		const ratios = mine
			.filter((r) => r.target === 0 && !r.error)
			.map((r) => {
				const b = base.find((x) => x.repeat === r.repeat);
				return b && r.rate > 0 ? b.rate / r.rate : NaN;
			});
		s.slowdown = median(ratios);
	}
	// ascending targets, max last
	const ordered = [...byRate].sort((a, b) => (a.target || Infinity) - (b.target || Infinity));
	let best: { target: number; rate: number } | null = null;
	for (const b of ordered) {
		if (!b.lossless) break;
		best = { target: b.target, rate: b.rate };
	}
	s.highestLossless = e.aggregate ? undefined : best;
	const f = byRate.find((b) => b.target === fixed);
	s.cpuMsPer1k = f?.cpuMsPer1k;
	s.startupMs = median(mine.filter((r) => r.startupMs !== undefined).map((r) => r.startupMs!));
	s.bannerMs = median(mine.filter((r) => r.bannerMs !== undefined).map((r) => r.bannerMs!));
	const reps = [...new Set(mine.map((r) => r.repeat))];
	s.rssMb = median(reps.map((rep) => Math.max(...mine.filter((r) => r.repeat === rep && r.rssKb).map((r) => r.rssKb!)) / 1024));
	return s;
}

function lossCell(b: RateSummary | undefined, aggregate = false): string {
	if (!b || !b.runs) return '';
	if (b.errors === b.runs) return 'error';
	let s = pct(b.capture);
	if (b.target === 0 || b.rate < b.target * 0.95) s += ` @ ${fmtInt(b.rate)}/s`;
	// an aggregate counts every such event on the machine: a difference is not necessarily loss
	if (!aggregate && (b.missing > 0 || b.reported > 0)) s += `, lost ${fmtInt(b.missing)}, reported ${fmtInt(b.reported)}`;
	else if (aggregate && b.reported > 0) s += `, reported lost ${fmtInt(b.reported)}`;
	if (b.errors) s += ` (${b.errors} errors)`;
	return s;
}

function ratio(a: number | undefined, b: number | undefined): string {
	if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '';
	return `${(a / b).toFixed(2)}x`;
}

export function report(entries: Entry[], runs: Run[], opts: Options, meta: Record<string, unknown>): { markdown: string; summaries: EntrySummary[] } {
	const md: string[] = [];
	const summaries: EntrySummary[] = [];
	md.push(`# ebpf-tools bench, ${meta.date}`, '');
	md.push(`\`${meta.command}\` on ${meta.host} (Linux ${meta.kernel}, ${meta.cpus} CPUs, load ${String(meta.loadavg).split(' ').slice(0, 3).join(' ')} at the end), ` +
		`node ${meta.node}, ${meta.bpftrace ?? 'no bpftrace'}; ${opts.repeats} repeats x ${opts.duration} s, medians.`, '');
	for (const e of entries) {
		const rs = runs.filter((r) => r.tool === e.tool);
		const kinds = (['ours', 'bpftrace', 'peer'] as Tracer[]).filter((k) => rs.some((r) => r.kind === k));
		const fixed = opts.fixedRate ?? e.fixedRate;
		const ks = kinds.map((k) => summarizeKind(e, k, rs, fixed));
		const by = (k: Tracer) => ks.find((x) => x.kind === k);
		const ours = by('ours');
		const bt = by('bpftrace');
		const peer = by('peer');
		const summary: EntrySummary = { tool: e.tool, workload: e.workload.describe, fixedRate: fixed, kinds: ks, targets: {} };
		if (ours) {
			const t = summary.targets;
			if (bt?.cpuMsPer1k !== undefined && ours.cpuMsPer1k !== undefined && Number.isFinite(bt.cpuMsPer1k)) t.cpuPer1kVsBpftrace = ours.cpuMsPer1k <= bt.cpuMsPer1k;
			if (Number.isFinite(ours.startupMs)) t.startupUnder400ms = ours.startupMs! <= 400;
			if (Number.isFinite(ours.rssMb)) t.rssUnder60MB = ours.rssMb! < 60;
			const m = ours.byRate.find((b) => b.target === 0);
			if (m && !e.aggregate) {
				const oursRuns = rs.filter((r) => r.kind === 'ours' && r.target === 0 && !r.error);
				t.maxLosslessOrReported = oursRuns.length > 0 && oursRuns.every((r) => r.captured! + (r.lostReported ?? 0) >= r.generated);
			}
			if (peer?.slowdown !== undefined && ours.slowdown !== undefined && Number.isFinite(peer.slowdown)) t.slowdownVsPeer = ours.slowdown <= peer.slowdown;
		}
		summaries.push(summary);

		const cols = ['', ...kinds.map((k) => (k === 'peer' ? `peer (${(meta.peers as Record<string, string>)[e.tool] ?? ''})` : k))];
		const ratioCols: [string, KindSummary | undefined][] = [];
		if (ours && bt) ratioCols.push(['ours / bpftrace', bt]);
		if (ours && peer) ratioCols.push(['ours / peer', peer]);
		md.push(`## ${e.tool}: ${e.workload.describe}`, '');
		md.push(`| ${[...cols, ...ratioCols.map((c) => c[0])].join(' | ')} |`);
		md.push(`|${[...cols, ...ratioCols].map((_, i) => (i ? '---:' : '---')).join('|')}|`);
		const row = (label: string, cell: (k: KindSummary) => string, num?: (k: KindSummary) => number | undefined) => {
			const cells = ks.map(cell);
			const rat = ratioCols.map(([, other]) => (num && ours ? ratio(num(ours), num(other!)) : ''));
			md.push(`| ${[label, ...cells, ...rat].join(' | ')} |`);
		};
		const hasMax = ks.some((k) => k.maxRate !== undefined);
		if (hasMax) {
			row(`workload ops/s at max (alone: ${fmtInt(ks[0]?.baseRate)})`, (k) => fmtInt(k.maxRate), (k) => k.maxRate);
			row('workload slowdown at max', (k) => (k.slowdown !== undefined ? `${fmt(k.slowdown, 2)}x` : ''), (k) => k.slowdown);
			row(e.aggregate ? 'captured at max (vs generated)' : 'captured at max (lost = missing, reported = tracer said)', (k) => lossCell(k.byRate.find((b) => b.target === 0), e.aggregate));
		}
		if (!e.aggregate)
			row('highest lossless rate', (k) => (k.highestLossless === null ? 'none' : k.highestLossless ? `${k.highestLossless.target === 0 ? 'max, ' : ''}${fmtInt(k.highestLossless.rate)}/s` : ''), (k) => k.highestLossless?.rate);
		row(`tracer CPU ms per 1k events at ${rateLabel(fixed)}`, (k) => fmt(k.cpuMsPer1k, 2), (k) => k.cpuMsPer1k);
		row(e.ready === 'event' ? 'start-up to first event, ms' : 'start-up to attached, ms', (k) => fmtInt(k.startupMs), (k) => k.startupMs);
		row('tracer peak RSS, MB', (k) => fmt(k.rssMb, 1), (k) => k.rssMb);
		md.push('');
		const targets = [...new Set(rs.filter((r) => r.kind !== 'base').map((r) => r.target))].sort((a, b) => (a || Infinity) - (b || Infinity));
		if (targets.length > 1) {
			md.push(`Captured by target rate (and tracer CPU ms per 1k events):`, '');
			md.push(`| rate | ${kinds.join(' | ')} |`);
			md.push(`|---|${kinds.map(() => '---').join('|')}|`);
			for (const t of targets) {
				md.push(`| ${rateLabel(t)} | ${ks.map((k) => {
					const b = k.byRate.find((x) => x.target === t);
					return b ? `${lossCell(b, e.aggregate)} (${fmt(b.cpuMsPer1k, 2)} ms)` : '';
				}).join(' | ')} |`);
			}
			md.push('');
		}
		if (ours) {
			const t = summary.targets;
			const mark = (v: boolean | undefined) => (v === undefined ? 'n/a' : v ? 'met' : '**missed**');
			md.push(`Targets (issue 7) for ours: CPU per event at ${rateLabel(fixed)} <= bpftrace: ${mark(t.cpuPer1kVsBpftrace)}; ` +
				`first event within 0.4 s: ${mark(t.startupUnder400ms)}; RSS under 60 MB: ${mark(t.rssUnder60MB)}` +
				(t.maxLosslessOrReported !== undefined ? `; at max everything captured or reported: ${mark(t.maxLosslessOrReported)}` : '') +
				(t.slowdownVsPeer !== undefined ? `; slowdown no worse than peer: ${mark(t.slowdownVsPeer)}` : '') + '.');
			if (ours.bannerMs !== undefined && Number.isFinite(ours.bannerMs) && e.ready === 'event') md.push(`Ours printed "Hit Ctrl-C to end." after ${fmtInt(ours.bannerMs)} ms (median).`);
		}
		if (e.note) md.push(e.note);
		const errs = rs.filter((r) => r.error);
		if (errs.length) md.push(`${errs.length} runs failed: ${[...new Set(errs.map((r) => `${r.kind}: ${r.error}`))].slice(0, 3).join('; ')}`);
		md.push('');
	}
	return { markdown: md.join('\n'), summaries };
}

export type { Kind };
