// execsnoop against the real kernel: every exec of a workload must appear,
// with the right PID, PPID and arguments; filters match and exclude.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, compileC, linksStillPresent, marker, ndjson, requireRoot, runTool, sleep, startTool, withoutTracefs, tempCgroup } from './helpers.js';

interface Ev {
	ts: number;
	uid: number;
	comm: string;
	pid: number;
	tid: number;
	ppid: number;
	ret: number;
	args: string[];
	args_truncated: boolean;
}

/** Run `/bin/true <mk>-<i>` n times from one node process; returns its pid and the children's pids. */
function burst(mk: string, n: number, bin = '/bin/true'): { parent: number; pids: number[] } {
	const script = `
		const { spawnSync } = require('node:child_process');
		const pids = [];
		for (let i = 0; i < ${n}; i++) pids.push(spawnSync(${JSON.stringify(bin)}, [${JSON.stringify(mk)} + '-' + i]).pid);
		process.stdout.write(JSON.stringify({ parent: process.pid, pids }));`;
	const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	return JSON.parse(r.stdout);
}

const mine = (evs: Ev[], mk: string) => evs.filter((e) => e.args?.some((a) => a.includes(mk)));

async function checkBurst(extra: string[], n: number): Promise<void> {
	const mk = marker('burst');
	const run = startTool(['execsnoop', '--json', ...extra]);
	await run.attached();
	const { parent, pids } = burst(mk, n);
	await run.waitFor((s) => (s.match(new RegExp(`${mk}-`, 'g')) ?? []).length >= n);
	const res = await run.stop();
	assert.equal(res.code, 0, res.stderr);
	// the workload's own exec carries the marker in its script: keep the children
	const evs = mine(ndjson<Ev>(res.stdout), mk).filter((e) => e.args[0] === '/bin/true');
	assert.equal(evs.length, n, `expected ${n} events, got ${evs.length}`);
	for (let i = 0; i < n; i++) {
		const e = evs.find((x) => x.args[1] === `${mk}-${i}`);
		assert.ok(e, `exec ${i} missing`);
		assert.deepEqual(e.args, ['/bin/true', `${mk}-${i}`]);
		assert.equal(e.pid, pids[i]);
		assert.equal(e.ppid, parent);
		assert.equal(e.comm, 'true');
		assert.equal(e.ret, 0);
		assert.equal(e.args_truncated, false);
	}
	assert.doesNotMatch(res.stderr, /lost/);
}

test('a burst of 200 execs: every one appears with the right PID, PPID and args', async (t) => {
	if (!requireRoot(t)) return;
	await checkBurst([], 200);
});

test('the perf buffer path delivers the same events', async (t) => {
	if (!requireRoot(t)) return;
	await checkBurst(['--perf-buffer'], 100);
});

test('execveat (AT_EMPTY_PATH on an fd) and a failed execveat with -x', async (t) => {
	if (!requireRoot(t)) return;
	const dir = mkdtempSync(join(tmpdir(), 'ebt-'));
	t.after(() => rmSync(dir, { recursive: true, force: true }));
	const bin = compileC(
		'execat',
		`#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
	char *env[] = { NULL };
	if (argv[1][0] == 'f') { /* failing execveat: relative to AT_FDCWD, missing */
		char *av[] = { "missing", argv[2], NULL };
		long r = syscall(SYS_execveat, AT_FDCWD, "/nonexistent/dir/missing", av, env, 0);
		return r == -1 ? 0 : 1;
	}
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	char *av[] = { "true-via-fd", argv[2], NULL };
	syscall(SYS_execveat, fd, "", av, env, AT_EMPTY_PATH);
	return 1;
}
`,
		dir,
	);
	const mk = marker('eat');
	const run = startTool(['execsnoop', '-x', '--json']);
	await run.attached();
	const ok = spawnSync(bin, ['ok', `${mk}-ok`]);
	assert.equal(ok.status, 0);
	const bad = spawnSync(bin, ['fail', `${mk}-fail`]);
	assert.equal(bad.status, 0);
	await run.waitFor((s) => s.includes(`${mk}-ok`) && s.includes(`${mk}-fail`));
	const res = await run.stop();
	const evs = mine(ndjson<Ev>(res.stdout), mk);
	// the workload itself is exec'd first (by spawnSync), then it calls execveat
	const viaFd = evs.find((e) => e.args[0] === 'true-via-fd');
	assert.ok(viaFd, res.stdout);
	assert.deepEqual(viaFd.args, ['true-via-fd', `${mk}-ok`]);
	assert.equal(viaFd.pid, ok.pid);
	assert.equal(viaFd.ret, 0);
	const failed = evs.find((e) => e.ret < 0);
	assert.ok(failed, res.stdout);
	assert.equal(failed.ret, -2);
	assert.equal(failed.pid, bad.pid);
	assert.deepEqual(failed.args, ['missing', `${mk}-fail`]);
	assert.equal(failed.comm, 'execat');
});

