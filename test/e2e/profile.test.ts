// profile against the real kernel: a clang-built program with frame pointers
// spinning in main -> outer -> middle -> leaf, a syscall-heavy one for the
// kernel/user split, a Node.js program with --perf-basic-prof for JIT names,
// and a short-lived process that exits before the profile ends.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC, linksStillPresent, marker, ndjson, requireRoot, runTool, sleep, startTool, tempCgroup } from './helpers.js';

const SRC = `#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
static char buf[65536];
__attribute__((noinline)) void leaf(void) { for (int i = 0; i < 1000; i++) sink += i; }
__attribute__((noinline)) void middle(void) { leaf(); }
__attribute__((noinline)) void outer(void) { middle(); }
__attribute__((noinline)) void sysloop(int fd) { for (int i = 0; i < 64; i++) if (read(fd, buf, sizeof(buf)) < 0) exit(1); }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
	double end = now() + (argc > 1 ? atof(argv[1]) : 5);
	int sys = argc > 2 && strcmp(argv[2], "sys") == 0;
	int fd = open("/dev/zero", O_RDONLY);
	while (now() < end) {
		if (sys) sysloop(fd);
		else for (int i = 0; i < 1000; i++) outer();
	}
	return 0;
}
`;
// gcc 12 drops the caller of a leaf from frame-pointer stacks: clang it is
const CFLAGS = ['-O0', '-g', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-fno-optimize-sibling-calls'];

let dir: string;
let bin: string;
const children: ChildProcess[] = [];
const cleanup: string[] = [];

before(() => {
	dir = mkdtempSync(join(tmpdir(), 'ebt-profile-'));
	bin = compileC('spin', SRC, dir, { cc: 'clang', flags: CFLAGS });
});

after(() => {
	for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
	for (const f of cleanup) rmSync(f, { force: true });
	rmSync(dir, { recursive: true, force: true });
});

/** A unique process name that fits in comm (15 characters). */
const comm = (prefix: string) => marker(prefix).slice(0, 15);

/** A copy of the workload under a unique name (its comm). */
function workload(t: TestContext, name: string, args: string[]): ChildProcess {
	const path = join(dir, name);
	copyFileSync(bin, path);
	const c = spawn(path, args, { stdio: 'ignore' });
	children.push(c);
	t.after(() => kill(c));
	return c;
}

function kill(c: ChildProcess): void {
	if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
}

/** folded lines -> [frames, count] */
function folded(out: string): { frames: string[]; count: number }[] {
	return out
		.trim()
		.split('\n')
		.filter((l) => /\s\d+$/.test(l))
		.map((l) => {
			const sp = l.lastIndexOf(' ');
			return { frames: l.slice(0, sp).split(';'), count: Number(l.slice(sp + 1)) };
		});
}

const hasChain = (frames: string[], chain: string[]) => frames.join(';').includes(chain.join(';'));

test('main -> outer -> middle -> leaf in order; samples match Hz x CPU seconds; nothing left attached', async (t) => {
	if (!requireRoot(t)) return;
	const name = comm('pc');
	const w = workload(t, name, ['30']);
	const tool = startTool(['profile', '-f', '-F', '99', '-p', String(w.pid)]);
	await tool.attached();
	const cpus = readFileSync('/sys/devices/system/cpu/online', 'utf8');
	assert.ok(tool.linkIds.length >= 1, 'one perf_event link per CPU');
	// sample until the workload used 1.5 s of CPU (slower when the machine is busy)
	const c0 = cpuSeconds(w.pid!);
	let c1 = c0;
	for (let i = 0; i < 60 && c1 - c0 < 1.5; i++) {
		await sleep(250);
		c1 = cpuSeconds(w.pid!);
	}
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`Sampling at 99 Hertz of PID ${w.pid} by user \\+ kernel stack\\.\\.\\. Hit Ctrl-C to end\\.`));
	const rows = folded(r.stdout);
	assert.ok(rows.length > 0, r.stdout);
	// -p: only this process (its comm is unique)
	for (const row of rows) assert.equal(row.frames[0], name, row.frames.join(';'));
	const total = rows.reduce((n, x) => n + x.count, 0);
	const chain = rows.filter((x) => hasChain(x.frames, ['main', 'outer', 'middle', 'leaf'])).reduce((n, x) => n + x.count, 0);
	assert.ok(chain > total / 2, `chain in ${chain} of ${total} samples:\n${r.stdout}`);
	// one busy thread: 99 samples per second of CPU it used (the perf clock only ticks while it runs)
	const expected = 99 * (c1 - c0);
	assert.ok(expected > 50, `the workload ran (${c1 - c0} CPU s)`);
	assert.ok(Math.abs(total - expected) <= expected * 0.2 + 5, `${total} samples, expected about ${expected.toFixed(0)} (cpus ${cpus.trim()})`);
	assert.deepEqual(linksStillPresent(tool.linkIds), []);
});

