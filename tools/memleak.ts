// memleak: outstanding allocations by stack. User space (-p PID or -c CMD):
// uprobes on the allocator in libc (or -O LIB); kernel (neither): the kmem,
// page and percpu tracepoints. Every interval, the stacks holding the most
// outstanding memory, as BCC prints them.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { kernelBtf } from '../lib/btf.js';
import { sumPerCpuStruct } from '../lib/decode.js';
import { ToolError, usage } from '../lib/errors.js';
import {
	MEMLEAK_ALLOC_LAYOUT,
	MEMLEAK_ALLOC_SIZE,
	MEMLEAK_COMBINED_LAYOUT,
	MEMLEAK_COMBINED_SIZE,
	MEMLEAK_EVENT_LAYOUT,
	MEMLEAK_KIND,
	MEMLEAK_STATS_LAYOUT,
	MEMLEAK_STATS_SIZE,
	decodeMemleakAlloc,
	decodeMemleakCombined,
	decodeMemleakEvent,
	decodeMemleakStats,
} from '../lib/gen/memleak.js';
import type { MemleakEvent, MemleakStats } from '../lib/gen/memleak.js';
import { Columns } from '../lib/output.js';
import { tracepointExists } from '../lib/preflight.js';
import { ProcessTracker, StackResolver, frameJson, frameWithModule, stackIdErr, trimTracingFrames } from '../lib/stacks.js';
import type { Frame } from '../lib/stacks.js';
import { withElfFile, readSymbols } from '../lib/symbolize/elf.js';
import { readMaps, procPath } from '../lib/symbolize/procmaps.js';
import { checkIntervalCount, checkPositive, defineTool } from '../lib/tool.js';
import { hhmmss, u32, u64, u8 } from '../lib/tracer.js';
import type { LoadedObject, Tracer } from '../lib/tracer.js';

interface Opts {
	pid?: number;
	trace?: boolean;
	showAllocs?: boolean;
	older: number;
	command?: string;
	combinedOnly?: boolean;
	waMissingFree?: boolean;
	sampleRate: number;
	top: number;
	minSize?: number;
	maxSize?: number;
	obj: string;
	percpu?: boolean;
	sort: string;
	symbolsPrefix?: string;
	stackStorageSize: number;
	hashStorageSize: number;
	interval?: number;
	count?: number;
}

/** Call names by enum memleak_kind value (bpf/memleak.h). */
export const KIND_NAMES: string[] = Object.entries(MEMLEAK_KIND)
	.sort((a, b) => a[1] - b[1])
	.map(([k]) => k.slice(2).toLowerCase());

/** The allocator's entry points: [function, entry program, return program]. */
const USER_FUNCS: [string, string, string | undefined][] = [
	['malloc', 'malloc_enter', 'malloc_exit'],
	['calloc', 'calloc_enter', 'calloc_exit'],
	['realloc', 'realloc_enter', 'realloc_exit'],
	['mmap', 'mmap_enter', 'mmap_exit'],
	['posix_memalign', 'posix_memalign_enter', 'posix_memalign_exit'],
	['aligned_alloc', 'aligned_alloc_enter', 'aligned_alloc_exit'],
	['valloc', 'valloc_enter', 'valloc_exit'],
	['memalign', 'memalign_enter', 'memalign_exit'],
	['pvalloc', 'pvalloc_enter', 'pvalloc_exit'],
	['free', 'free_enter', undefined],
	['munmap', 'munmap_enter', undefined],
];
const REQUIRED = ['malloc', 'free'];

/** Kernel tracepoints: [category, name, program]; the percpu ones only with --percpu. */
const KERNEL_TPS: [string, string, string][] = [
	['kmem', 'kmalloc', 'tp_kmalloc'],
	['kmem', 'kfree', 'tp_kfree'],
	['kmem', 'kmem_cache_alloc', 'tp_kmem_cache_alloc'],
	['kmem', 'kmem_cache_free', 'tp_kmem_cache_free'],
	['kmem', 'mm_page_alloc', 'tp_page_alloc'],
	['kmem', 'mm_page_free', 'tp_page_free'],
	['kmem', 'mm_page_free_batched', 'tp_page_free_batched'],
];
const PERCPU_TPS: [string, string, string][] = [
	['percpu', 'percpu_alloc_percpu', 'tp_percpu_alloc'],
	['percpu', 'percpu_free_percpu', 'tp_percpu_free'],
];