test('-x shows a failed execve with RET -2; without -x it is not shown', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('fail');
	const withX = startTool(['execsnoop', '-x']);
	const without = startTool(['execsnoop']);
	await Promise.all([withX.attached(), without.attached()]);
	const path = `/nonexistent-${mk}`;
	const child = spawnSync(path, ['arg1']);
	assert.equal((child.error as NodeJS.ErrnoException)?.code, 'ENOENT');
	spawnSync('/bin/true', [`${mk}-done`]);
	await withX.waitFor((s) => s.includes(`${mk}-done`));
	await without.waitFor((s) => s.includes(`${mk}-done`));
	const [a, b] = await Promise.all([withX.stop(), without.stop()]);
	const line = a.stdout.split('\n').find((l) => l.includes(path));
	assert.ok(line, a.stdout);
	assert.match(line, new RegExp(`^\\S+\\s+\\d+\\s+${process.pid}\\s+-2 ${path} arg1$`));
	assert.ok(!b.stdout.includes(path));
});

test('-u matches the UID (number or name) and excludes others', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('uid');
	const byNum = startTool(['execsnoop', '-u', '65534', '-U']);
	const byName = startTool(['execsnoop', '-u', 'root']);
	await Promise.all([byNum.attached(), byName.attached()]);
	spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/true', `${mk}-nobody`]);
	spawnSync('/bin/true', [`${mk}-root`]);
	spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/true', `${mk}-end`]);
	await byNum.waitFor((s) => s.includes(`${mk}-end`));
	await byName.waitFor((s) => s.includes(`${mk}-root`));
	const [a, b] = await Promise.all([byNum.stop(), byName.stop()]);
	assert.match(a.stdout, new RegExp(`^65534\\s+true\\s+\\d+\\s+\\d+\\s+0 /bin/true ${mk}-nobody$`, 'm'));
	assert.ok(!a.stdout.includes(`${mk}-root`));
	assert.ok(b.stdout.includes(`${mk}-root`));
	// (setpriv itself runs as root with the marker among its arguments)
	assert.doesNotMatch(b.stdout, new RegExp(`^true .* /bin/true ${mk}-nobody$`, 'm'));
});

test('-P matches children of the parent and excludes others', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('ppid');
	const sh = spawn('sh', ['-c', `read x; /bin/true ${mk}-child; read y`], { stdio: ['pipe', 'ignore', 'ignore'] });
	const run = startTool(['execsnoop', '-P', String(sh.pid)]);
	await run.attached();
	spawnSync('/bin/true', [`${mk}-other`]);
	sh.stdin!.write('go\n');
	await run.waitFor((s) => s.includes(`${mk}-child`));
	sh.stdin!.end('\n');
	const res = await run.stop();
	assert.match(res.stdout, new RegExp(`^true\\s+\\d+\\s+${sh.pid}\\s+0 /bin/true ${mk}-child$`, 'm'));
	assert.ok(!res.stdout.includes(`${mk}-other`));
});

test('-n filters on the command name, -l on the arguments', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('nl');
	const byName = startTool(['execsnoop', '-n', '^ech']);
	const byLine = startTool(['execsnoop', '-l', `${mk}-b`]);
	await Promise.all([byName.attached(), byLine.attached()]);
	spawnSync('/bin/true', [`${mk}-a`]);
	spawnSync('/bin/echo', [`${mk}-b`]);
	spawnSync('/bin/echo', [`${mk}-a`]);
	await byName.waitFor((s) => s.includes(`echo ${mk}-a`));
	await byLine.waitFor((s) => s.includes(`${mk}-b`));
	await sleep(100);
	const [a, b] = await Promise.all([byName.stop(), byLine.stop()]);
	assert.ok(a.stdout.includes(`/bin/echo ${mk}-b`) && a.stdout.includes(`/bin/echo ${mk}-a`));
	assert.ok(!a.stdout.includes(`/bin/true ${mk}-a`));
	const lines = b.stdout.split('\n').filter((l) => l.includes(mk));
	assert.deepEqual(lines.map((l) => l.replace(/^.* 0 /, '')), [`/bin/echo ${mk}-b`]);
});

