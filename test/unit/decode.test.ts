// Generated decoders against golden bytes, and the batch walker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError, cstr, forEachRecord, splitNul, u64 } from '../../lib/decode.js';
import { EXEC_EVENT_LAYOUT, EXEC_EVENT_MIN_SIZE, decodeExecEvent } from '../../lib/gen/execsnoop.js';

// struct exec_event as laid out by the C compiler (bpf/execsnoop.h), written
// out byte by byte: ts_ns=0x0102030405060708 pid=4660 tid=4661 ppid=1 uid=1000
// ret=-2 args_size=12 truncated=1 comm="bash" args="/bin/ls\0-la\0\0"
const golden = Buffer.from(
	'0807060504030201' + // ts_ns
		'34120000' + '35120000' + '01000000' + 'e8030000' + // pid tid ppid uid
		'feffffff' + '0c000000' + // ret args_size
		'01' + '00000000000000' + // args_truncated pad[7]
		'6261736800000000000000000000000000'.slice(0, 32) + // comm[16]
		Buffer.from('/bin/ls\0-la\0').toString('hex') +
		'0000', // 2 bytes past args_size inside the record
	'hex',
);

test('exec_event decoder reads the compiler layout', () => {
	const v = new DataView(golden.buffer, golden.byteOffset, golden.byteLength);
	const e = decodeExecEvent(v, 0, golden.length);
	assert.equal(e.ts_ns, 0x0102030405060708);
	assert.equal(e.pid, 4660);
	assert.equal(e.tid, 4661);
	assert.equal(e.ppid, 1);
	assert.equal(e.uid, 1000);
	assert.equal(e.ret, -2);
	assert.equal(e.args_size, 12);
	assert.equal(e.args_truncated, 1);
	assert.equal(e.comm, 'bash');
	assert.equal(e.args.length, 14);
	assert.deepEqual(splitNul(e.args.subarray(0, e.args_size)), ['/bin/ls', '-la']);
	assert.ok(!('pad' in e));
});

test('the layout fingerprint names every member at its offset', () => {
	assert.match(EXEC_EVENT_LAYOUT, /^exec_event:\d+:ts_ns@0\+8,pid@8\+4,.*comm@40\+16,args@56\+\d+$/);
	assert.equal(EXEC_EVENT_MIN_SIZE, 56);
});

test('a record shorter than the fixed part is refused', () => {
	const v = new DataView(golden.buffer, golden.byteOffset, 40);
	assert.throws(() => decodeExecEvent(v, 0, 40), DecodeError);
});

test('forEachRecord walks [len][cpu][data padded to 8] and stops at a torn record', () => {
	const rec = (s: string) => {
		const d = Buffer.from(s);
		const b = Buffer.alloc(8 + ((d.length + 7) & ~7));
		b.writeUInt32LE(d.length, 0);
		d.copy(b, 8);
		return b;
	};
	const batch = Buffer.concat([rec('abc'), rec('0123456789'), Buffer.from([50, 0, 0, 0, 0, 0, 0, 0, 1])]);
	const seen: string[] = [];
	const n = forEachRecord(batch, (v, o, len) => seen.push(Buffer.from(v.buffer, v.byteOffset + o, len).toString()));
	assert.equal(n, 2);
	assert.deepEqual(seen, ['abc', '0123456789']);
});

test('cstr stops at NUL or the field end; u64 is exact below 2^53', () => {
	const b = Buffer.from('abcdefgh', 'latin1');
	const v = new DataView(b.buffer, b.byteOffset, b.length);
	assert.equal(cstr(v, 0, 8), 'abcdefgh');
	assert.equal(cstr(new DataView(new Uint8Array([97, 98, 0, 99, 100]).buffer), 0, 5), 'ab');
	const w = Buffer.alloc(8);
	w.writeBigUInt64LE(2n ** 52n + 3n);
	assert.equal(u64(new DataView(w.buffer, w.byteOffset, 8), 0), 2 ** 52 + 3);
});

test('splitNul: a trailing NUL adds no empty argument, inner empty ones stay', () => {
	assert.deepEqual(splitNul(Buffer.from('a\0\0b\0')), ['a', '', 'b']);
	assert.deepEqual(splitNul(Buffer.from('a\0b')), ['a', 'b']);
	assert.deepEqual(splitNul(Buffer.alloc(0)), []);
});
