// opensnoop without privileges: the decoder against hand-made bytes, rows
// against BCC's exact text (printf formats of tools/opensnoop.py), flag
// names and -f tests, -F path assembly, and option errors through the CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from '../../lib/cli.js';
import { OPEN_EVENT_MIN_SIZE, decodeOpenEvent } from '../../lib/gen/opensnoop.js';
import type { OpenEvent } from '../../lib/gen/opensnoop.js';
import opensnoop, { AT_FDCWD, DIR, displayPath, fileName, flagFilter, flagNames, hasMode, openColumns } from '../../tools/opensnoop.js';
import { runTool } from '../e2e/helpers.js';

const enc = new TextEncoder();

/** An event as the kernel lays it out (bpf/opensnoop.h), then decoded. */
function event(p: Partial<OpenEvent> & { name?: string; dirs?: string[] }): OpenEvent {
	const name = enc.encode((p.name ?? '') + '\0');
	const dirs = enc.encode((p.dirs ?? []).map((d) => d + '\0').join(''));
	const b = Buffer.alloc(OPEN_EVENT_MIN_SIZE + name.length + dirs.length);
	b.writeBigUInt64LE(BigInt(p.ts_ns ?? 5_000_000_000), 0);
	b.writeUInt32LE(p.pid ?? 1234, 8);
	b.writeUInt32LE(p.tid ?? p.pid ?? 1234, 12);
	b.writeUInt32LE(p.uid ?? 0, 16);
	b.writeInt32LE(p.ret ?? 3, 20);
	b.writeUInt32LE(p.flags ?? 0, 24);
	b.writeUInt32LE(p.mode ?? 0, 28);
	b.writeInt32LE(p.dfd ?? AT_FDCWD, 32);
	b.writeUInt16LE(name.length, 36);
	b.writeUInt16LE(dirs.length, 38);
	b.writeUInt8(p.nr ?? 1, 40);
	b.writeUInt8(p.dir_state ?? DIR.NONE, 41);
	b.write(p.comm ?? 'cat', 48, 'latin1');
	b.set(name, 64);
	b.set(dirs, 64 + name.length);
	return decodeOpenEvent(new DataView(b.buffer, b.byteOffset, b.length), 0, b.length);
}

function row(e: OpenEvent, o: Parameters<typeof openColumns>[0], full = false): string {
	return openColumns(o).row({ ...e, path: displayPath(e, full) });
}

const base = { firstNs: () => 3_500_000_000, epoch: (ns: number) => ns / 1e9 };

test('decoder: fields at their offsets, the name and directory tail', () => {
	const e = event({ pid: 7, tid: 8, uid: 1000, ret: -13, flags: 0o101, mode: 0o640, dfd: 5, nr: 2, comm: 'touch', name: 'a/b', dirs: ['x', 'y'], dir_state: DIR.OK });
	assert.deepEqual(
		{ pid: e.pid, tid: e.tid, uid: e.uid, ret: e.ret, flags: e.flags, mode: e.mode, dfd: e.dfd, nr: e.nr, comm: e.comm, fname_len: e.fname_len, dir_len: e.dir_len },
		{ pid: 7, tid: 8, uid: 1000, ret: -13, flags: 0o101, mode: 0o640, dfd: 5, nr: 2, comm: 'touch', fname_len: 4, dir_len: 4 },
	);
	assert.equal(fileName(e), 'a/b');
	assert.throws(() => decodeOpenEvent(new DataView(new ArrayBuffer(40)), 0, 40), /too short/);
});

