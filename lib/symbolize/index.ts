// The shared symbolizer: kernel addresses through /proc/kallsyms, user
// addresses through the process's mappings (snapshotted while it is alive),
// the mapped ELF files' .symtab/.dynsym (plus separate debug files found by
// build-id or .gnu_debuglink) and JIT perf maps. Files are opened through
// /proc/PID/map_files or /proc/PID/root (containers, deleted or replaced
// binaries) and cached by identity (device, inode, size, mtime; build-id),
// never by path. Names are demangled (C++, Rust).
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { dirname, join } from 'node:path';
import { demangle } from './demangle.js';
import { BufferSource, SymbolTable, parseElf, readSymbols, withElfFile } from './elf.js';
import type { ElfInfo } from './elf.js';
import { KernelSymbols } from './kallsyms.js';
import { PerfMap } from './perfmap.js';
import { addrToVaddr, findMapping, isFileMapping, readMaps } from './procmaps.js';
import type { Mapping } from './procmaps.js';

export { demangle } from './demangle.js';
export { KernelSymbols } from './kallsyms.js';
export { PerfMap } from './perfmap.js';
export { parseMaps } from './procmaps.js';
export type { Mapping } from './procmaps.js';

export type FrameKind = 'kernel' | 'user' | 'jit';

export interface Frame {
	/** symbol (demangled), or `[unknown]` */
	name: string;
	kind: FrameKind;
	/** file or [module] the address belongs to, when known */
	module?: string;
	/** offset from the symbol's start */
	offset?: number;
	addr: bigint;
	/** false when nothing is known about the address */
	known: boolean;
}

export interface SymbolizerOptions {
	/** default /proc */
	procRoot?: string;
	/** default /proc/kallsyms */
	kallsyms?: string;
	/** separate debug file roots; default ['/usr/lib/debug'] */
	debugRoots?: string[];
	/** where JIT perf maps live; default /tmp */
	perfMapDir?: string;
	/** demangle C++/Rust names (default true) */
	demangle?: boolean;
}

/** One mapped ELF file with its symbols (cached by identity). */
export interface LoadedFile {
	path: string;
	info: ElfInfo;
	symbols: SymbolTable;
	/** where the symbols came from: the file itself and/or its debug file */
	debugFile?: string;
}

interface MappedFile extends Mapping {
	file?: LoadedFile | null;
	/** opened while the process lived, parsed later (lazy snapshots) */
	pending?: PendingFile;
}

interface PendingFile {
	fd: number;
	key: string;
	display: string;
	root: string;
	done?: LoadedFile | null;
}

/** Most files held open waiting to be parsed; beyond that, snapshots parse at once. */
const MAX_PENDING = 512;

interface ProcState {
	/** snapshots, newest first */
	snapshots: MappedFile[][];
	root: string;
	nsPid: number;
	perfMap?: { map: PerfMap | null; checked: number; size: number; mtime: number; path?: string };
}

const PERF_MAP_RECHECK_MS = 1000;

export class Symbolizer {
	private readonly procRoot: string;
	private readonly kallsymsPath: string;
	private readonly debugRoots: string[];
	private readonly perfMapDir: string;
	private readonly doDemangle: boolean;
	private kernel: KernelSymbols | undefined;
	private readonly procs = new Map<number, ProcState>();
	/** identity -> file */
	private readonly files = new Map<string, LoadedFile | null>();
	private readonly byBuildId = new Map<string, LoadedFile>();
	private readonly names = new Map<string, string>();
	private readonly pending: MappedFile[] = [];
	/** files parsed (not served from the cache), for tests and -v */
	filesLoaded = 0;

	constructor(opts: SymbolizerOptions = {}) {
		this.procRoot = opts.procRoot ?? '/proc';
		this.kallsymsPath = opts.kallsyms ?? '/proc/kallsyms';
		this.debugRoots = opts.debugRoots ?? ['/usr/lib/debug'];
		this.perfMapDir = opts.perfMapDir ?? '/tmp';
		this.doDemangle = opts.demangle ?? true;
	}

	private name(raw: string): string {
		if (!this.doDemangle) return raw;
		let n = this.names.get(raw);
		if (n === undefined) {
			n = demangle(raw);
			if (this.names.size < 1 << 20) this.names.set(raw, n);
		}
		return n;
	}

	// ---- kernel ---------------------------------------------------------

