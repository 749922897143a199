// Histograms shared by the summary tools: log2 and linear printing exactly as
// BCC prints them (src/python/bcc/table.py: _print_log2_hist,
// _print_linear_hist), per-key sections, a JSON form, and the per-CPU map
// plumbing (reading a dump, summing each CPU's slot).
//
// Slot convention: slot i of a log2 histogram counts values v with
// floor(log2(v)) == i (common.bpf.h log2l(), 0 for v = 0), so slot 0 covers
// 0..1 and slot i > 0 covers 2^i .. 2^(i+1)-1. BCC's bpf_log2l() returns one
// more (its slot 0 is never used); the rows printed are identical.

/** BCC's bar width. */
export const STARS_MAX = 40;
/** Slots in a log2 histogram of 64-bit values. */
export const LOG2_SLOTS = 64;

/** The bar: floor(width * val / valMax) stars, '+' as the last when val exceeds valMax. */
export function stars(val: number, valMax: number, width: number): string {
	if (valMax <= 0) return '';
	let n = Math.floor((width * val) / valMax);
	if (n > width) n = width;
	if (n < 0) n = 0;
	let s = '*'.repeat(n);
	if (val > valMax) s = s.slice(0, -1) + '+';
	return s;
}

/** Bounds of log2 slot i: [low, high] (as bigint: slots past 53 bits exceed doubles). */
export function log2Bounds(i: number): [bigint, bigint] {
	const high = (1n << BigInt(i + 1)) - 1n;
	const low = i === 0 ? 0n : 1n << BigInt(i);
	return [low, high];
}

function maxIndex(vals: ArrayLike<number>): { idxMax: number; valMax: number } {
	let idxMax = -1;
	let valMax = 0;
	for (let i = 0; i < vals.length; i++) {
		if (vals[i] > 0) idxMax = i;
		if (vals[i] > valMax) valMax = vals[i];
	}
	return { idxMax, valMax };
}

const padEnd = (s: string | number | bigint, w: number) => String(s).padEnd(w);
const padStart = (s: string | number | bigint, w: number) => String(s).padStart(w);

export interface Log2Options {
	/** skip the empty rows before the first non-empty one (BCC's strip_leading_zero) */
	stripLeadingZero?: boolean;
}

/**
 * The lines BCC's print_log2_hist prints for these slots (no trailing
 * newline; nothing at all for an empty histogram). Rows run from slot 0 to the
 * last non-empty slot; once a non-empty slot covers values of 2^32 or more
 * (BCC: idx_max > 32) the columns widen and the bar halves.
 */
export function formatLog2(vals: ArrayLike<number>, valType: string, opts: Log2Options = {}): string[] {
	const { idxMax, valMax } = maxIndex(vals);
	if (idxMax < 0) return [];
	const narrow = idxMax + 1 <= 32; // BCC's slot numbers are ours + 1
	const w = narrow ? 10 : 20;
	const width = narrow ? STARS_MAX : Math.floor(STARS_MAX / 2);
	const lines = [narrow ? `     ${padEnd(valType, 19)} : count     distribution` : `               ${padEnd(valType, 29)} : count     distribution`];
	let strip = !!opts.stripLeadingZero;
	for (let i = 0; i <= idxMax; i++) {
		const val = vals[i];
		if (strip) {
			if (!val) continue;
			strip = false;
		}
		const [low, high] = log2Bounds(i);
		lines.push(`${padStart(low, w)} -> ${padEnd(high, w)} : ${padEnd(val, 8)} |${padEnd(stars(val, valMax, width), width)}|`);
	}
	return lines;
}

/** The lines BCC's print_linear_hist prints: one row per value 0..last non-empty. */
export function formatLinear(vals: ArrayLike<number>, valType: string): string[] {
	const { idxMax, valMax } = maxIndex(vals);
	if (idxMax < 0) return [];
	const lines = [`     ${padEnd(valType, 13)} : count     distribution`];
	for (let i = 0; i <= idxMax; i++)
		lines.push(`        ${padEnd(i, 10)} : ${padEnd(vals[i], 8)} |${padEnd(stars(vals[i], valMax, STARS_MAX), STARS_MAX)}|`);
	return lines;
}

