// The prebuilt addon: loads without privileges, links libbpf/libelf/zlib
// statically, and is what node-gyp-build picks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { native, packageRoot } from '../../lib/native.js';

const prebuilt = join(packageRoot, 'prebuilds', `linux-${process.arch}`, 'node.napi.glibc.node');

test('the prebuilt addon needs no libbpf, libelf or zlib shared library', () => {
	const ldd = execFileSync('ldd', [prebuilt], { encoding: 'utf8' });
	assert.doesNotMatch(ldd, /libbpf|libelf|libz\.so/);
	assert.match(ldd, /libc\.so/);
});

test('the addon loads and reports its statically linked libbpf', () => {
	const n = native();
	assert.match(n.libbpfVersion, /^v1\.\d+$/);
	assert.ok(n.numPossibleCpus() >= 1);
	for (const cls of ['BpfObject', 'Link', 'RingBuffer', 'PerfBuffer'] as const)
		assert.equal(typeof (n as unknown as Record<string, unknown>)[cls], 'function');
});

test('objects open without privileges and expose programs, maps and BTF layouts', () => {
	using o = new (native().BpfObject)(join(packageRoot, 'bpf', 'execsnoop.bpf.o'), 'execsnoop');
	assert.ok(o.programs().some((p) => p.name === 'exec_success' && p.section === 'tp_btf/sched_process_exec'));
	assert.ok(o.maps().some((m) => m.name === 'events' && m.type === 27));
	assert.equal(o.structLayout('exec_event')?.members.at(-1)?.name, 'args');
});