	kernelSymbol(addr: bigint): Frame {
		this.kernel ??= KernelSymbols.load(this.kallsymsPath);
		const s = this.kernel.lookup(addr);
		if (!s) return { name: '[unknown]', kind: 'kernel', addr, known: false };
		return { name: s.name, kind: 'kernel', module: s.module ? `[${s.module}]` : '[kernel.kallsyms]', offset: s.offset, addr, known: true };
	}

	// ---- processes ------------------------------------------------------

	/** Whether pid has been snapshotted. */
	has(pid: number): boolean {
		return this.procs.has(pid);
	}

	/**
	 * Take (or refresh) a snapshot of a process's mappings and load the ELF
	 * files it has mapped executable, while the process exists. Returns false
	 * when the process is gone. Older snapshots are kept for addresses that
	 * are no longer mapped (dlclose, exit).
	 */
	snapshot(pid: number, opts: { lazy?: boolean } = {}): boolean {
		const maps = readMaps(pid, this.procRoot);
		if (!maps) return false;
		let st = this.procs.get(pid);
		if (!st) {
			st = { snapshots: [], root: `${this.procRoot}/${pid}/root`, nsPid: nsPid(this.procRoot, pid) ?? pid };
			this.procs.set(pid, st);
		}
		const prev = st.snapshots[0];
		const prevByKey = new Map<string, MappedFile>();
		for (const m of prev ?? []) prevByKey.set(mapKey(m), m);
		const snap: MappedFile[] = maps.map((m) => {
			const old = prevByKey.get(mapKey(m));
			if (old) return old;
			const mf: MappedFile = { ...m };
			if (m.perms[2] === 'x' && isFileMapping(m)) this.loadMapped(pid, st!, mf, !!opts.lazy);
			else if (m.path === '[vdso]') mf.file = this.loadVdso(pid, m);
			return mf;
		});
		if (prev && prev.length === snap.length && prev.every((m, i) => m === snap[i])) return true;
		st.snapshots.unshift(snap);
		if (st.snapshots.length > 16) st.snapshots.length = 16;
		return true;
	}

	/** Files opened by lazy snapshots and not parsed yet. */
	get pendingFiles(): number {
		return this.pending.length;
	}

	/**
	 * Parse files opened by lazy snapshots, until maxMs have passed (at least
	 * one file). Returns how many are left.
	 */
	loadPending(maxMs = Infinity): number {
		const t0 = Date.now();
		while (this.pending.length) {
			const mf = this.pending.shift()!;
			this.finishPending(mf);
			if (Date.now() - t0 >= maxMs) break;
		}
		return this.pending.length;
	}

	private finishPending(mf: MappedFile): void {
		const p = mf.pending;
		if (!p) return;
		mf.pending = undefined;
		if (p.done === undefined) {
			try {
				p.done = this.files.has(p.key) ? this.files.get(p.key)! : this.parseFile(`/proc/self/fd/${p.fd}`, p.display, p.root);
				this.files.set(p.key, p.done);
			} catch {
				p.done = null;
			} finally {
				closeSync(p.fd);
			}
		}
		mf.file = p.done;
	}

	/** Close what lazy snapshots hold open (their files stay unparsed). */
	close(): void {
		for (const mf of this.pending.splice(0)) {
			if (mf.pending && mf.pending.done === undefined) {
				closeSync(mf.pending.fd);
				mf.pending.done = null;
			}
			mf.pending = undefined;
		}
	}

	/** Resolve a user-space address of pid. */
	userSymbol(pid: number, addr: bigint): Frame {
		const st = this.procs.get(pid) ?? (this.snapshot(pid) ? this.procs.get(pid) : undefined);
		const a = Number(addr);
		let module: string | undefined;
		if (st) {
			for (const snap of st.snapshots) {
				const m = findMapping(snap, a);
				if (!m) continue;
				module ??= m.path || undefined;
				if (m.pending) {
					const i = this.pending.indexOf(m);
					if (i >= 0) this.pending.splice(i, 1);
					this.finishPending(m);
				}
				if (m.file) {
					const vaddr = addrToVaddr(m, m.file.info, a);
					const s = vaddr !== undefined ? m.file.symbols.lookup(vaddr) : null;
					if (s) return { name: this.name(s.name), kind: 'user', module: m.path, offset: s.offset, addr, known: true };
				}
				break; // the newest snapshot that maps addr decides; older ones only for unmapped addresses
			}
		}
		const jit = this.perfMapLookup(pid, st, a);
		if (jit) return { name: jit.name, kind: 'jit', module: `perf-${pid}.map`, offset: jit.offset, addr, known: true };
		return { name: '[unknown]', kind: 'user', module, addr, known: false };
	}

