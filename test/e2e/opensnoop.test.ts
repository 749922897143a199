// opensnoop against the real kernel: a workload makes 1,000 opens of files
// named with a marker (open, openat, openat2; absolute, dfd- and cwd-relative;
// O_CREAT with modes; ENOENT, ENOTDIR, EBADF, EACCES) and prints what the
// kernel returned; every open must appear exactly once with the same FD, ERR,
// PATH, FLAGS and MODE, in text, JSON and with -F. Every filter has matching
// and non-matching opens in the same run.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { compileC, linksStillPresent, marker, ndjson, requireRoot, runTool, sleep, startTool, withoutTracefs, tempCgroup } from './helpers.js';
import type { ToolRun } from './helpers.js';
import { WORKLOAD_C } from './opensnoop-workload.js';

const AT_FDCWD = -100;
const O_CREAT = 0o100;
const COUNT = 1000;

/** One open the workload made, as it saw the result. */
interface Op {
	sys: string;
	pid: number;
	tid: number;
	uid: number;
	fd: number;
	err: number;
	flags: number;
	mode: number;
	at: number;
	name: string;
	comm: string;
}

/** One text row of the tool. */
interface Row {
	time?: number;
	uid?: number;
	id: number;
	comm: string;
	fd: number;
	err: number;
	flags?: number;
	mode?: string;
	path: string;
}

interface JsonEv {
	ts: number;
	uid: number;
	pid: number;
	tid: number;
	comm: string;
	fd: number;
	err: number;
	flags: number;
	flag_names: string[];
	mode: number | null;
	syscall: string;
	dfd?: number;
	path: string;
	path_resolved?: boolean;
}

function parseText(out: string, o: { time?: boolean; uid?: boolean; ext?: boolean }, mk: string): Row[] {
	const re = new RegExp(
		'^' + (o.time ? '(\\d+\\.\\d{9})\\s+' : '()') + (o.uid ? '(\\d+)\\s+' : '()') +
			'(\\d+)\\s+(\\S+)\\s+(-?\\d+)\\s+(\\d+) ' + (o.ext ? '([0-7]{8}) (n/a |\\d{4}) ' : '()()') + '(.*)$',
	);
	const rows: Row[] = [];
	for (const line of out.split('\n')) {
		if (!line.includes(mk)) continue;
		const m = re.exec(line);
		assert.ok(m, `unparsable line: ${JSON.stringify(line)}`);
		rows.push({
			time: m[1] ? Number(m[1]) : undefined,
			uid: m[2] ? Number(m[2]) : undefined,
			id: Number(m[3]),
			comm: m[4],
			fd: Number(m[5]),
			err: Number(m[6]),
			flags: m[7] ? parseInt(m[7], 8) : undefined,
			mode: m[8] ? m[8].trim() : undefined,
			path: m[9],
		});
	}
	return rows;
}

interface Fixture {
	dir: string;
	bin: string;
}

/** A directory with the files a workload opens, and the compiled workload. */
function fixture(t: TestContext, mk: string, build = true): Fixture {
	const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebt-os-')));
	t.after(() => rmSync(dir, { recursive: true, force: true }));
	chmodSync(dir, 0o755);
	mkdirSync(join(dir, 'sub'), { mode: 0o755 });
	for (let i = 0; i < COUNT; i++) {
		writeFileSync(join(dir, `${mk}_${i}`), 'x', { mode: 0o644 });
		writeFileSync(join(dir, 'sub', `${mk}_${i}`), 'x', { mode: 0o644 });
		if (i >= COUNT - 20) writeFileSync(join(dir, `secret_${mk}_${i}`), 'x', { mode: 0o600 });
	}
	for (let i = 0; i < 100; i++) writeFileSync(join(dir, `${mk}_main_${i}`), 'x', { mode: 0o644 });
	const bin = build ? compileC('oswl', WORKLOAD_C, dir, { flags: ['-pthread'] }) : '';
	return { dir, bin };
}

