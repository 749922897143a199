// Histogram printing against BCC's exact text (src/python/bcc/table.py
// _print_log2_hist / _print_linear_hist, run on the same bucket arrays: BCC's
// slot i+1 is our slot i), the JSON form, per-CPU sums and map grouping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	formatLinear, formatLog2, formatSections, groupSlots, histogramJson, log2Bounds, stars, sumPerCpuU64,
} from '../../lib/histogram.js';

/** Slot arrays from {slot: count}. */
function slots(d: Record<number, number>, n = 64): number[] {
	const v = new Array<number>(n).fill(0);
	for (const [k, c] of Object.entries(d)) v[Number(k)] = c;
	return v;
}

// What BCC printed for each case below.
const BCC: Record<string, string[]> = {
	narrow: [
		'     usecs               : count     distribution',
		'         0 -> 1          : 1        |***                                     |',
		'         2 -> 3          : 0        |                                        |',
		'         4 -> 7          : 0        |                                        |',
		'         8 -> 15         : 7        |***********************                 |',
		'        16 -> 31         : 12       |****************************************|',
		'        32 -> 63         : 3        |**********                              |',
		'        64 -> 127        : 0        |                                        |',
		'       128 -> 255        : 0        |                                        |',
		'       256 -> 511        : 0        |                                        |',
		'       512 -> 1023       : 1        |***                                     |',
	],
	edge31: [
		'     usecs               : count     distribution',
		'         0 -> 1          : 0        |                                        |',
		'         2 -> 3          : 0        |                                        |',
		'         4 -> 7          : 2        |****************                        |',
		'         8 -> 15         : 0        |                                        |',
		'        16 -> 31         : 0        |                                        |',
		'        32 -> 63         : 0        |                                        |',
		'        64 -> 127        : 0        |                                        |',
		'       128 -> 255        : 0        |                                        |',
		'       256 -> 511        : 0        |                                        |',
		'       512 -> 1023       : 0        |                                        |',
		'      1024 -> 2047       : 0        |                                        |',
		'      2048 -> 4095       : 0        |                                        |',
		'      4096 -> 8191       : 0        |                                        |',
		'      8192 -> 16383      : 0        |                                        |',
		'     16384 -> 32767      : 0        |                                        |',
		'     32768 -> 65535      : 0        |                                        |',
		'     65536 -> 131071     : 0        |                                        |',
		'    131072 -> 262143     : 0        |                                        |',
		'    262144 -> 524287     : 0        |                                        |',
		'    524288 -> 1048575    : 0        |                                        |',
		'   1048576 -> 2097151    : 0        |                                        |',
		'   2097152 -> 4194303    : 0        |                                        |',
		'   4194304 -> 8388607    : 0        |                                        |',
		'   8388608 -> 16777215   : 0        |                                        |',
		'  16777216 -> 33554431   : 0        |                                        |',
		'  33554432 -> 67108863   : 0        |                                        |',
		'  67108864 -> 134217727  : 0        |                                        |',
		' 134217728 -> 268435455  : 0        |                                        |',
		' 268435456 -> 536870911  : 0        |                                        |',
		' 536870912 -> 1073741823 : 0        |                                        |',
		'1073741824 -> 2147483647 : 0        |                                        |',
		'2147483648 -> 4294967295 : 5        |****************************************|',
	],
	wide32: [
		'               nsecs                         : count     distribution',
		'                   0 -> 1                    : 0        |                    |',
		'                   2 -> 3                    : 100      |********************|',
		'                   4 -> 7                    : 0        |                    |',
		'                   8 -> 15                   : 0        |                    |',
		'                  16 -> 31                   : 0        |                    |',
		'                  32 -> 63                   : 0        |                    |',
		'                  64 -> 127                  : 0        |                    |',
		'                 128 -> 255                  : 0        |                    |',
		'                 256 -> 511                  : 0        |                    |',
		'                 512 -> 1023                 : 0        |                    |',
		'                1024 -> 2047                 : 0        |                    |',
		'                2048 -> 4095                 : 0        |                    |',
		'                4096 -> 8191                 : 0        |                    |',
		'                8192 -> 16383                : 0        |                    |',
		'               16384 -> 32767                : 0        |                    |',
		'               32768 -> 65535                : 0        |                    |',
		'               65536 -> 131071               : 0        |                    |',
		'              131072 -> 262143               : 0        |                    |',
		'              262144 -> 524287               : 0        |                    |',
		'              524288 -> 1048575              : 0        |                    |',
		'             1048576 -> 2097151              : 0        |                    |',
		'             2097152 -> 4194303              : 0        |                    |',
		'             4194304 -> 8388607              : 0        |                    |',
		'             8388608 -> 16777215             : 0        |                    |',
		'            16777216 -> 33554431             : 0        |                    |',
		'            33554432 -> 67108863             : 0        |                    |',
		'            67108864 -> 134217727            : 0        |                    |',
		'           134217728 -> 268435455            : 0        |                    |',
		'           268435456 -> 536870911            : 0        |                    |',
		'           536870912 -> 1073741823           : 0        |                    |',
		'          1073741824 -> 2147483647           : 0        |                    |',
		'          2147483648 -> 4294967295           : 0        |                    |',
		'          4294967296 -> 8589934591           : 4        |                    |',
	],
	wide63: [
		'               usecs                         : count     distribution',
		'                   0 -> 1                    : 0        |                    |',
		'                   2 -> 3                    : 0        |                    |',
		'                   4 -> 7                    : 0        |                    |',
		'                   8 -> 15                   : 0        |                    |',
		'                  16 -> 31                   : 0        |                    |',
		'                  32 -> 63                   : 0        |                    |',
		'                  64 -> 127                  : 0        |                    |',
		'                 128 -> 255                  : 0        |                    |',
		'                 256 -> 511                  : 0        |                    |',
		'                 512 -> 1023                 : 0        |                    |',
		'                1024 -> 2047                 : 0        |                    |',
		'                2048 -> 4095                 : 0        |                    |',
		'                4096 -> 8191                 : 0        |                    |',
		'                8192 -> 16383                : 0        |                    |',
		'               16384 -> 32767                : 0        |                    |',
		'               32768 -> 65535                : 0        |                    |',
		'               65536 -> 131071               : 0        |                    |',
		'              131072 -> 262143               : 0        |                    |',
		'              262144 -> 524287               : 0        |                    |',
		'              524288 -> 1048575              : 0        |                    |',
		'             1048576 -> 2097151              : 0        |                    |',
		'             2097152 -> 4194303              : 0        |                    |',
		'             4194304 -> 8388607              : 0        |                    |',
		'             8388608 -> 16777215             : 0        |                    |',
		'            16777216 -> 33554431             : 0        |                    |',
		'            33554432 -> 67108863             : 0        |                    |',
		'            67108864 -> 134217727            : 0        |                    |',
		'           134217728 -> 268435455            : 0        |                    |',
		'           268435456 -> 536870911            : 0        |                    |',
		'           536870912 -> 1073741823           : 0        |                    |',
		'          1073741824 -> 2147483647           : 0        |                    |',
		'          2147483648 -> 4294967295           : 0        |                    |',
		'          4294967296 -> 8589934591           : 0        |                    |',
		'          8589934592 -> 17179869183          : 0        |                    |',
		'         17179869184 -> 34359738367          : 0        |                    |',
		'         34359738368 -> 68719476735          : 0        |                    |',
		'         68719476736 -> 137438953471         : 0        |                    |',
		'        137438953472 -> 274877906943         : 0        |                    |',
		'        274877906944 -> 549755813887         : 0        |                    |',
		'        549755813888 -> 1099511627775        : 0        |                    |',
		'       1099511627776 -> 2199023255551        : 123456789 |********************|',
		'       2199023255552 -> 4398046511103        : 0        |                    |',
		'       4398046511104 -> 8796093022207        : 0        |                    |',
		'       8796093022208 -> 17592186044415       : 0        |                    |',
		'      17592186044416 -> 35184372088831       : 0        |                    |',
		'      35184372088832 -> 70368744177663       : 0        |                    |',
		'      70368744177664 -> 140737488355327      : 0        |                    |',
		'     140737488355328 -> 281474976710655      : 0        |                    |',
		'     281474976710656 -> 562949953421311      : 0        |                    |',
		'     562949953421312 -> 1125899906842623     : 0        |                    |',
		'    1125899906842624 -> 2251799813685247     : 0        |                    |',
		'    2251799813685248 -> 4503599627370495     : 0        |                    |',
		'    4503599627370496 -> 9007199254740991     : 0        |                    |',
		'    9007199254740992 -> 18014398509481983    : 0        |                    |',
		'   18014398509481984 -> 36028797018963967    : 0        |                    |',
		'   36028797018963968 -> 72057594037927935    : 0        |                    |',
		'   72057594037927936 -> 144115188075855871   : 0        |                    |',
		'  144115188075855872 -> 288230376151711743   : 0        |                    |',
		'  288230376151711744 -> 576460752303423487   : 0        |                    |',
		'  576460752303423488 -> 1152921504606846975  : 0        |                    |',
		' 1152921504606846976 -> 2305843009213693951  : 0        |                    |',
		' 2305843009213693952 -> 4611686018427387903  : 0        |                    |',
		' 4611686018427387904 -> 9223372036854775807  : 0        |                    |',
		' 9223372036854775808 -> 18446744073709551615 : 1        |                    |',
	],
	strip: [
		'     msecs               : count     distribution',
		'        32 -> 63         : 2        |********                                |',
		'        64 -> 127        : 0        |                                        |',
		'       128 -> 255        : 9        |****************************************|',
	],
	single: [
		'     usecs               : count     distribution',
		'         0 -> 1          : 1        |****************************************|',
	],
	big: [
		'     usecs               : count     distribution',
		'         0 -> 1          : 0        |                                        |',
		'         2 -> 3          : 0        |                                        |',
		'         4 -> 7          : 0        |                                        |',
		'         8 -> 15         : 0        |                                        |',
		'        16 -> 31         : 0        |                                        |',
		'        32 -> 63         : 0        |                                        |',
		'        64 -> 127        : 0        |                                        |',
		'       128 -> 255        : 0        |                                        |',
		'       256 -> 511        : 0        |                                        |',
		'       512 -> 1023       : 0        |                                        |',
		'      1024 -> 2047       : 123456789 |****************************************|',
		'      2048 -> 4095       : 1        |                                        |',
	],
	linear: [
		'     kbytes        : count     distribution',
		'        0          : 3        |************                            |',
		'        1          : 0        |                                        |',
		'        2          : 10       |****************************************|',
		'        3          : 0        |                                        |',
		'        4          : 0        |                                        |',
		'        5          : 1        |****                                    |',
		'        6          : 7        |****************************            |',
	],
};