test('-p and -L select processes and threads; --json records', async (t) => {
	if (!requireRoot(t)) return;
	const a = comm('pa');
	const b = comm('pb');
	const wa = workload(t, a, ['30']);
	const wb = workload(t, b, ['30']);
	await sleep(200);
	let r = runTool(['profile', '-f', '-p', String(wa.pid), '1.5']);
	assert.equal(r.code, 0, r.stderr);
	let comms = new Set(folded(r.stdout).map((x) => x.frames[0]));
	assert.deepEqual([...comms], [a]);

	r = runTool(['profile', '-f', '-L', String(wb.pid), '1.5']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`of TID ${wb.pid} by`));
	comms = new Set(folded(r.stdout).map((x) => x.frames[0]));
	assert.deepEqual([...comms], [b]);

	r = runTool(['profile', '--json', '-p', `${wa.pid},${wb.pid}`, '1.5']);
	assert.equal(r.code, 0, r.stderr);
	const recs = ndjson<{ pid?: number; comm?: string; count?: number; user_stack?: { symbol: string | null; module: string | null }[]; type?: string; samples?: number }>(r.stdout);
	const stacks = recs.filter((x) => x.type === undefined);
	assert.deepEqual(new Set(stacks.map((x) => x.pid)), new Set([wa.pid, wb.pid]));
	const leafy = stacks.find((x) => x.user_stack?.[0]?.symbol === 'leaf');
	assert.ok(leafy, 'a stack whose user leaf is leaf()');
	assert.equal(leafy.user_stack![0].module, join(dir, leafy.comm === a ? a : b));
	const summary = recs.find((x) => x.type === 'summary');
	assert.equal(summary?.samples, stacks.reduce((n, x) => n + x.count!, 0));
});

