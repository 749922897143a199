// Checks made before touching the kernel, each failing with one line and a hint.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { release } from 'node:os';
import { ToolError } from './errors.js';

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** Effective capability bits of this process. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
	const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
	return m ? BigInt(`0x${m[1]}`) : 0n;
}

const has = (caps: bigint, bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;

/** Throws NOT_ROOT unless the process may load tracing programs. */
export function checkPrivileges(caps = effectiveCaps()): void {
	if (has(caps, CAP_SYS_ADMIN)) return;
	if (has(caps, CAP_BPF) && has(caps, CAP_PERFMON)) return;
	const missing = [!has(caps, CAP_BPF) && 'CAP_BPF', !has(caps, CAP_PERFMON) && 'CAP_PERFMON'].filter(Boolean);
	throw new ToolError(
		'NOT_ROOT',
		`missing privileges: ${missing.join(' and ')} (or CAP_SYS_ADMIN) required to load BPF programs`,
		'run with sudo, or grant the capabilities: setcap cap_bpf,cap_perfmon+ep',
	);
}

export function checkBtf(path = '/sys/kernel/btf/vmlinux'): void {
	if (!existsSync(path)) {
		throw new ToolError(
			'NO_BTF',
			`kernel BTF not found at ${path}`,
			'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distributions since 5.4)',
		);
	}
}

/** Kernel version as [major, minor]. */
export function kernelVersion(rel = release()): [number, number] {
	const m = /^(\d+)\.(\d+)/.exec(rel);
	return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export const TRACEFS_PATHS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

export type TracefsState = 'mounted' | 'mounted-now' | 'unavailable';

let tracefsState: TracefsState | undefined;

/**
 * Classic tracepoints need tracefs (their ids live there). Mount it when it is
 * missing and we are allowed to; otherwise report it unavailable so tools
 * fall back to tp_btf / raw_tp programs.
 */
export function ensureTracefs(): TracefsState {
	if (tracefsState) return tracefsState;
	if (TRACEFS_PATHS.some((p) => existsSync(`${p}/events`))) return (tracefsState = 'mounted');
	try {
		execFileSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS_PATHS[0]], { stdio: 'ignore' });
	} catch {
		return (tracefsState = 'unavailable');
	}
	return (tracefsState = existsSync(`${TRACEFS_PATHS[0]}/events`) ? 'mounted-now' : 'unavailable');
}

/** Does the classic tracepoint category:name exist? (tracefs must be mounted) */
export function tracepointExists(category: string, name: string): boolean {
	return TRACEFS_PATHS.some((p) => existsSync(`${p}/events/${category}/${name}`));
}

/** Mount points of cgroup v2 hierarchies (from /proc/self/mountinfo). */
export function cgroup2Mounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
	const out: string[] = [];
	for (const line of mountinfo.split('\n')) {
		const [pre, post] = line.split(' - ');
		if (!post || post.split(' ')[0] !== 'cgroup2') continue;
		out.push(pre.split(' ')[4].replace(/\\040/g, ' '));
	}
	return out;
}

/** Is path a directory inside a cgroup v2 hierarchy? */
export function isCgroup2Dir(path: string, mounts = cgroup2Mounts()): boolean {
	let real: string;
	try {
		real = realpathSync(path);
	} catch {
		return false;
	}
	return mounts.some((m) => real === m || real.startsWith(m.endsWith('/') ? m : m + '/')) && existsSync(`${real}/cgroup.procs`);
}
