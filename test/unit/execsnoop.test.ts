// execsnoop's text formatting against BCC's layout, and its argument rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecEvent } from '../../lib/gen/execsnoop.js';
import { Columns } from '../../lib/output.js';
import { execArgs, formatArgs } from '../../tools/execsnoop.js';

const ev = (args: string, truncated = 0): ExecEvent => {
	const b = Buffer.from(args);
	return { ts_ns: 0, pid: 1234, tid: 1234, ppid: 1, uid: 0, ret: 0, args_size: b.length, args_truncated: truncated, comm: 'ls', args: b };
};

test('BCC header and row layout: %-16s %-7d %-7s %3s %s', () => {
	type R = { comm: string; pid: number; ppid: number; ret: number; args: string };
	const cols = new Columns<R>([
		{ header: 'PCOMM', width: 16, text: (e) => e.comm },
		{ header: 'PID', width: 7, text: (e) => String(e.pid) },
		{ header: 'PPID', width: 7, text: (e) => String(e.ppid) },
		{ header: 'RET', width: 3, right: true, text: (e) => String(e.ret) },
		{ header: 'ARGS', text: (e) => e.args },
	]);
	assert.equal(cols.header(), 'PCOMM            PID     PPID    RET ARGS');
	assert.equal(cols.row({ comm: 'ls', pid: 4132, ppid: 3939, ret: 0, args: '/bin/ls -l' }), 'ls               4132    3939      0 /bin/ls -l');
	assert.equal(cols.row({ comm: 'x', pid: 1, ppid: 1, ret: -2, args: 'y' }), 'x                1       1        -2 y');
});

test('--max-args cuts and marks " ..."; a cut blob is marked too', () => {
	assert.deepEqual(execArgs(ev('a\0b\0c\0'), 2), { argv: ['a', 'b'], cut: true });
	assert.deepEqual(execArgs(ev('a\0b\0'), 2), { argv: ['a', 'b'], cut: false });
	assert.deepEqual(execArgs(ev('a\0b', 1), 20), { argv: ['a', 'b'], cut: true });
	assert.equal(formatArgs(['a', 'b'], true, false), 'a b ...');
});

test('-q quotes every argument and escapes inner quotes like BCC', () => {
	assert.equal(formatArgs(['echo', 'say "hi"'], false, true), '"echo" "say \\"hi\\""');
});

test('bytes past args_size (perf buffer padding) are not arguments', () => {
	const e = ev('ls\0-l\0');
	e.args = Buffer.from('ls\0-l\0\0\0');
	assert.deepEqual(execArgs(e, 20).argv, ['ls', '-l']);
});
