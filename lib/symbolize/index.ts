// The shared symbolizer: kernel addresses through /proc/kallsyms, user
// addresses through the process's mappings (snapshotted while it is alive),
// the mapped ELF files' .symtab/.dynsym (plus separate debug files found by
// build-id or .gnu_debuglink) and JIT perf maps. Files are opened through
// /proc/PID/map_files or /proc/PID/root (containers, deleted or replaced
// binaries) and cached by identity (device, inode, size, mtime; build-id),
// never by path. Names are demangled (C++, Rust).
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { demangle } from './demangle.js';
import { BufferSource, SymbolTable, parseElf, readSymbols } from './elf.js';
import { findDebugFile, loadSymbols } from './load.js';
import type { LoadedSymbols } from './load.js';
import type { ParseJob } from './parse-worker.js';
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
	/** parsed: the file, or null when unusable */
	done?: LoadedFile | null;
	/** the parser thread reads it now (the fd stays open until it answers) */
	inflight?: boolean;
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
	private worker: Worker | undefined;
	private bgBusy = false;
	private bgBroken = false;
	private bgSeq = 0;
	private bgJob: { id: number; p: PendingFile } | undefined;
	private closed = false;
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
			this.finishPending(this.pending[0]);
			if (Date.now() - t0 >= maxMs) break;
		}
		return this.pending.length;
	}

	private finishPending(mf: MappedFile): void {
		const p = mf.pending;
		if (!p) return;
		if (p.done === undefined) {
			let f: LoadedFile | null = null;
			try {
				f = this.files.has(p.key) ? this.files.get(p.key)! : this.parseFile(`/proc/self/fd/${p.fd}`, p.display, p.root);
			} catch {
				f = null;
			}
			this.files.set(p.key, f);
			this.settle(p, f);
		}
		mf.file = p.done ?? null;
		mf.pending = undefined;
		const i = this.pending.indexOf(mf);
		if (i >= 0) this.pending.splice(i, 1);
	}

	/** Stop the parser thread and close what lazy snapshots hold open. */
	close(): void {
		this.closed = true;
		if (this.worker) {
			void this.worker.terminate();
			this.worker = undefined;
		}
		if (this.bgJob) {
			this.bgJob.p.inflight = false;
			if (this.bgJob.p.done !== undefined) closeSync(this.bgJob.p.fd);
			this.bgJob = undefined;
		}
		for (const mf of this.pending.splice(0)) {
			const p = mf.pending;
			mf.pending = undefined;
			if (p && p.done === undefined) {
				p.done = null;
				closeSync(p.fd);
			}
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
				if (m.pending) this.finishPending(m);
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
		const res = loadSymbols(path, displayPath, root, this.debugRoots, (id) => this.byBuildId.has(id));
		return this.adopt(res, displayPath);
	}

	/** Turn parsed symbols into a cached file (or the file already known by its build-id). */
	private adopt(res: LoadedSymbols | null, displayPath: string): LoadedFile | null {
		if (!res) return null;
		const hit = res.info.buildId ? this.byBuildId.get(res.info.buildId) : undefined;
		if (hit) return hit;
		this.filesLoaded++;
		const f: LoadedFile = { path: displayPath, info: res.info, symbols: SymbolTable.fromArrays(res.table), debugFile: res.debugFile };
		if (res.info.buildId) this.byBuildId.set(res.info.buildId, f);
		return f;
	}

	/** A separate debug file: by build-id, then by .gnu_debuglink (checked by build-id or CRC). */
	findDebugFile(info: ElfInfo, path: string, root = '/'): string | undefined {
		return findDebugFile(info, path, root, this.debugRoots);
	}

	// ---- the parser thread ----------------------------------------------

	/**
	 * Parse the files lazy snapshots opened in a worker thread, one at a
	 * time, so this thread stays free to snapshot new processes. Lookups that
	 * need a file before its turn parse it here.
	 */
	loadInBackground(): void {
		if (this.bgBusy || this.bgBroken) return;
		const mf = this.pending.find((m) => m.pending && m.pending.done === undefined && !m.pending.inflight);
		if (!mf) return;
		const p = mf.pending!;
		if (this.files.has(p.key)) {
			this.settle(p, this.files.get(p.key)!);
			return this.loadInBackground();
		}
		let w = this.worker;
		if (!w) {
			try {
				w = new Worker(new URL('./parse-worker.js', import.meta.url));
			} catch {
				this.bgBroken = true;
				return;
			}
			w.unref();
			w.on('message', (m: { id: number; res: LoadedSymbols | null }) => this.onParsed(m));
			w.on('error', () => {
				this.bgBroken = true;
				this.bgBusy = false;
				this.bgJob = undefined;
			});
			this.worker = w;
		}
		p.inflight = true;
		this.bgBusy = true;
		this.bgJob = { id: ++this.bgSeq, p };
		const job: ParseJob = { id: this.bgSeq, path: `/proc/self/fd/${p.fd}`, display: p.display, root: p.root, debugRoots: this.debugRoots, known: [...this.byBuildId.keys()] };
		w.postMessage(job);
	}

	private onParsed(m: { id: number; res: LoadedSymbols | null }): void {
		const job = this.bgJob;
		if (!job || job.id !== m.id) return;
		this.bgJob = undefined;
		this.bgBusy = false;
		const p = job.p;
		p.inflight = false;
		if (p.done === undefined) {
			const f = this.adopt(m.res, p.display);
			this.files.set(p.key, f);
			this.settle(p, f);
		} else {
			closeSync(p.fd); // parsed here meanwhile; the fd was kept for the worker
		}
		if (!this.closed) this.loadInBackground();
	}

	/** A pending file is known: close it and hand it to every mapping waiting for it. */
	private settle(p: PendingFile, f: LoadedFile | null): void {
		p.done = f;
		if (!p.inflight) closeSync(p.fd);
		for (let i = this.pending.length - 1; i >= 0; i--) {
			const mf = this.pending[i];
			if (mf.pending === p) {
				mf.file = f;
				mf.pending = undefined;
				this.pending.splice(i, 1);
			}
		}
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

export { fileCrc32 } from './load.js';
export { parseElf };