test("text rows match BCC's printf layout", () => {
	const ok = event({ pid: 1234, comm: 'cat', ret: 3, flags: 0o2000000, name: '/etc/passwd' });
	const fail = event({ pid: 98765, comm: 'systemd-journal', ret: -2, flags: 0o101101, mode: 0o640, name: '/run/log/x' });
	const tmp = event({ pid: 1, comm: 'a', ret: 1023, flags: 0o20200002, mode: 0o600, name: 'rel/f' });
	assert.equal(openColumns(base).header(), 'PID    COMM               FD ERR PATH');
	assert.equal(row(ok, base), '1234   cat                 3   0 /etc/passwd');
	assert.equal(row(fail, base), '98765  systemd-journal    -1   2 /run/log/x');
	assert.equal(row(tmp, base), '1      a                1023   0 rel/f');
	const all = { ...base, timestamp: true, printUid: true, extended: true };
	assert.equal(openColumns(all).header(), 'TIME(s)       UID   PID    COMM               FD ERR FLAGS    MODE PATH');
	const at = (e: OpenEvent) => ({ ...e, ts_ns: 5_000_000_000, uid: 65534 });
	assert.equal(row(at(ok), all), '1.500000000   65534 1234   cat                 3   0 02000000 n/a  /etc/passwd');
	assert.equal(row(at(fail), all), '1.500000000   65534 98765  systemd-journal    -1   2 00101101 0640 /run/log/x');
	assert.equal(row(at(tmp), all), '1.500000000   65534 1      a                1023   0 20200002 0600 rel/f');
	assert.equal(openColumns({ ...base, tid: true }).header(), 'TID    COMM               FD ERR PATH');
	assert.equal(row(event({ pid: 10, tid: 11, name: '/x' }), { ...base, tid: true }).slice(0, 7), '11     ');
});

test('JSON: the same fields, numbers as numbers, flags decoded, mode null without O_CREAT', () => {
	const cols = openColumns({ ...base, fullPath: true });
	const e = event({ pid: 5, tid: 6, uid: 0, ret: -2, flags: 0o2000101, mode: 0o640, dfd: 9, nr: 2, comm: 'x', name: 'f', dirs: ['d'], dir_state: DIR.OK });
	assert.deepEqual(cols.object({ ...e, path: displayPath(e, true) }), {
		ts: 5, uid: 0, pid: 5, tid: 6, comm: 'x', fd: -1, err: 2, flags: 0o2000101,
		flag_names: ['O_WRONLY', 'O_CREAT', 'O_CLOEXEC'], mode: 0o640, syscall: 'openat2', dfd: 9, path: '/d/f', path_resolved: true,
	});
	const o = cols.object({ ...event({ nr: 0, name: '/a' }), path: '/a' });
	assert.equal(o.mode, null);
	assert.equal(o.syscall, 'open');
	assert.equal(JSON.parse(JSON.stringify(o)).dfd, undefined);
});

test('-f: access modes compare O_ACCMODE (O_RDONLY works), multi-bit flags need every bit', () => {
	assert.deepEqual(flagFilter('O_RDONLY'), { mask: 3, value: 0 });
	assert.deepEqual(flagFilter('O_WRONLY'), { mask: 3, value: 1 });
	assert.deepEqual(flagFilter('o_rdwr'), { mask: 3, value: 2 });
	assert.deepEqual(flagFilter('O_CREAT'), { mask: 0o100, value: 0o100 });
	assert.deepEqual(flagFilter('O_TMPFILE', 'x64'), { mask: 0o20200000, value: 0o20200000 });
	assert.deepEqual(flagFilter('O_SYNC', 'x64'), { mask: 0o4010000, value: 0o4010000 });
	assert.deepEqual(flagFilter('O_NDELAY'), flagFilter('O_NONBLOCK'));
	assert.deepEqual(flagFilter('O_DIRECTORY', 'arm64'), { mask: 0o40000, value: 0o40000 });
	assert.equal(flagFilter('O_BOGUS'), undefined);
	assert.equal(flagFilter('CREAT'), undefined);
	const matches = (name: string, flags: number) => {
		const f = flagFilter(name, 'x64')!;
		return (flags & f.mask) === f.value;
	};
	assert.equal(matches('O_RDONLY', 0o2000000), true);
	assert.equal(matches('O_RDONLY', 0o2000001), false);
	assert.equal(matches('O_TMPFILE', 0o200000), false); // O_DIRECTORY alone
	assert.equal(matches('O_SYNC', 0o10000), false); // O_DSYNC alone
});