test('log2: BCC text, narrow layout', () => {
	assert.deepEqual(formatLog2(slots({ 0: 1, 3: 7, 4: 12, 5: 3, 9: 1 }), 'usecs'), BCC.narrow);
});

test('log2: a value up to 2^32-1 keeps the narrow layout (BCC idx_max 32)', () => {
	assert.deepEqual(formatLog2(slots({ 31: 5, 2: 2 }), 'usecs'), BCC.edge31);
});

test('log2: values of 2^32 and more switch to the wide layout with a 20-star bar', () => {
	assert.deepEqual(formatLog2(slots({ 32: 4, 1: 100 }), 'nsecs'), BCC.wide32);
});

test('log2: the last 64-bit slot prints exact bounds', () => {
	assert.deepEqual(formatLog2(slots({ 63: 1, 40: 123456789 }), 'usecs'), BCC.wide63);
});

test('log2: strip leading zero rows', () => {
	assert.deepEqual(formatLog2(slots({ 5: 2, 7: 9 }), 'msecs', { stripLeadingZero: true }), BCC.strip);
});

test('log2: one value in the first slot; counts wider than the column', () => {
	assert.deepEqual(formatLog2(slots({ 0: 1 }), 'usecs'), BCC.single);
	assert.deepEqual(formatLog2(slots({ 10: 123456789, 11: 1 }), 'usecs'), BCC.big);
});