	private perfMapLookup(pid: number, st: ProcState | undefined, a: number): { name: string; offset: number } | null {
		const now = Date.now();
		const state = st ?? { snapshots: [], root: `${this.procRoot}/${pid}/root`, nsPid: pid };
		let pm = state.perfMap;
		if (!pm || now - pm.checked > PERF_MAP_RECHECK_MS) {
			// inside a container the map is /tmp/perf-<pid in its namespace>.map under its root
			const cands = [join(state.root, this.perfMapDir, `perf-${state.nsPid}.map`), join(this.perfMapDir, `perf-${pid}.map`)];
			let found: { path: string; size: number; mtime: number } | undefined;
			for (const p of cands) {
				try {
					const s = statSync(p);
					if (s.isFile()) {
						found = { path: p, size: s.size, mtime: s.mtimeMs };
						break;
					}
				} catch {
					/* not there */
				}
			}
			if (!found) {
				pm = { map: pm?.map ?? null, checked: now, size: pm?.size ?? -1, mtime: pm?.mtime ?? -1, path: pm?.path };
			} else if (!pm || pm.size !== found.size || pm.mtime !== found.mtime) {
				pm = { map: PerfMap.load(found.path), checked: now, size: found.size, mtime: found.mtime, path: found.path };
			} else {
				pm.checked = now;
			}
			state.perfMap = pm;
			if (st) st.perfMap = pm;
		}
		return pm.map?.lookup(a) ?? null;
	}

	// ---- files ----------------------------------------------------------

	/** The vDSO is an ELF image in memory only: read it from /proc/PID/mem (cached by content). */
	private loadVdso(pid: number, m: Mapping): LoadedFile | null {
		const size = m.end - m.start;
		if (size <= 0 || size > 1 << 20) return null;
		let fd: number;
		try {
			fd = openSync(`${this.procRoot}/${pid}/mem`, constants.O_RDONLY);
		} catch {
			return null;
		}
		try {
			const buf = Buffer.alloc(size);
			const n = readSync(fd, buf, 0, size, m.start);
			const img = buf.subarray(0, n);
			const key = `vdso:${n}:${crc32(img) >>> 0}`;
			if (this.files.has(key)) return this.files.get(key)!;
			const src = new BufferSource(img);
			const info = parseElf(src);
			const f = info ? { path: '[vdso]', info, symbols: new SymbolTable(readSymbols(src, info)) } : null;
			this.files.set(key, f);
			return f;
		} catch {
			return null;
		} finally {
			closeSync(fd);
		}
	}

	/**
	 * Find the file of a mapping: served from the cache, parsed now, or (lazy)
	 * opened now and parsed later, so the process may exit meanwhile.
	 */
	private loadMapped(pid: number, st: ProcState, mf: MappedFile, lazy: boolean): void {
		const range = `${mf.start.toString(16)}-${mf.end.toString(16)}`;
		// map_files: the very file mapped (even deleted or replaced); root: the process's mount namespace
		const cands = [`${this.procRoot}/${pid}/map_files/${range}`, join(st.root, mf.path), mf.path];
		for (const p of cands) {
			const o = openIdentity(p);
			if (!o) continue;
			if (o.key === null) {
				closeSync(o.fd);
				mf.file = null;
				return;
			}
			if (this.files.has(o.key)) {
				closeSync(o.fd);
				mf.file = this.files.get(o.key)!;
				return;
			}
			// the same file may already wait in the queue (another process, another mapping)
			const queued = this.pending.find((q) => q.pending?.key === o.key)?.pending;
			if (queued) {
				closeSync(o.fd);
				mf.pending = queued;
				this.pending.push(mf);
				return;
			}
			if (lazy && this.pending.length < MAX_PENDING) {
				mf.pending = { fd: o.fd, key: o.key, display: mf.path, root: st.root };
				this.pending.push(mf);
				return;
			}
			try {
				const f = this.parseFile(`/proc/self/fd/${o.fd}`, mf.path, st.root);
				this.files.set(o.key, f);
				mf.file = f;
			} finally {
				closeSync(o.fd);
			}
			return;
		}
		mf.file = null;
	}

	/**
	 * Load a file's symbols, cached by identity. Returns undefined when the
	 * path cannot be opened (try another), null when it is not usable ELF.
	 */
	loadFile(openPath: string, displayPath = openPath, root = '/'): LoadedFile | null | undefined {
		let fd: number;
		try {
			fd = openSync(openPath, constants.O_RDONLY | constants.O_NONBLOCK);
		} catch {
			return undefined;
		}
		let key: string;
		try {
			const s = fstatSync(fd);
			if (!s.isFile()) return null;
			key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
		} catch {
			closeSync(fd);
			return undefined;
		}
		try {
			if (this.files.has(key)) return this.files.get(key)!;
			const f = this.parseFile(`/proc/self/fd/${fd}`, displayPath, root);
			this.files.set(key, f);
			return f;
		} finally {
			closeSync(fd);
		}
	}