test('--cgroup (-c) matches tasks in the cgroup and excludes others', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('cg');
	const cg = tempCgroup(t, mk);
	const run = startTool(['execsnoop', '-c', cg]);
	await run.attached();
	spawnSync('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec /bin/true ${mk}-in`]);
	spawnSync('/bin/true', [`${mk}-out`]);
	spawnSync('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec /bin/true ${mk}-end`]);
	await run.waitFor((s) => s.includes(`${mk}-end`));
	const res = await run.stop();
	assert.ok(res.stdout.includes(`/bin/true ${mk}-in`), res.stdout);
	assert.ok(!res.stdout.includes(`${mk}-out`));
});

test('text layout: -T -t -U columns, -q quoting and --max-args truncation', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('fmt');
	const run = startTool(['execsnoop', '-T', '-t', '-U', '-q', '--max-args', '3']);
	await run.attached();
	spawnSync('/bin/echo', [`${mk}`, 'two "quoted"', 'three', 'four']);
	await run.waitFor((s) => s.includes(mk));
	const res = await run.stop();
	const [header] = res.stdout.split('\n');
	assert.equal(header, 'TIME     TIME(s) UID   PCOMM            PID     PPID    RET ARGS');
	const line = res.stdout.split('\n').find((l) => l.includes(mk))!;
	assert.match(
		line,
		new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\d+\\.\\d{3}\\s+0\\s+echo\\s+\\d+\\s+${process.pid}\\s+0 "/bin/echo" "${mk}" "two \\\\"quoted\\\\"" \\.\\.\\.$`),
	);
});

test('--json carries the same fields as the text output', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('json');
	const text = startTool(['execsnoop', '-U']);
	const json = startTool(['execsnoop', '--json']);
	await Promise.all([text.attached(), json.attached()]);
	for (let i = 0; i < 5; i++) spawnSync('/bin/echo', [`${mk}-${i}`, 'x y']);
	await text.waitFor((s) => s.includes(`${mk}-4`));
	await json.waitFor((s) => s.includes(`${mk}-4`));
	const [a, b] = await Promise.all([text.stop(), json.stop()]);
	const evs = mine(ndjson<Ev>(b.stdout), mk);
	assert.equal(evs.length, 5);
	for (const e of evs) {
		assert.equal(typeof e.ts, 'number');
		assert.ok(Math.abs(e.ts - Date.now() / 1000) < 60);
		const line = a.stdout.split('\n').find((l) => l.endsWith(` ${e.args.join(' ')}`));
		assert.ok(line, `no text line for ${e.args.join(' ')}`);
		const [uid, comm, pid, ppid, ret] = line.split(/\s+/);
		assert.deepEqual([Number(uid), comm, Number(pid), Number(ppid), Number(ret)], [e.uid, e.comm, e.pid, e.ppid, e.ret]);
	}
});

test('SIGINT and SIGTERM exit 0 and leave no BPF link behind', async (t) => {
	if (!requireRoot(t)) return;
	for (const sig of ['SIGINT', 'SIGTERM'] as const) {
		const run = startTool(['execsnoop', '-x']);
		await run.attached();
		assert.ok(run.linkIds.length >= 5, `expected the tool's links, saw ${run.linkIds}`);
		const res = await run.stop(sig);
		assert.equal(res.code, 0, res.stderr);
		assert.equal(res.signal, null);
		assert.deepEqual(linksStillPresent(run.linkIds), []);
	}
});

test('--duration ends the tool by itself', async (t) => {
	if (!requireRoot(t)) return;
	const t0 = Date.now();
	const res = runTool(['execsnoop', '--duration', '1']);
	assert.equal(res.code, 0, res.stderr);
	assert.ok(Date.now() - t0 < 10000);
	assert.match(res.stdout, /^PCOMM/);
});

