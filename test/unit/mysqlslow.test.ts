// mysqlslow: dispatch_command layouts from mangled names, query
// normalization for -s, the row layout, and the wire reassembly: headers and
// payloads read apart, together or in parts, commands timed to the first
// response write, error packets, prepared statements, lost framing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MYSQL_LAYOUT, WIRE_KIND } from '../../lib/gen/mysqlslow.js';
import { WireTracker, dispatchLayout, formatRow, normalize } from '../../tools/mysqlslow.js';
import type { Query } from '../../tools/mysqlslow.js';

test('dispatch_command: the argument layout from the mangled name', () => {
	assert.equal(dispatchLayout('_Z16dispatch_command19enum_server_commandP3THDPcjb'), MYSQL_LAYOUT.LAYOUT_MARIADB);
	assert.equal(dispatchLayout('_Z16dispatch_command19enum_server_commandP3THDPcj'), MYSQL_LAYOUT.LAYOUT_MARIADB);
	assert.equal(dispatchLayout('_Z16dispatch_commandP3THDPK8COM_DATA19enum_server_command'), MYSQL_LAYOUT.LAYOUT_MYSQL57);
	assert.equal(dispatchLayout('_Z16dispatch_commandv'), undefined);
	assert.equal(dispatchLayout('dispatch_command'), undefined);
});

test('normalize: literals, IN lists, comments and whitespace', () => {
	assert.equal(normalize("SELECT * FROM t WHERE id = 42 AND name = 'bob''s' /* x */"), 'SELECT * FROM t WHERE id = ? AND name = ?');
	assert.equal(normalize('select a from t where b in (1, 2,3) and c > -1.5e3'), 'select a from t where b in (?+) and c > ?');
	assert.equal(normalize('insert into t2 values ("x", 0x1F)  -- done\n'), 'insert into t2 values (?+)');
	assert.equal(normalize('select col1, t1.c2 from t1'), 'select col1, t1.c2 from t1');
	assert.equal(normalize('select sleep(0.02) as m123'), 'select sleep(?) as m123');
	// comment markers inside strings are text; MySQL's -- needs a space
	assert.equal(normalize("select * from t where name = 'a--b' and id = 1"), 'select * from t where name = ? and id = ?');
	assert.equal(normalize("select '#tag', 2"), 'select ?, ?');
	assert.equal(normalize('select 5--3'), 'select ?-?');
	assert.equal(normalize('select 1 -- the end'), 'select ?');
	// one-element IN lists and multi-row VALUES fold like longer ones; hex and bit literals
	assert.equal(normalize('select a from t where b in (1)'), 'select a from t where b in (?+)');
	assert.equal(normalize("insert into t values (1, 'a'), (2, 'b'), (3, 'c')"), 'insert into t values (?+)');
	assert.equal(normalize("select x'41', b'01'"), 'select ?, ?');
});

test('rows: BCC layout, errors marked, newlines folded', () => {
	const q: Query = { tsNs: 1_500_000_000, pid: 4242, ms: 12.3456, query: 'select 1\nfrom dual' };
	assert.equal(formatRow(q, 1_000_000_000), '0.500000       4242     12.346 select 1 from dual');
	assert.equal(formatRow({ ...q, error: 1146 }, 1_000_000_000), '0.500000       4242     12.346 [ERROR 1146] select 1 from dual');
});

const pkt = (seq: number, payload: Buffer) => Buffer.concat([Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq]), payload]);
const rx = (w: WireTracker, ts: number, bytes: Buffer, fd = 7, captured = bytes.length) =>
	w.event({ ts_ns: ts, pid: 1, fd, len: bytes.length, captured, kind: WIRE_KIND.WIRE_RX, data: new Uint8Array(bytes) });
const tx = (w: WireTracker, ts: number, bytes: Buffer, fd = 7) =>
	w.event({ ts_ns: ts, pid: 1, fd, len: bytes.length, captured: bytes.length, kind: WIRE_KIND.WIRE_TX, data: new Uint8Array(bytes) });
const query = (text: string) => pkt(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(text)]));

test('wire: a query read as header then payload, timed to the first response write', () => {
	const got: Query[] = [];
	const w = new WireTracker((q) => got.push(q));
	const p = query('select 1');
	rx(w, 1000, p.subarray(0, 4));
	rx(w, 2000, p.subarray(4));
	tx(w, 5_002_000, pkt(1, Buffer.from([0x01])));
	tx(w, 6_000_000, pkt(2, Buffer.from([0x03])));
	assert.deepEqual(got, [{ tsNs: 5_002_000, pid: 1, ms: 5, query: 'select 1' }]);
});