test('log2: an empty histogram prints nothing, trailing empty slots are omitted', () => {
	assert.deepEqual(formatLog2(slots({}), 'usecs'), []);
	const l = formatLog2(slots({ 2: 1 }), 'usecs');
	assert.equal(l.length, 1 + 3);
	assert.match(l[3], /^ {9}4 -> 7 /);
});

test('linear: BCC text', () => {
	const v = new Array<number>(1025).fill(0);
	v[0] = 3; v[2] = 10; v[5] = 1; v[6] = 7;
	assert.deepEqual(formatLinear(v, 'kbytes'), BCC.linear);
	assert.deepEqual(formatLinear([0, 0], 'kbytes'), []);
});

test('stars: floor of the share, capped, + when over the max', () => {
	assert.equal(stars(3, 7, 40), '*'.repeat(17));
	assert.equal(stars(7, 7, 40), '*'.repeat(40));
	assert.equal(stars(1, 100, 40), '');
	assert.equal(stars(9, 7, 10), '*'.repeat(9) + '+');
	assert.equal(stars(5, 0, 40), '');
});

test('sections: a blank line and "name = label" before each histogram', () => {
	const out = formatSections(
		[
			{ name: 'disk', label: 'vda', slots: slots({ 1: 2 }) },
			{ name: 'disk', label: 'sdb', slots: slots({ 0: 1 }) },
		],
		'usecs',
	);
	assert.deepEqual(out, [
		'',
		'disk = vda',
		'     usecs               : count     distribution',
		'         0 -> 1          : 0        |                                        |',
		'         2 -> 3          : 2        |****************************************|',
		'',
		'disk = sdb',
		'     usecs               : count     distribution',
		'         0 -> 1          : 1        |****************************************|',
	]);
	// an unkeyed histogram has no header line
	assert.deepEqual(formatSections([{ slots: slots({ 0: 1 }) }], 'usecs'), BCC.single);
});