/** The address behind an allocs key: page and percpu keys are XORed with a tag in the top byte (bpf/memleak.bpf.c). */
export function untagKey(key: bigint): bigint {
	const top = key >> 56n;
	if (top === 0xa0n || top === 0x5fn) return key ^ (0xa0n << 56n);
	if (top === 0xb0n || top === 0x4fn) return key ^ (0xb0n << 56n);
	return key;
}

/** Does a mapped file's name match -O LIB (c: libc.so.6, libc-2.31.so)? */
export function matchesObject(path: string, obj: string): boolean {
	const b = basename(path);
	const esc = obj.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	return b === obj || new RegExp(`^(lib)?${esc}(\\.so|-[0-9][0-9.]*\\.so)`).test(b);
}

/** `ldconfig -p` output: library name -> path (first entry, the preferred one). */
export function parseLdconfig(text: string): Map<string, string> {
	const m = new Map<string, string>();
	for (const line of text.split('\n')) {
		const r = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
		if (r && !m.has(r[1])) m.set(r[1], r[3]);
	}
	return m;
}

/**
 * The file to attach to for -O LIB: a path as given; else the library of
 * that name mapped by the process (through /proc/PID/root, so a container's
 * own libc is the one probed); else the ld.so cache.
 */
export function findObject(obj: string, pid: number | undefined, procRoot = '/proc'): string | undefined {
	if (obj.includes('/')) return existsSync(obj) ? obj : undefined;
	if (pid !== undefined) {
		const hit = (readMaps(pid, procRoot) ?? []).find((m) => m.path.startsWith('/') && matchesObject(m.path, obj));
		if (hit) return procPath(pid, hit.path, procRoot);
	}
	let cache: Map<string, string>;
	try {
		cache = parseLdconfig(execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
	} catch {
		return undefined;
	}
	for (const [name, path] of cache) if (matchesObject(name, obj)) return path;
	return undefined;
}

/** A process's state letter from /proc/PID/stat (R, S, T, Z, ...); undefined when it is gone. */
function procState(pid: number): string | undefined {
	try {
		return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
	} catch {
		return undefined;
	}
}

/** A process that still runs (a zombie has ended: its memory is gone). */
function alive(pid: number): boolean {
	const state = procState(pid);
	return state !== undefined && state !== 'Z' && state !== 'X';
}

/** One stack's outstanding memory, resolved. */
export interface StackInfo {
	stackId: number;
	pid: number;
	bytes: number;
	count: number;
	frames: Frame[];
}

/** BCC's report: the top N stacks by size (or count), printed smallest first. */
export function formatReport(time: string, top: number, stacks: StackInfo[], sort: 'size' | 'count', kernel: boolean): string[] {
	const by = sort === 'count' ? (s: StackInfo) => s.count : (s: StackInfo) => s.bytes;
	const shown = [...stacks].sort((a, b) => by(a) - by(b) || a.stackId - b.stackId).slice(-top);
	const out = [`[${time}] Top ${top} stacks with outstanding allocations:`];
	for (const s of shown) {
		const frames = stackIdErr(s.stackId)
			? [kernel ? '[Missed Kernel Stack]' : '[Missed User Stack]']
			: s.frames.length
				? s.frames.map(frameWithModule)
				: ['[unknown]'];
		out.push(`\t${s.bytes} bytes in ${s.count} allocations from stack\n\t\t${frames.join('\n\t\t')}`);
	}
	return out;
}

const sumStats = (v: Buffer | null): MemleakStats => sumPerCpuStruct(v, MEMLEAK_STATS_SIZE, decodeMemleakStats, { allocs: 0, frees: 0, failed: 0, allocs_full: 0, replaced: 0, no_entry: 0, stack_errors: 0 });

/** Start CMD through sh, stopped before it runs (kill -STOP $$); resolves with the stopped shell. */
async function startStopped(cmd: string, toStderr: boolean): Promise<ChildProcess> {
	// exec keeps the stopped shell's PID (the one the probes filter on); env lets CMD start with VAR=value
	const child = spawn('/bin/sh', ['-c', `kill -STOP $$ && exec env ${cmd}`], {
		stdio: ['inherit', toStderr ? process.stderr : 'inherit', 'inherit'],
	});
	const pid = child.pid;
	if (pid === undefined) throw new ToolError('RUNTIME', `-c ${cmd}: could not start /bin/sh`);
	for (let i = 0; i < 1000; i++) {
		const state = procState(pid);
		if (state === undefined) break;
		if (state === 'T' || state === 't') return child;
		await new Promise((r) => setTimeout(r, 5));
	}
	child.kill('SIGKILL');
	throw new ToolError('RUNTIME', `-c ${cmd}: the command did not start`);
}

export default defineTool<Opts>({
	name: 'memleak',
	description: 'Trace outstanding memory allocations that were not freed, by stack (user space with -p/-c, else the kernel).',
	positionals: [
		{ name: 'interval', describe: 'interval in seconds to print outstanding allocations (default 5)' },
		{ name: 'count', describe: 'number of times to print the report before exiting' },
	],
	options: {
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'the PID to trace; if neither this nor -c is given, trace kernel allocations' },
		trace: { alias: 't', type: 'boolean', describe: 'print every allocation and free call as it happens' },
		'show-allocs': { alias: 'a', type: 'boolean', describe: 'show the address and size of every outstanding allocation' },
		older: { alias: 'o', type: 'number', default: 500, requiresArg: true, describe: 'leave out allocations younger than this, in milliseconds' },
		command: { alias: 'c', type: 'string', requiresArg: true, describe: 'run this command (with its arguments, through sh) and trace it from its first instruction' },
		'combined-only': { type: 'boolean', describe: 'report from the per-stack totals kept in the kernel (cheaper on busy allocators; no -o age filter)' },
		'wa-missing-free': { type: 'boolean', describe: 'treat an address allocated again as freed (always done: accepted for BCC compatibility)' },
		'sample-rate': { alias: 's', type: 'number', default: 1, requiresArg: true, describe: 'record one in N allocations (sizes are not scaled)' },
		top: { alias: 'T', type: 'number', default: 10, requiresArg: true, describe: 'show this many stacks, the largest last' },
		'min-size': { alias: 'z', type: 'number', requiresArg: true, describe: 'record allocations of at least this many bytes' },
		'max-size': { alias: 'Z', type: 'number', requiresArg: true, describe: 'record allocations of at most this many bytes' },
		obj: { alias: 'O', type: 'string', default: 'c', requiresArg: true, describe: 'the allocator library (name or path) to attach to' },
		percpu: { type: 'boolean', describe: 'trace percpu allocations too (kernel mode)' },
		sort: { type: 'string', default: 'size', requiresArg: true, describe: 'order stacks by outstanding size or count: size|count' },
		'stack-storage-size': { type: 'number', default: 10240, requiresArg: true, describe: 'the number of unique stack traces that can be stored (ours)' },
		'hash-storage-size': { type: 'number', default: 262144, requiresArg: true, describe: 'the number of outstanding allocations that can be recorded (ours; preallocated, about 80 bytes each)' },
		'symbols-prefix': { type: 'string', requiresArg: true, describe: 'a prefix of the allocator\'s function names (je_ for a prefixed jemalloc)' },
	},
	examples: [
		['ebpf-tools memleak -p $(pidof app)', 'trace outstanding allocations of app, a report every 5 seconds'],
		['ebpf-tools memleak -p $(pidof app) -a', 'also list every outstanding allocation'],
		['ebpf-tools memleak -p $(pidof app) -o 60000 60', 'allocations older than a minute, every minute'],
		['ebpf-tools memleak -c "./app --opt" 10', 'run ./app and report every 10 seconds and when it exits'],
		['ebpf-tools memleak', 'trace outstanding kernel allocations'],
		['ebpf-tools memleak -s 5', 'trace one in 5 allocations (less overhead)'],
		['ebpf-tools memleak -p $(pidof app) -O jemalloc --symbols-prefix je_', 'trace a prefixed jemalloc'],
	],
	validate(a) {
		checkIntervalCount(a);
		if (a.pid !== undefined && a.command !== undefined) throw usage('-p/--pid and -c/--command cannot be used together');
		if (a.pid !== undefined) {
			checkPositive('--pid', a.pid, true);
			if (!existsSync(`/proc/${a.pid}`)) throw usage(`--pid ${a.pid}: no such process`);
		}
		if (a.command !== undefined && !a.command.trim()) throw usage('--command: empty command');
		if (a.showAllocs && a.combinedOnly) throw usage('-a/--show-allocs lists single allocations, which --combined-only does not keep');
		if (!(a.older >= 0)) throw usage(`--older ${a.older}: must be 0 or more milliseconds`);
		checkPositive('--sample-rate', a.sampleRate, true);
		checkPositive('--top', a.top, true);
		for (const [f, v] of [['--min-size', a.minSize], ['--max-size', a.maxSize]] as const)
			if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw usage(`${f} ${v}: must be a number of bytes`);
		if (a.minSize !== undefined && a.maxSize !== undefined && a.minSize > a.maxSize)
			throw usage(`--min-size ${a.minSize} is larger than --max-size ${a.maxSize}`);
		for (const [flag, v] of [['--stack-storage-size', a.stackStorageSize], ['--hash-storage-size', a.hashStorageSize]] as const)
			if (!Number.isInteger(v) || v <= 0 || v > 1 << 24) throw usage(`${flag} ${v}: must be a positive integer (at most ${1 << 24})`);
		if (a.sort !== 'size' && a.sort !== 'count') throw usage(`--sort ${a.sort}: must be size or count`);
		const user = a.pid !== undefined || a.command !== undefined;
		if (a.percpu && user) throw usage('--percpu traces kernel allocations', 'leave out -p/-c');
		if (!user && (a.obj !== 'c' || a.symbolsPrefix)) throw usage('-O/--obj and --symbols-prefix need -p or -c', 'they name the user-space allocator');
		if (a.obj.includes('/') && !existsSync(a.obj)) throw usage(`--obj ${a.obj}: no such file`);
	},
	async run(t, a) {
		const user = a.pid !== undefined || a.command !== undefined;
		const interval = a.interval ?? 5;
		const prefix = a.symbolsPrefix ?? '';
		let child: ChildProcess | undefined;
		let childExit: Promise<void> | undefined;
		// the traced process ended (-c's command, or -p's process)
		let targetGone = false;
		let childStatus = '';
		let notRun = false;
		if (a.command !== undefined) {
			child = await startStopped(a.command, t.out.json);
			const c = child;
			childExit = new Promise((r) =>
				c.on('exit', (code, sig) => {
					childStatus = sig ? `was killed by ${sig}` : `exited with status ${code}`;
					// sh or env could not run it: 126 (not executable), 127 (not found)
					if (code === 126 || code === 127) notRun = true;
					r();
				}),
			);
			// never leave the command stopped: it runs on (or ends) with us
			t.atEnd(() => {
				if (c.exitCode === null && c.signalCode === null) c.kill('SIGCONT');
				// left running, untraced (memleak(8)): it must not keep the tool alive
				c.unref();
			});
		}
		const pid = a.pid ?? child?.pid;

		let lo: LoadedObject;
		let attached: string[] = [];
		let libPath = '';
		if (user) {
			const path = findObject(a.obj, pid);
			if (!path)
				throw usage(`--obj ${a.obj}: no such library in process ${pid} or the ld.so cache`, 'give the library\'s path with -O /path/to/lib.so');
			const addrOf = withElfFile(path, (src, info) => new Map(readSymbols(src, info).filter((s) => s.addr).map((s) => [s.name, s.addr])));
			if (!addrOf) throw usage(`--obj ${a.obj}: ${path} is not an ELF file`);
			const names = new Set(addrOf.keys());
			// aliases (glibc: aligned_alloc is memalign) are probed once, or each call is recorded twice
			const probed = new Set<number>();
			const funcs = USER_FUNCS.filter(([f]) => {
				const at = addrOf.get(prefix + f);
				if (at === undefined || probed.has(at)) return false;
				probed.add(at);
				return true;
			});
			const missing = REQUIRED.filter((f) => !names.has(prefix + f));
			if (missing.length)
				throw usage(`--obj ${a.obj}: ${path} has no ${missing.map((f) => prefix + f).join(' or ')}`,
					'give the library that holds the allocator (-O), or its symbol prefix (--symbols-prefix)');
			const btf = kernelBtf();
			const canDropOnExec = btf.enumValues('bpf_func_id')?.has('BPF_FUNC_for_each_map_elem') === true;
			const autoload: Record<string, boolean> = { on_exec: canDropOnExec };
			for (const [, , tp] of [...KERNEL_TPS, ...PERCPU_TPS]) autoload[tp] = autoload[tp.replace(/^tp_/, 'btf_')] = false;
			for (const [f, enter, exit] of USER_FUNCS) {
				const on = funcs.some(([g]) => g === f);
				autoload[enter] = on;
				if (exit) autoload[exit] = on;
			}
			lo = openObject(t, a, { autoload, targetPid: pid!, kernel: false, stopOnSeen: child !== undefined });
			try {
				for (const [f, enter, exit] of funcs) {
					lo.uprobe(enter, { path, pid, func: prefix + f });
					if (exit) lo.uprobe(exit, { path, pid, func: prefix + f, retprobe: true });
				}
			} catch (e) {
				// the process ended meanwhile: its /proc/PID/root path is gone, not the hook
				if (!existsSync(`/proc/${pid}`)) throw new ToolError('RUNTIME', `process ${pid} exited before it could be traced`);
				throw e;
			}
			if (canDropOnExec) lo.attach('on_exec');
			attached = funcs.map(([f]) => f);
			libPath = path;
		} else {
			// classic tracepoints (tracefs), else the same through tp_btf
			const btf = kernelBtf();
			const wanted = [...KERNEL_TPS, ...(a.percpu ? PERCPU_TPS : [])];
			const has = (n: string) => (t.tracefs ? wanted.some(([c, m]) => m === n && tracepointExists(c, m)) : btf.tracepointArgs(n) !== undefined);
			let tps = wanted.filter(([, n]) => has(n));
			// tp_btf reads percpu_alloc_percpu's arguments by position: the Linux 6.0+ list only
			if (!t.tracefs && a.percpu && btf.tracepointArgs('percpu_alloc_percpu') !== 10) {
				t.out.warn('--percpu: this kernel\'s percpu_alloc_percpu arguments are not known without tracefs; percpu allocations are not traced');
				tps = tps.filter(([c]) => c !== 'percpu');
			}
			if (!tps.some(([, n]) => n === 'kmalloc'))
				throw new ToolError('RUNTIME', 'the kmem:kmalloc tracepoint is missing', 'a kernel built with tracepoints (CONFIG_TRACEPOINTS) is needed');
			const prog = (p: string) => (t.tracefs ? p : p.replace(/^tp_/, 'btf_'));
			const autoload: Record<string, boolean> = { on_exec: false };
			for (const [, enter, exit] of USER_FUNCS) {
				autoload[enter] = false;
				if (exit) autoload[exit] = false;
			}
			for (const [, , p] of [...KERNEL_TPS, ...PERCPU_TPS]) {
				const on = tps.some(([, , q]) => q === p);
				autoload[p] = on && t.tracefs;
				autoload[p.replace(/^tp_/, 'btf_')] = on && !t.tracefs;
			}
			lo = openObject(t, a, { autoload, targetPid: 0, kernel: true });
			for (const [c, n, p] of tps) {
				if (t.tracefs) lo.tracepoint(p, c, n);
				else lo.attach(prog(p));
			}
			attached = tps.map(([, n]) => n);
		}

		const procs = new ProcessTracker();
		t.atEnd(() => procs.close());
		if (user && a.pid !== undefined) procs.see(a.pid);
		const resolver = () => new StackResolver(lo, 'stack_traces', procs.sym);

		// -t: times from the first call seen, as BCC's trace tools print them
		let firstNs = 0;
		const traceCols = new Columns<MemleakEvent>([
			{ key: 'type', json: () => 'call' },
			{ header: 'TIME(s)', key: 'ts', width: 12, text: (e) => ((e.ts_ns - firstNs) / 1e9).toFixed(6), json: (e) => t.clock.epochSeconds(e.ts_ns) },
			{ header: 'PID', key: 'pid', width: 7, text: (e) => String(e.pid), json: (e) => e.pid },
			{ header: 'TID', key: 'tid', width: 7, text: (e) => String(e.tid), json: (e) => e.tid },
			{ header: 'CALL', key: 'call', width: 16, text: (e) => KIND_NAMES[e.kind] ?? String(e.kind) },
			{ header: 'SIZE', key: 'size', width: 10, right: true, text: (e) => String(e.size), json: (e) => e.size },
			{ header: 'ADDRESS', key: 'addr', text: (e) => `0x${e.addr.toString(16)}` },
		]);
		if (a.trace && !t.out.json) t.out.line(traceCols.header());
		t.stream(lo, decodeMemleakEvent, (e) => {
			if (e.kind === MEMLEAK_KIND.K_SEEN) {
				procs.see(e.pid);
				// -c: the BPF side stopped the command until its mappings were read
				if (child && e.pid === child.pid) child.kill('SIGCONT');
				return;
			}
			if (!a.trace) return;
			firstNs ||= e.ts_ns;
			t.out.event(traceCols, e);
		});

		let statsSeen: MemleakStats = sumStats(null);
		const report = () => {
			const now = t.clock.nowNs();
			const time = hhmmss(Date.now() / 1000);
			// never leave the command stopped, whatever happened to its SIGCONT
			if (child && !targetGone) child.kill('SIGCONT');
			if (user && pid !== undefined) procs.see(pid);
			const res = resolver();
			const byStack = new Map<number, StackInfo>();
			const shownAllocs: { addr: bigint; size: number; stackId: number; pid: number }[] = [];
			if (a.combinedOnly) {
				const d = lo.dump('combined');
				const kv = new DataView(d.keys.buffer, d.keys.byteOffset, d.keys.length);
				const vv = new DataView(d.values.buffer, d.values.byteOffset, d.values.length);
				for (let i = 0; i < d.count; i++) {
					const id = kv.getInt32(i * d.keySize, true);
					const c = decodeMemleakCombined(vv, i * d.valueSize, MEMLEAK_COMBINED_SIZE);
					if (c.count <= 0) continue;
					byStack.set(id, { stackId: id, pid: pid ?? 0, bytes: c.bytes, count: c.count, frames: [] });
				}
			} else {
				const d = lo.dump('allocs');
				const vv = new DataView(d.values.buffer, d.values.byteOffset, d.values.length);
				const minAge = a.older * 1e6;
				for (let i = 0; i < d.count; i++) {
					const al = decodeMemleakAlloc(vv, i * d.valueSize, MEMLEAK_ALLOC_SIZE);
					if (now - al.ts_ns < minAge) continue;
					const s = byStack.get(al.stack_id);
					if (s) {
						s.bytes += al.size;
						s.count++;
					} else byStack.set(al.stack_id, { stackId: al.stack_id, pid: al.pid, bytes: al.size, count: 1, frames: [] });
					if (a.showAllocs) shownAllocs.push({ addr: untagKey(d.keys.readBigUInt64LE(i * d.keySize)), size: al.size, stackId: al.stack_id, pid: al.pid });
				}
			}
			const stacks = [...byStack.values()];
			for (const s of stacks) s.frames = user ? res.user(s.pid, s.stackId) : trimTracingFrames(res.kernel(s.stackId));
			shownAllocs.sort((x, y) => x.size - y.size);
			if (!t.out.json) {
				const lines = formatReport(time, a.top, stacks, a.sort as 'size' | 'count', !user);
				t.out.line(lines[0]);
				for (const al of shownAllocs) t.out.line(`\taddr = ${al.addr.toString(16)} size = ${al.size}`);
				for (const l of lines.slice(1)) t.out.line(l);
			}
			if (t.out.records) {
				const ts = t.clock.epochSeconds(now);
				const by = a.sort === 'count' ? (s: StackInfo) => s.count : (s: StackInfo) => s.bytes;
				for (const al of shownAllocs) t.out.record({ type: 'allocation', ts, addr: `0x${al.addr.toString(16)}`, size: al.size, stack_id: al.stackId, ...(user ? { pid: al.pid } : {}) });
				for (const s of [...stacks].sort((x, y) => by(y) - by(x)).slice(0, a.top))
					t.out.record({
						type: 'stack', ts, bytes: s.bytes, allocations: s.count, stack_id: s.stackId,
						...(user ? { pid: s.pid } : {}),
						stack: s.frames.map(frameJson),
						...(stackIdErr(s.stackId) ? { stack_error: s.stackId } : {}),
					});
			}
			// what the kernel side could not record is reported, never silent
			const st = sumStats(lo.obj.mapLookup('stats', u32(0)));
			if (st.allocs_full > statsSeen.allocs_full)
				t.reportLost(st.allocs_full - statsSeen.allocs_full, 'allocations not recorded: the allocs map is full; raise --hash-storage-size');
			if (st.stack_errors > statsSeen.stack_errors)
				t.out.warn(`${st.stack_errors - statsSeen.stack_errors} allocations without a stack (stack map full or hash collision; raise --stack-storage-size)`);
			statsSeen = st;
			t.out.flush();
		};

		t.every(interval, a.count, report);
		// -p: the process ended; a last report (its allocations at exit) and done
		if (a.pid !== undefined) {
			const target = a.pid;
			const poll = setInterval(() => {
				if (alive(target)) return;
				targetGone = true;
				t.stop('done');
			}, 200);
			poll.unref();
			t.atEnd(() => clearInterval(poll));
		}
		t.out.info(
			(user ? `Attaching to pid ${pid} (${attached.join(', ')} in ${basename(libPath)})` : `Attaching to kernel allocators (${attached.join(', ')})`) +
				`, a report every ${interval} s... Hit Ctrl-C to end.`,
		);
		if (child) {
			t.out.info(`Executing '${a.command}' and tracing the resulting process.`);
			child.kill('SIGCONT');
			void childExit!.then(() => {
				targetGone = true;
				t.stop('done');
			});
		}
		const reason = await t.run();
		// the traced period ends here: what building the last report allocates is not part of it
		for (const l of lo.links) l.close();
		// Ctrl-C, --duration or the command's end: a last report of what is still outstanding
		if (notRun) throw new ToolError('RUNTIME', `-c ${a.command}: the command could not be run (${childStatus})`, 'give a program and its arguments, optionally after VAR=value');
		if (reason === 'signal' || reason === 'duration' || (reason === 'done' && targetGone)) report();
		if (user && targetGone) t.out.info(`memleak: process ${pid} ${childStatus || 'exited'}`);
		const end = sumStats(lo.obj.mapLookup('stats', u32(0)));
		if (user && end.allocs === 0)
			t.out.warn(`no allocation was recorded from ${libPath}: nothing allocated, everything filtered (-z/-Z/-s), or the program uses another allocator (-O)`);
		if (a.verbose) {
			const st = end;
			t.out.info(
				`memleak: ${st.allocs} allocations recorded, ${st.frees} freed, ${st.failed} failed (ignored), ` +
					`${st.replaced} addresses allocated again without a free seen, ${st.no_entry} returns without their entry, ` +
					`${st.allocs_full} not recorded (map full), ${st.stack_errors} without a stack`,
			);
		}
	},
});