test('wire: two commands in one read, a payload in parts, per-connection state', () => {
	const got: Query[] = [];
	const w = new WireTracker((q) => got.push(q));
	const both = Buffer.concat([pkt(0, Buffer.from([0x0e])), query('select 2')]); // COM_PING, then a query
	rx(w, 1_000_000, both);
	const p = query('select 3');
	rx(w, 1_000_000, p.subarray(0, 6), 8);
	rx(w, 2_000_000, p.subarray(6), 8);
	tx(w, 3_000_000, pkt(1, Buffer.from([0x00, 0, 0])), 8);
	tx(w, 4_000_000, pkt(1, Buffer.from([0x00, 0, 0])));
	assert.deepEqual(got.map((q) => [q.query, q.ms]), [['select 3', 1], ['select 2', 3]]);
});

test('wire: an error packet gives the error code; a MySQL 8 query-attributes prefix is dropped', () => {
	const got: Query[] = [];
	const w = new WireTracker((q) => got.push(q));
	rx(w, 0, pkt(0, Buffer.concat([Buffer.from([0x03, 0x00, 0x01]), Buffer.from('select x')])));
	tx(w, 1_000_000, pkt(1, Buffer.from([0xff, 0x7a, 0x04, 0x23])));
	assert.deepEqual(got, [{ tsNs: 1_000_000, pid: 1, ms: 1, query: 'select x', error: 1146 }]);
});

test('wire: prepared statements are shown by their text at each execution', () => {
	const got: Query[] = [];
	const w = new WireTracker((q) => got.push(q));
	rx(w, 0, pkt(0, Buffer.concat([Buffer.from([0x16]), Buffer.from('select ? + 1')])));
	const ok = Buffer.alloc(12);
	ok[0] = 0x00;
	ok.writeUInt32LE(9, 1);
	tx(w, 1000, pkt(1, ok));
	const exec = Buffer.alloc(10);
	exec[0] = 0x17;
	exec.writeUInt32LE(9, 1);
	rx(w, 2_000_000, pkt(0, exec));
	tx(w, 4_000_000, pkt(1, Buffer.from([0x01])));
	exec.writeUInt32LE(10, 1);
	rx(w, 5_000_000, pkt(0, exec));
	tx(w, 6_000_000, pkt(1, Buffer.from([0x01])));
	assert.deepEqual(got.map((q) => [q.query, q.ms, q.prepared]), [['select ? + 1', 2, true], ['[prepared statement 10]', 1, true]]);
	// closing the descriptor forgets its statements
	w.event({ ts_ns: 7_000_000, pid: 1, fd: 7, len: 0, captured: 0, kind: WIRE_KIND.WIRE_CLOSE, data: new Uint8Array(0) });
	exec.writeUInt32LE(9, 1);
	rx(w, 8_000_000, pkt(0, exec));
	tx(w, 9_000_000, pkt(1, Buffer.from([0x01])));
	assert.equal(got[2].query, '[prepared statement 9]');
});

test('wire: a long payload partly captured keeps its framing; unseen header bytes drop the connection', () => {
	const got: Query[] = [];
	const w = new WireTracker((q) => got.push(q));
	const long = query(`select '${'x'.repeat(3000)}'`);
	rx(w, 0, long, 7, 1024 + 4);
	tx(w, 1_000_000, pkt(1, Buffer.from([0x01])));
	assert.equal(got.length, 1);
	assert.ok(got[0].query.startsWith("select 'xxx"));
	// cut where the kept bytes end, and marked
	assert.equal(Buffer.byteLength(got[0].query), 1023 + 3);
	assert.ok(got[0].query.endsWith('xxx...'));
	// the next packet's header falls in the part of a read that was not captured
	rx(w, 2_000_000, Buffer.concat([query('select 1'), query('select 2')]), 7, 6);
	assert.equal(w.desync, 1);
	tx(w, 3_000_000, pkt(1, Buffer.from([0x01])));
	assert.equal(got.length, 1);
	// a new command after that starts clean
	rx(w, 4_000_000, query('select 5'));
	tx(w, 5_000_000, pkt(1, Buffer.from([0x01])));
	assert.equal(got[1].query, 'select 5');
});
