// Block devices for the block I/O tools: disk names <-> kernel dev_t, and
// request op/flag decoding from the running kernel's BTF (enum req_op and
// enum req_flag_bits), never from hard-coded bit numbers.
import { existsSync, readFileSync } from 'node:fs';
import type { Btf } from './btf.js';

/** Kernel-internal dev_t (MKDEV: major << 20 | minor), as tracepoints and gendisk carry it. */
export function mkdev(major: number, minor: number): number {
	return ((major << 20) | minor) >>> 0;
}

export function devString(dev: number): string {
	return `${dev >>> 20}:${dev & 0xfffff}`;
}

const nameCache = new Map<number, string>();

/** Name of the block device with this kernel dev_t ("vda"), or undefined. */
export function diskName(dev: number, sysfs = '/sys'): string | undefined {
	const hit = nameCache.get(dev);
	if (hit) return hit;
	try {
		const ue = readFileSync(`${sysfs}/dev/block/${devString(dev)}/uevent`, 'utf8');
		const m = /^DEVNAME=(.+)$/m.exec(ue);
		if (m) {
			nameCache.set(dev, m[1]);
			return m[1];
		}
	} catch {
		/* gone (a detached loop device) or never existed */
	}
	return undefined;
}

/** Requests of this disk in flight now (/sys/dev/block/M:m/inflight: reads + writes), or undefined. */
export function inflight(dev: number, sysfs = '/sys'): number | undefined {
	try {
		const [r, w] = readFileSync(`${sysfs}/dev/block/${devString(dev)}/inflight`, 'utf8').trim().split(/\s+/).map(Number);
		return Number.isFinite(r) && Number.isFinite(w) ? r + w : undefined;
	} catch {
		return undefined;
	}
}

export type DiskLookup =
	| { ok: true; dev: number }
	| { ok: false; why: 'partition'; parent: string }
	| { ok: false; why: 'missing' };

/** The kernel dev_t of a whole disk by name (/sys/block/NAME/dev). */
export function diskDev(name: string, sysfs = '/sys'): DiskLookup {
	if (/[/\0]/.test(name) || name === '.' || name === '..' || !name) return { ok: false, why: 'missing' };
	const dir = `${sysfs}/block/${name}`;
	if (existsSync(`${dir}/dev`)) {
		const m = /^(\d+):(\d+)/.exec(readFileSync(`${dir}/dev`, 'utf8'));
		if (m) return { ok: true, dev: mkdev(Number(m[1]), Number(m[2])) };
	}
	if (existsSync(`${sysfs}/class/block/${name}/partition`)) {
		let parent = '';
		try {
			const ue = readFileSync(`${sysfs}/class/block/${name}/../uevent`, 'utf8');
			parent = /^DEVNAME=(.+)$/m.exec(ue)?.[1] ?? '';
		} catch {
			/* no parent info */
		}
		return { ok: false, why: 'partition', parent };
	}
	return { ok: false, why: 'missing' };
}

/** What -F shows of a request's cmd_flags, with the running kernel's numbers. */
export interface ReqFlags {
	/** bits of the op field (REQ_OP_BITS) */
	opBits: number;
	/** op number -> name ("Read", "Write", ...) */
	ops: Map<number, string>;
	/** decoded flags, in the order BCC prepends them to the name */
	flags: { bit: number; name: string }[];
	/** the op mask plus the decoded flag bits: what the kernel keeps in the key */
	mask: number;
}

/** BCC's names for ops (tools/biolatency.py flags_print); others are named from the enum. */
const BCC_OPS: Record<string, string> = {
	REQ_OP_READ: 'Read',
	REQ_OP_WRITE: 'Write',
	REQ_OP_FLUSH: 'Flush',
	REQ_OP_DISCARD: 'Discard',
	REQ_OP_SECURE_ERASE: 'SecureErase',
	REQ_OP_ZONE_RESET: 'ZoneReset',
	REQ_OP_WRITE_SAME: 'WriteSame',
	REQ_OP_WRITE_ZEROES: 'WriteZeros',
};

/** BCC's flag prefixes, in the order it prepends them (the last ends up first). */
const BCC_FLAGS: [string, string][] = [
	['__REQ_SYNC', 'Sync'],
	['__REQ_META', 'Metadata'],
	['__REQ_FUA', 'ForcedUnitAccess'],
	['__REQ_PRIO', 'Priority'],
	['__REQ_NOMERGE', 'NoMerge'],
	['__REQ_IDLE', 'Idle'],
	['__REQ_RAHEAD', 'ReadAhead'],
	['__REQ_BACKGROUND', 'Background'],
	['__REQ_NOWAIT', 'NoWait'],
];

const camel = (s: string) =>
	s
		.toLowerCase()
		.split('_')
		.map((w) => w.charAt(0).toUpperCase() + w.slice(1))
		.join('');

/**
 * Read enum req_op (enum req_opf before Linux 6.0) and enum req_flag_bits
 * from BTF. Undefined when the kernel lacks them.
 */
export function reqFlagsFromBtf(btf: Btf): ReqFlags | undefined {
	const opEnum = btf.enumValues('req_op') ?? btf.enumValues('req_opf');
	const bits = btf.enumValues('req_flag_bits');
	if (!opEnum || !bits) return undefined;
	// the flag bits start right above the op field: __REQ_FAILFAST_DEV = REQ_OP_BITS
	const opBits = bits.get('__REQ_FAILFAST_DEV') ?? Math.min(...bits.values());
	if (!(opBits > 0 && opBits < 32)) return undefined;
	const ops = new Map<number, string>();
	for (const [name, v] of opEnum) {
		if (!name.startsWith('REQ_OP_') || name === 'REQ_OP_LAST' || v >= 2 ** opBits) continue;
		ops.set(v, BCC_OPS[name] ?? camel(name.slice('REQ_OP_'.length)));
	}
	const flags: { bit: number; name: string }[] = [];
	let mask = 2 ** opBits - 1;
	for (const [e, name] of BCC_FLAGS) {
		const bit = bits.get(e);
		if (bit === undefined || bit >= 32) continue;
		flags.push({ bit, name });
		mask |= 1 << bit;
	}
	return { opBits, ops, flags, mask: mask >>> 0 };
}

/** A cmd_flags value as BCC's flags_print names it: "Sync-Write", "NoWait-Idle-Sync-Write". */
export function formatReqFlags(rf: ReqFlags, flags: number): string {
	let desc = rf.ops.get(flags & (2 ** rf.opBits - 1)) ?? 'Unknown';
	for (const f of rf.flags) if ((flags >>> f.bit) & 1) desc = `${f.name}-${desc}`;
	return desc;
}
