// One entry per benchmarked tool: the workload that generates its events, how
// to run ours, the bpftrace equivalent (tracepoints only: this kind of kernel
// has no kprobes), how a peer binary is run, and how captured events are
// counted in each tracer's output. Adding a tool = adding one entry here.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Who is tracing in one run ('base': nobody, the workload alone). */
export type Kind = 'base' | 'ours' | 'bpftrace' | 'peer';
export type Tracer = Exclude<Kind, 'base'>;

/** What one run knows about its workload. */
export interface Ctx {
	/** in every event of the measured workload (a path, an argument, a port) */
	marker: string;
	/** in every event of the ready probe (a separate workload run before it) */
	readyMarker: string;
	/** TCP ports of the measured workload and of the probe */
	port: number;
	readyPort: number;
	/** scratch directory of this bench invocation (disk-backed) */
	dir: string;
	/** the workload's comm (profile) */
	comm: string;
}

export interface Workload {
	/** bench/workloads/<source>.c */
	source: string;
	cc?: 'gcc' | 'clang';
	flags?: string[];
	/** one-time preparation (files the workload uses) */
	setup?(ctx: Ctx): void;
	/** argv (after the binary) for the measured run or the ready probe */
	args(ctx: Ctx, which: 'main' | 'ready', rate: number, secs: number, workers: number): string[];
	/** default worker processes (both cores: 2) */
	workers: number;
	describe: string;
}

export interface Entry {
	/** ebpf-tools tool name; the entry runs only when `ebpf-tools --help` lists it */
	tool: string;
	workload: Workload;
	/** target rates (ops/s), increasing; 0 = as fast as possible */
	rates: number[];
	/** rate at which tracer CPU per 1k events is reported */
	fixedRate: number;
	/** rate of the ready probe */
	readyRate: number;
	/**
	 * 'event': the tracer is ready (and start-up is measured) when it prints
	 * an event of the ready probe; 'banner': aggregating tools, which print at
	 * exit, are ready when they say they are attached.
	 */
	ready: 'event' | 'banner';
	ours(ctx: Ctx): string[];
	/** bpftrace program text */
	bpftrace(ctx: Ctx): string;
	/** arguments for the peer binary (EBPF_TOOLS_PEER_<TOOL>) */
	peerArgs(ctx: Ctx): string[];
	/** string found once in every output line of one event ('event' entries) */
	needle?(ctx: Ctx, kind: Tracer, which: 'main' | 'ready'): string;
	/** events captured, from the whole output (aggregating entries) */
	countOutput?(out: string, ctx: Ctx, kind: Tracer): number;
	/** for 'aggregate' counts the output is read whole: keep it small */
	aggregate?: boolean;
	/** events generated, from the workload's summary (default: ops) */
	generated?(summary: WorkloadSummary): number;
	/** a one-line note printed under the tool's table */
	note?: string;
}

export interface WorkloadSummary {
	ops: number;
	seconds: number;
	rate: number;
	cpu: number;
	failed: boolean;
}

const tracepointExists = (cat: string, name: string) =>
	existsSync(`/sys/kernel/tracing/events/${cat}/${name}`) || existsSync(`/sys/kernel/debug/tracing/events/${cat}/${name}`);

/** Sum of BCC-style histogram rows (`  128 -> 255   : 12   |***|`). */
export function bccHistCount(out: string): number {
	let n = 0;
	for (const m of out.matchAll(/^\s*\d+ -> \d+\s*: (\d+)\s/gm)) n += Number(m[1]);
	return n;
}

/** Sum of bpftrace hist() rows (`[128, 256)   12 |@@@|`). */
export function bpftraceHistCount(out: string): number {
	let n = 0;
	for (const m of out.matchAll(/^\[[^\]\n]*[\])]\s+(\d+) \|/gm)) n += Number(m[1]);
	return n;
}

const EXEC: Workload = {
	source: 'execstorm',
	describe: 'fork + exec /bin/true MARKER',
	workers: 2,
	args: (c, which, rate, secs, workers) => {
		const m = which === 'main' ? c.marker : c.readyMarker;
		return [m.slice(0, 4), m.slice(4), String(rate), String(secs), String(workers)];
	},
};