/** One histogram of a keyed set: the section label ("disk", "vda") or none. */
export interface Section {
	/** section header name, e.g. "disk" or "flags" */
	name?: string;
	/** section value as printed, e.g. "vda" or "Sync-Write" */
	label?: string;
	/** extra JSON members identifying the key (e.g. {dev: "254:0"}) */
	keyJson?: Record<string, string | number>;
	slots: number[];
}

/**
 * Print sections as BCC does for a struct key: a blank line, "name = label",
 * then the histogram. A section without a name prints its histogram alone.
 */
export function formatSections(sections: Section[], valType: string, kind: 'log2' | 'linear' = 'log2', opts: Log2Options = {}): string[] {
	const out: string[] = [];
	for (const s of sections) {
		if (s.name !== undefined) out.push('', `${s.name} = ${s.label ?? ''}`);
		out.push(...(kind === 'log2' ? formatLog2(s.slots, valType, opts) : formatLinear(s.slots, valType)));
	}
	return out;
}

export interface JsonBucket {
	low: number;
	high: number;
	count: number;
}

export interface JsonHistogram {
	type: 'histogram';
	/** Unix time in seconds when the histogram was read */
	timestamp: number;
	/** value unit, e.g. "usecs" */
	unit: string;
	/** the section key ({disk: "vda"}), or null for an unkeyed histogram */
	key: Record<string, string | number> | null;
	/** sum of the counts */
	total_count: number;
	buckets: JsonBucket[];
}

/**
 * The JSON form of a log2 (or linear) histogram: buckets from the first slot to
 * the last non-empty one, each with its inclusive bounds. Bounds past 2^53 are
 * not exact as JSON numbers (2^53 us is 285 years).
 */
export function histogramJson(s: Section, unit: string, timestamp: number, kind: 'log2' | 'linear' = 'log2'): JsonHistogram {
	const { idxMax } = maxIndex(s.slots);
	const buckets: JsonBucket[] = [];
	let total = 0;
	for (let i = 0; i <= idxMax; i++) {
		const [low, high] = kind === 'log2' ? log2Bounds(i).map(Number) : [i, i];
		buckets.push({ low, high, count: s.slots[i] });
		total += s.slots[i];
	}
	let key: Record<string, string | number> | null = null;
	if (s.name !== undefined) key = { [s.name]: s.label ?? '', ...s.keyJson };
	return { type: 'histogram', timestamp, unit, key, total_count: total, buckets };
}

/**
 * Sum the per-CPU copies of a value: a per-CPU map value in user space is one
 * slot per possible CPU, each rounded up to 8 bytes. Returns the sum of each
 * u64 word of the value (a u64 counter gives one number).
 */
export function sumPerCpuU64(value: Buffer, valueSize: number, offset = 0, bufferSize = value.length - offset): number[] {
	const stride = (valueSize + 7) & ~7;
	const words = valueSize >> 3;
	const sums = new Array<number>(words).fill(0);
	for (let o = offset; o + stride <= offset + bufferSize; o += stride)
		for (let w = 0; w < words; w++) sums[w] += Number(value.readBigUInt64LE(o + w * 8));
	return sums;
}

/** A map dump as the native layer returns it. */
export interface MapDump {
	keys: Buffer;
	values: Buffer;
	count: number;
}

/**
 * Group the entries of a histogram map keyed by (section fields..., slot)
 * into slot arrays per section. keyOf decodes a key into its section id (any
 * string) and slot; valueOf gives the entry's count (e.g. a per-CPU sum).
 */
export function groupSlots(
	dump: MapDump,
	keySize: number,
	valueSize: number,
	keyOf: (key: Buffer) => { section: string; slot: number },
	valueOf: (value: Buffer) => number,
	nslots = LOG2_SLOTS,
): Map<string, number[]> {
	const out = new Map<string, number[]>();
	for (let i = 0; i < dump.count; i++) {
		const { section, slot } = keyOf(dump.keys.subarray(i * keySize, (i + 1) * keySize));
		if (slot < 0 || slot >= nslots) continue;
		let slots = out.get(section);
		if (!slots) out.set(section, (slots = new Array<number>(nslots).fill(0)));
		slots[slot] += valueOf(dump.values.subarray(i * valueSize, (i + 1) * valueSize));
	}
	return out;
}
