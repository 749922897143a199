// Primitives used by the generated decoders (lib/gen/*.ts) and the batch
// walker that splits a native reader's buffer into records.

const utf8 = new TextDecoder('utf-8');

export class DecodeError extends Error {
	constructor(
		readonly struct: string,
		readonly length: number,
		readonly minimum: number,
	) {
		super(`record of ${length} bytes is too short for struct ${struct} (${minimum} needed)`);
	}
}

/** A NUL-terminated string inside a fixed char[size] field. */
export function cstr(v: DataView, o: number, size: number): string {
	const bytes = new Uint8Array(v.buffer, v.byteOffset + o, size);
	let n = bytes.indexOf(0);
	if (n < 0) n = size;
	return utf8.decode(bytes.subarray(0, n));
}

/** The variable-length tail of a record: from o up to the record's end (at most size bytes). */
export function tail(v: DataView, o: number, end: number, size: number): Uint8Array {
	const n = Math.max(0, Math.min(size, end - o));
	return new Uint8Array(v.buffer, v.byteOffset + o, n);
}

/** Unsigned 64-bit as a number (exact below 2^53). */
export function u64(v: DataView, o: number): number {
	return v.getUint32(o + 4, true) * 4294967296 + v.getUint32(o, true);
}

export function i64(v: DataView, o: number): number {
	return v.getInt32(o + 4, true) * 4294967296 + v.getUint32(o, true);
}

/** Split NUL-separated strings (argv blobs). A trailing NUL does not make an empty string. */
export function splitNul(bytes: Uint8Array): string[] {
	const out: string[] = [];
	let start = 0;
	for (let i = 0; i < bytes.length; i++) {
		if (bytes[i] === 0) {
			out.push(utf8.decode(bytes.subarray(start, i)));
			start = i + 1;
		}
	}
	if (start < bytes.length) out.push(utf8.decode(bytes.subarray(start)));
	return out;
}


/**
 * Walk one batch from the native reader: records are [u32 len][u32 cpu][data,
 * padded to 8]. Calls fn(view, offset, len) for each.
 */
export function forEachRecord(
	batch: Buffer,
	fn: (v: DataView, o: number, len: number) => void,
): number {
	const v = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
	let o = 0;
	let n = 0;
	while (o + 8 <= batch.byteLength) {
		const len = v.getUint32(o, true);
		if (o + 8 + len > batch.byteLength) break;
		fn(v, o + 8, len);
		o += 8 + ((len + 7) & ~7);
		n++;
	}
	return n;
}

/**
 * The sum over CPUs of a per-CPU map value holding a struct of counters
 * (each CPU's copy 8-aligned), decoded with its generated decoder; zeroes
 * when the value is missing.
 */
export function sumPerCpuStruct<T extends Record<string, number>>(
	v: Buffer | null,
	size: number,
	decode: (v: DataView, o: number, len: number) => T,
	zero: T,
): T {
	const total = { ...zero };
	if (!v) return total;
	const slot = Math.ceil(size / 8) * 8;
	const dv = new DataView(v.buffer, v.byteOffset, v.length);
	for (let o = 0; o + size <= v.length; o += slot) {
		const s = decode(dv, o, size);
		for (const k of Object.keys(total) as (keyof T)[]) (total[k] as number) += s[k];
	}
	return total;
}
