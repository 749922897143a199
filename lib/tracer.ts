// The loader and run loop every tool shares: object lifecycle, the event
// channel (ring buffer, or perf buffer when forced or missing), cgroup filter,
// drop and loss reporting, libbpf log routing, signals, duration, cleanup.
import { openSync, closeSync, existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, forEachRecord } from './decode.js';
import { ToolError, mapNativeError, usage } from './errors.js';
import { BPF_MAP_TYPE, LogLevel, native, packageRoot } from './native.js';
import type { NativeLink, NativeObject, NativeReader } from './native.js';
import { logsUrl, parseHeaders } from './otlp.js';
import { Output } from './output.js';
import { cgroup2Mounts, checkBtf, checkPrivileges, ensureTracefs, isCgroup2Dir } from './preflight.js';

/** Options every tool takes. */
export interface CommonArgs {
	verbose: number;
	json: boolean;
	cgroup?: string;
	perfBuffer: boolean;
	duration?: number;
	/** --otlp[=URL]: undefined when not given, '' for the OTEL_* variables or the default */
	otlp?: string;
	otlpHeaders?: string[];
	/** --self-stats: the tool's own CPU and memory at the end */
	selfStats?: boolean;
}

// Encoders for `const volatile` globals (little-endian, the BPF target's order
// on x86 and arm64).
export const u8 = (n: number | boolean): Buffer => Buffer.from([Number(n) & 0xff]);
export const bool = u8;
export function u16(n: number): Buffer {
	const b = Buffer.alloc(2);
	b.writeUInt16LE(n & 0xffff);
	return b;
}
export function u32(n: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeUInt32LE(n >>> 0);
	return b;
}
export function s32(n: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeInt32LE(n | 0);
	return b;
}
export function u64(n: number | bigint): Buffer {
	const b = Buffer.alloc(8);
	b.writeBigUInt64LE(BigInt(n));
	return b;
}
export function s64(n: number | bigint): Buffer {
	const b = Buffer.alloc(8);
	b.writeBigInt64LE(BigInt(n));
	return b;
}

const RINGBUF_BYTES = 16 << 20;
const WAKEUP_BYTES = 1 << 20;
const DRAIN_MS = 10;
const PERF_PAGES = 256;
const DROPS_POLL_MS = 1000;

/** Monotonic (bpf_ktime_get_ns) to wall-clock conversion. */
export class Clock {
	private readonly offsetUs: number;
	private readonly offsetNsRem: number;
	startNs = 0;
	constructor() {
		const off = native().clockOffsetNs();
		this.offsetUs = Number(off / 1000n);
		this.offsetNsRem = Number(off % 1000n);
		this.startNs = this.nowNs();
	}
	nowNs(): number {
		return Number(native().monotonicNs());
	}
	/** Unix time in seconds (microsecond precision) for a monotonic ns stamp. */
	epochSeconds(monoNs: number): number {
		return (this.offsetUs + Math.round((monoNs + this.offsetNsRem) / 1000)) / 1e6;
	}
	/** Seconds since tracing started. */
	sinceStart(monoNs: number): number {
		return (monoNs - this.startNs) / 1e9;
	}
}