test('-K and -U split kernel and user frames; -d puts - between them; -a marks kernel frames', async (t) => {
	if (!requireRoot(t)) return;
	const name = comm('ps');
	const w = workload(t, name, ['30', 'sys']);
	await sleep(200);
	const run = (args: string[]) => {
		const r = runTool(['profile', '-f', '-a', '-p', String(w.pid), ...args, '1.5']);
		assert.equal(r.code, 0, r.stderr);
		const rows = folded(r.stdout);
		assert.ok(rows.length > 0, r.stdout);
		return rows;
	};
	const kernelOnly = run(['-K']);
	for (const row of kernelOnly) {
		assert.equal(row.frames[0], name);
		for (const f of row.frames.slice(1)) assert.ok(f.endsWith('_[k]') || f === '[Missed Kernel Stack]', `-K: ${row.frames.join(';')}`);
	}
	assert.ok(kernelOnly.some((x) => x.frames.length > 3), 'kernel stacks have depth');

	const userOnly = run(['-U']);
	for (const row of userOnly) for (const f of row.frames) assert.ok(!f.endsWith('_[k]'), `-U: ${row.frames.join(';')}`);
	assert.ok(userOnly.some((x) => x.frames.includes('main')));

	// a stack map far too small: lost stacks are shown as such and warned about
	const tiny = runTool(['profile', '-f', '-p', String(w.pid), '--stack-storage-size', '2', '1.5']);
	assert.equal(tiny.code, 0, tiny.stderr);
	assert.match(tiny.stdout, /\[Missed (User|Kernel) Stack\]/);
	assert.match(tiny.stderr, /WARNING: \d+ stack traces could not be displayed\. Consider increasing --stack-storage-size\./);
	assert.match(tiny.stderr, /WARNING: \d+ stacks not stored in \d+ samples \(\d+ hash collisions/);

	const both = run(['-d']);
	const split = both.filter((x) => x.frames.includes('-'));
	assert.ok(split.length > 0, 'samples in a syscall have both stacks');
	for (const row of split) {
		const at = row.frames.indexOf('-');
		assert.ok(row.frames.slice(0, at).includes('main'), row.frames.join(';'));
		for (const f of row.frames.slice(at + 1)) assert.ok(f.endsWith('_[k]'), row.frames.join(';'));
		for (const f of row.frames.slice(1, at)) assert.ok(!f.endsWith('_[k]'), row.frames.join(';'));
	}
});

test('Node.js --perf-basic-prof: JavaScript function names, JIT frames in the flame graph', async (t) => {
	if (!requireRoot(t)) return;
	const fn = `hot_${marker('js')}`;
	const script = join(dir, `${fn}.js`);
	writeFileSync(script, `
function ${fn}(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) % 7; return s; }
const end = Date.now() + 30000;
let x = 0;
while (Date.now() < end) x += ${fn}(200000);
`);
	// (cwd: V8 writes an isolate-*.log where it runs with --perf-basic-prof)
	const node = spawn(process.execPath, ['--perf-basic-prof', script], { stdio: 'ignore', cwd: dir });
	children.push(node);
	t.after(() => kill(node));
	cleanup.push(`/tmp/perf-${node.pid}.map`);
	await sleep(800); // let V8 compile it
	const svg = join(dir, 'node.svg');
	const r = runTool(['profile', '-f', '-U', '-p', String(node.pid), '--flamegraph', svg, '2']);
	assert.equal(r.code, 0, r.stderr);
	const rows = folded(r.stdout);
	const total = rows.reduce((n, x) => n + x.count, 0);
	const js = rows.filter((x) => x.frames.some((f) => f.includes(fn))).reduce((n, x) => n + x.count, 0);
	assert.ok(js > total / 2, `${fn} in ${js} of ${total} samples:\n${r.stdout.slice(0, 3000)}`);
	const doc = readFileSync(svg, 'utf8');
	assert.match(doc, new RegExp(`<g class="frame" data-kind="jit"><title>[^<]*${fn}`));
	assert.match(doc, /<g class="frame" data-kind="user"><title>node::Start/);
	assert.match(r.stderr, /Wrote .*node\.svg \(\d+ samples/);
});

test('a process that exits before the profile ends still gets symbols', async (t) => {
	if (!requireRoot(t)) return;
	const name = comm('pq');
	const path = join(dir, name);
	copyFileSync(bin, path);
	const tool = startTool(['profile', '-f', '-U', '-F', '199']);
	await tool.attached();
	const done = spawnSync(path, ['0.6']);
	assert.equal(done.status, 0);
	await sleep(300);
	const r = await tool.stop();
	assert.equal(r.code, 0, r.stderr);
	const mine = folded(r.stdout).filter((x) => x.frames[0] === name);
	const total = mine.reduce((n, x) => n + x.count, 0);
	const chain = mine.filter((x) => hasChain(x.frames, ['main', 'outer', 'middle', 'leaf'])).reduce((n, x) => n + x.count, 0);
	assert.ok(total > 20, `samples of the short-lived process: ${total}`);
	assert.ok(chain > total / 2, `chain in ${chain} of ${total}:\n${mine.map((x) => x.frames.join(';')).join('\n')}`);
});

test('--flamegraph FILE.html writes a self-contained page; multi-line output by default', async (t) => {
	if (!requireRoot(t)) return;
	const name = comm('ph');
	const w = workload(t, name, ['30']);
	await sleep(200);
	const html = join(dir, 'p.html');
	let r = runTool(['profile', '-p', String(w.pid), '--flamegraph', html, '1']);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout, '', 'with --flamegraph alone, no stacks on stdout');
	const doc = readFileSync(html, 'utf8');
	assert.ok(doc.includes(`"name":"${name}"`));
	assert.ok(doc.includes('"name":"leaf"'));
	r = runTool(['profile', '-d', '-p', String(w.pid), '1']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, new RegExp(`    leaf\\n    middle\\n    outer\\n    main\\n(    .*\\n)*    -                ${name} \\(${w.pid}\\)\\n        \\d+\\n`));
});

test('-C samples one CPU: a process pinned to another CPU is not seen', async (t) => {
	if (!requireRoot(t)) return;
	const cpus = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
	const list = cpus.split(',').flatMap((p) => {
		const [a, b] = p.split('-').map(Number);
		return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
	});
	if (list.length < 2) {
		// one CPU: -C that CPU sees everything
		assert.equal(list.length, 1);
		return;
	}
	const [c0, c1] = list;
	const name = comm('pk');
	const path = join(dir, name);
	copyFileSync(bin, path);
	const w = spawn('taskset', ['-c', String(c1), path, '30'], { stdio: 'ignore' });
	children.push(w);
	t.after(() => kill(w));
	await sleep(300);
	let r = runTool(['profile', '-f', '-C', String(c1), '-p', String(w.pid), '1.5']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`on CPU#${c1} for 1.5 secs`));
	assert.ok(folded(r.stdout).some((x) => x.frames[0] === name), r.stdout);
	r = runTool(['profile', '-f', '-C', String(c0), '-p', String(w.pid), '1.5']);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout.trim(), '', `pinned to CPU ${c1}, never sampled on CPU ${c0}`);
});

