// memleak: BCC's report layout (order, top N, --sort count, frames with
// module and offset, lost stacks), finding the allocator library (-O) in a
// process's mappings or the ld.so cache, and the call names of the BPF enum.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MEMLEAK_KIND } from '../../lib/gen/memleak.js';
import { frameWithModule } from '../../lib/stacks.js';
import type { Frame } from '../../lib/stacks.js';
import { KIND_NAMES, findObject, formatReport, matchesObject, parseLdconfig } from '../../tools/memleak.js';
import type { StackInfo } from '../../tools/memleak.js';

const f = (name: string, offset: number, module?: string): Frame => ({ name, offset, module, kind: 'user', addr: 0x401000n, known: true });
const unknown = (module?: string): Frame => ({ name: '[unknown]', module, kind: 'user', addr: 0x7f00n, known: false });

const stacks: StackInfo[] = [
	{ stackId: 1, pid: 7, bytes: 3000, count: 30, frames: [f('leak_small', 0xe, '/tmp/x/leaker'), f('main', 0xa6, '/tmp/x/leaker'), f('__libc_start_call_main', 0x79, '/usr/lib/x86_64-linux-gnu/libc.so.6')] },
	{ stackId: 2, pid: 7, bytes: 150000, count: 30, frames: [f('leak_realloc', 0x1b, '/tmp/x/leaker'), unknown('/tmp/x/leaker'), unknown()] },
	{ stackId: 3, pid: 7, bytes: 720, count: 90, frames: [f('leak_many', 0x14, '/tmp/x/leaker')] },
	{ stackId: -17, pid: 7, bytes: 64, count: 2, frames: [] },
];

test('report: BCC layout, smallest first and largest last, sym+0xoff [module] frames', () => {
	assert.deepEqual(formatReport('10:11:12', 10, stacks, 'size', false).join('\n'), [
		'[10:11:12] Top 10 stacks with outstanding allocations:',
		'\t64 bytes in 2 allocations from stack\n\t\t[Missed User Stack]',
		'\t720 bytes in 90 allocations from stack\n\t\tleak_many+0x14 [leaker]',
		'\t3000 bytes in 30 allocations from stack\n\t\tleak_small+0xe [leaker]\n\t\tmain+0xa6 [leaker]\n\t\t__libc_start_call_main+0x79 [libc.so.6]',
		'\t150000 bytes in 30 allocations from stack\n\t\tleak_realloc+0x1b [leaker]\n\t\t[unknown] [leaker]\n\t\t[unknown]',
	].join('\n'));
});

test('report: -T keeps the largest N; --sort count orders by allocations; kernel placeholders', () => {
	const top2 = formatReport('00:00:00', 2, stacks, 'size', false);
	assert.equal(top2.length, 3);
	assert.match(top2[1], /^\t3000 bytes/);
	assert.match(top2[2], /^\t150000 bytes/);
	const byCount = formatReport('00:00:00', 1, stacks, 'count', false);
	assert.equal(byCount[1], '\t720 bytes in 90 allocations from stack\n\t\tleak_many+0x14 [leaker]');
	const k = formatReport('00:00:00', 10, [{ stackId: -12, pid: 0, bytes: 8, count: 1, frames: [] }], 'size', true);
	assert.equal(k[1], '\t8 bytes in 1 allocations from stack\n\t\t[Missed Kernel Stack]');
	assert.deepEqual(formatReport('00:00:00', 10, [], 'size', false), ['[00:00:00] Top 10 stacks with outstanding allocations:']);
});

test('frames: kernel symbols print [kernel], modules by base name', () => {
	assert.equal(frameWithModule({ name: 'kmalloc_trace', offset: 0x2d, module: '[kernel.kallsyms]', kind: 'kernel', addr: 1n, known: true }), 'kmalloc_trace+0x2d [kernel]');
	assert.equal(frameWithModule({ name: 'nf_hook', offset: 0x10, module: '[nf_tables]', kind: 'kernel', addr: 1n, known: true }), 'nf_hook+0x10 [nf_tables]');
	assert.equal(frameWithModule(unknown('/usr/lib/libfoo.so.1')), '[unknown] [libfoo.so.1]');
	assert.equal(frameWithModule(unknown()), '[unknown]');
});

test('-O: library names match their files (libc.so.6, libc-2.31.so), not their neighbours', () => {
	assert.ok(matchesObject('/usr/lib/x86_64-linux-gnu/libc.so.6', 'c'));
	assert.ok(matchesObject('/lib/x86_64-linux-gnu/libc-2.31.so', 'c'));
	assert.ok(matchesObject('/usr/lib/libjemalloc.so.2', 'jemalloc'));
	assert.ok(matchesObject('/usr/lib/libtcmalloc_minimal.so.4', 'tcmalloc_minimal'));
	assert.ok(matchesObject('/opt/app/libc.so.6', 'libc.so.6'));
	assert.ok(!matchesObject('/usr/lib/x86_64-linux-gnu/libcrypto.so.3', 'c'));
	assert.ok(!matchesObject('/usr/lib/x86_64-linux-gnu/libcap.so.2', 'c'));
	assert.ok(!matchesObject('/usr/lib/libtcmalloc_minimal.so.4', 'tcmalloc'));
});

test('-O: the ld.so cache keeps the first (preferred) entry of each name', () => {
	const m = parseLdconfig([
		'1234 libs found in cache `/etc/ld.so.cache\'',
		'\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
		'\tlibc.so.6 (libc6) => /lib32/libc.so.6',
		'\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2',
	].join('\n'));
	assert.equal(m.get('libc.so.6'), '/lib/x86_64-linux-gnu/libc.so.6');
	assert.equal(m.get('libjemalloc.so.2'), '/lib/x86_64-linux-gnu/libjemalloc.so.2');
	assert.equal(m.size, 2);
});

test('-O: the library a process maps is probed through its /proc/PID/root (containers)', () => {
	const proc = mkdtempSync(join(tmpdir(), 'ebt-proc-'));
	try {
		mkdirSync(join(proc, '4242'));
		writeFileSync(join(proc, '4242', 'maps'), [
			'55d0c0000000-55d0c0001000 r--p 00000000 08:01 1000 /usr/bin/app',
			'7f0000000000-7f0000028000 r--p 00000000 08:01 2000 /usr/lib/x86_64-linux-gnu/libcrypto.so.3',
			'7f1000000000-7f1000028000 r--p 00000000 08:01 3000 /usr/lib/x86_64-linux-gnu/libc.so.6',
			'7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]',
		].join('\n') + '\n');
		assert.equal(findObject('c', 4242, proc), `${proc}/4242/root/usr/lib/x86_64-linux-gnu/libc.so.6`);
		assert.equal(findObject('crypto', 4242, proc), `${proc}/4242/root/usr/lib/x86_64-linux-gnu/libcrypto.so.3`);
		assert.equal(findObject('/nonexistent/libx.so', 4242, proc), undefined);
	} finally {
		rmSync(proc, { recursive: true, force: true });
	}
});

test('call names follow enum memleak_kind of bpf/memleak.h', () => {
	assert.equal(KIND_NAMES[MEMLEAK_KIND.K_MALLOC], 'malloc');
	assert.equal(KIND_NAMES[MEMLEAK_KIND.K_POSIX_MEMALIGN], 'posix_memalign');
	assert.equal(KIND_NAMES[MEMLEAK_KIND.K_MUNMAP], 'munmap');
	assert.equal(KIND_NAMES[MEMLEAK_KIND.K_KMEM_CACHE], 'kmem_cache');
	assert.equal(KIND_NAMES.length, MEMLEAK_KIND.K_KINDS + 1);
});