const OPEN: Workload = {
	source: 'openstorm',
	describe: 'open + close of DIR/MARKER',
	workers: 2,
	setup: (c) => {
		writeFileSync(join(c.dir, c.marker), '');
		writeFileSync(join(c.dir, c.readyMarker), '');
	},
	args: (c, which, rate, secs, workers) => [join(c.dir, which === 'main' ? c.marker : c.readyMarker), String(rate), String(secs), String(workers)],
};

const TCP: Workload = {
	source: 'tcpstorm',
	flags: ['-pthread'],
	describe: 'connect + RST close to 127.0.0.1:PORT',
	workers: 2,
	args: (c, which, rate, secs, workers) => [String(which === 'main' ? c.port : c.readyPort), String(rate), String(secs), String(workers)],
};

/** The TCP tools' common run settings: the same workload and rates. */
const TCP_RUN: Pick<Entry, 'workload' | 'rates' | 'fixedRate' | 'readyRate' | 'ready'> = {
	workload: TCP,
	rates: [1000, 5000, 10000, 0],
	fixedRate: 5000,
	readyRate: 200,
	ready: 'event',
};

const DIO_FILE = 'dio.dat';
const DIO: Workload = {
	source: 'diostorm',
	describe: '4 KiB O_DIRECT preads at random offsets of a 64 MiB file',
	workers: 2,
	setup: (c) => {
		const p = join(c.dir, DIO_FILE);
		if (!existsSync(p)) {
			const mb = Buffer.alloc(1 << 20, 0x5a);
			for (let i = 0; i < 64; i++) writeFileSync(p, mb, { flag: i ? 'a' : 'w' });
		}
	},
	args: (c, _which, rate, secs, workers) => [join(c.dir, DIO_FILE), String(rate), String(secs), String(workers)],
};

const SPIN: Workload = {
	source: 'cpuspin',
	cc: 'clang',
	flags: ['-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-fno-optimize-sibling-calls'],
	describe: 'CPU-bound call chain with frame pointers',
	workers: 2,
	args: (_c, _which, rate, secs, workers) => [String(rate), String(secs), String(workers)],
};