test('-I includes the idle task (PID 0), which is left out by default', async (t) => {
	if (!requireRoot(t)) return;
	const idleSeconds = () => Number(/^cpu\s+(?:\d+\s+){3}(\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))![1]) / 100;
	const run = async (args: string[]) => {
		const tool = startTool(['profile', '--json', '-K', '-F', '499', ...args]);
		await tool.attached();
		// sample until the CPUs were idle for 0.5 s in all (the machine may be busy)
		const i0 = idleSeconds();
		for (let i = 0; i < 120 && idleSeconds() - i0 < 0.5; i++) await sleep(250);
		assert.ok(idleSeconds() - i0 >= 0.5, 'the CPUs idled');
		const r = await tool.stop();
		assert.equal(r.code, 0, r.stderr);
		return ndjson<{ pid?: number; comm?: string; type?: string }>(r.stdout).filter((x) => x.type === undefined);
	};
	const without = await run([]);
	assert.ok(without.length > 0);
	assert.deepEqual(without.filter((x) => x.pid === 0), []);
	const withIdle = (await run(['-I'])).filter((x) => x.pid === 0);
	assert.ok(withIdle.length > 0, 'idle samples');
	for (const x of withIdle) assert.match(x.comm!, /^swapper\/\d+$/);
});

test('--cgroup samples only tasks in the cgroup', async (t) => {
	if (!requireRoot(t)) return;
	const name = comm('pg');
	const other = comm('po');
	const cg = tempCgroup(t, name);
	const path = join(dir, name);
	copyFileSync(bin, path);
	const w = spawn('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec ${path} 30`], { stdio: 'ignore' });
	children.push(w);
	t.after(() => kill(w));
	workload(t, other, ['30']);
	await sleep(300);
	const r = runTool(['profile', '-f', '--cgroup', cg, '1.5']);
	assert.equal(r.code, 0, r.stderr);
	const comms = new Set(folded(r.stdout).map((x) => x.frames[0]));
	assert.deepEqual([...comms], [name]);
});