	private parseFile(path: string, displayPath: string, root: string): LoadedFile | null {
		const parsed = withElfFile(path, (src, info) => ({ info, syms: readSymbols(src, info) }));
		if (!parsed) return null;
		const { info } = parsed;
		if (info.buildId) {
			const hit = this.byBuildId.get(info.buildId);
			if (hit) return hit;
		}
		this.filesLoaded++;
		let syms = parsed.syms;
		const dbg = this.findDebugFile(info, displayPath, root);
		let debugFile: string | undefined;
		if (dbg) {
			const more = withElfFile(dbg, (src, dinfo) => readSymbols(src, dinfo));
			if (more && more.length) {
				syms = syms.concat(more);
				debugFile = dbg;
			}
		}
		const f: LoadedFile = { path: displayPath, info, symbols: new SymbolTable(syms), debugFile };
		if (info.buildId) this.byBuildId.set(info.buildId, f);
		return f;
	}

	/** A separate debug file: by build-id, then by .gnu_debuglink (checked by build-id or CRC). */
	findDebugFile(info: ElfInfo, path: string, root = '/'): string | undefined {
		// a file with its own .symtab needs no debug file
		if (info.sections.some((s) => s.name === '.symtab' && s.size > 0 && s.type === 2)) return undefined;
		const roots = root === '/' ? this.debugRoots : [...this.debugRoots.map((r) => join(root, r)), ...this.debugRoots];
		if (info.buildId && info.buildId.length > 2) {
			for (const r of roots) {
				const p = join(r, '.build-id', info.buildId.slice(0, 2), `${info.buildId.slice(2)}.debug`);
				if (this.debugMatches(p, info)) return p;
			}
		}
		if (info.debuglink) {
			const dir = dirname(path);
			const cands = [
				join(root, dir, info.debuglink.file),
				join(root, dir, '.debug', info.debuglink.file),
				...roots.map((r) => join(r, dir, info.debuglink!.file)),
			];
			for (const p of cands) if (this.debugMatches(p, info, info.debuglink.crc)) return p;
		}
		return undefined;
	}

	private debugMatches(p: string, info: ElfInfo, crc?: number): boolean {
		if (!existsSync(p)) return false;
		const dinfo = withElfFile(p, (_src, i) => i);
		if (!dinfo) return false;
		if (info.buildId && dinfo.buildId) return info.buildId === dinfo.buildId;
		if (crc === undefined) return false;
		return fileCrc32(p) === crc;
	}
}

/** Open a path; key: its identity (null when not a regular file); undefined when it cannot be opened. */
function openIdentity(path: string): { fd: number; key: string | null } | undefined {
	let fd: number;
	try {
		fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}
	try {
		const s = fstatSync(fd);
		return { fd, key: s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}` : null };
	} catch {
		closeSync(fd);
		return undefined;
	}
}

function mapKey(m: Mapping): string {
	return `${m.start}-${m.end}-${m.offset}-${m.dev}-${m.inode}-${m.path}`;
}

/** The process's PID inside its own PID namespace (last NSpid field). */
function nsPid(procRoot: string, pid: number): number | undefined {
	try {
		const m = /^NSpid:\s*([\d\s]+)$/m.exec(readFileSync(`${procRoot}/${pid}/status`, 'latin1'));
		if (!m) return undefined;
		const ids = m[1].trim().split(/\s+/).map(Number);
		return ids[ids.length - 1];
	} catch {
		return undefined;
	}
}

/** CRC-32 of a whole file (the .gnu_debuglink checksum). */
export function fileCrc32(path: string): number | undefined {
	let fd: number;
	try {
		fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}
	try {
		if (!fstatSync(fd).isFile()) return undefined;
		const buf = Buffer.allocUnsafe(1 << 20);
		let crc = 0;
		let pos = 0;
		for (;;) {
			const n = readSync(fd, buf, 0, buf.length, pos);
			if (n <= 0) break;
			crc = crc32(buf.subarray(0, n), crc);
			pos += n;
		}
		return crc >>> 0;
	} catch {
		return undefined;
	} finally {
		closeSync(fd);
	}
}

export { parseElf };