test('`| head -1` ends the tool quietly with status 0', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('head');
	const sh = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" execsnoop | head -1`], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let out = '';
	let err = '';
	sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
	sh.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
	const done = new Promise<number | null>((r) => sh.on('close', r));
	while (!err.includes('Hit Ctrl-C')) await sleep(10);
	let code: number | null | undefined;
	void done.then((c) => (code = c));
	for (let i = 0; i < 200 && code === undefined; i++) {
		spawnSync('/bin/true', [`${mk}-${i}`]);
		await sleep(20);
	}
	assert.equal(await done, 0, err);
	assert.equal(out, 'PCOMM            PID     PPID    RET ARGS\n');
	assert.doesNotMatch(err, /Error|at .*\.js/);
});

test('`2>&1 | head -1` (stderr on the same closed pipe) also ends the tool with status 0', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('head2');
	const sh = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" execsnoop 2>&1 | head -1`], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let out = '';
	sh.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
	const done = new Promise<number | null>((r) => sh.on('close', r));
	let code: number | null | undefined;
	void done.then((c) => (code = c));
	// the header closes the pipe; the banner then meets EPIPE on stderr, and
	// the first exec's row meets it on stdout
	for (let i = 0; i < 500 && code === undefined; i++) {
		spawnSync('/bin/true', [`${mk}-${i}`]);
		await sleep(20);
	}
	assert.equal(await done, 0);
	assert.equal(out, 'PCOMM            PID     PPID    RET ARGS\n');
});

test('without CAP_BPF/CAP_SYS_ADMIN: a one-line permission error, exit 1', async (t) => {
	if (!requireRoot(t)) return;
	const res = runTool(['execsnoop'], { wrap: ['setpriv', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'] });
	assert.equal(res.code, 1);
	const lines = res.stderr.trim().split('\n');
	assert.equal(lines.length, 1, res.stderr);
	assert.match(lines[0], /^execsnoop: missing privileges: CAP_BPF and CAP_PERFMON .*hint: /);
	assert.equal(res.stdout, '');
});

test('tracefs unmounted in a private mount namespace: the tool mounts it and works', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('ns');
	const run = startTool(['execsnoop', '-x'], { wrap: withoutTracefs() });
	await run.attached();
	spawnSync(`/nonexistent-${mk}`);
	spawnSync('/bin/true', [`${mk}-ok`]);
	await run.waitFor((s) => s.includes(`${mk}-ok`));
	const res = await run.stop();
	assert.equal(res.code, 0, res.stderr);
	assert.match(res.stdout, new RegExp(`-2 /nonexistent-${mk}$`, 'm'));
});

test('no tracefs and no CAP_SYS_ADMIN to mount it: -x falls back to raw syscall tracepoints', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('raw');
	const caps = '-all,+bpf,+perfmon';
	const run = startTool(['execsnoop', '-x', '-v'], {
		wrap: withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`),
	});
	await run.attached();
	assert.match(run.stderr, /raw syscall tracepoints/);
	spawnSync(`/nonexistent-${mk}`);
	spawnSync('/bin/true', [`${mk}-ok`]);
	await run.waitFor((s) => s.includes(`${mk}-ok`));
	const res = await run.stop();
	assert.equal(res.code, 0, res.stderr);
	assert.match(res.stdout, new RegExp(`-2 /nonexistent-${mk}$`, 'm'));
	assert.match(res.stdout, new RegExp(` 0 /bin/true ${mk}-ok$`, 'm'));
});

test('--self-stats: the tool\'s own CPU and peak memory at the end, on stderr and as a JSON record', (t) => {
	if (!requireRoot(t)) return;
	const r = runTool(['execsnoop', '--duration', '1', '--self-stats', '--json']);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, /^execsnoop: self: CPU \d+\.\d\d s \(user \d+\.\d\d, sys \d+\.\d\d\) in \d+\.\d s \(\d+\.\d% of one CPU\), peak RSS \d+\.\d MiB, 0 events lost$/m);
	const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
	assert.equal(last.type, 'self_stats');
	assert.ok((last.cpu_user_s as number) > 0 && (last.cpu_sys_s as number) >= 0 && (last.wall_s as number) >= 1);
	// a Node process with the addon loaded: more than 20 MB, less than 2 GB
	assert.ok((last.max_rss_bytes as number) > 20 << 20 && (last.max_rss_bytes as number) < 2 ** 31, String(last.max_rss_bytes));
	assert.equal(last.lost, 0);
	// without the option: nothing of the kind
	const plain = runTool(['execsnoop', '--duration', '0.5']);
	assert.doesNotMatch(plain.stderr, /self:/);
});
