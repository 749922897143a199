// Stack traces for tools that sample or trace stacks (profile, memleak,
// offcpu ...): reading a BPF STACK_TRACE map, resolving addresses through the
// shared symbolizer, and keeping symbol snapshots of the processes seen
// while they are alive.
import { basename } from 'node:path';
import { Symbolizer } from './symbolize/index.js';
import type { Frame, SymbolizerOptions } from './symbolize/index.js';
import type { LoadedObject } from './tracer.js';

export type { Frame } from './symbolize/index.js';

const EFAULT = 14;

/** A negative stack id that means a lost stack (not "no stack here", -EFAULT). */
export function stackIdErr(id: number): boolean {
	return id < 0 && id !== -EFAULT;
}

/** How a resolved frame is printed: its symbol, else [module], else [unknown]. */
export function frameName(f: Frame): string {
	if (f.known) return f.name;
	if (f.module) return f.module.startsWith('[') ? f.module : `[${basename(f.module)}]`;
	return '[unknown]';
}

/** A frame in --json: address, symbol (null when unknown), offset, module. */
export function frameJson(f: Frame) {
	return {
		addr: `0x${f.addr.toString(16)}`,
		symbol: f.known ? f.name : null,
		...(f.offset !== undefined && f.known ? { offset: f.offset } : {}),
		module: f.module ?? null,
		...(f.kind === 'jit' ? { jit: true } : {}),
	};
}

/** BCC's sym(show_module, show_offset): `name+0xoff [module]`, `[unknown] [module]` or `[unknown]`. */
export function frameWithModule(f: Frame): string {
	const name = f.module === '[kernel.kallsyms]' ? 'kernel' : f.module?.startsWith('[') ? f.module.slice(1, -1) : f.module && basename(f.module);
	const mod = name ? ` [${name}]` : '';
	if (!f.known) return `[unknown]${mod}`;
	return `${f.name}${f.offset !== undefined ? `+0x${f.offset.toString(16)}` : ''}${mod}`;
}

/**
 * A kernel stack taken inside a BTF-typed tracepoint program starts in the
 * program and the tracepoint's runner: drop those leading frames, so it
 * reads like one from a classic tracepoint (which starts at the traced code).
 */
export function trimTracingFrames(frames: Frame[]): Frame[] {
	let i = 0;
	while (i < frames.length && (frames[i].module === '[bpf]' || /^(bpf_trace_run\d+|__bpf_trace_\w+|__traceiter_\w+)$/.test(frames[i].name))) i++;
	return i ? frames.slice(i) : frames;
}

/**
 * Keeps the symbolizer's view of processes current: a process is
 * snapshotted when first seen (its mappings read and its binaries opened at
 * once, parsed in a worker thread so the next process is not missed while a
 * big binary parses), and every refreshMs while it lives (dlopen, JIT code).
 */
export class ProcessTracker {
	readonly sym: Symbolizer;
	private readonly live = new Set<number>();
	private timer: NodeJS.Timeout | undefined;
	private closed = false;

	constructor(opts: SymbolizerOptions & { refreshMs?: number } = {}) {
		this.sym = new Symbolizer(opts);
		const ms = opts.refreshMs ?? 2000;
		if (ms > 0) {
			this.timer = setInterval(() => {
				for (const pid of this.live) if (!this.sym.snapshot(pid, { lazy: true })) this.live.delete(pid);
				this.kick();
			}, ms);
			this.timer.unref();
		}
	}

	/** A process was seen (or exec'd): snapshot it now. */
	see(pid: number): void {
		if (pid <= 0 || this.closed) return;
		if (this.sym.snapshot(pid, { lazy: true })) this.live.add(pid);
		this.kick();
	}

	/** Parse what the snapshots opened, in the symbolizer's parser thread. */
	private kick(): void {
		if (!this.closed) this.sym.loadInBackground();
	}

	/** Stop refreshing; take a last snapshot of the processes still alive. */
	finish(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = undefined;
		for (const pid of this.live) this.sym.snapshot(pid);
	}

	close(): void {
		this.closed = true;
		if (this.timer) clearInterval(this.timer);
		this.sym.close();
	}
}

/** Reads stacks from a STACK_TRACE map and resolves them (cached per stack id). */
export class StackResolver {
	private readonly raw = new Map<number, bigint[]>();

	constructor(
		private readonly lo: LoadedObject,
		private readonly map: string,
		private readonly sym: Symbolizer,
	) {}

	/** Instruction pointers, leaf first ([] for a negative id or a missing stack). */
	ips(id: number): bigint[] {
		if (id < 0) return [];
		let s = this.raw.get(id);
		if (!s) {
			s = [];
			const key = Buffer.alloc(4);
			key.writeUInt32LE(id);
			const v = this.lo.obj.mapLookup(this.map, key);
			if (v) {
				for (let o = 0; o + 8 <= v.length; o += 8) {
					const ip = v.readBigUInt64LE(o);
					if (ip === 0n) break;
					s.push(ip);
				}
			}
			this.raw.set(id, s);
		}
		return s;
	}

	// Return addresses point after the call: callers are looked up at addr - 1
	// (a call at the very end of a function would name the next one).
	user(pid: number, id: number): Frame[] {
		return this.ips(id).map((ip, j) => ({ ...this.sym.userSymbol(pid, j ? ip - 1n : ip), addr: ip }));
	}

	kernel(id: number): Frame[] {
		return this.ips(id).map((ip, j) => ({ ...this.sym.kernelSymbol(j ? ip - 1n : ip), addr: ip }));
	}
}
