// memleak end to end: a C program with known leaks (and allocations it
// frees) traced from its first instruction (-c) and while it runs (-p); every
// report is checked against the exact bytes and counts the program leaked per
// call site. Kernel mode: a process holding pipes open shows their
// allocations under the pipe syscall's stacks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { compileC, linksStillPresent, ndjson, requireRoot, runTool, sleep, startTool, withoutTracefs } from './helpers.js';

const LEAKER = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) void *leak_small(void) { void *p = malloc(100); memset(p, 1, 100); return p; }
__attribute__((noinline)) void *leak_calloc(void) { return calloc(4, 256); }
__attribute__((noinline)) void *not_leaked(void) { return malloc(4000); }
__attribute__((noinline)) void *leak_realloc(void) { void *p = malloc(10); return realloc(p, 5000); }
__attribute__((noinline)) void *leak_memalign(void) { void *p = 0; if (posix_memalign(&p, 64, 3000)) return 0; return p; }
void *volatile sink;
volatile int many = 3; /* not a constant: one call site, not an unrolled three */
__attribute__((noinline)) void leak_many(void) { for (int j = 0; j < many; j++) sink = malloc(8); }
int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	int wait = argc > 2 && !strcmp(argv[2], "wait");
	char line[64];
	if (wait && !fgets(line, sizeof line, stdin)) return 1;
	for (int i = 0; i < n; i++) {
		leak_small();
		if (i % 2 == 0) leak_calloc();
		free(not_leaked());
		leak_realloc();
		leak_memalign();
		leak_many();
	}
	printf("leaked %d\\n", n);
	fflush(stdout);
	if (wait) while (fgets(line, sizeof line, stdin)) ;
	return 0;
}
`;

const PIPES = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
	int n = atoi(argv[1]), fds[2];
	char line[64];
	for (int i = 0; i < n; i++) if (pipe(fds)) return 1;
	printf("open %d\\n", n);
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) ;
	return 0;
}
`;