function openObject(t: Tracer, a: Opts, o: { autoload: Record<string, boolean>; targetPid: number; kernel: boolean; stopOnSeen?: boolean }): LoadedObject {
	return t.open('memleak', {
		layouts: {
			memleak_alloc: MEMLEAK_ALLOC_LAYOUT,
			memleak_combined: MEMLEAK_COMBINED_LAYOUT,
			memleak_event: MEMLEAK_EVENT_LAYOUT,
			memleak_stats: MEMLEAK_STATS_LAYOUT,
		},
		globals: {
			target_pid: u32(o.targetPid),
			self_pid: u32(o.kernel ? process.pid : 0),
			min_size: a.minSize !== undefined ? u64(a.minSize) : undefined,
			max_size: a.maxSize !== undefined ? u64(a.maxSize) : undefined,
			sample_every: u32(a.sampleRate),
			trace_calls: u8(!!a.trace),
			kernel_mode: u8(o.kernel),
			stop_on_seen: u8(!!o.stopOnSeen),
		},
		autoload: o.autoload,
		maps: {
			allocs: { maxEntries: a.hashStorageSize },
			stack_traces: { maxEntries: a.stackStorageSize },
			// stack ids, and the negative errors grouped under theirs
			combined: { maxEntries: a.stackStorageSize + 8 },
		},
	});
}
