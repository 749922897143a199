// Error mapping and preflight checks, from fake inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolError, formatError, mapNativeError, usage, verifierSummary } from '../../lib/errors.js';
import { cgroup2Mounts, checkPrivileges, effectiveCaps, kernelVersion } from '../../lib/preflight.js';
import { resolveUid } from '../../lib/users.js';

const nerr = (operation: string, code: string, errno: number) =>
	Object.assign(new Error(`${operation}: x`), { operation, code, errno });

test('EPERM without a verifier log is a permission problem with a hint', () => {
	const e = mapNativeError(nerr('bpf_object__load', 'EPERM', 1), 'execsnoop: loading');
	assert.equal(e.code, 'NOT_ROOT');
	assert.equal(e.exitCode, 1);
	// the tool's name once, though the context names it too
	assert.match(formatError('execsnoop', e), /^execsnoop: loading: permission denied .*\(hint: run as root/);
});

test('a verifier rejection is summarised from the last lines of its log', () => {
	const log = [
		"libbpf: prog 'x': BPF program load failed: Permission denied",
		"libbpf: prog 'x': -- BEGIN PROG LOAD LOG --",
		'0: (b7) r1 = 0',
		'1: (79) r2 = *(u64 *)(r1 +0)',
		'R1 invalid mem access \'scalar\'',
		'processed 2 insns (limit 1000000)',
		'-- END PROG LOAD LOG --',
	].join('\n');
	const e = mapNativeError(nerr('bpf_object__load', 'EACCES', 13), 'x: loading', log);
	assert.equal(e.code, 'VERIFIER');
	assert.match(e.message, /R1 invalid mem access 'scalar' \/ processed 2 insns/);
	assert.equal(e.hint, 'run with -v for the full verifier log');
	assert.equal(verifierSummary('a\nb\nc'), 'b / c');
});

test('a missing probe and a plain runtime error', () => {
	assert.equal(mapNativeError(nerr('bpf_program__attach_uprobe', 'ENOENT', 2), 'x').code, 'PROBE_NOT_FOUND');
	const r = mapNativeError(nerr('bpf_map_lookup_elem', 'EFAULT', 14), 'x');
	assert.equal(r.code, 'RUNTIME');
	assert.equal(r.exitCode, 1);
	assert.equal(mapNativeError(new TypeError('boom'), 'x').code, 'RUNTIME');
	const u = usage('bad');
	assert.ok(u instanceof ToolError);
	assert.equal(u.exitCode, 2);
});

test('capabilities: root, CAP_BPF+CAP_PERFMON, and neither', () => {
	assert.equal(effectiveCaps('Name:\tx\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
	checkPrivileges(1n << 21n);
	checkPrivileges((1n << 38n) | (1n << 39n));
	assert.throws(() => checkPrivileges(1n << 39n), /missing privileges: CAP_PERFMON/);
	assert.throws(() => checkPrivileges(0n), (e: ToolError) => e.code === 'NOT_ROOT' && !!e.hint);
});

test('kernel version, cgroup2 mounts and user names parse', () => {
	assert.deepEqual(kernelVersion('6.18.44-fc'), [6, 18]);
	const mi = '35 25 0:30 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n' +
		'36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n';
	assert.deepEqual(cgroup2Mounts(mi), ['/sys/fs/cgroup/unified']);
	assert.equal(resolveUid('0'), 0);
	assert.equal(resolveUid('root'), 0);
	assert.equal(resolveUid('no-such-user-xyz'), undefined);
});
