// Shared by the end-to-end tests: start a tool as a child process, wait until
// it is attached (its banner on stderr), stop it with a signal, collect its
// output, and check that nothing it attached is left in the kernel.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { cgroup2Mounts } from '../../lib/preflight.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'node:test';
import type { TestContext } from 'node:test';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cli = join(root, 'bin', 'ebpf-tools.js');

/** Unique marker for one test's workload. */
export function marker(prefix = 'ebt'): string {
	return `${prefix}${process.pid}x${randomBytes(4).toString('hex')}`;
}

/**
 * End-to-end tests need root. They skip only where privileges are missing,
 * and not even then when EBPF_TOOLS_REQUIRE_E2E=1 (CI): there they fail.
 */
export function requireRoot(t: TestContext): boolean {
	if (process.getuid?.() === 0) return true;
	if (process.env.EBPF_TOOLS_REQUIRE_E2E === '1') throw new Error('end-to-end tests need root (EBPF_TOOLS_REQUIRE_E2E=1)');
	t.skip('needs root');
	return false;
}

export interface Result {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

export class ToolRun {
	stdout = '';
	stderr = '';
	readonly exited: Promise<Result>;
	linkIds: number[] = [];
	constructor(readonly child: ChildProcess) {
		child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
		child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
		this.exited = new Promise((resolve) => {
			child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
		});
	}

	get pid(): number {
		return this.child.pid!;
	}

	/** Resolves once the tool printed its "Hit Ctrl-C" banner (it is attached). */
	async attached(timeoutMs = 15000): Promise<void> {
		const t0 = Date.now();
		while (!/Hit Ctrl-C to end/.test(this.stderr)) {
			if (this.child.exitCode !== null) throw new Error(`tool exited early (${this.child.exitCode}): ${this.stderr}`);
			if (Date.now() - t0 > timeoutMs) throw new Error(`tool not attached after ${timeoutMs} ms: ${this.stderr}`);
			await sleep(10);
		}
		this.linkIds = bpfLinkIds(this.pid);
	}

	/** Wait until stdout satisfies pred (or time out). */
	async waitFor(pred: (stdout: string) => boolean, timeoutMs = 10000): Promise<void> {
		const t0 = Date.now();
		while (!pred(this.stdout)) {
			if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for output; stdout so far:\n${this.stdout.slice(-2000)}\nstderr:\n${this.stderr}`);
			if (this.child.exitCode !== null) return;
			await sleep(20);
		}
	}

	async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<Result> {
		if (this.child.exitCode === null) this.child.kill(signal);
		return this.exited;
	}
}

const running = new Set<ToolRun>();

// A failed assertion must not leave a tool running (it would keep the test
// file's process alive): stop whatever a test started when it ends.
afterEach(async () => {
	const runs = [...running];
	running.clear();
	await Promise.all(runs.map((r) => r.stop('SIGKILL')));
});

export function startTool(args: string[], opts: SpawnOptions & { wrap?: string[] } = {}): ToolRun {
	const { wrap = [], ...spawnOpts } = opts;
	const argv = [...wrap, process.execPath, cli, ...args];
	const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
	const run = new ToolRun(child);
	running.add(run);
	void run.exited.then(() => running.delete(run));
	return run;
}

/** Run the CLI to completion (usage errors, --help, --duration runs). */
export function runTool(args: string[], opts: { wrap?: string[]; input?: string; timeout?: number } = {}): Result {
	const argv = [...(opts.wrap ?? []), process.execPath, cli, ...args];
	const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: opts.timeout ?? 30000, input: opts.input });
	return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** IDs of the BPF links a process holds open (from /proc/PID/fdinfo). */
export function bpfLinkIds(pid: number): number[] {
	const ids: number[] = [];
	let fds: string[] = [];
	try {
		fds = readdirSync(`/proc/${pid}/fdinfo`);
	} catch {
		return ids;
	}
	for (const fd of fds) {
		try {
			if (!readlinkSync(`/proc/${pid}/fd/${fd}`).includes('bpf_link')) continue;
			const m = /^link_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
			if (m) ids.push(Number(m[1]));
		} catch {
			/* fd closed meanwhile */
		}
	}
	return ids;
}

/** Links among ids that still exist in the kernel. */
export function linksStillPresent(ids: number[]): number[] {
	if (!ids.length) return [];
	const out = execFileSync('bpftool', ['-j', 'link', 'list'], { encoding: 'utf8' });
	const live = new Set((JSON.parse(out || '[]') as { id: number }[]).map((l) => l.id));
	return ids.filter((id) => live.has(id));
}

/** Parse NDJSON output into objects (ignores blank lines). */
export function ndjson<T = Record<string, unknown>>(s: string): T[] {
	return s
		.split('\n')
		.filter((l) => l.trim())
		.map((l) => JSON.parse(l) as T);
}

/** Compile a C program for a test (gcc, or clang when asked). Returns the binary's path. */
export function compileC(name: string, source: string, dir: string, opts: { cc?: string; flags?: string[] } = {}): string {
	const src = join(dir, `${name}.c`);
	const bin = join(dir, name);
	execFileSync('sh', ['-c', 'cat > "$1"', 'sh', src], { input: source });
	execFileSync(opts.cc ?? 'gcc', ['-O1', '-o', bin, src, ...(opts.flags ?? [])]);
	return bin;
}

/**
 * A wrapper (for startTool's `wrap`) that runs the tool in a private mount
 * namespace where tracefs and debugfs are unmounted, then execs `inner...`.
 */
export function withoutTracefs(...inner: string[]): string[] {
	return ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
		'umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; ' +
		'test ! -e /sys/kernel/tracing/events || exit 9; exec "$0" "$@"', ...inner];
}

/** A fresh cgroup v2 directory for one test, removed when the test ends (once its tasks are gone). */
export function tempCgroup(t: TestContext, name: string): string {
	const [cgroot] = cgroup2Mounts();
	if (!cgroot) throw new Error('no cgroup v2 hierarchy mounted');
	const cg = join(cgroot, name);
	mkdirSync(cg);
	t.after(async () => {
		for (let i = 0; i < 50 && existsSync(cg); i++) {
			try {
				rmdirSync(cg);
			} catch {
				await sleep(50);
			}
		}
	});
	return cg;
}
