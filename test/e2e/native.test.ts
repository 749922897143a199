// The addon's contract, against the real kernel: handles, lifetimes, map
// operations, errors, batching.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { forEachRecord } from '../../lib/decode.js';
import { decodeExecEvent } from '../../lib/gen/execsnoop.js';
import { native, packageRoot } from '../../lib/native.js';
import type { NativeObject } from '../../lib/native.js';
import { bpfLinkIds, linksStillPresent, marker, requireRoot, sleep } from './helpers.js';

const OBJ = join(packageRoot, 'bpf', 'execsnoop.bpf.o');
const FAIL_PROGS = ['enter_execve', 'enter_execveat', 'exit_execve', 'exit_execveat', 'raw_sys_enter', 'raw_sys_exit'];

function loaded(): NativeObject {
	const o = new (native().BpfObject)(OBJ, 'execsnoop');
	for (const p of FAIL_PROGS) o.setAutoload(p, false);
	o.load();
	return o;
}

test('close is idempotent and an object closes its links and readers', async (t) => {
	if (!requireRoot(t)) return;
	const o = loaded();
	const l = o.attach('exec_success');
	const r = o.ringBuffer('events', () => {}, { drainMs: 10 });
	const ids = bpfLinkIds(process.pid);
	assert.ok(ids.length >= 1);
	o.close();
	o.close();
	assert.ok(o.isClosed() && l.isClosed() && r.isClosed());
	l.close();
	assert.deepEqual(linksStillPresent(ids), []);
	assert.throws(() => o.maps(), /closed/);
});

test('a link stays attached when its JS wrapper is garbage collected', async (t) => {
	if (!requireRoot(t)) return;
	setFlagsFromString('--expose-gc');
	const gc = runInNewContext('gc') as () => void;
	const o = loaded();
	o.attach('exec_success'); // wrapper dropped on purpose
	let events = 0;
	o.ringBuffer('events', (b) => (events += forEachRecord(b, () => {})), { drainMs: 10 });
	gc();
	gc();
	await sleep(50);
	spawnSync('/bin/true', [marker()]);
	await sleep(200);
	o.close();
	assert.ok(events >= 1, 'no events after GC: the link was detached');
});

test('one JS call per batch: a burst arrives in fewer calls than events', async (t) => {
	if (!requireRoot(t)) return;
	const o = loaded();
	const mk = marker('batch');
	const r = { calls: 0, mine: 0 };
	const reader = o.ringBuffer('events', (b) => {
		r.calls++;
		forEachRecord(b, (v, off, len) => {
			const e = decodeExecEvent(v, off, len);
			if (Buffer.from(e.args).includes(mk)) r.mine++;
		});
	}, { drainMs: 0 });
	o.attach('exec_success');
	// the whole burst happens while the event loop is blocked in spawnSync
	for (let i = 0; i < 50; i++) spawnSync('/bin/true', [`${mk}-${i}`]);
	await sleep(100);
	reader.consume();
	o.close();
	assert.equal(r.mine, 50);
	assert.ok(r.calls < 50, `${r.calls} calls for 50 events`);
});

test('map operations: update, lookup, delete, dump (hash and per-CPU)', async (t) => {
	if (!requireRoot(t)) return;
	const o = loaded();
	t.after(() => o.close());
	const maps = Object.fromEntries(o.maps().map((m) => [m.name, m]));
	const starts = maps.starts;
	assert.equal(starts.keySize, 4);
	assert.equal(starts.valueSize, 16);
	const key = (n: number) => Buffer.from(new Uint32Array([n]).buffer);
	for (let i = 1; i <= 10; i++) o.mapUpdate('starts', key(0x7fff0000 + i), Buffer.alloc(16, i));
	assert.deepEqual(o.mapLookup('starts', key(0x7fff0003)), Buffer.alloc(16, 3));
	assert.equal(o.mapLookup('starts', key(1)), null);
	assert.equal(o.mapDelete('starts', key(0x7fff0003)), true);
	assert.equal(o.mapDelete('starts', key(0x7fff0003)), false);
	const d = o.mapDump('starts');
	const mine = [];
	for (let i = 0; i < d.count; i++) {
		const k = d.keys.readUInt32LE(i * 4);
		if (k > 0x7fff0000 && k <= 0x7fff000a) mine.push([k - 0x7fff0000, d.values[i * 16]]);
	}
	assert.deepEqual(mine.sort((a, b) => a[0] - b[0]), [1, 2, 4, 5, 6, 7, 8, 9, 10].map((i) => [i, i]));
	const del = o.mapDump('starts', { delete: true });
	assert.ok(del.count >= 9);
	assert.equal(o.mapLookup('starts', key(0x7fff0001)), null);
	// per-CPU values: one 8-byte slot per possible CPU
	const drops = maps.drops;
	assert.equal(drops.valueBufferSize, 8 * native().numPossibleCpus());
	const v = Buffer.alloc(drops.valueBufferSize);
	v.writeBigUInt64LE(5n, 0);
	o.mapUpdate('drops', key(0), v);
	assert.equal(o.mapLookup('drops', key(0))!.readBigUInt64LE(0), 5n);
	assert.throws(() => o.mapLookup('drops', Buffer.alloc(3)), /key: 3 bytes, expected 4/);
});

test('errors carry {operation, errno, code}; globals are checked by name and size', async (t) => {
	if (!requireRoot(t)) return;
	const o = new (native().BpfObject)(OBJ, 'execsnoop');
	t.after(() => o.close());
	assert.throws(() => o.setGlobal('targ_uid', Buffer.alloc(2)), /size 2, expected 4/);
	assert.throws(() => o.setGlobal('no_such_var', Buffer.alloc(4)), (e: any) => e.code === 'ENOENT' && e.errno === 2);
	assert.throws(() => o.mapLookup('starts', Buffer.alloc(4)), /not loaded/);
	assert.throws(() => o.attach('exec_success'), /not loaded/);
	assert.throws(() => new (native().BpfObject)('/nonexistent.bpf.o'), (e: any) => e.operation === 'bpf_object__open' && e.code === 'ENOENT');
	const layout = o.structLayout('exec_event')!;
	assert.equal(layout.members[0].name, 'ts_ns');
	assert.equal(o.structLayout('no_such_struct'), null);
});

test('the monotonic-to-realtime offset matches the wall clock', (t) => {
	if (!requireRoot(t)) return;
	const n = native();
	const epochMs = Number((n.monotonicNs() + n.clockOffsetNs()) / 1000000n);
	assert.ok(Math.abs(epochMs - Date.now()) < 50);
});
