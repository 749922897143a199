// biolatency without privileges: request flags decoded from BTF (a synthetic
// blob with other numbers than today's kernel, and the running kernel's own),
// BCC's -e line and section names, disk name lookups, and option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskDev, diskName, formatReqFlags, inflight, mkdev, reqFlagsFromBtf } from '../../lib/blockdev.js';
import { Btf, kernelBtf } from '../../lib/btf.js';
import { extensionLine, sectionOf, unseenClassic } from '../../tools/biolatency.js';
import type { ClassicStart } from '../../tools/biolatency.js';
import { cgroup2Mounts } from '../../lib/preflight.js';
import { runTool } from '../e2e/helpers.js';

/** A little-endian BTF blob holding the given enums (32-bit, unsigned). */
function btfWithEnums(enums: Record<string, Record<string, number>>): Buffer {
	const strs: string[] = [''];
	const strOff = (s: string) => {
		const at = strs.join('\0').length + 1;
		strs.push(s);
		return at;
	};
	const types: Buffer[] = [];
	// type 1: int, so ids are not all enums
	const int = Buffer.alloc(16);
	int.writeUInt32LE(strOff('int'), 0);
	int.writeUInt32LE(1 << 24, 4);
	int.writeUInt32LE(4, 8);
	int.writeUInt32LE(32, 12);
	types.push(int);
	for (const [name, vals] of Object.entries(enums)) {
		const entries = Object.entries(vals);
		const t = Buffer.alloc(12 + 8 * entries.length);
		t.writeUInt32LE(strOff(name), 0);
		t.writeUInt32LE((6 << 24) | entries.length, 4);
		t.writeUInt32LE(4, 8);
		entries.forEach(([n, v], i) => {
			t.writeUInt32LE(strOff(n), 12 + i * 8);
			t.writeUInt32LE(v, 16 + i * 8);
		});
		types.push(t);
	}
	const typeSec = Buffer.concat(types);
	const strSec = Buffer.from(strs.join('\0') + '\0');
	const hdr = Buffer.alloc(24);
	hdr.writeUInt16LE(0xeb9f, 0);
	hdr.writeUInt8(1, 2);
	hdr.writeUInt32LE(24, 4);
	hdr.writeUInt32LE(0, 8);
	hdr.writeUInt32LE(typeSec.length, 12);
	hdr.writeUInt32LE(typeSec.length, 16);
	hdr.writeUInt32LE(strSec.length, 20);
	return Buffer.concat([hdr, typeSec, strSec]);
}

test('flags: op and flag bits come from the BTF enums, not from constants', () => {
	// a made-up kernel: 4 op bits, flags at other positions than Linux 6.x
	const btf = new Btf(
		btfWithEnums({
			req_opf: { REQ_OP_READ: 0, REQ_OP_WRITE: 1, REQ_OP_FLUSH: 2, REQ_OP_ZONE_APPEND: 13, REQ_OP_LAST: 14 },
			req_flag_bits: { __REQ_FAILFAST_DEV: 4, __REQ_SYNC: 5, __REQ_META: 6, __REQ_IDLE: 9, __REQ_NOWAIT: 12, __REQ_POLLED: 13 },
		}),
	);
	assert.deepEqual(btf.enumValues('req_opf')?.get('REQ_OP_ZONE_APPEND'), 13);
	const rf = reqFlagsFromBtf(btf)!;
	assert.equal(rf.opBits, 4);
	assert.equal(rf.mask, 0xf | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 12));
	assert.equal(formatReqFlags(rf, 1 | (1 << 5)), 'Sync-Write');
	assert.equal(formatReqFlags(rf, 0 | (1 << 5) | (1 << 9)), 'Idle-Sync-Read');
	assert.equal(formatReqFlags(rf, 13 | (1 << 12) | (1 << 6)), 'NoWait-Metadata-ZoneAppend');
	assert.equal(formatReqFlags(rf, 7), 'Unknown');
	// without the enums there is nothing to decode with
	assert.equal(reqFlagsFromBtf(new Btf(btfWithEnums({ req_op: { REQ_OP_READ: 0 } }))), undefined);
});

test('flags: the running kernel\'s BTF names today\'s O_DIRECT requests as BCC does', (t) => {
	if (!existsSync('/sys/kernel/btf/vmlinux')) return t.skip('no kernel BTF');
	const btf = kernelBtf();
	const rf = reqFlagsFromBtf(btf)!;
	const bits = btf.enumValues('req_flag_bits')!;
	const ops = (btf.enumValues('req_op') ?? btf.enumValues('req_opf'))!;
	const f = (...names: string[]) => names.reduce((a, n) => a | (1 << bits.get(n)!), 0);
	assert.equal(formatReqFlags(rf, ops.get('REQ_OP_WRITE')! | f('__REQ_SYNC', '__REQ_IDLE')), 'Idle-Sync-Write');
	assert.equal(formatReqFlags(rf, ops.get('REQ_OP_READ')! | f('__REQ_RAHEAD')), 'ReadAhead-Read');
	assert.equal(formatReqFlags(rf, ops.get('REQ_OP_WRITE_ZEROES')!), 'WriteZeros');
	assert.equal(formatReqFlags(rf, ops.get('REQ_OP_FLUSH')! | f('__REQ_PREFLUSH')), 'Flush', 'undecoded bits are masked out');
	assert.equal(rf.mask & (1 << bits.get('__REQ_PREFLUSH')!), 0);
	// tracepoint prototypes: block_rq_issue(rq) since 5.11
	assert.ok((btf.tracepointArgs('block_rq_issue') ?? 0) >= 1);
	assert.equal(btf.tracepointArgs('no_such_tracepoint_here'), undefined);
});

