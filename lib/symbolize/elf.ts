// A small ELF reader for symbolization: section and program headers,
// .symtab/.dynsym function symbols, .gnu_debuglink and the GNU build-id.
// Files are read with positional reads (a 100 MB library is not slurped), and
// every offset, size and count taken from the file is bounds-checked: a
// truncated or hostile file yields less information, never an exception
// escaping parseElf(), a crash or an endless loop.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Random access to the bytes of a file or a buffer. */
export interface ByteSource {
	readonly size: number;
	/** up to len bytes at off (fewer at the end; empty outside) */
	read(off: number, len: number): Buffer;
}

export class BufferSource implements ByteSource {
	constructor(private readonly buf: Buffer) {}
	get size(): number {
		return this.buf.length;
	}
	read(off: number, len: number): Buffer {
		if (!(off >= 0) || off >= this.buf.length || !(len > 0)) return Buffer.alloc(0);
		return this.buf.subarray(off, Math.min(this.buf.length, off + len));
	}
}

export class FdSource implements ByteSource {
	readonly size: number;
	constructor(private readonly fd: number) {
		this.size = fstatSync(fd).size;
	}
	read(off: number, len: number): Buffer {
		if (!(off >= 0) || off >= this.size || !(len > 0)) return Buffer.alloc(0);
		const n = Math.min(len, this.size - off);
		const b = Buffer.allocUnsafe(n);
		let got = 0;
		while (got < n) {
			const r = readSync(this.fd, b, got, n - got, off + got);
			if (r <= 0) break;
			got += r;
		}
		return got === n ? b : b.subarray(0, got);
	}
}

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;

/** Most bytes read for one symbol or string table (hostile sizes are capped). */
const MAX_TABLE_BYTES = 512 << 20;
const MAX_SECTIONS = 1 << 16;
const MAX_SEGMENTS = 1 << 12;
const MAX_NAME = 4096;

export interface ElfSegment {
	type: number;
	flags: number;
	offset: number;
	vaddr: number;
	filesz: number;
	memsz: number;
}

export interface ElfSection {
	name: string;
	type: number;
	flags: number;
	addr: number;
	offset: number;
	size: number;
	link: number;
	entsize: number;
}

export interface ElfInfo {
	is64: boolean;
	little: boolean;
	/** ET_EXEC 2, ET_DYN 3 */
	type: number;
	machine: number;
	segments: ElfSegment[];
	sections: ElfSection[];
	buildId?: string;
	debuglink?: { file: string; crc: number };
}

/** A symbol table as plain arrays (sorted), to move between threads. */
export interface SymbolArrays {
	addrs: Float64Array;
	ends: Float64Array;
	names: string[];
}

/** Function symbols sorted by address; lookups by binary search. */
export class SymbolTable {
	private addrs: Float64Array;
	private ends: Float64Array;
	private names: string[];

	static fromArrays(a: SymbolArrays): SymbolTable {
		const t = new SymbolTable([]);
		t.addrs = a.addrs;
		t.ends = a.ends;
		t.names = a.names;
		return t;
	}

	arrays(): SymbolArrays {
		return { addrs: this.addrs, ends: this.ends, names: this.names };
	}