let dir = '';
let leaker = '';
let pipes = '';
before(() => {
	dir = mkdtempSync(join(tmpdir(), 'ebt-memleak-'));
	leaker = compileC('leaker', LEAKER, dir, { flags: ['-g', '-fno-omit-frame-pointer', '-fno-inline'] });
	pipes = compileC('pipes', PIPES, dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Stack {
	bytes: number;
	count: number;
	frames: string[];
}

/** The stacks of every report in memleak's text output, by report. */
function reports(stdout: string): Stack[][] {
	const out: Stack[][] = [];
	let cur: Stack | undefined;
	for (const line of stdout.split('\n')) {
		if (/^\[\d\d:\d\d:\d\d\] Top \d+ stacks with outstanding allocations:$/.test(line)) {
			out.push([]);
			cur = undefined;
			continue;
		}
		const m = /^\t(\d+) bytes in (\d+) allocations from stack$/.exec(line);
		if (m) {
			cur = { bytes: Number(m[1]), count: Number(m[2]), frames: [] };
			out[out.length - 1].push(cur);
		} else if (cur && line.startsWith('\t\t')) cur.frames.push(line.slice(2));
		else cur = undefined;
	}
	return out;
}

/** The stack whose first frame is fn (the allocating function, leaf first after the allocator's return). */
const site = (stacks: Stack[], fn: string) => stacks.filter((s) => s.frames[0]?.startsWith(`${fn}+0x`));

/**
 * memleak -c on the leaker. A stack the kernel could not store (a hash
 * collision in the stack map: rare, random with ASLR) hides a call site; the
 * tool must say so, and then the run is repeated (at most twice).
 */
function traceLeaker(args: string[], n = N) {
	for (let attempt = 0; ; attempt++) {
		const r = runTool(['memleak', '-c', `${leaker} ${n}`, ...args]);
		const missed = /\[Missed User Stack\]|"stack_error":/.test(r.stdout);
		if (!missed || attempt === 2) return r;
		assert.match(r.stderr, /allocations without a stack \(stack map full or hash collision/, 'a missed stack is never silent');
	}
}

const N = 30;
const EXPECTED: Record<string, { bytes: number; count: number }> = {
	leak_small: { bytes: 100 * N, count: N },
	leak_calloc: { bytes: 1024 * (N / 2), count: N / 2 },
	leak_realloc: { bytes: 5000 * N, count: N },
	leak_memalign: { bytes: 3000 * N, count: N },
	leak_many: { bytes: 8 * 3 * N, count: 3 * N },
};

function assertLeaks(stacks: Stack[], only = Object.keys(EXPECTED)) {
	for (const fn of Object.keys(EXPECTED)) {
		const s = site(stacks, fn);
		if (!only.includes(fn)) {
			assert.equal(s.length, 0, `${fn} should not be reported: ${JSON.stringify(s)}`);
			continue;
		}
		assert.equal(s.length, 1, `${fn}: ${JSON.stringify(stacks)}`);
		assert.deepEqual({ bytes: s[0].bytes, count: s[0].count }, EXPECTED[fn], fn);
		// the caller is there too, with the binary's name as the module
		assert.match(s[0].frames[1], new RegExp(`^main\\+0x[0-9a-f]+ \\[${basename(leaker)}\\]$`), s[0].frames.join(' | '));
	}
	assert.equal(site(stacks, 'not_leaked').length, 0, 'freed allocations are not outstanding');
}

test('memleak -c: every leak of the command, by call site, with exact bytes and counts; ends with the command', (t) => {
	if (!requireRoot(t)) return;
	const r = traceLeaker(['-o', '0', '-T', '20', '-v']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`Executing '${leaker} ${N}' and tracing the resulting process`));
	assert.match(r.stdout, new RegExp(`leaked ${N}`));
	const reps = reports(r.stdout);
	assert.equal(reps.length, 1, r.stdout);
	assertLeaks(reps[0]);
	// the counters balance: everything recorded was freed or is in the report (or was dropped at the exec)
	const v = /memleak: (\d+) allocations recorded, (\d+) freed, (\d+) failed/.exec(r.stderr);
	assert.ok(v, r.stderr);
	const shown = reps[0].reduce((n, s) => n + s.count, 0);
	assert.ok(Number(v[1]) - Number(v[2]) >= shown, r.stderr);
});

test('memleak -c filters: -z/-Z size bounds, -T top stacks (largest last), --sort count, -o age, -s sampling', (t) => {
	if (!requireRoot(t)) return;
	const run = (...args: string[]) => {
		const r = traceLeaker(args);
		assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
		const reps = reports(r.stdout);
		assert.equal(reps.length, 1, r.stdout);
		return reps[0];
	};
	assertLeaks(run('-o', '0', '-z', '2000'), ['leak_realloc', 'leak_memalign']);
	assertLeaks(run('-o', '0', '-Z', '2000', '-T', '20'), ['leak_small', 'leak_calloc', 'leak_many']);
	const top2 = run('-o', '0', '-T', '2');
	assert.equal(top2.length, 2, JSON.stringify(top2));
	assert.ok(top2[0].frames[0].startsWith('leak_memalign+'), 'smaller first');
	assert.ok(top2[1].frames[0].startsWith('leak_realloc+'), 'largest last');
	const byCount = run('-o', '0', '-T', '1', '--sort', 'count');
	assert.equal(byCount.length, 1);
	assert.ok(byCount[0].frames[0].startsWith('leak_many+'), JSON.stringify(byCount));
	// everything is younger than a minute: nothing to report
	assert.equal(run('-o', '60000').length, 0);
	// one in 3 recorded: some, not all, each with its real size
	const sampled = site(run('-o', '0', '-s', '3', '-T', '20'), 'leak_many');
	assert.equal(sampled.length, 1);
	assert.ok(sampled[0].count > 0 && sampled[0].count < 3 * N, `sampled ${sampled[0].count}`);
	assert.equal(sampled[0].bytes, 8 * sampled[0].count);
	// --combined-only reads the in-kernel per-stack totals: the same numbers
	assertLeaks(run('--combined-only', '-T', '20'));
});

test('memleak -p: attaches to a running process; interval reports; -a lists each allocation; nothing left attached', async (t) => {
	if (!requireRoot(t)) return;
	const prog = spawn(leaker, [String(N), 'wait'], { stdio: ['pipe', 'pipe', 'ignore'] });
	let progOut = '';
	prog.stdout.setEncoding('utf8').on('data', (d: string) => (progOut += d));
	t.after(() => prog.kill('SIGKILL'));
	await sleep(100);
	const run = startTool(['memleak', '-p', String(prog.pid), '-o', '0', '-a', '-T', '20', '1']);
	await run.attached();
	prog.stdin.write('go\n');
	await run.waitFor((s) => reports(s).some((r) => site(r, 'leak_many').length > 0));
	// one more report, complete for sure
	const n = reports(run.stdout).length;
	await run.waitFor((s) => reports(s).length > n + 1);
	const mid = reports(run.stdout).at(-1)!;
	assertLeaks(mid);
	// -a: one line per outstanding allocation, before the stacks
	const lastReport = run.stdout.slice(run.stdout.lastIndexOf('Top 20 stacks'));
	const sizes = [...lastReport.matchAll(/^\taddr = ([0-9a-f]+) size = (\d+)$/gm)].map((m) => Number(m[2]));
	assert.equal(sizes.filter((s) => s === 5000).length, N);
	assert.equal(sizes.filter((s) => s === 3000).length, N);
	assert.equal(sizes.filter((s) => s === 4000).length, 0, 'freed');
	// the process ends: memleak prints its allocations at exit and ends too
	prog.stdin.end();
	const code = await new Promise((res) => prog.on('exit', res));
	assert.equal(code, 0);
	assert.match(progOut, new RegExp(`leaked ${N}`));
	const r = await Promise.race([run.exited, sleep(5000).then(() => undefined)]);
	assert.ok(r, `memleak did not end with its process: ${run.stderr}`);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`process ${prog.pid} exited`));
	assertLeaks(reports(r.stdout).at(-1)!);
	assert.deepEqual(linksStillPresent(run.linkIds), []);
});

test('memleak --json: stack records with symbolized frames; -t: every call as it happens', (t) => {
	if (!requireRoot(t)) return;
	const r = traceLeaker(['-o', '0', '--json', '-T', '20']);
	assert.equal(r.code, 0, r.stderr);
	// the command's own output goes to stderr with --json: stdout stays NDJSON
	assert.match(r.stderr, new RegExp(`leaked ${N}`));
	const recs = ndjson<Record<string, any>>(r.stdout);
	const stacks = recs.filter((x) => x.type === 'stack');
	const realloc = stacks.filter((s) => s.stack[0]?.symbol === 'leak_realloc');
	assert.equal(realloc.length, 1, r.stdout);
	assert.equal(realloc[0].bytes, 5000 * N);
	assert.equal(realloc[0].allocations, N);
	assert.equal(realloc[0].stack[1].symbol, 'main');
	assert.ok(realloc[0].stack[1].module.endsWith(`/${basename(leaker)}`), realloc[0].stack[1].module);
	assert.ok(typeof realloc[0].ts === 'number' && Math.abs(realloc[0].ts * 1000 - Date.now()) < 60_000);

	const tr = runTool(['memleak', '-c', `${leaker} 5`, '-t', '--json']);
	assert.equal(tr.code, 0, tr.stderr);
	const calls = ndjson<Record<string, any>>(tr.stdout).filter((x) => x.call !== undefined);
	const pid = calls.find((c) => c.call === 'malloc' && c.size === 4000)?.pid;
	assert.ok(pid, tr.stdout.slice(0, 2000));
	const mine = calls.filter((c) => c.pid === pid);
	assert.equal(mine.filter((c) => c.call === 'malloc' && c.size === 100).length, 5);
	assert.equal(mine.filter((c) => c.call === 'calloc' && c.size === 1024).length, 3);
	assert.equal(mine.filter((c) => c.call === 'posix_memalign' && c.size === 3000).length, 5);
	assert.equal(mine.filter((c) => c.call === 'realloc' && c.size === 5000).length, 5);
	// frees of recorded blocks: the 4000-byte ones, and the 10-byte blocks realloc moved
	assert.equal(mine.filter((c) => c.call === 'free' && c.size === 4000).length, 5);
	assert.equal(mine.filter((c) => c.call === 'free' && c.size === 10).length, 5);
	for (const c of mine) assert.match(c.addr, /^0x[0-9a-f]+$/);
});

async function pipesHeldOpen(wrap: string[] = []) {
	const P = 300;
	const run = startTool(['memleak', '-o', '0', '-T', '400', '--json', '1'], { wrap });
	await run.attached();
	const prog = spawn(pipes, [String(P)], { stdio: ['pipe', 'pipe', 'ignore'] });
	let whileOpen = 0;
	try {
		let progOut = '';
		prog.stdout.setEncoding('utf8').on('data', (d: string) => (progOut += d));
		for (let i = 0; i < 200 && !progOut.includes('open'); i++) await sleep(20);
		assert.match(progOut, new RegExp(`open ${P}`));
		// a report that began after the pipes existed: wait for two more
		const reportsNow = () => new Set(ndjson<Record<string, any>>(run.stdout.slice(0, run.stdout.lastIndexOf('\n') + 1)).filter((x) => x.type === 'stack').map((x) => x.ts)).size;
		const n0 = reportsNow();
		await run.waitFor(() => reportsNow() >= n0 + 2, 8000);
		whileOpen = reportsNow();
	} finally {
		prog.kill('SIGKILL');
	}
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const recs = ndjson<Record<string, any>>(r.stdout).filter((x) => x.type === 'stack');
	const times = [...new Set(recs.map((x) => x.ts))].sort((a, b) => a - b);
	// the last report printed while the pipes were open
	const last = recs.filter((x) => x.ts === times[whileOpen - 1]);
	const pipeStacks = last.filter((s) => s.stack.some((f: { symbol: string | null }) => f.symbol === 'do_pipe2' || f.symbol === '__x64_sys_pipe'));
	assert.ok(pipeStacks.length > 0, JSON.stringify(last.slice(0, 3)));
	// every pipe allocates its two files (and more): some stack holds at least one allocation per pipe
	assert.ok(pipeStacks.some((s) => s.allocations >= P), JSON.stringify(pipeStacks.map((s) => [s.allocations, s.stack[0]?.symbol])));
	for (const s of pipeStacks) assert.equal(s.pid, undefined, 'kernel stacks carry no pid');
	return r;
}

test('memleak (kernel): pipes held open show up under the pipe syscall, with at least one allocation each', async (t) => {
	if (!requireRoot(t)) return;
	const r = await pipesHeldOpen();
	assert.match(r.stderr, /Attaching to kernel allocators \(kmalloc, kfree, kmem_cache_alloc/);
});

test('memleak (kernel) without tracefs and no CAP_SYS_ADMIN to mount it: the same through tp_btf', async (t) => {
	if (!requireRoot(t)) return;
	const caps = '-all,+bpf,+perfmon,+syslog';
	const r = await pipesHeldOpen(withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`));
	// stacks start at the traced code, not in the BPF program
	assert.doesNotMatch(r.stdout, /bpf_trace_run|"module":"\[bpf\]"/);
});

test('memleak -t (kernel): allocations and frees by their own names, numbers as numbers', async (t) => {
	if (!requireRoot(t)) return;
	const run = startTool(['memleak', '-t', '--json']);
	await run.attached();
	// 100 pipes opened and closed: files allocated and freed
	const prog = spawn(pipes, ['100'], { stdio: ['pipe', 'ignore', 'ignore'] });
	prog.stdin.end();
	await new Promise((res) => prog.on('exit', res));
	await sleep(500);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const calls = ndjson<Record<string, any>>(r.stdout).filter((x) => x.type === 'call');
	const mine = calls.filter((c) => c.pid === prog.pid);
	const names = new Set(mine.map((c) => c.call));
	assert.ok(names.has('kmem_cache'), [...names].join(' '));
	assert.ok(mine.filter((c) => c.call === 'kmem_cache').length >= 200, `${mine.length} calls`);
	// frees by their own names (wherever they ran: RCU may free the files later)
	assert.ok(calls.some((c) => /^(kfree|kmem_cache_free|page_free)$/.test(c.call)), [...new Set(calls.map((c) => c.call))].join(' '));
	assert.ok(!calls.some((c) => c.pid === run.pid && !/free$/.test(c.call)), 'memleak leaves its own allocations out');
	for (const c of calls) {
		assert.equal(typeof c.pid, 'number');
		assert.equal(typeof c.size, 'number');
		assert.ok(c.ts > 1e9);
		assert.match(c.addr, /^0x[0-9a-f]+$/);
	}
});

test('memleak -c: VAR=value before the program; a command that cannot run is one line and exit 1; a crash is reported', (t) => {
	if (!requireRoot(t)) return;
	const ok = traceLeaker(['-o', '0', '-T', '20'], N);
	assert.equal(ok.code, 0, ok.stderr);
	const env = runTool(['memleak', '-c', `MALLOC_ARENA_MAX=1 ${leaker} ${N}`, '-o', '0', '-T', '20']);
	assert.equal(env.code, 0, env.stderr);
	assert.equal(site(reports(env.stdout).at(-1) ?? [], 'leak_realloc').length, 1, env.stdout);
	const missing = runTool(['memleak', '-c', '/nonexistent/program --x']);
	assert.equal(missing.code, 1, missing.stderr);
	assert.match(missing.stderr.trim().split('\n').at(-1)!, /^memleak: -c \/nonexistent\/program --x: the command could not be run \(exited with status 127\)/);
	assert.doesNotMatch(missing.stdout, /bytes in/, 'no report of the shell');
	const crash = runTool(['memleak', '-c', 'sh -c "kill -SEGV \\$\\$"', '-o', '0']);
	assert.equal(crash.code, 0, crash.stderr);
	assert.match(crash.stderr, /memleak: process \d+ was killed by SIGSEGV/);
});

test('memleak usage errors: one line, exit 2', () => {
	for (const args of [
		['-p', '1', '-c', '/bin/true'],
		['--sort', 'bytes'],
		['-p', String(process.pid), '-O', 'nosuchlib'],
		['-p', String(process.pid), '--percpu'],
		['-c', ' '],
		['-z', '100', '-Z', '10'],
		['-s', '0'],
		['-p', '999999999'],
	]) {
		const r = runTool(['memleak', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, /^memleak: /);
	}
});

const NESTED = `
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
__attribute__((noinline)) void *leak_big(void) { return malloc(1 << 20); }
__attribute__((noinline)) void *leak_aligned(void) { return aligned_alloc(64, 1000); }
__attribute__((noinline)) void *thread_leak(void *arg) { return malloc(4321); }
int main(void) {
	pthread_t t;
	leak_big();
	leak_aligned();
	/* a thread's malloc makes libc map a new arena (64 MB reserved): not an allocation of the program */
	pthread_create(&t, 0, thread_leak, 0);
	pthread_join(t, 0);
	puts("done");
	return 0;
}
`;

test('memleak -c: an allocator call that maps memory (big malloc, a new arena) and an alias (aligned_alloc = memalign) count once', (t) => {
	if (!requireRoot(t)) return;
	const nested = compileC('nested', NESTED, dir, { flags: ['-g', '-fno-omit-frame-pointer', '-fno-inline', '-pthread'] });
	const r = runTool(['memleak', '-c', nested, '-o', '0', '-T', '50', '-v', '-t']);
	assert.equal(r.code, 0, r.stderr);
	const rep = reports(r.stdout.split('\n').filter((l) => !/^\d+\.\d{6} /.test(l)).join('\n'));
	assert.equal(rep.length, 1, r.stdout);
	assert.deepEqual(site(rep[0], 'leak_big').map((s) => [s.bytes, s.count]), [[1 << 20, 1]]);
	assert.deepEqual(site(rep[0], 'leak_aligned').map((s) => [s.bytes, s.count]), [[1000, 1]]);
	assert.deepEqual(site(rep[0], 'thread_leak').map((s) => [s.bytes, s.count]), [[4321, 1]]);
	// no stack holds the arena's reservation or the mmap'd chunk of the big malloc a second time
	assert.ok(rep[0].every((s) => s.bytes <= 16 << 20 || /pthread_create/.test(s.frames.join(' '))), JSON.stringify(rep[0]));
	assert.ok(!rep[0].some((s) => /sysmalloc|alloc_new_heap/.test(s.frames[0] ?? '')), JSON.stringify(rep[0]));
	// -t: the aligned_alloc call is one event, not two
	assert.equal(r.stdout.split('\n').filter((l) => / (aligned_alloc|memalign) +1000 0x/.test(l)).length, 1, r.stdout);
	assert.match(r.stderr, / 0 addresses allocated again without a free seen, 0 returns without their entry/);
});

test('memleak -c --duration: the tool ends on time and leaves the command running', async (t) => {
	if (!requireRoot(t)) return;
	const started = Date.now();
	const run = startTool(['memleak', '-c', 'sleep 30', '--duration', '2']);
	await run.attached();
	const pid = Number(/Attaching to pid (\d+)/.exec(run.stderr)![1]);
	try {
		const code = await new Promise<number | null>((r) => run.child.on('exit', (c) => r(c)));
		assert.equal(code, 0, run.stderr);
		assert.ok(Date.now() - started < 15000, `took ${Date.now() - started} ms`);
		assert.ok(existsSync(`/proc/${pid}`), 'the command runs on');
	} finally {
		try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
	}
});