test('-e line: BCC\'s avg/total/count text, avg truncated', () => {
	assert.equal(extensionLine(2200, 5, 'usecs'), 'avg = 440 usecs, total: 2200 usecs, count: 5');
	assert.equal(extensionLine(53028, 2000, 'msecs'), 'avg = 26 msecs, total: 53028 msecs, count: 2000');
});

test('sections: disk and flags names; unknown disks print as ?', () => {
	const names = (d: number) => (d === mkdev(254, 0) ? 'vda' : undefined);
	assert.deepEqual(sectionOf({ dev: mkdev(254, 0), flags: 0 }, { disks: true }, undefined, names), {
		name: 'disk', label: 'vda', keyJson: { dev: '254:0' }, sort: 'vda',
	});
	assert.equal(sectionOf({ dev: mkdev(8, 16), flags: 0 }, { disks: true }, undefined, names).label, '?');
	assert.equal(sectionOf({ dev: 0, flags: 0 }, {}, undefined, names).name, undefined);
});

test('disk lookups through sysfs: whole disks, partitions, names', () => {
	const sys = mkdtempSync(join(tmpdir(), 'ebt-sysfs-'));
	try {
		mkdirSync(join(sys, 'block', 'vdz'), { recursive: true });
		writeFileSync(join(sys, 'block', 'vdz', 'dev'), '254:32\n');
		mkdirSync(join(sys, 'devices', 'vdz', 'vdz1'), { recursive: true });
		writeFileSync(join(sys, 'devices', 'vdz', 'uevent'), 'MAJOR=254\nMINOR=32\nDEVNAME=vdz\n');
		writeFileSync(join(sys, 'devices', 'vdz', 'vdz1', 'partition'), '1\n');
		mkdirSync(join(sys, 'class', 'block'), { recursive: true });
		symlinkSync(join(sys, 'devices', 'vdz', 'vdz1'), join(sys, 'class', 'block', 'vdz1'));
		mkdirSync(join(sys, 'dev', 'block'), { recursive: true });
		symlinkSync(join(sys, 'devices', 'vdz'), join(sys, 'dev', 'block', '254:32'));
		assert.deepEqual(diskDev('vdz', sys), { ok: true, dev: (254 << 20) | 32 });
		assert.deepEqual(diskDev('vdz1', sys), { ok: false, why: 'partition', parent: 'vdz' });
		assert.deepEqual(diskDev('nope', sys), { ok: false, why: 'missing' });
		assert.deepEqual(diskDev('../block/vdz', sys), { ok: false, why: 'missing' });
		assert.equal(diskName((254 << 20) | 32, sys), 'vdz');
		assert.equal(diskName((254 << 20) | 33, sys), undefined);
		writeFileSync(join(sys, 'devices', 'vdz', 'inflight'), '       2        5\n');
		assert.equal(inflight((254 << 20) | 32, sys), 7);
		assert.equal(inflight((254 << 20) | 33, sys), undefined);
	} finally {
		rmSync(sys, { recursive: true, force: true });
	}
});

test('classic tracepoints: unseen completions are the oldest starts beyond the disk\'s in-flight count', () => {
	const ms = 1_000_000n;
	const now = 1000n * ms;
	const st = (dev: number, ageMs: number, issued = true): ClassicStart => ({ key: Buffer.from([dev, ageMs]), dev, ts: now - BigInt(ageMs) * ms, issued });
	const a = [st(1, 50), st(1, 9), st(1, 30), st(1, 0), st(1, 20, false)];
	const b = [st(2, 40), st(2, 41)];
	const c = [st(3, 70)];
	// disk 1: three old issued starts and one in flight: the two oldest are unseen;
	// younger than 1 ms and -Q's inserted-only starts never count
	const got = unseenClassic([...a, ...b, ...c], new Map([[1, 1], [2, 2]]), now);
	assert.deepEqual(got.map((s) => [s.dev, Number((now - s.ts) / ms)]), [[1, 50], [1, 30]]);
	// nothing beyond what is in flight, or no count known (disk 3): nothing
	assert.deepEqual(unseenClassic(b, new Map([[2, 5]]), now), []);
	assert.deepEqual(unseenClassic(c, new Map(), now), []);
});

test('option errors: one line, exit 2, before the kernel is touched', () => {
	// a cgroup v2 directory, so that --cgroup's own check passes (none mounted: no such case)
	const cg = cgroup2Mounts()[0];
	const cases: [string[], RegExp][] = [
		[['-D', '-F'], /can only use -D or -F/],
		[['-d', 'no-such-disk-xyz'], /-d no-such-disk-xyz: no such disk/],
		[['0'], /interval '0': must be a positive number/],
		[['1', '0'], /count '0': must be a positive integer/],
		[['1', '2.5'], /count '2.5': must be a positive integer/],
		[['abc'], /interval 'abc'/],
		[['1', '2', '3'], /unexpected argument '3'/],
		[['--hook', 'kprobe'], /--hook kprobe: must be one of tp_btf, raw_tp, tracepoint/],
		[['-F', '--hook', 'tracepoint'], /-F needs the request's flags/],
	];
	if (cg) cases.push([['--cgroup', cg], /--cgroup is not supported/]);
	for (const [args, re] of cases) {
		const r = runTool(['biolatency', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, re);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.equal(r.stdout, '');
	}
});