test('flag names', () => {
	assert.deepEqual(flagNames(0, 'x64'), ['O_RDONLY']);
	assert.deepEqual(flagNames(0o1101, 'x64'), ['O_WRONLY', 'O_CREAT', 'O_TRUNC']);
	assert.deepEqual(flagNames(0o20200002, 'x64'), ['O_RDWR', 'O_TMPFILE']);
	assert.deepEqual(flagNames(0o4010000, 'x64'), ['O_RDONLY', 'O_SYNC']);
	assert.deepEqual(flagNames(0o200000 | 0o40000000, 'x64'), ['O_RDONLY', 'O_DIRECTORY', '040000000']);
	assert.deepEqual(flagNames(0o40000, 'arm64'), ['O_RDONLY', 'O_DIRECTORY']);
	assert.equal(hasMode(0o100), true);
	assert.equal(hasMode(0o20200000), true);
	assert.equal(hasMode(0o2), false);
});

test('-F paths: joined to the walked directory, or marked where the kernel could not tell', () => {
	const rel = { name: 'a/b.txt', dfd: 4 };
	assert.equal(displayPath(event({ ...rel, dirs: ['sub', 'tmp'], dir_state: DIR.OK }), true), '/tmp/sub/a/b.txt');
	assert.equal(displayPath(event({ ...rel, dirs: ['sub', 'tmp'], dir_state: DIR.OK }), false), 'a/b.txt');
	assert.equal(displayPath(event({ ...rel, dirs: [], dir_state: DIR.OK }), true), '/a/b.txt');
	assert.equal(displayPath(event({ ...rel, dirs: ['gone'], dir_state: DIR.DELETED }), true), '/gone (deleted)/a/b.txt');
	assert.equal(displayPath(event({ ...rel, dirs: ['c', 'b'], dir_state: DIR.TRUNCATED }), true), '[...]/b/c/a/b.txt');
	assert.equal(displayPath(event({ ...rel, dir_state: DIR.UNKNOWN }), true), '[unknown dir of fd 4]/a/b.txt');
	assert.equal(displayPath(event({ name: 'x', dfd: AT_FDCWD, dir_state: DIR.UNKNOWN }), true), '[unknown cwd]/x');
	assert.equal(displayPath(event({ name: '/abs', dir_state: DIR.NONE }), true), '/abs');
	assert.equal(displayPath(event({ name: '', dir_state: DIR.NONE }), true), '');
});

test('repeated options: -f collects every value, others keep the last one', () => {
	const argv = parse(opensnoop, ['-f', 'O_WRONLY', '--flag-filter', 'O_RDWR', '-p', '1', '-p', '2', '-n', 'a', '-n', 'b', '-e', '-e']);
	assert.deepEqual(argv.flagFilter, ['O_WRONLY', 'O_RDWR']);
	assert.equal(argv.pid, 2);
	assert.equal(argv.p, 2);
	assert.equal(argv.name, 'b');
	assert.equal(argv.extendedFields, true);
	assert.deepEqual(parse(opensnoop, ['-f', 'O_CREAT']).flagFilter, ['O_CREAT']);
});

test('usage errors: one line, exit 2, before the kernel is touched', () => {
	const cases: [string[], RegExp][] = [
		[['-f', 'O_BOGUS'], /--flag-filter O_BOGUS: unknown flag/],
		[['-f', 'O_RDONLY', '-f', 'O_NOPE'], /O_NOPE: unknown flag/],
		[['-p', '0'], /--pid 0: must be a positive integer/],
		[['-t', '-5'], /--tid -5: must be a positive integer/],
		[['-p', 'abc'], /--pid: expected a number/],
		[['-u', 'no_such_user_x'], /--uid no_such_user_x: no such user/],
		[['-d', '0'], /--duration 0: must be a positive number/],
		[['stray'], /unexpected argument 'stray'/],
		[['--bogus'], /Unknown argument/i],
	];
	for (const [args, re] of cases) {
		const r = runTool(['opensnoop', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, re);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.equal(r.stdout, '');
	}
	const h = runTool(['opensnoop', '--help']);
	assert.equal(h.code, 0);
	for (const o of ['-T', '-U', '-x', '-p', '-t', '-u', '-d', '-n', '-e', '-f', '-F', '--json', '--cgroup']) assert.match(h.stdout, new RegExp(`${o}[ ,]`));
});
