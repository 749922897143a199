// The command line without privileges: help, version, unknown tools, and
// bad options refused (exit 2, one line with a hint) before the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTool } from '../e2e/helpers.js';

test('ebpf-tools --help lists the tools; --version prints the version', () => {
	const h = runTool(['--help']);
	assert.equal(h.code, 0);
	assert.match(h.stdout, /^Usage: ebpf-tools <tool> \[options\]/);
	assert.match(h.stdout, /^ {2}execsnoop +Trace new processes/m);
	const v = runTool(['--version']);
	assert.equal(v.code, 0);
	assert.match(v.stdout, /^ebpf-tools \d+\.\d+\.\d+\n$/);
});

test('no tool: usage on stderr, exit 2; unknown tool: lists tools, exit 2', () => {
	const none = runTool([]);
	assert.equal(none.code, 2);
	assert.match(none.stderr, /Usage: ebpf-tools/);
	const bad = runTool(['nosuchtool']);
	assert.equal(bad.code, 2);
	assert.equal(bad.stderr.trim().split('\n').length, 1);
	assert.match(bad.stderr, /unknown tool 'nosuchtool' \(tools: .*execsnoop/);
});

test('execsnoop --help shows BCC options, common options and examples', () => {
	const h = runTool(['execsnoop', '--help']);
	assert.equal(h.code, 0);
	for (const opt of ['-T, --time', '-t, --timestamp', '-x, --fails', '-u, --uid', '-q, --quote', '-n, --name', '-l, --line', '--max-args', '-P, --ppid', '-U, --print-uid', '-c, --cgroup', '--json', '-v, --verbose'])
		assert.ok(h.stdout.includes(opt), `help lacks ${opt}`);
	assert.match(h.stdout, /Examples:/);
	assert.ok(h.stdout.split('\n').every((l) => l.length <= 100));
});

test('bad options: exit 2 with one line and a hint, and no stack trace', () => {
	const cases: [string[], RegExp][] = [
		[['--max-args', '0'], /--max-args 0: must be an integer from 1 to 60/],
		[['--max-args', 'x'], /--max-args: expected a number/],
		[['-u', 'no-such-user-xyz'], /--uid no-such-user-xyz: no such user/],
		[['-n', '('], /--name \(: not a valid regular expression/],
		[['-l', '[a'], /--line \[a: not a valid regular expression/],
		[['--bogus'], /Unknown argument: bogus/],
		[['-P', '-3'], /--ppid -3: must be a positive PID/],
		[['--cgroup', '/nonexistent/cg'], /--cgroup \/nonexistent\/cg: no such directory/],
		[['--cgroup', '/tmp'], /--cgroup \/tmp: not a cgroup v2 directory/],
		[['--duration', '0'], /--duration 0: must be a positive number/],
		[['extra'], /unexpected argument 'extra'/],
	];
	for (const [args, re] of cases) {
		const r = runTool(['execsnoop', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		const lines = r.stderr.trim().split('\n');
		assert.equal(lines.length, 1, r.stderr);
		assert.match(lines[0], /^execsnoop: /);
		assert.match(lines[0], re);
		assert.match(lines[0], /\(hint: /);
		assert.equal(r.stdout, '');
	}
});