test('json: buckets with inclusive bounds, the key, unit and timestamp', () => {
	const h = histogramJson({ name: 'disk', label: 'vda', keyJson: { dev: '254:0' }, slots: slots({ 0: 1, 3: 4 }) }, 'usecs', 1700000000.5);
	assert.deepEqual(h, {
		type: 'histogram',
		timestamp: 1700000000.5,
		unit: 'usecs',
		key: { disk: 'vda', dev: '254:0' },
		total_count: 5,
		buckets: [
			{ low: 0, high: 1, count: 1 },
			{ low: 2, high: 3, count: 0 },
			{ low: 4, high: 7, count: 0 },
			{ low: 8, high: 15, count: 4 },
		],
	});
	assert.equal(histogramJson({ slots: slots({}) }, 'msecs', 1).key, null);
	assert.deepEqual(JSON.parse(JSON.stringify(histogramJson({ slots: slots({ 1: 1 }) }, 'msecs', 1))).buckets[1], { low: 2, high: 3, count: 1 });
	assert.deepEqual(log2Bounds(63), [1n << 63n, (1n << 64n) - 1n]);
});

test('per-CPU values: each u64 word summed over the CPU copies', () => {
	// 3 CPUs, a 16-byte value: words at 0 and 8
	const b = Buffer.alloc(48);
	for (let cpu = 0; cpu < 3; cpu++) {
		b.writeBigUInt64LE(BigInt(cpu + 1), cpu * 16);
		b.writeBigUInt64LE(10n, cpu * 16 + 8);
	}
	assert.deepEqual(sumPerCpuU64(b, 16), [6, 30]);
	const c = Buffer.alloc(32);
	c.writeBigUInt64LE(5n, 0);
	c.writeBigUInt64LE(7n, 24);
	assert.deepEqual(sumPerCpuU64(c, 8), [12]);
});

test('groupSlots: map entries grouped by section and slot', () => {
	// keys: u32 section, u32 slot; values: u64 count on 2 CPUs
	const entries: [number, number, number, number][] = [[1, 3, 2, 1], [2, 0, 1, 0], [1, 5, 0, 4], [1, 99, 1, 1]];
	const keys = Buffer.alloc(entries.length * 8);
	const values = Buffer.alloc(entries.length * 16);
	entries.forEach(([s, slot, a, b], i) => {
		keys.writeUInt32LE(s, i * 8);
		keys.writeUInt32LE(slot, i * 8 + 4);
		values.writeBigUInt64LE(BigInt(a), i * 16);
		values.writeBigUInt64LE(BigInt(b), i * 16 + 8);
	});
	const g = groupSlots(
		{ keys, values, count: entries.length },
		8,
		16,
		(k) => ({ section: String(k.readUInt32LE(0)), slot: k.readUInt32LE(4) }),
		(v) => sumPerCpuU64(v, 8)[0],
	);
	assert.deepEqual([...g.keys()], ['1', '2']);
	assert.deepEqual(g.get('1'), slots({ 3: 3, 5: 4 }));
	assert.deepEqual(g.get('2'), slots({ 0: 1 }));
});
