// mysqlslow: MySQL / MariaDB queries slower than a threshold, as BCC's
// dbslower prints them. Three ways in, tried in this order unless --mode
// says: the server's USDT probes (mysql:query__start/done), uprobes on
// dispatch_command (found by its mangled name), or the wire: the server's
// socket reads and writes, with the MySQL packets reassembled here.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import Table from 'cli-table3';
import { ToolError, usage } from '../lib/errors.js';
import { MYSQL_LAYOUT, QUERY_EVENT_LAYOUT, WIRE_EVENT_LAYOUT, WIRE_KIND, decodeQueryEvent, decodeWireEvent } from '../lib/gen/mysqlslow.js';
import type { WireEvent } from '../lib/gen/mysqlslow.js';
import { tracepointExists } from '../lib/preflight.js';
import { readSymbols, withElfFile } from '../lib/symbolize/elf.js';
import { procPath } from '../lib/symbolize/procmaps.js';
import { defineTool } from '../lib/tool.js';
import { rawSyscallGlobals } from '../lib/syscalls.js';
import { u32, u64 } from '../lib/tracer.js';
import type { LoadedObject, Tracer } from '../lib/tracer.js';

type Mode = 'usdt' | 'uprobe' | 'wire';

const MODES: Mode[] = ['usdt', 'uprobe', 'wire'];
const SERVER_NAMES = ['mysqld', 'mariadbd'];

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_STMT_CLOSE = 0x19;

interface Opts {
	pid?: number;
	threshold: number;
	exe?: string;
	mode?: string;
	summary?: boolean;
}

/** One finished query, whichever mode saw it. */
export interface Query {
	tsNs: number;
	pid: number;
	ms: number;
	query: string;
	/** wire mode: the server's error code when it answered with an error packet */
	error?: number;
	/** wire mode: a prepared statement's execution */
	prepared?: boolean;
}

/** dispatch_command's argument layout from its mangled name, or undefined when it is not one we know. */
export function dispatchLayout(mangled: string): number | undefined {
	if (/^_Z16dispatch_command19enum_server_commandP3THDPc/.test(mangled)) return MYSQL_LAYOUT.LAYOUT_MARIADB;
	if (/^_Z16dispatch_commandP3THDPK8COM_DATA19enum_server_command/.test(mangled)) return MYSQL_LAYOUT.LAYOUT_MYSQL57;
	return undefined;
}

/**
 * A query's fingerprint for -s: literals become ?, IN lists (?, ?, ...)
 * one (?+), whitespace one space, comments dropped.
 */
