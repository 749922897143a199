// The only importer of the native addon. Everything else in lib/ uses these
// types; tools never touch the addon directly.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MapInfo {
	name: string;
	type: number;
	keySize: number;
	valueSize: number;
	/** value bytes in user space: per-CPU maps hold one 8-aligned slot per possible CPU */
	valueBufferSize: number;
	maxEntries: number;
	internal: boolean;
	fd: number;
}

export interface ProgramInfo {
	name: string;
	section: string;
	autoload: boolean;
}

export interface StructLayout {
	size: number;
	members: { name: string; offset: number; size: number }[];
}

export interface NativeLink extends Disposable {
	close(): void;
	isClosed(): boolean;
}

export interface NativeReader extends Disposable {
	close(): void;
	isClosed(): boolean;
	/** drain now; returns records consumed */
	consume(): number;
	stats(): { lost: number; error: number };
}

export type BatchCallback = (batch: Buffer, lost: number) => void;

export interface NativeObject extends Disposable {
	close(): void;
	isClosed(): boolean;
	maps(): MapInfo[];
	programs(): ProgramInfo[];
	setGlobal(name: string, value: Buffer): void;
	setMap(name: string, opts: { type?: number; keySize?: number; valueSize?: number; maxEntries?: number }): void;
	setAutoload(program: string, on: boolean): void;
	load(): void;
	structLayout(name: string): StructLayout | null;
	mapFd(name: string): number;
	mapLookup(name: string, key: Buffer): Buffer | null;
	mapUpdate(name: string, key: Buffer, value: Buffer, flags?: number): void;
	mapDelete(name: string, key: Buffer): boolean;
	mapDump(name: string, opts?: { delete?: boolean }): { keys: Buffer; values: Buffer; count: number };
	attach(program: string): NativeLink;
	attachTracepoint(program: string, category: string, name: string): NativeLink;
	attachRawTracepoint(program: string, name: string): NativeLink;
	attachUprobe(
		program: string,
		opts: { path: string; pid?: number; offset?: number; func?: string; retprobe?: boolean },
	): NativeLink;
	attachUsdt(
		program: string,
		opts: { path: string; pid?: number; provider: string; name: string; cookie?: number | bigint },
	): NativeLink;
	attachPerfEvent(
		program: string,
		opts: { type?: number; config?: number; cpu?: number; pid?: number; freq?: number; period?: number },
	): NativeLink;
	/** Run a loaded program once, now, on this CPU (BPF_PROG_TEST_RUN); its return value. */
	run(program: string, ctx?: Buffer): number;
	ringBuffer(map: string, cb: BatchCallback, opts?: { drainMs?: number }): NativeReader;
	perfBuffer(map: string, cb: BatchCallback, opts?: { pages?: number; drainMs?: number }): NativeReader;
}

export interface NativeAddon {
	libbpfVersion: string;
	BpfObject: new (pathOrBuffer: string | Buffer, name?: string) => NativeObject;
	takeLog(): string;
	setLogLevel(level: number): void;
	clockOffsetNs(): bigint;
	monotonicNs(): bigint;
	numPossibleCpus(): number;
	probeMapType(type: number): boolean;
}

/** libbpf print levels */
export const LogLevel = { WARN: 0, INFO: 1, DEBUG: 2 } as const;

export const BPF_MAP_TYPE = {
	HASH: 1,
	ARRAY: 2,
	PERF_EVENT_ARRAY: 4,
	PERCPU_HASH: 5,
	PERCPU_ARRAY: 6,
	STACK_TRACE: 7,
	CGROUP_ARRAY: 8,
	LRU_HASH: 9,
	RINGBUF: 27,
} as const;

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let addon: NativeAddon | undefined;

/** Load the prebuilt addon (or a local build) once. */
export function native(): NativeAddon {
	if (!addon) {
		const require = createRequire(import.meta.url);
		const load = require('node-gyp-build') as (dir: string) => NativeAddon;
		addon = load(packageRoot);
		// `using obj = new BpfObject(...)`: every handle is disposable (close is idempotent)
		const raw = addon as unknown as Record<string, { prototype: { close(): void } & Record<symbol, unknown> }>;
		for (const cls of ['BpfObject', 'Link', 'RingBuffer', 'PerfBuffer']) {
			raw[cls].prototype[Symbol.dispose] = function (this: { close(): void }) {
				this.close();
			};
		}
	}
	return addon;
}
