// A small reader of the kernel's own BTF (/sys/kernel/btf/vmlinux): enum
// values and type names, so user space decodes kernel flags and states with
// the running kernel's numbers instead of hard-coded ones.
import { readFileSync } from 'node:fs';

export const BTF_KIND = {
	INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
	RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export interface BtfType {
	id: number;
	kind: number;
	name: string;
	/** vlen: members, enumerators, parameters */
	vlen: number;
	kindFlag: boolean;
	/** size or referenced type id */
	sizeOrType: number;
	/** offset of the kind-specific data following the 12-byte header */
	dataOff: number;
}

const BTF_MAGIC = 0xeb9f;

export class Btf {
	private readonly view: DataView;
	private readonly strOff: number;
	private readonly strLen: number;
	readonly types: BtfType[] = [];
	private byName: Map<string, BtfType[]> | undefined;

	constructor(readonly data: Buffer) {
		this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
		const v = this.view;
		if (data.length < 24 || v.getUint16(0, true) !== BTF_MAGIC) throw new Error('not a little-endian BTF blob');
		const hdrLen = v.getUint32(4, true);
		const typeOff = hdrLen + v.getUint32(8, true);
		const typeLen = v.getUint32(12, true);
		this.strOff = hdrLen + v.getUint32(16, true);
		this.strLen = v.getUint32(20, true);
		if (typeOff + typeLen > data.length || this.strOff + this.strLen > data.length) throw new Error('truncated BTF');
		let o = typeOff;
		const end = typeOff + typeLen;
		let id = 1;
		while (o + 12 <= end) {
			const nameOff = v.getUint32(o, true);
			const info = v.getUint32(o + 4, true);
			const vlen = info & 0xffff;
			const kind = (info >>> 24) & 0x1f;
			const t: BtfType = { id: id++, kind, name: '', vlen, kindFlag: (info >>> 31) === 1, sizeOrType: v.getUint32(o + 8, true), dataOff: o + 12 };
			(t as { nameOff?: number }).nameOff = nameOff;
			this.types.push(t);
			o += 12 + Btf.extra(kind, vlen);
		}
		for (const t of this.types) t.name = this.str((t as { nameOff?: number }).nameOff ?? 0);
	}

	private static extra(kind: number, vlen: number): number {
		switch (kind) {
			case BTF_KIND.INT: case BTF_KIND.VAR: case BTF_KIND.DECL_TAG: return 4;
			case BTF_KIND.ARRAY: return 12;
			case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.DATASEC: case BTF_KIND.ENUM64: return 12 * vlen;
			case BTF_KIND.ENUM: case BTF_KIND.FUNC_PROTO: return 8 * vlen;
			default: return 0;
		}
	}

	str(off: number): string {
		if (off >= this.strLen) return '';
		const start = this.strOff + off;
		const nul = this.data.indexOf(0, start);
		return this.data.toString('utf8', start, nul < 0 ? this.strOff + this.strLen : nul);
	}

	/** Types with this name (all kinds). */
	find(name: string, kind?: number): BtfType[] {
		if (!this.byName) {
			this.byName = new Map();
			for (const t of this.types) {
				if (!t.name) continue;
				const l = this.byName.get(t.name);
				if (l) l.push(t);
				else this.byName.set(t.name, [t]);
			}
		}
		return (this.byName.get(name) ?? []).filter((t) => kind === undefined || t.kind === kind);
	}

	type(id: number): BtfType | undefined {
		return this.types[id - 1];
	}

	/** Enumerators of `enum name` (ENUM or ENUM64), or undefined when the kernel has no such enum. */
	enumValues(name: string): Map<string, number> | undefined {
		const t = this.find(name).find((x) => (x.kind === BTF_KIND.ENUM || x.kind === BTF_KIND.ENUM64) && x.vlen > 0);
		if (!t) return undefined;
		const v = this.view;
		const out = new Map<string, number>();
		for (let i = 0; i < t.vlen; i++) {
			if (t.kind === BTF_KIND.ENUM) {
				const o = t.dataOff + i * 8;
				out.set(this.str(v.getUint32(o, true)), t.kindFlag ? v.getInt32(o + 4, true) : v.getUint32(o + 4, true));
			} else {
				const o = t.dataOff + i * 12;
				out.set(this.str(v.getUint32(o, true)), v.getUint32(o + 8, true) * 2 ** 32 + v.getUint32(o + 4, true));
			}
		}
		return out;
	}

	/** Member names of `struct name` (first definition with members). */
	structMembers(name: string): string[] | undefined {
		const t = this.find(name, BTF_KIND.STRUCT).find((x) => x.vlen > 0);
		if (!t) return undefined;
		const out: string[] = [];
		for (let i = 0; i < t.vlen; i++) out.push(this.str(this.view.getUint32(t.dataOff + i * 12, true)));
		return out;
	}

	/**
	 * Parameter count of a tracepoint's BTF prototype (typedef
	 * btf_trace_<name>), the leading `void *` context excluded; undefined when
	 * the kernel has no such raw tracepoint.
	 */
	tracepointArgs(name: string): number | undefined {
		const td = this.find(`btf_trace_${name}`, BTF_KIND.TYPEDEF)[0];
		if (!td) return undefined;
		const ptr = this.type(td.sizeOrType);
		const proto = ptr && this.type(ptr.sizeOrType);
		if (!proto || proto.kind !== BTF_KIND.FUNC_PROTO) return undefined;
		return proto.vlen - 1;
	}
}

let vmlinux: Btf | undefined;

/** The running kernel's BTF, parsed once. */
export function kernelBtf(path = '/sys/kernel/btf/vmlinux'): Btf {
	if (!vmlinux) vmlinux = new Btf(readFileSync(path));
	return vmlinux;
}
