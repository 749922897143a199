// The addon's contract, against the real kernel: handles, lifetimes, map
// operations, errors, batching.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { forEachRecord } from '../../lib/decode.js';
import { decodeExecEvent } from '../../lib/gen/execsnoop.js';
import { decodeStEvent } from '../../lib/gen/selftest.js';
import type { StEvent } from '../../lib/gen/selftest.js';
import { mapNativeError } from '../../lib/errors.js';
import { native, packageRoot } from '../../lib/native.js';
import type { NativeObject } from '../../lib/native.js';
import { bpfLinkIds, compileC, linksStillPresent, marker, requireRoot, sleep } from './helpers.js';

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
	{
		using scoped = loaded();
		scoped.attach('exec_success');
		assert.ok(!scoped.isClosed());
		var escaped = scoped;
	}
	assert.ok(escaped.isClosed(), '`using` did not close the object');
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
		// other processes exec too (system-wide): count the calls that carried ours
		let ours = 0;
		forEachRecord(b, (v, off, len) => {
			const e = decodeExecEvent(v, off, len);
			if (Buffer.from(e.args).includes(mk)) ours++;
		});
		if (ours) r.calls++;
		r.mine += ours;
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

const TARGET_C = `#include <stdio.h>
#include <sys/sdt.h>
__attribute__((noinline)) long st_target(long x) { __asm__ volatile(""); return x * 2; }
int main(void) {
	char line[16];
	while (fgets(line, sizeof(line), stdin)) {
		long r = st_target(21);
		DTRACE_PROBE1(ebt, hit, r);
		printf("done\\n");
		fflush(stdout);
	}
	return 0;
}
`;

/** File offset of a symbol: its address mapped through the segment that holds it. */
function symbolFileOffset(bin: string, sym: string): number {
	const syms = spawnSync('readelf', ['-sW', bin], { encoding: 'utf8' }).stdout;
	const m = new RegExp(`^\\s*\\d+: ([0-9a-f]+)\\s+\\d+ FUNC\\s+\\w+\\s+\\w+\\s+\\d+ ${sym}$`, 'm').exec(syms);
	assert.ok(m, `${sym} not in ${bin}`);
	const addr = parseInt(m[1], 16);
	const segs = spawnSync('readelf', ['-lW', bin], { encoding: 'utf8' }).stdout;
	for (const l of segs.split('\n')) {
		const s = /^\s*LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/.exec(l);
		if (!s) continue;
		const [off, vaddr, filesz] = [parseInt(s[1], 16), parseInt(s[2], 16), parseInt(s[3], 16)];
		if (addr >= vaddr && addr < vaddr + filesz) return addr - vaddr + off;
	}
	throw new Error('no segment');
}

test('attach types: uprobe by name and by offset, uretprobe, USDT with cookie, raw_tp, perf_event', async (t) => {
	if (!requireRoot(t)) return;
	const dir = mkdtempSync(join(tmpdir(), 'ebt-'));
	t.after(() => rmSync(dir, { recursive: true, force: true }));
	const bin = compileC('st_target', TARGET_C, dir);
	const proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'ignore'] });
	t.after(() => proc.kill());
	let out = '';
	proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
	const o = new (native().BpfObject)(join(packageRoot, 'bpf', 'selftest.bpf.o'), 'selftest');
	t.after(() => o.close());
	o.setGlobal('targ_pid', Buffer.from(new Uint32Array([proc.pid!]).buffer));
	o.load();
	const events: StEvent[] = [];
	o.ringBuffer('events', (b) => forEachRecord(b, (v, off, len) => events.push(decodeStEvent(v, off, len))), { drainMs: 5 });
	o.attachUprobe('on_uprobe', { path: bin, func: 'st_target', pid: proc.pid });
	o.attachUprobe('on_uprobe', { path: bin, offset: symbolFileOffset(bin, 'st_target') });
	o.attachUprobe('on_uretprobe', { path: bin, func: 'st_target', retprobe: true });
	o.attachUsdt('on_usdt', { path: bin, provider: 'ebt', name: 'hit', cookie: 7 });
	const n = native().numPossibleCpus();
	for (let cpu = 0; cpu < n; cpu++) o.attachPerfEvent('on_sample', { cpu, freq: 1000 });
	proc.stdin!.write('go\n');
	const t0 = Date.now();
	while ((events.length < 4 || !out) && Date.now() - t0 < 5000) await sleep(20);
	assert.equal(out, 'done\n');
	const byKind = (k: number) => events.filter((e) => e.kind === k);
	assert.deepEqual(byKind(1).map((e) => e.value), [21, 21]); // by name and by offset
	assert.deepEqual(byKind(2).map((e) => e.value), [42]);
	assert.deepEqual(byKind(3).map((e) => [e.value, e.cookie]), [[42, 7]]);
	assert.ok(events.every((e) => e.pid === proc.pid));
	// raw_tp: a second object without the pid filter sees an exec
	const r = new (native().BpfObject)(join(packageRoot, 'bpf', 'selftest.bpf.o'), 'selftest');
	t.after(() => r.close());
	r.load();
	const execs: StEvent[] = [];
	r.ringBuffer('events', (b) => forEachRecord(b, (v, off, len) => execs.push(decodeStEvent(v, off, len))), { drainMs: 5 });
	r.attachRawTracepoint('on_raw_exec', 'sched_process_exec');
	const child = spawnSync('/bin/true');
	await sleep(100);
	assert.ok(execs.some((e) => e.kind === 4 && e.pid === child.pid));
	// perf_event: the software clock sampled every CPU meanwhile
	const samples = o.mapLookup('samples', Buffer.alloc(4))!;
	let total = 0n;
	for (let off = 0; off < samples.length; off += 8) total += samples.readBigUInt64LE(off);
	assert.ok(total > 0n, 'no perf_event samples');
});

test('a verifier rejection maps to one line, with the full log kept for -v', (t) => {
	if (!requireRoot(t)) return;
	const n = native();
	n.takeLog();
	const o = new (n.BpfObject)(join(packageRoot, 'bpf', 'selftest.bpf.o'), 'selftest');
	t.after(() => o.close());
	o.setAutoload('bad_prog', true);
	let caught: unknown;
	try {
		o.load();
	} catch (e) {
		caught = e;
	}
	assert.ok(caught, 'load should fail');
	const log = n.takeLog();
	assert.match(log, /BEGIN PROG LOAD LOG/);
	const err = mapNativeError(caught, 'selftest: loading BPF programs', log);
	assert.equal(err.code, 'VERIFIER');
	assert.equal(err.exitCode, 1);
	assert.match(err.message, /^selftest: loading BPF programs: the verifier rejected a program: .*invalid mem access/);
	assert.ok(!err.message.includes('\n'));
	assert.equal(err.detail, log);
});