	constructor(entries: { addr: number; size: number; name: string }[]) {
		// sort by address; at equal addresses prefer a sized, global-looking name
		entries.sort((a, b) => a.addr - b.addr || b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		const keep: typeof entries = [];
		for (const e of entries) if (!keep.length || keep[keep.length - 1].addr !== e.addr) keep.push(e);
		this.addrs = new Float64Array(keep.length);
		this.ends = new Float64Array(keep.length);
		this.names = new Array<string>(keep.length);
		keep.forEach((e, i) => {
			this.addrs[i] = e.addr;
			// unsized symbols (assembly) extend to the next symbol
			this.ends[i] = e.size > 0 ? e.addr + e.size : i + 1 < keep.length ? keep[i + 1].addr : Infinity;
			this.names[i] = e.name;
		});
	}

	get length(): number {
		return this.names.length;
	}

	lookup(addr: number): { name: string; offset: number } | null {
		const a = this.addrs;
		let lo = 0;
		let hi = a.length - 1;
		let best = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (a[mid] <= addr) {
				best = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		// a symbol nested in a larger one (e.g. a sized alias) may end before addr: look back a little
		for (let i = best, n = 0; i >= 0 && n < 4; i--, n++) {
			if (addr < this.ends[i]) return { name: this.names[i], offset: addr - a[i] };
		}
		return null;
	}
}

class Reader {
	constructor(
		readonly src: ByteSource,
		readonly little: boolean,
	) {}
	u16(b: Buffer, o: number): number {
		return this.little ? b.readUInt16LE(o) : b.readUInt16BE(o);
	}
	u32(b: Buffer, o: number): number {
		return this.little ? b.readUInt32LE(o) : b.readUInt32BE(o);
	}
	/** u64 as a number; values beyond 2^53 lose precision, never throw */
	u64(b: Buffer, o: number): number {
		const v = this.little ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
		return Number(v);
	}
}

function cstring(b: Buffer, off: number, max = MAX_NAME): string {
	if (off < 0 || off >= b.length) return '';
	let end = off;
	const lim = Math.min(b.length, off + max);
	while (end < lim && b[end] !== 0) end++;
	return b.toString('latin1', off, end);
}

/**
 * Parse the headers of an ELF file. Returns null when the bytes are not ELF
 * (or too damaged to use); never throws for bad input.
 */
export function parseElf(src: ByteSource): ElfInfo | null {
	try {
		return parseElfUnsafe(src);
	} catch {
		return null;
	}
}

function parseElfUnsafe(src: ByteSource): ElfInfo | null {
	const id = src.read(0, 64);
	if (id.length < 52 || id[0] !== 0x7f || id[1] !== 0x45 || id[2] !== 0x4c || id[3] !== 0x46) return null;
	const is64 = id[4] === 2;
	if (id[4] !== 1 && id[4] !== 2) return null;
	if (id[5] !== 1 && id[5] !== 2) return null;
	const r = new Reader(src, id[5] === 1);
	if (is64 && id.length < 64) return null;
	const type = r.u16(id, 16);
	const machine = r.u16(id, 18);
	const phoff = is64 ? r.u64(id, 32) : r.u32(id, 28);
	const shoff = is64 ? r.u64(id, 40) : r.u32(id, 32);
	const phentsize = r.u16(id, is64 ? 54 : 42);
	let phnum = r.u16(id, is64 ? 56 : 44);
	const shentsize = r.u16(id, is64 ? 58 : 46);
	let shnum = r.u16(id, is64 ? 60 : 48);
	let shstrndx = r.u16(id, is64 ? 62 : 50);
	const info: ElfInfo = { is64, little: r.little, type, machine, segments: [], sections: [] };

	const shMin = is64 ? 64 : 40;
	const phMin = is64 ? 56 : 32;
	const shOk = shoff > 0 && shentsize >= shMin && shoff < src.size;
	// extended numbering: counts beyond 0xff00 live in section header 0
	if (shOk && (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff)) {
		const s0 = src.read(shoff, shentsize);
		if (s0.length >= shMin) {
			if (shnum === 0) shnum = Math.min(is64 ? r.u64(s0, 32) : r.u32(s0, 20), MAX_SECTIONS);
			if (shstrndx === 0xffff) shstrndx = r.u32(s0, is64 ? 40 : 24);
			if (phnum === 0xffff) phnum = r.u32(s0, is64 ? 44 : 28);
		}
	}

	if (phoff > 0 && phentsize >= phMin && phoff < src.size) {
		const n = Math.min(phnum, MAX_SEGMENTS, Math.floor((src.size - phoff) / phentsize));
		const tab = src.read(phoff, n * phentsize);
		for (let i = 0; i < n && (i + 1) * phentsize <= tab.length; i++) {
			const o = i * phentsize;
			info.segments.push(
				is64
					? {
							type: r.u32(tab, o),
							flags: r.u32(tab, o + 4),
							offset: r.u64(tab, o + 8),
							vaddr: r.u64(tab, o + 16),
							filesz: r.u64(tab, o + 32),
							memsz: r.u64(tab, o + 40),
						}
					: {
							type: r.u32(tab, o),
							offset: r.u32(tab, o + 4),
							vaddr: r.u32(tab, o + 8),
							filesz: r.u32(tab, o + 16),
							memsz: r.u32(tab, o + 20),
							flags: r.u32(tab, o + 24),
						},
			);
		}
	}

	if (shOk) {
		const n = Math.min(shnum, MAX_SECTIONS, Math.floor((src.size - shoff) / shentsize));
		const tab = src.read(shoff, n * shentsize);
		const raw: (ElfSection & { nameOff: number })[] = [];
		for (let i = 0; i < n && (i + 1) * shentsize <= tab.length; i++) {
			const o = i * shentsize;
			raw.push(
				is64
					? {
							name: '',
							nameOff: r.u32(tab, o),
							type: r.u32(tab, o + 4),
							flags: r.u64(tab, o + 8),
							addr: r.u64(tab, o + 16),
							offset: r.u64(tab, o + 24),
							size: r.u64(tab, o + 32),
							link: r.u32(tab, o + 40),
							entsize: r.u64(tab, o + 56),
						}
					: {
							name: '',
							nameOff: r.u32(tab, o),
							type: r.u32(tab, o + 4),
							flags: r.u32(tab, o + 8),
							addr: r.u32(tab, o + 12),
							offset: r.u32(tab, o + 16),
							size: r.u32(tab, o + 20),
							link: r.u32(tab, o + 24),
							entsize: r.u32(tab, o + 36),
						},
			);
		}
		const strs = shstrndx < raw.length && raw[shstrndx].type !== SHT_NOBITS
			? src.read(raw[shstrndx].offset, Math.min(raw[shstrndx].size, 1 << 20))
			: Buffer.alloc(0);
		for (const s of raw) {
			const { nameOff, ...sec } = s;
			sec.name = cstring(strs, nameOff, 256);
			info.sections.push(sec);
		}
	}

	info.buildId = findBuildId(r, info);
	const dl = info.sections.find((s) => s.name === '.gnu_debuglink' && s.type !== SHT_NOBITS);
	if (dl && dl.size >= 6) {
		const b = src.read(dl.offset, Math.min(dl.size, MAX_NAME + 8));
		const file = cstring(b, 0);
		const crcOff = (file.length + 4) & ~3;
		if (file && crcOff + 4 <= b.length && !file.includes('/')) info.debuglink = { file, crc: r.u32(b, crcOff) };
	}
	return info;
}

function notesBuildId(r: Reader, b: Buffer): string | undefined {
	let o = 0;
	// each iteration advances by at least 12 bytes: terminates
	while (o + 12 <= b.length) {
		const namesz = r.u32(b, o);
		const descsz = r.u32(b, o + 4);
		const type = r.u32(b, o + 8);
		const nameOff = o + 12;
		const descOff = nameOff + ((namesz + 3) & ~3);
		const next = descOff + ((descsz + 3) & ~3);
		if (namesz > b.length || descsz > b.length || next > b.length) return undefined;
		if (type === NT_GNU_BUILD_ID && namesz === 4 && b.toString('latin1', nameOff, nameOff + 3) === 'GNU' && descsz > 0 && descsz <= 64)
			return b.toString('hex', descOff, descOff + descsz);
		o = next;
	}
	return undefined;
}

function findBuildId(r: Reader, info: ElfInfo): string | undefined {
	const cands: { offset: number; size: number }[] = [];
	for (const s of info.sections) if (s.type === SHT_NOTE) cands.push(s);
	for (const p of info.segments) if (p.type === PT_NOTE) cands.push({ offset: p.offset, size: p.filesz });
	for (const c of cands.slice(0, 64)) {
		if (c.size <= 0) continue;
		const id = notesBuildId(r, r.src.read(c.offset, Math.min(c.size, 1 << 16)));
		if (id) return id;
	}
	return undefined;
}

/**
 * Function symbols from .symtab and .dynsym (st_value is the link-time
 * virtual address). Undefined and non-function symbols are left out.
 */
export function readSymbols(src: ByteSource, info: ElfInfo): { addr: number; size: number; name: string }[] {
	const out: { addr: number; size: number; name: string }[] = [];
	try {
		const r = new Reader(src, info.little);
		const entSize = info.is64 ? 24 : 16;
		for (const s of info.sections) {
			if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
			if (s.link >= info.sections.length) continue;
			const strSec = info.sections[s.link];
			if (strSec.type === SHT_NOBITS) continue;
			const strs = src.read(strSec.offset, Math.min(strSec.size, MAX_TABLE_BYTES));
			const tab = src.read(s.offset, Math.min(s.size, MAX_TABLE_BYTES));
			const es = s.entsize >= entSize && s.entsize <= 256 ? s.entsize : entSize;
			for (let o = 0; o + entSize <= tab.length; o += es) {
				let nameOff: number, value: number, size: number, stInfo: number, shndx: number;
				if (info.is64) {
					nameOff = r.u32(tab, o);
					stInfo = tab[o + 4];
					shndx = r.u16(tab, o + 6);
					value = r.u64(tab, o + 8);
					size = r.u64(tab, o + 16);
				} else {
					nameOff = r.u32(tab, o);
					value = r.u32(tab, o + 4);
					size = r.u32(tab, o + 8);
					stInfo = tab[o + 12];
					shndx = r.u16(tab, o + 14);
				}
				const t = stInfo & 0xf;
				if ((t !== STT_FUNC && t !== STT_GNU_IFUNC) || shndx === 0 || value === 0) continue;
				const name = cstring(strs, nameOff);
				if (!name) continue;
				out.push({ addr: value, size: Number.isFinite(size) && size < 1 << 30 ? size : 0, name });
			}
		}
	} catch {
		/* damaged table: keep what was read */
	}
	return out;
}

/** Link-time virtual address for a file offset, through the PT_LOAD segment holding it. */
export function fileOffsetToVaddr(info: ElfInfo, off: number): number | undefined {
	for (const p of info.segments) {
		if (p.type !== PT_LOAD) continue;
		if (off >= p.offset && off < p.offset + Math.max(p.filesz, 1)) return off - p.offset + p.vaddr;
	}
	return undefined;
}

/**
 * Open a path read-only and run fn on it when it is a regular file; null when
 * it cannot be opened, is not a regular file, or fn throws. The fd is closed.
 */
export function withRegularFile<T>(path: string, fn: (fd: number, size: number) => T | null): T | null {
	let fd: number;
	try {
		// O_NONBLOCK: a FIFO planted at the path must not block the open
		fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return null;
	}
	try {
		const st = fstatSync(fd);
		return st.isFile() ? fn(fd, st.size) : null;
	} catch {
		return null;
	} finally {
		closeSync(fd);
	}
}

/** Open a path and parse it: null when unreadable or not ELF. */
export function withElfFile<T>(path: string, fn: (src: ByteSource, info: ElfInfo, fd: number) => T): T | null {
	return withRegularFile(path, (fd) => {
		const src = new FdSource(fd);
		const info = parseElf(src);
		return info ? fn(src, info, fd) : null;
	});
}