export const ENTRIES: Entry[] = [
	{
		tool: 'execsnoop',
		workload: EXEC,
		rates: [250, 500, 1000, 2000, 0],
		fixedRate: 500,
		readyRate: 200,
		ready: 'event',
		ours: () => ['execsnoop', '--json'],
		// bpftrace's own execsnoop.bt (tracepoint based), as Debian ships it upstream
		bpftrace: () => `BEGIN { printf("%-10s %-5s %s\\n", "TIME(ms)", "PID", "ARGS"); }
tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat
{
	printf("%-10u %-5d ", elapsed / 1e6, pid);
	join(args->argv);
}
`,
		peerArgs: () => [],
		needle: (c, _k, which) => (which === 'main' ? c.marker : c.readyMarker),
	},
	{
		tool: 'opensnoop',
		workload: OPEN,
		rates: [5000, 20000, 50000, 100000, 200000, 0],
		fixedRate: 20000,
		readyRate: 1000,
		ready: 'event',
		ours: () => ['opensnoop', '--json'],
		// opensnoop.bt from bpftrace's tools (filename saved at entry, printed
		// at exit), with openat2 as ours traces it
		bpftrace: () => {
			const calls = ['open', 'openat', ...(tracepointExists('syscalls', 'sys_enter_openat2') ? ['openat2'] : [])];
			return `BEGIN { printf("%-6s %-16s %4s %3s %s\\n", "PID", "COMM", "FD", "ERR", "PATH"); }
${calls.map((c) => `tracepoint:syscalls:sys_enter_${c}`).join(',\n')}
{
	@filename[tid] = args->filename;
}
${calls.map((c) => `tracepoint:syscalls:sys_exit_${c}`).join(',\n')}
/@filename[tid]/
{
	$ret = args->ret;
	$fd = $ret >= 0 ? $ret : -1;
	$errno = $ret >= 0 ? 0 : - $ret;
	printf("%-6d %-16s %4d %3d %s\\n", pid, comm, $fd, $errno, str(@filename[tid]));
	delete(@filename[tid]);
}
END { clear(@filename); }
`;
		},
		peerArgs: () => [],
		needle: (c, _k, which) => (which === 'main' ? c.marker : c.readyMarker),
	},
	{
		tool: 'tcpconnect',
		...TCP_RUN,
		ours: () => ['tcpconnect', '--json'],
		// tcpconnect.bt needs kprobes: the connect seen at CLOSE -> SYN_SENT
		// (process context) of sock:inet_sock_set_state instead
		bpftrace: () => `BEGIN { printf("%-8s %-6s %-16s %-39s %-39s %6s\\n", "TIME", "PID", "COMM", "SADDR", "DADDR", "DPORT"); }
tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->oldstate == 7 && args->newstate == 2/
{
	time("%H:%M:%S ");
	printf("%-6d %-16s %-39s %-39s dport=%d;\\n", pid, comm, ntop(args->saddr), ntop(args->daddr), args->dport);
}
`,
		peerArgs: () => [],
		needle: (c, k, which) => {
			const port = which === 'main' ? c.port : c.readyPort;
			return k === 'ours' ? `"dport":${port},` : k === 'bpftrace' ? `dport=${port};` : ` ${port}\n`;
		},
	},
	{
		tool: 'tcplife',
		...TCP_RUN,
		ours: () => ['tcplife', '--json'],
		// tcplife.bt needs kprobes: sessions ended at inet_sock_set_state -> CLOSE
		// (the client side of each connect: its remote port is the workload's)
		bpftrace: () => `BEGIN { printf("%-6s %-16s %-39s %-39s %6s\\n", "PID", "COMM", "LADDR", "RADDR", "RPORT"); }
tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->newstate == 7/
{
	printf("%-6d %-16s %-39s %-39s dport=%d;\\n", pid, comm, ntop(args->saddr), ntop(args->daddr), args->dport);
}
`,
		peerArgs: () => [],
		needle: (c, k, which) => {
			const port = which === 'main' ? c.port : c.readyPort;
			return k === 'ours' ? `"rport":${port},` : k === 'bpftrace' ? `dport=${port};` : ` ${port} `;
		},
		note: 'tcplife: one session per connect is counted (the client side, whose remote port is the workload port).',
	},
	{
		tool: 'biolatency',
		workload: DIO,
		rates: [500, 2000, 0],
		fixedRate: 2000,
		readyRate: 0,
		ready: 'banner',
		aggregate: true,
		ours: () => ['biolatency'],
		// biolatency.bt needs kprobes: block tracepoints keyed by (dev, sector)
		bpftrace: () => `BEGIN { printf("Tracing block device I/O... Hit Ctrl-C to end.\\n"); }
tracepoint:block:block_rq_issue
{
	@start[args->dev, args->sector] = nsecs;
}
tracepoint:block:block_rq_complete
/@start[args->dev, args->sector]/
{
	@usecs = hist((nsecs - @start[args->dev, args->sector]) / 1000);
	delete(@start[args->dev, args->sector]);
}
END { clear(@start); }
`,
		peerArgs: () => [],
		countOutput: (out, _c, k) => (k === 'bpftrace' ? bpftraceHistCount(out) : bccHistCount(out)),
		note: 'biolatency counts every block I/O on the machine: captured above 100% is other I/O, below 100% is loss.',
	},
	{
		tool: 'profile',
		workload: SPIN,
		rates: [0],
		fixedRate: 0,
		readyRate: 0,
		ready: 'banner',
		aggregate: true,
		ours: () => ['profile', '-f', '-F', '49'],
		bpftrace: () => `BEGIN { printf("Sampling at 49 Hertz... Hit Ctrl-C to end.\\n"); }
profile:hz:49
{
	@[kstack, ustack, comm] = count();
}
`,
		peerArgs: () => ['-f', '-F', '49'],
		// samples of the workload (comm) at 49 Hz; generated = its CPU seconds x 49
		countOutput: (out, c, k) => {
			let n = 0;
			const re = k === 'bpftrace' ? new RegExp(`, ${c.comm}\\]: (\\d+)$`, 'gm') : new RegExp(`^${c.comm};.* (\\d+)$`, 'gm');
			for (const m of out.matchAll(re)) n += Number(m[1]);
			return n;
		},
		generated: (s) => Math.round(s.cpu * 49),
		note: 'profile: "events" are 49 Hz samples of the workload; generated = workload CPU seconds x 49.',
	},
];