export function normalize(q: string): string {
	return q
		.replace(/\b[xb]'[^']*'/gi, '?')
		.replace(/'(?:[^'\\]|\\.|'')*'/g, '?')
		.replace(/"(?:[^"\\]|\\.|"")*"/g, '?')
		.replace(/\/\*[\s\S]*?\*\//g, ' ')
		.replace(/(?:-- |#)[^\n]*/g, ' ')
		.replace(/\b0x[0-9a-f]+\b/gi, '?')
		.replace(/(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?')
		.replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?+)')
		.replace(/\bin\s*\(\s*\?\s*\)/gi, 'in (?+)')
		.replace(/\(\?\+\)(?:\s*,\s*\(\?\+\))+/g, '(?+)')
		.replace(/\s+/g, ' ')
		.trim();
}

/** Per (process, descriptor) state of the MySQL protocol as the server sees it. */
interface Conn {
	/** bytes of the packet header read so far (4) */
	hdr: number[];
	/** payload bytes still to come of the current packet; -1: reading a header */
	left: number;
	/** the current packet's payload length */
	size: number;
	seq: number;
	/** the payload's first bytes (command and query text) */
	head: Buffer[];
	headLen: number;
	/** a command waiting for its first response write */
	pending?: { tsNs: number; query: string; prepare?: boolean; execute?: boolean };
}

const HEAD_MAX = 1024;
/** bytes of query text the kernel side keeps (QUERY_MAX in bpf/mysqlslow.h, with its NUL) */
const QUERY_MAX = 1024;

/**
 * The wire: socket reads and writes of the server, per descriptor. The
 * server reads a packet's 4-byte header and its payload separately (or
 * together, or in parts); a command packet (sequence 0) is timed from the
 * read that completes it to the server's first write on that descriptor.
 */
export class WireTracker {
	private readonly conns = new Map<string, Conn>();
	/** prepared statements: "pid:fd:id" -> text */
	private readonly stmts = new Map<string, string>();
	/** reads whose bytes were not all captured where a header had to be: that connection is skipped until it is quiet */
	desync = 0;

	constructor(private readonly onQuery: (q: Query) => void) {}

	event(e: Pick<WireEvent, 'ts_ns' | 'pid' | 'fd' | 'len' | 'captured' | 'kind' | 'data'>): void {
		const key = `${e.pid}:${e.fd}`;
		if (e.kind === WIRE_KIND.WIRE_CLOSE) {
			this.conns.delete(key);
			for (const k of this.stmts.keys()) if (k.startsWith(`${key}:`)) this.stmts.delete(k);
			return;
		}
		let c = this.conns.get(key);
		if (e.kind === WIRE_KIND.WIRE_TX) {
			if (!c?.pending) return;
			const p = c.pending;
			c.pending = undefined;
			const d = Buffer.from(e.data.subarray(0, e.captured));
			// the first response packet: ERR (0xff, then the error code) or, for a prepare, OK with the statement id
			const first = d.length > 4 ? d[4] : -1;
			if (p.prepare) {
				if (first === 0x00 && d.length >= 9) this.stmts.set(`${key}:${d.readUInt32LE(5)}`, p.query);
				return;
			}
			this.onQuery({
				tsNs: e.ts_ns, pid: e.pid, ms: (e.ts_ns - p.tsNs) / 1e6, query: p.query,
				...(first === 0xff && d.length >= 7 ? { error: d.readUInt16LE(5) } : {}),
				...(p.execute ? { prepared: true } : {}),
			});
			return;
		}
		// a read of e.len bytes, of which the first e.captured are known
		if (!c) {
			c = { hdr: [], left: -1, size: 0, seq: 0, head: [], headLen: 0 };
			this.conns.set(key, c);
		}
		let off = 0;
		const data = e.data;
		while (off < e.len) {
			if (c.left < 0) {
				if (off >= e.captured) {
					// header bytes we did not see: give up on this connection's framing
					this.desync++;
					this.conns.delete(key);
					return;
				}
				c.hdr.push(data[off++]);
				if (c.hdr.length === 4) {
					c.left = c.size = c.hdr[0] | (c.hdr[1] << 8) | (c.hdr[2] << 16);
					c.seq = c.hdr[3];
					c.hdr = [];
					c.head = [];
					c.headLen = 0;
					if (c.left === 0) this.packet(key, c, e.ts_ns);
				}
				continue;
			}
			const take = Math.min(c.left, e.len - off);
			const known = Math.max(0, Math.min(take, e.captured - off));
			if (known > 0 && c.headLen < HEAD_MAX) {
				const part = Buffer.from(data.subarray(off, off + Math.min(known, HEAD_MAX - c.headLen)));
				c.head.push(part);
				c.headLen += part.length;
			}
			off += take;
			c.left -= take;
			if (c.left === 0) this.packet(key, c, e.ts_ns);
		}
	}

	/** A whole packet arrived: a command (sequence 0) starts a query. */
	private packet(key: string, c: Conn, tsNs: number): void {
		c.left = -1;
		if (c.seq !== 0) return;
		const p = Buffer.concat(c.head);
		c.head = [];
		if (!p.length) return;
		const cmd = p[0];
		const text = () => queryText(p.subarray(1)) + (c.size > p.length ? '...' : '');
		if (cmd === COM_QUERY) c.pending = { tsNs, query: text() };
		else if (cmd === COM_STMT_PREPARE) c.pending = { tsNs, query: text(), prepare: true };
		else if (cmd === COM_STMT_EXECUTE && p.length >= 5) {
			const text = this.stmts.get(`${key}:${p.readUInt32LE(1)}`);
			c.pending = { tsNs, query: text ?? `[prepared statement ${p.readUInt32LE(1)}]`, execute: true };
		} else if (cmd === COM_STMT_CLOSE && p.length >= 5) this.stmts.delete(`${key}:${p.readUInt32LE(1)}`);
		else c.pending = undefined;
	}
}

/** COM_QUERY text: MySQL 8 clients with query attributes put a parameter count and set number first (0, 1). */
function queryText(b: Buffer): string {
	if (b.length >= 2 && b[0] === 0x00 && b[1] === 0x01) b = b.subarray(2);
	return b.toString('utf8');
}

/** Server processes by name (mysqld, mariadbd), with their executables. */
function findServers(): { pid: number; exe: string }[] {
	const out: { pid: number; exe: string }[] = [];
	for (const d of readdirSync('/proc')) {
		if (!/^\d+$/.test(d)) continue;
		try {
			const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
			if (SERVER_NAMES.includes(comm)) out.push({ pid: Number(d), exe: procPath(Number(d), readlinkSync(`/proc/${d}/exe`)) });
		} catch {
			/* gone */
		}
	}
	return out;
}

/** The dispatch_command symbol of a server binary (its mangled name). */
function dispatchSymbol(exe: string): string | undefined {
	return withElfFile(exe, (src, info) => readSymbols(src, info).find((s) => dispatchLayout(s.name) !== undefined)?.name) ?? undefined;
}

export function formatRow(q: Query, firstNs: number): string {
	return `${((q.tsNs - firstNs) / 1e9).toFixed(6).padEnd(14)} ${String(q.pid).padEnd(6)} ${q.ms.toFixed(3).padStart(8)} ${q.error !== undefined ? `[ERROR ${q.error}] ` : ''}${q.query.replace(/\s*\n\s*/g, ' ')}`;
}

export default defineTool<Opts>({
	name: 'mysqlslow',
	description: 'Trace MySQL / MariaDB queries slower than a threshold (USDT, dispatch_command uprobes, or the wire).',
	options: {
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'trace this server process (default: every mysqld/mariadbd running)' },
		threshold: { alias: 'm', type: 'number', default: 1, requiresArg: true, describe: 'minimum query duration in milliseconds (0: all)' },
		exe: { alias: 'x', type: 'string', requiresArg: true, describe: 'the server binary (uprobe and usdt modes), for every process running it' },
		mode: { type: 'string', requiresArg: true, describe: 'usdt, uprobe or wire (default: the first that works, in that order)' },
		summary: { alias: 's', type: 'boolean', describe: 'at the end, a table of count, total and average time per normalized query' },
	},
	examples: [
		['ebpf-tools mysqlslow', 'queries slower than 1 ms of every mysqld/mariadbd'],
		['ebpf-tools mysqlslow -p $(pidof mariadbd) -m 10', 'queries slower than 10 ms of one server'],
		['ebpf-tools mysqlslow -m 0', 'every query'],
		['ebpf-tools mysqlslow -x /usr/sbin/mysqld', 'the servers running this binary'],
		['ebpf-tools mysqlslow --mode wire -p 1234', 'from the wire: prepared statements and error codes too'],
		['ebpf-tools mysqlslow -s --duration 60', 'a minute, then a summary per normalized query'],
	],
	validate(a) {
		if (a.pid !== undefined && !(Number.isInteger(a.pid) && a.pid > 0)) throw usage(`--pid ${a.pid}: must be a positive PID`);
		if (!(a.threshold >= 0)) throw usage(`--threshold ${a.threshold}: must be 0 or more milliseconds`);
		if (a.mode !== undefined && !MODES.includes(a.mode as Mode)) throw usage(`--mode ${a.mode}: must be one of ${MODES.join(', ')}`);
		if (a.mode === 'wire' && a.exe !== undefined) throw usage('--mode wire traces a process, not a binary', 'give -p PID');
		if (a.pid !== undefined && a.exe !== undefined) throw usage('-p/--pid and -x/--exe cannot be used together', '-p traces one server, -x every process running a binary');
	},
	async run(t, a) {
		let servers: { pid: number; exe: string }[];
		if (a.pid !== undefined) {
			let exe: string;
			try {
				exe = procPath(a.pid, readlinkSync(`/proc/${a.pid}/exe`));
			} catch {
				throw usage(`--pid ${a.pid}: no such process`);
			}
			servers = [{ pid: a.pid, exe }];
		} else if (a.exe !== undefined) {
			if (!withElfFile(a.exe, () => true)) throw usage(`--exe ${a.exe}: not an ELF file`);
			servers = [{ pid: 0, exe: a.exe }];
		} else {
			servers = findServers();
			if (!servers.length) throw usage('no mysqld or mariadbd process is running', 'start the server, or give -p PID or -x PATH');
		}
		const exes = [...new Set(servers.map((s) => s.exe))];
		const minNs = Math.round(a.threshold * 1e6);
		const forced = a.mode as Mode | undefined;
		if (forced === 'wire' && a.pid === undefined && servers.length !== 1)
			throw usage(`--mode wire traces one process: ${servers.length} servers are running`, 'give -p PID');

		// uprobe mode: each binary's dispatch_command, whose mangled name gives its argument layout
		const syms = new Map(exes.map((e) => [e, dispatchSymbol(e)]));
		const nr = t.tracefs ? undefined : rawSyscallGlobals(['read', 'recvfrom', 'write', 'sendto', 'writev', 'close']);
		const rawWire = !!nr;
		const lo = t.open('mysqlslow', {
			autoload: { raw_sys_enter: rawWire, raw_sys_exit: rawWire },
			layouts: { query_event: QUERY_EVENT_LAYOUT, wire_event: WIRE_EVENT_LAYOUT },
			// one server (or -p): its pid filters every mode in the kernel; the wire mode needs it
			globals: { targ_pid: u32(a.pid ?? (a.exe === undefined && servers.length === 1 ? servers[0].pid : 0)), min_ns: u64(minNs),
				...nr },
		});

		const mode = attach(t, lo, forced, exes, syms, a.pid, servers);
		let firstNs = 0;
		const stats = new Map<string, { count: number; total: number; max: number }>();
		const onQuery = (q: Query) => {
			if (mode === 'wire' && q.ms * 1e6 < minNs) return;
			q.query = q.query.trim();
			firstNs ||= q.tsNs;
			if (a.summary) {
				const k = normalize(q.query);
				const s = stats.get(k) ?? { count: 0, total: 0, max: 0 };
				s.count++;
				s.total += q.ms;
				s.max = Math.max(s.max, q.ms);
				stats.set(k, s);
			}
			if (t.out.records)
				t.out.record({
					ts: t.clock.epochSeconds(q.tsNs), pid: q.pid, ms: q.ms, query: q.query,
					...(q.error !== undefined ? { error: q.error } : {}), ...(q.prepared ? { prepared: true } : {}),
				});
			if (!t.out.json) t.out.line(formatRow(q, firstNs));
		};
		let wire: WireTracker | undefined;
		if (mode === 'wire') {
			const w = (wire = new WireTracker(onQuery));
			t.stream(lo, decodeWireEvent, (e) => w.event(e));
		} else {
			t.stream(lo, decodeQueryEvent, (e) => {
				const n = e.query.indexOf(0);
				const text = Buffer.from(e.query.subarray(0, n < 0 ? e.query.length : n)).toString('utf8');
				// cut: longer than kept (uprobe knows the length), or the buffer is full (usdt's string)
				const cut = e.len > Buffer.byteLength(text) || Buffer.byteLength(text) >= QUERY_MAX - 1;
				onQuery({ tsNs: e.ts_ns, pid: e.pid, ms: e.delta_ns / 1e6, query: cut ? `${text}...` : text });
			});
		}
		if (!t.out.json) t.out.line(`${'TIME(s)'.padEnd(14)} ${'PID'.padEnd(6)} ${'MS'.padStart(8)} QUERY`);
		const who = a.pid !== undefined ? `pid ${a.pid}` : a.exe !== undefined ? a.exe : `pids ${servers.map((s) => s.pid).join(', ')}`;
		t.out.info(`Tracing database queries for ${who} slower than ${a.threshold} ms (${mode} mode)... Hit Ctrl-C to end.`);
		const reason = await t.run();
		if (a.verbose && wire) t.out.info(`mysqlslow: ${wire.desync} connections whose packet framing was lost (a read larger than the ${HEAD_MAX} bytes kept), picked up again at their next read`);
		if (a.summary && reason !== 'stdout-closed') {
			const rows = [...stats].sort((x, y) => y[1].total - x[1].total);
			if (t.out.records)
				for (const [q, s] of rows) t.out.record({ type: 'summary', query: q, count: s.count, total_ms: s.total, avg_ms: s.total / s.count, max_ms: s.max });
			if (!t.out.json) {
				const table = new Table({
					head: ['COUNT', 'TOTAL(ms)', 'AVG(ms)', 'MAX(ms)', 'QUERY'],
					chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
						left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: ' ' },
					style: { head: [], border: [], 'padding-left': 0, 'padding-right': 1 },
					colAligns: ['right', 'right', 'right', 'right', 'left'],
				});
				for (const [q, s] of rows) table.push([s.count, s.total.toFixed(3), (s.total / s.count).toFixed(3), s.max.toFixed(3), q]);
				t.out.line('');
				for (const l of table.toString().split('\n')) t.out.line(l.trimEnd());
			}
			t.out.flush();
		}
	},
});

/** Attach the first mode that works (or the one asked for); returns it. */
function attach(t: Tracer, lo: LoadedObject, forced: Mode | undefined, exes: string[], syms: Map<string, string | undefined>, pid: number | undefined,
	servers: { pid: number }[]): Mode {
	const why: string[] = [];
	if (!forced || forced === 'usdt') {
		try {
			for (const exe of exes) {
				lo.usdt('usdt_start', { path: exe, pid, provider: 'mysql', name: 'query__start' });
				lo.usdt('usdt_done', { path: exe, pid, provider: 'mysql', name: 'query__done' });
			}
			return 'usdt';
		} catch {
			for (const l of lo.links.splice(0)) l.close();
			why.push('no mysql:query__start USDT probe');
			if (forced) throw new ToolError('RUNTIME', `--mode usdt: ${exes.join(', ')} has no mysql:query__start/query__done probes`, 'the server must be built with DTrace probes (-DENABLE_DTRACE=1); try --mode uprobe');
		}
	}
	if (!forced || forced === 'uprobe') {
		const missing = exes.filter((e) => !syms.get(e));
		if (!missing.length) {
			for (const exe of exes) {
				const func = syms.get(exe)!;
				const enter = dispatchLayout(func) === MYSQL_LAYOUT.LAYOUT_MYSQL57 ? 'dispatch_enter_mysql57' : 'dispatch_enter_mariadb';
				lo.uprobe(enter, { path: exe, pid, func });
				lo.uprobe('dispatch_exit', { path: exe, pid, func, retprobe: true });
			}
			return 'uprobe';
		}
		why.push('no dispatch_command symbol');
		if (forced) throw new ToolError('RUNTIME', `--mode uprobe: ${missing.join(', ')} has no dispatch_command symbol that mysqlslow knows`, 'try --mode wire -p PID');
	}
	const wirePid = pid ?? (servers.length === 1 && servers[0].pid ? servers[0].pid : undefined);
	if (wirePid === undefined)
		throw new ToolError('RUNTIME', `${why.join(', ')}; the wire mode traces one process`, 'give -p PID');
	if (!t.tracefs) {
		// the raw syscall tracepoints: every syscall, picked by number (set at load)
		lo.attach('raw_sys_enter');
		lo.attach('raw_sys_exit');
		return 'wire';
	}
	for (const [name, prog] of [
		['sys_enter_recvfrom', 'tp_recvfrom_enter'], ['sys_exit_recvfrom', 'tp_recvfrom_exit'], ['sys_enter_read', 'tp_read_enter'], ['sys_exit_read', 'tp_read_exit'],
		['sys_enter_sendto', 'tp_sendto'], ['sys_enter_write', 'tp_write'], ['sys_enter_writev', 'tp_writev'], ['sys_enter_close', 'tp_close'],
	])
		if (tracepointExists('syscalls', name)) lo.tracepoint(prog, 'syscalls', name);
	return 'wire';
}