class Workload {
	readonly child: ChildProcess;
	out = '';
	err = '';
	pid = 0;
	tid = 0;
	private readonly closed: Promise<number | null>;
	constructor(
		bin: string,
		readonly mk: string,
		readonly dir: string,
		threaded = false,
	) {
		this.child = spawn(bin, [mk, dir, String(COUNT), ...(threaded ? ['threaded'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
		this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
		this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
		this.closed = new Promise((r) => this.child.on('close', (code) => r(code)));
	}
	async ready(): Promise<void> {
		const t0 = Date.now();
		for (;;) {
			const m = /^ready (\d+) (\d+)$/m.exec(this.out);
			if (m) {
				this.pid = Number(m[1]);
				this.tid = Number(m[2]);
				return;
			}
			if (this.child.exitCode !== null || Date.now() - t0 > 10000) throw new Error(`workload not ready: ${this.err}`);
			await new Promise((r) => setTimeout(r, 10));
		}
	}
	/** Start the opens; resolves with the manifest once the workload exited. */
	async run(): Promise<Op[]> {
		this.child.stdin!.end('go\n');
		const code = await this.closed;
		assert.equal(code, 0, `workload failed: ${this.err}`);
		assert.match(this.out, /^done$/m);
		const comm = this.child.spawnfile.split('/').pop()!.slice(0, 15);
		return this.out
			.split('\n')
			.filter((l) => l.startsWith('op\t'))
			.map((l) => {
				const [, sys, tid, uid, fd, err, flags, mode, at, name] = l.split('\t');
				return {
					sys, pid: this.pid, tid: Number(tid), uid: Number(uid), fd: Number(fd), err: Number(err),
					flags: parseInt(flags, 8), mode: parseInt(mode, 8), at: Number(at), name, comm,
				};
			});
	}
}

/** What -F must print for an open. */
function fullPath(op: Op, dir: string): string {
	if (op.name.startsWith('/')) return op.name;
	if (op.at === AT_FDCWD) return `${dir}/sub/${op.name}`;
	if (op.at === 9999) return `[unknown dir of fd 9999]/${op.name}`;
	return `${dir}/${op.name}`;
}

const modeText = (op: Op) => (op.flags & O_CREAT ? op.mode.toString(8).padStart(4, '0') : 'n/a');
const key = (pid: number, path: string, fd: number, err: number) => `${pid} ${fd} ${err} ${path}`;

async function stopAll(runs: ToolRun[]): Promise<void> {
	for (const r of runs) {
		const res = await r.stop();
		assert.equal(res.code, 0, res.stderr);
		assert.doesNotMatch(res.stderr, /lost/, res.stderr);
		assert.deepEqual(linksStillPresent(r.linkIds), [], 'links left attached');
	}
}

test('1,000 opens: each appears exactly once with its FD, ERR, PATH, FLAGS and MODE (text, JSON, -F, perf buffer)', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('os');
	const fx = fixture(t, mk);
	const wl = new Workload(fx.bin, mk, fx.dir);
	await wl.ready();
	const text = startTool(['opensnoop', '-e']);
	const json = startTool(['opensnoop', '-e', '--json']);
	const full = startTool(['opensnoop', '-e', '-F', '-T', '-U']);
	const perf = startTool(['opensnoop', '-e', '--perf-buffer']);
	const runs = [text, json, full, perf];
	await Promise.all(runs.map((r) => r.attached()));
	const ops = await wl.run();
	assert.equal(ops.length, COUNT);
	await stopAll(runs);

	// the workload made what the test meant it to
	const errs = new Set(ops.map((o) => o.err));
	for (const e of [0, 2, 9, 13, 20]) assert.ok(errs.has(e), `no open with errno ${e}`);
	assert.deepEqual(new Set(ops.map((o) => o.sys)), new Set(process.arch === 'x64' ? ['open', 'openat', 'openat2', 'creat'] : ['openat', 'openat2']));
	assert.ok(ops.some((o) => o.flags & O_CREAT && o.mode === 0o640 && o.err === 0));

	for (const [name, run] of [['ring buffer', text], ['perf buffer', perf]] as const) {
		const rows = parseText(run.stdout, { ext: true }, mk).filter((r) => r.id === wl.pid);
		assert.equal(rows.length, COUNT, `${name}: ${rows.length} rows for ${COUNT} opens`);
		const byName = new Map<string, Row[]>();
		for (const r of rows) byName.set(r.path, [...(byName.get(r.path) ?? []), r]);
		for (const op of ops) {
			const got = byName.get(op.name) ?? [];
			assert.equal(got.length, 1, `${name}: ${op.sys} ${op.name}: ${got.length} rows`);
			const r = got[0];
			assert.deepEqual(
				{ comm: r.comm, fd: r.fd, err: r.err, flags: r.flags, mode: r.mode },
				{ comm: op.comm, fd: op.fd, err: op.err, flags: op.flags, mode: modeText(op) },
				`${name}: ${op.sys} ${op.name}`,
			);
		}
	}
	assert.match(text.stdout.split('\n')[0], /^PID    COMM               FD ERR FLAGS    MODE PATH$/);

	// --json: the same fields as the text rows, in the same order, plus decoded flags
	const textRows = parseText(text.stdout, { ext: true }, mk).filter((r) => r.id === wl.pid);
	const evs = ndjson<JsonEv>(json.stdout).filter((e) => e.pid === wl.pid && e.path.includes(mk));
	assert.equal(evs.length, textRows.length);
	evs.forEach((e, i) => {
		const r = textRows[i];
		assert.deepEqual(
			{ pid: e.pid, comm: e.comm, fd: e.fd, err: e.err, flags: e.flags, mode: e.mode === null ? 'n/a' : e.mode.toString(8).padStart(4, '0'), path: e.path },
			{ pid: r.id, comm: r.comm, fd: r.fd, err: r.err, flags: r.flags, mode: r.mode, path: r.path },
		);
		assert.equal(e.tid, wl.tid);
		assert.equal(typeof e.ts, 'number');
	});
	for (const op of ops) {
		const e = evs.find((x) => x.path === op.name)!;
		assert.equal(e.syscall, op.sys, op.name);
		assert.equal(e.uid, op.uid, op.name);
		if (op.sys === 'openat' || op.sys === 'openat2') assert.equal(e.dfd, op.at, op.name);
		else assert.equal(e.dfd, undefined);
	}
	const create = evs.find((e) => e.syscall === 'openat' && e.flags & O_CREAT)!;
	assert.deepEqual(create.flag_names, ['O_WRONLY', 'O_CREAT', 'O_EXCL', 'O_TRUNC']);
	assert.equal(create.mode, 0o640);
	const create2 = evs.find((e) => e.syscall === 'openat2' && e.flags & O_CREAT)!;
	assert.deepEqual(create2.flag_names, ['O_RDWR', 'O_CREAT', 'O_CLOEXEC']);
	assert.equal(create2.mode, 0o600);
	assert.deepEqual(evs.find((e) => e.err === 20)!.flag_names, ['O_RDONLY', 'O_DIRECTORY']);
	if (process.arch === 'x64') {
		const c = evs.find((e) => e.syscall === 'creat')!;
		assert.deepEqual(c.flag_names, ['O_WRONLY', 'O_CREAT', 'O_TRUNC']);
		assert.equal(c.mode, 0o604);
	}

	// -F: relative names joined to the dfd's directory or the cwd; -T and -U columns
	const frows = parseText(full.stdout, { time: true, uid: true, ext: true }, mk).filter((r) => r.id === wl.pid);
	assert.equal(frows.length, COUNT);
	assert.match(full.stdout.split('\n')[0], /^TIME\(s\)       UID   PID    COMM               FD ERR FLAGS    MODE PATH$/);
	const byPath = new Map(frows.map((r) => [r.path, r]));
	for (const op of ops) {
		const r = byPath.get(fullPath(op, fx.dir));
		assert.ok(r, `-F: no row for ${fullPath(op, fx.dir)} (${op.sys} at=${op.at} ${op.name})`);
		assert.equal(r.uid, op.uid);
		assert.equal(r.fd, op.fd);
		assert.equal(r.err, op.err);
	}
	for (let i = 1; i < frows.length; i++) assert.ok(frows[i].time! >= frows[i - 1].time!, 'TIME(s) goes backwards');
	assert.ok(frows.some((r) => r.path.startsWith('[unknown dir of fd 9999]/')));
});

test('filters: -p, -n, -x, -u, -f (O_RDONLY, O_WRONLY|O_RDWR, O_CREAT), --cgroup match and exclude', async (t) => {
	if (!requireRoot(t)) return;
	const mkA = marker('osa');
	const mkB = marker('osb');
	const fa = fixture(t, mkA);
	const fb = fixture(t, mkB, false);
	const binA = join(fa.dir, 'oswl_alpha');
	const binB = join(fa.dir, 'oswl_beta');
	copyFileSync(fa.bin, binA);
	copyFileSync(fa.bin, binB);
	chmodSync(binA, 0o755);
	chmodSync(binB, 0o755);
	const a = new Workload(binA, mkA, fa.dir);
	const b = new Workload(binB, mkB, fb.dir);
	await Promise.all([a.ready(), b.ready()]);
	// A runs in a cgroup of its own
	const cg = tempCgroup(t, mkA);
	writeFileSync(join(cg, 'cgroup.procs'), String(a.pid));
	const cases: [string[], (o: Op) => boolean][] = [
		[['--cgroup', cg], (o) => o.pid === a.pid],
		[['-p', String(a.pid)], (o) => o.pid === a.pid],
		[['-n', 'alpha'], (o) => o.comm === 'oswl_alpha'],
		[['-x'], (o) => o.err !== 0],
		[['-u', '65534'], (o) => o.uid === 65534],
		[['-u', 'nobody', '-p', String(b.pid)], (o) => o.uid === 65534 && o.pid === b.pid],
		[['-f', 'O_RDONLY'], (o) => (o.flags & 3) === 0],
		[['-f', 'O_WRONLY', '-f', 'O_RDWR'], (o) => (o.flags & 3) === 1 || (o.flags & 3) === 2],
		[['-f', 'O_CREAT'], (o) => (o.flags & O_CREAT) !== 0],
		[['-f', 'O_CLOEXEC,O_DIRECTORY', '-x'], (o) => o.err !== 0 && (o.flags & 0o2200000) !== 0],
	];
	const runs = cases.map(([args]) => startTool(['opensnoop', '-e', ...args]));
	await Promise.all(runs.map((r) => r.attached()));
	const [opsA, opsB] = await Promise.all([a.run(), b.run()]);
	await stopAll(runs);
	const all = [...opsA, ...opsB];
	cases.forEach(([args, pred], i) => {
		const want = all.filter(pred);
		assert.ok(want.length > 0 && want.length < all.length, `${args.join(' ')}: the case must have matching and non-matching opens`);
		const rows = [...parseText(runs[i].stdout, { ext: true }, mkA), ...parseText(runs[i].stdout, { ext: true }, mkB)].filter(
			(r) => r.id === a.pid || r.id === b.pid,
		);
		const got = rows.map((r) => key(r.id, r.path, r.fd, r.err)).sort();
		const exp = want.map((o) => key(o.pid, o.name, o.fd, o.err)).sort();
		assert.equal(got.length, exp.length, `${args.join(' ')}: ${got.length} rows, ${exp.length} expected`);
		assert.deepEqual(got, exp, args.join(' '));
	});
});

test('-t TID: only that thread, with a TID column; the other thread is filtered out', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('ost');
	const fx = fixture(t, mk);
	const wl = new Workload(fx.bin, mk, fx.dir, true);
	await wl.ready();
	assert.notEqual(wl.tid, wl.pid);
	const byTid = startTool(['opensnoop', '-t', String(wl.tid)]);
	const byPid = startTool(['opensnoop', '-p', String(wl.pid)]);
	await Promise.all([byTid.attached(), byPid.attached()]);
	const ops = await wl.run();
	await stopAll([byTid, byPid]);
	assert.match(byTid.stdout.split('\n')[0], /^TID    COMM               FD ERR PATH$/);
	const rows = parseText(byTid.stdout, {}, mk);
	assert.equal(rows.length, COUNT);
	assert.ok(rows.every((r) => r.id === wl.tid));
	assert.deepEqual(rows.map((r) => r.path).sort(), ops.map((o) => o.name).sort());
	// the main thread's opens happened and were visible to a PID filter
	const main = parseText(byPid.stdout, {}, `${mk}_main_`);
	assert.equal(main.length, 100);
	assert.equal(parseText(byPid.stdout, {}, mk).length, COUNT + 100);
});

test('no tracefs and no CAP_SYS_ADMIN to mount it: raw syscall tracepoints give the same events, -F included', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('osr');
	const fx = fixture(t, mk);
	const wl = new Workload(fx.bin, mk, fx.dir);
	await wl.ready();
	const caps = '-all,+bpf,+perfmon';
	const run = startTool(['opensnoop', '-e', '-F', '-v', '-p', String(wl.pid)], {
		wrap: withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`),
	});
	await run.attached();
	const ops = await wl.run();
	await stopAll([run]);
	assert.match(run.stderr, /raw syscall tracepoints/);
	const rows = parseText(run.stdout, { ext: true }, mk);
	assert.equal(rows.length, COUNT);
	const byPath = new Map(rows.map((r) => [r.path, r]));
	for (const op of ops) {
		const r = byPath.get(fullPath(op, fx.dir));
		assert.ok(r, `no row for ${fullPath(op, fx.dir)}`);
		assert.deepEqual({ fd: r.fd, err: r.err, flags: r.flags, mode: r.mode }, { fd: op.fd, err: op.err, flags: op.flags, mode: modeText(op) });
	}
});

test('-d 1 ends by itself after about a second', async (t) => {
	if (!requireRoot(t)) return;
	const t0 = Date.now();
	const r = runTool(['opensnoop', '-d', '1', '-x'], { timeout: 30000 });
	const ms = Date.now() - t0;
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.signal, null);
	assert.match(r.stderr, /Hit Ctrl-C to end/);
	assert.match(r.stdout, /^PID    COMM               FD ERR PATH$/m);
	assert.ok(ms >= 1000, `ended after ${ms} ms`);
});

test('-F across mount points, with a removed cwd, and beyond the depth limit', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('osf');
	const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebt-osf-')));
	const mnt = join(dir, 'mnt');
	mkdirSync(mnt);
	execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', `ebt-${mk}`, mnt]);
	t.after(() => {
		spawnSync('umount', ['-l', mnt]);
		rmSync(dir, { recursive: true, force: true });
	});
	mkdirSync(join(mnt, 'inner'));
	const bin = compileC(
		'fpath',
		String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
	const char *dir = argv[1], *mk = argv[2];
	char p[4096], name[256];
	int fd, i;
	if (!fgets(name, sizeof(name), stdin)) return 1;
	snprintf(p, sizeof(p), "%s/mnt/inner", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	snprintf(name, sizeof(name), "%s_onmount", mk);
	openat(fd, name, O_RDONLY);
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	for (i = 0; i < 70; i++) {
		mkdirat(fd, "d", 0755);
		int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = nfd;
	}
	snprintf(name, sizeof(name), "%s_deep", mk);
	openat(fd, name, O_RDONLY);
	snprintf(p, sizeof(p), "%s/gone", dir);
	mkdir(p, 0755);
	if (chdir(p) || rmdir(p)) return 1;
	snprintf(name, sizeof(name), "%s_gone", mk);
	open(name, O_RDONLY);
	return 0;
}
`,
		dir,
	);
	const child = spawn(bin, [dir, mk], { stdio: ['pipe', 'ignore', 'inherit'] });
	const run = startTool(['opensnoop', '-F', '-p', String(child.pid)]);
	await run.attached();
	const closed = new Promise((r) => child.on('close', r));
	child.stdin!.end('go\n');
	assert.equal(await closed, 0);
	await stopAll([run]);
	const paths = parseText(run.stdout, {}, mk).map((r) => r.path);
	assert.equal(paths.length, 3, run.stdout);
	assert.equal(paths[0], `${mnt}/inner/${mk}_onmount`);
	assert.match(paths[1], new RegExp(`^\\[\\.\\.\\.\\]/(d/)+${mk}_deep$`));
	assert.ok(paths[1].split('/d').length - 1 <= 64 && paths[1].split('/d').length - 1 >= 50, paths[1]);
	assert.equal(paths[2], `${dir}/gone (deleted)/${mk}_gone`);
});