export function hhmmss(epochSec: number): string {
	const d = new Date(epochSec * 1000);
	const p = (n: number) => String(n).padStart(2, '0');
	return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface OpenOptions {
	/** const volatile globals to set before load */
	globals?: Record<string, Buffer | undefined>;
	/** programs to load (true) or leave out (false) */
	autoload?: Record<string, boolean>;
	/** generated layout fingerprints to verify: struct name -> LAYOUT string */
	layouts?: Record<string, string>;
	/** map sizes to change before load */
	maps?: Record<string, { maxEntries?: number }>;
}

/** A loaded BPF object with the links attached from it. */
export class LoadedObject {
	constructor(
		private readonly tracer: Tracer,
		readonly obj: NativeObject,
		readonly name: string,
	) {}

	/** every link attached from this object; closed with it */
	readonly links: NativeLink[] = [];

	private wrap(what: string, fn: () => NativeLink): NativeLink {
		try {
			const l = fn();
			this.links.push(l);
			return l;
		} catch (e) {
			throw mapNativeError(e, `${this.name}: attaching ${what}`, this.tracer.takeLog());
		}
	}
	/** Attach by the program's section (tp_btf, raw_tp, tracepoint/...). */
	attach(prog: string): NativeLink {
		return this.wrap(prog, () => this.obj.attach(prog));
	}
	tracepoint(prog: string, category: string, name: string): NativeLink {
		return this.wrap(`${category}:${name}`, () => this.obj.attachTracepoint(prog, category, name));
	}
	rawTracepoint(prog: string, name: string): NativeLink {
		return this.wrap(`raw_tp ${name}`, () => this.obj.attachRawTracepoint(prog, name));
	}
	uprobe(prog: string, opts: { path: string; pid?: number; offset?: number; func?: string; retprobe?: boolean }): NativeLink {
		const what = `${opts.retprobe ? 'uretprobe' : 'uprobe'} ${opts.path}:${opts.func ?? `0x${(opts.offset ?? 0).toString(16)}`}`;
		return this.wrap(what, () => this.obj.attachUprobe(prog, opts));
	}
	usdt(prog: string, opts: { path: string; pid?: number; provider: string; name: string; cookie?: number }): NativeLink {
		return this.wrap(`usdt ${opts.path}:${opts.provider}:${opts.name}`, () => this.obj.attachUsdt(prog, opts));
	}
	perfEvent(prog: string, opts: { type?: number; config?: number; cpu?: number; pid?: number; freq?: number; period?: number }): NativeLink {
		return this.wrap(`perf_event cpu ${opts.cpu ?? -1}`, () => this.obj.attachPerfEvent(prog, opts));
	}

	/**
	 * Every entry of a map (batch lookups where the kernel has them), removed
	 * (hash maps) or zeroed (arrays) as read with {delete: true}. valueSize is
	 * the user-space value size: per-CPU maps hold one 8-aligned copy per
	 * possible CPU.
	 */
	dump(map: string, opts: { delete?: boolean } = {}): { keys: Buffer; values: Buffer; count: number; keySize: number; valueSize: number } {
		const info = this.obj.maps().find((m) => m.name === map);
		if (!info) throw new ToolError('RUNTIME', `${this.name}: no map named ${map}`);
		let d: { keys: Buffer; values: Buffer; count: number };
		try {
			d = this.obj.mapDump(map, opts);
		} catch (e) {
			throw mapNativeError(e, `${this.name}: reading map ${map}`);
		}
		return { ...d, keySize: info.keySize, valueSize: info.valueBufferSize };
	}

	/** Sum of a per-CPU u64 counter at key 0 (e.g. drops). */
	percpuSum(map: string): number {
		const v = this.obj.mapLookup(map, Buffer.alloc(4));
		if (!v) return 0;
		let n = 0;
		for (let o = 0; o + 8 <= v.length; o += 8) n += Number(v.readBigUInt64LE(o));
		return n;
	}
}

/** An object's event reader and the batches that arrived before stream(). */
interface Channel {
	pending: [Buffer, number][];
	handle?: (batch: Buffer, lost: number) => void;
}

type StopReason = 'signal' | 'duration' | 'stdout-closed' | 'done' | 'error';

export class Tracer implements Disposable {
	readonly out: Output;
	clock!: Clock;
	private readonly objects: LoadedObject[] = [];
	private readonly readers: NativeReader[] = [];
	private lostReported = 0;
	private dropsSeen = new Map<LoadedObject, number>();
	private stopFn: ((r: StopReason) => void) | undefined;
	private stopped: StopReason | undefined;
	private timers: NodeJS.Timeout[] = [];
	private finalizers: (() => void)[] = [];
	private closed = false;
	private failure: unknown;
	private malformed = 0;
	usePerfBuffer = false;
	tracefs = true;

	constructor(
		readonly tool: string,
		readonly common: CommonArgs,
		out?: Output,
	) {
		this.out = out ?? new Output({ json: common.json });
		this.out.onClosed(() => this.stop('stdout-closed'));
		// From the start, not only once run() waits: a Ctrl-C while the
		// programs load or attach ends the tool like one after the banner
		// (exit 0, summaries, close) instead of killing it with status 130.
		process.on('SIGINT', this.onSignal);
		process.on('SIGTERM', this.onSignal);
	}

	private readonly onSignal = (): void => this.stop('signal');

	/** Validate common options before anything touches the kernel. */
	static validateCommon(c: CommonArgs): void {
		if (c.cgroup !== undefined) {
			if (!existsSync(c.cgroup) || !statSync(c.cgroup).isDirectory())
				throw usage(`--cgroup ${c.cgroup}: no such directory`, 'give a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice');
			if (!isCgroup2Dir(c.cgroup)) {
				const mounts = cgroup2Mounts();
				throw usage(`--cgroup ${c.cgroup}: not a cgroup v2 directory`,
					mounts.length ? `cgroup v2 is mounted at ${mounts.join(', ')}` : 'no cgroup v2 hierarchy is mounted');
			}
		}
		if (c.duration !== undefined && !(c.duration > 0))
			throw usage(`--duration ${c.duration}: must be a positive number of seconds`);
		if (c.otlp) logsUrl(c.otlp);
		if (c.otlpHeaders?.length) parseHeaders(c.otlpHeaders);
	}

	/** Privileges, BTF, tracefs (mounted if needed) and the event channel type. */
	preflight(): void {
		checkPrivileges();
		checkBtf();
		this.tracefs = ensureTracefs() !== 'unavailable';
		const n = native();
		n.setLogLevel(this.common.verbose >= 2 ? LogLevel.DEBUG : LogLevel.INFO);
		this.usePerfBuffer = this.common.perfBuffer || !n.probeMapType(BPF_MAP_TYPE.RINGBUF);
		if (!this.common.perfBuffer && this.usePerfBuffer && this.common.verbose)
			this.out.info('ring buffers unavailable (Linux 5.8+): using a perf buffer');
		this.clock = new Clock();
	}

	/** libbpf's messages since the last call; printed on stderr with -v. */
	takeLog(): string {
		const log = native().takeLog();
		if (this.common.verbose && log) process.stderr.write(log);
		return log;
	}

	/** Open, configure and load bpf/<name>.bpf.o. */
	open(name: string, opts: OpenOptions = {}): LoadedObject {
		const path = join(packageRoot, 'bpf', `${name}.bpf.o`);
		let obj: NativeObject;
		try {
			obj = new (native().BpfObject)(path, name);
		} catch (e) {
			throw mapNativeError(e, `${name}: opening ${path}`, this.takeLog());
		}
		const lo = new LoadedObject(this, obj, name);
		this.objects.push(lo);
		for (const [struct, layout] of Object.entries(opts.layouts ?? {})) {
			const l = obj.structLayout(struct);
			const live = l && `${struct}:${l.size}:${l.members.map((m) => `${m.name}@${m.offset}+${m.size}`).join(',')}`;
			if (live !== layout)
				throw new ToolError('STALE_OBJECT', `${name}: bpf/${name}.bpf.o does not match its decoder (struct ${struct})`,
					'rebuild with `npm run build:bpf` and reinstall');
		}
		const maps = new Set(obj.maps().map((m) => m.name));
		const globals: Record<string, Buffer | undefined> = { ...opts.globals };
		if (maps.has('events')) {
			if (this.usePerfBuffer) {
				obj.setMap('events', { type: BPF_MAP_TYPE.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 0 });
				globals.use_perfbuf = u8(1);
			} else {
				obj.setMap('events', { maxEntries: RINGBUF_BYTES });
				globals.wakeup_bytes = u32(WAKEUP_BYTES);
			}
		}
		if (this.common.cgroup) globals.filter_cg = u8(1);
		try {
			for (const [k, v] of Object.entries(globals)) if (v) obj.setGlobal(k, v);
			for (const [m, o] of Object.entries(opts.maps ?? {})) obj.setMap(m, o);
			for (const [p, on] of Object.entries(opts.autoload ?? {})) obj.setAutoload(p, on);
			obj.load();
		} catch (e) {
			throw mapNativeError(e, `${name}: loading BPF programs`, this.takeLog());
		}
		this.takeLog();
		if (this.common.cgroup) this.setCgroup(lo, this.common.cgroup);
		// The reader exists before anything is attached: a perf buffer only
		// accepts events once its per-CPU slots are set, so events emitted
		// earlier would be lost. Batches wait until the tool calls stream().
		if (maps.has('events')) this.openReader(lo);
		return lo;
	}

	private readonly channels = new Map<LoadedObject, Channel>();

	private openReader(lo: LoadedObject): void {
		const ch: Channel = { pending: [] };
		const cb = (batch: Buffer, lost: number) => (ch.handle ? ch.handle(batch, lost) : ch.pending.push([batch, lost]));
		let r: NativeReader;
		try {
			r = this.usePerfBuffer
				? lo.obj.perfBuffer('events', cb, { pages: PERF_PAGES })
				: lo.obj.ringBuffer('events', cb, { drainMs: DRAIN_MS });
		} catch (e) {
			throw mapNativeError(e, `${this.tool}: opening the event buffer`, this.takeLog());
		}
		this.readers.push(r);
		this.channels.set(lo, ch);
	}

	private setCgroup(lo: LoadedObject, path: string): void {
		const fd = openSync(path, 'r');
		try {
			const v = Buffer.alloc(4);
			v.writeUInt32LE(fd);
			lo.obj.mapUpdate('cgroup_map', Buffer.alloc(4), v);
		} catch (e) {
			throw mapNativeError(e, `${this.tool}: --cgroup ${path}`);
		} finally {
			closeSync(fd);
		}
	}

	/**
	 * Stream records from the object's `events` channel: each batch is split
	 * into records, decoded and handed to onEvent; the rows are written once
	 * per batch.
	 */
	stream<E>(
		lo: LoadedObject,
		decode: (v: DataView, o: number, len: number) => E,
		onEvent: (e: E) => void,
	): void {
		const cb = (batch: Buffer, lost: number) => {
			if (this.out.closed || this.failure) return;
			try {
				forEachRecord(batch, (v, o, len) => {
					let e: E;
					try {
						e = decode(v, o, len);
					} catch (err) {
						if (!(err instanceof DecodeError)) throw err;
						this.malformed++;
						return;
					}
					onEvent(e);
				});
				if (lost) this.reportLost(lost, 'perf buffer full');
				this.out.flush();
			} catch (err) {
				// a handler error ends the run cleanly and is reported as one line
				this.fail(err);
			}
		};
		const ch = this.channels.get(lo);
		if (!ch) throw new ToolError('RUNTIME', `${lo.name}: the object has no events channel`);
		ch.handle = cb;
		for (const [batch, lost] of ch.pending.splice(0)) cb(batch, lost);
		this.dropsSeen.set(lo, 0);
		if (this.timers.length === 0) {
			const t = setInterval(() => this.checkDrops(), DROPS_POLL_MS);
			t.unref();
			this.timers.push(t);
		}
	}

	private checkDrops(): void {
		for (const [lo, seen] of this.dropsSeen) {
			if (lo.obj.isClosed()) continue;
			const n = lo.percpuSum('drops');
			if (n > seen) {
				this.dropsSeen.set(lo, n);
				this.reportLost(n - seen, 'event buffer full');
			}
		}
	}

	/** Lost events are never silent: stderr, and a record in --json mode. */
	reportLost(n: number, reason: string): void {
		this.lostReported += n;
		this.out.warn(`${n} events lost (${reason})`);
		if (this.out.records) this.out.record({ type: 'lost', count: n, reason });
		this.out.flush();
	}

	/**
	 * Runs of this process's BPF programs the kernel skipped because a
	 * program was already running on that CPU (a hardirq arriving while a
	 * tracing program runs in task or softirq context; for kprobes and classic
	 * tracepoints any such program counts). From /proc/self/fdinfo
	 * (recursion_misses, Linux 5.12+; 0 where the kernel does not say).
	 */
	missedRuns(): number {
		let n = 0;
		let fds: string[] = [];
		try {
			fds = readdirSync('/proc/self/fd');
		} catch {
			return 0;
		}
		for (const fd of fds) {
			try {
				if (!readlinkSync(`/proc/self/fd/${fd}`).includes('bpf-prog')) continue;
				const m = /^recursion_misses:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
				if (m) n += Number(m[1]);
			} catch {
				/* closed meanwhile */
			}
		}
		return n;
	}

	get lost(): number {
		return this.lostReported;
	}

	/** The tool's own cost since it started (--self-stats): CPU time, its share of the wall time, peak RSS. */
	selfStats(): void {
		const cpu = process.cpuUsage();
		const wall = process.uptime();
		const maxRss = process.resourceUsage().maxRSS * 1024;
		const user = cpu.user / 1e6;
		const sys = cpu.system / 1e6;
		this.out.info(
			`${this.tool}: self: CPU ${(user + sys).toFixed(2)} s (user ${user.toFixed(2)}, sys ${sys.toFixed(2)}) in ${wall.toFixed(1)} s ` +
				`(${((100 * (user + sys)) / Math.max(wall, 1e-3)).toFixed(1)}% of one CPU), peak RSS ${(maxRss / 2 ** 20).toFixed(1)} MiB, ${this.lostReported} events lost`,
		);
		if (this.out.records) this.out.record({ type: 'self_stats', cpu_user_s: user, cpu_sys_s: sys, wall_s: wall, max_rss_bytes: maxRss, lost: this.lostReported });
		this.out.flush();
	}

	/** Register work to do at the end (summaries), before objects close. */
	atEnd(fn: () => void): void {
		this.finalizers.push(fn);
	}

	/**
	 * BCC's `[interval [count]]`: fn every intervalSec seconds (on a fixed
	 * schedule, not drifting with fn's own time); after count calls the run
	 * ends. Cancelled when the tracer closes.
	 */
	every(intervalSec: number, count: number | undefined, fn: () => void): void {
		const ms = intervalSec * 1000;
		const t0 = Date.now();
		let done = 0;
		let timer: NodeJS.Timeout;
		const tick = () => {
			if (this.stopped) return;
			fn();
			done++;
			if (count !== undefined && done >= count) return this.stop('done');
			timer = setTimeout(tick, Math.max(0, t0 + (done + 1) * ms - Date.now()));
		};
		timer = setTimeout(tick, ms);
		this.atEnd(() => clearTimeout(timer));
	}

	/** The run loop: resolves when stopped by a signal, the duration, a closed stdout, or stop(). */
	async run(): Promise<StopReason> {
		this.clock.startNs = this.clock.nowNs();
		// signal handlers do not keep Node's event loop alive: a tool with no
		// reader (summary tools reading maps) would exit at once without this
		const keepAlive = setInterval(() => {}, 1 << 30);
		const reason = await new Promise<StopReason>((resolve) => {
			if (this.stopped) return resolve(this.stopped);
			this.stopFn = resolve;
			if (this.common.duration) {
				const t = setTimeout(() => this.stop('duration'), this.common.duration * 1000);
				this.timers.push(t);
			}
		});
		clearInterval(keepAlive);
		// drain what the kernel already delivered
		if (reason !== 'stdout-closed' && reason !== 'error') for (const r of this.readers) if (!r.isClosed()) r.consume();
		this.checkDrops();
		if (this.malformed) this.out.warn(`${this.malformed} malformed records skipped (object and decoder out of step?)`);
		if (this.failure) throw mapNativeError(this.failure, this.tool);
		return reason;
	}

	/** End the run because of an error; run() throws it after cleaning up. */
	fail(err: unknown): void {
		this.failure ??= err;
		this.stop('error');
	}

	stop(reason: StopReason = 'done'): void {
		if (this.stopped) return;
		this.stopped = reason;
		this.stopFn?.(reason);
	}

	/** Detach everything and close every object (idempotent). */
	close(): ToolError | undefined {
		if (this.closed) return undefined;
		this.closed = true;
		let error: ToolError | undefined;
		// a second Ctrl-C during the cleanup below ends the process at once
		process.removeListener('SIGINT', this.onSignal);
		process.removeListener('SIGTERM', this.onSignal);
		for (const t of this.timers) clearTimeout(t);
		for (const f of this.finalizers) {
			try {
				f();
			} catch (e) {
				// keep closing: everything attached must be released
				if (e instanceof ToolError) this.out.warn(e.message);
				else error ??= mapNativeError(e, this.tool);
			}
		}
		this.out.flush();
		for (const r of this.readers) r.close();
		for (const o of this.objects) o.obj.close();
		if (this.lostReported) this.out.info(`WARNING: ${this.lostReported} events lost in total`);
		return error;
	}

	[Symbol.dispose](): void {
		this.close();
	}
}
