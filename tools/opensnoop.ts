// opensnoop: trace file opens (open, openat, openat2, creat) with the file name read
// at syscall exit. Filters on pid, tid, uid, failures and flags run in the
// kernel; -n (comm substring) in user space. -F resolves relative names
// against the dfd of openat/openat2 or the cwd, walked in the kernel.
import { usage } from '../lib/errors.js';
import { OPEN_EVENT_LAYOUT, FLAG_FILTER_LAYOUT, decodeOpenEvent } from '../lib/gen/opensnoop.js';
import type { OpenEvent } from '../lib/gen/opensnoop.js';
import { splitNul } from '../lib/decode.js';
import { Columns } from '../lib/output.js';
import { tracepointExists } from '../lib/preflight.js';
import { rawSyscallGlobals } from '../lib/syscalls.js';
import { defineTool } from '../lib/tool.js';
import { u32 } from '../lib/tracer.js';
import { resolveUid } from '../lib/users.js';

/** bpf/opensnoop.h */
const MAX_FLAG_FILTERS = 16;
/** by open_event.nr (bpf/opensnoop.h SYS_*) */
const SYSCALL_NAMES = ['open', 'openat', 'openat2', 'creat'];
export const DIR = { NONE: 0, OK: 1, TRUNCATED: 2, UNKNOWN: 3, DELETED: 4 } as const;
export const AT_FDCWD = -100;

/** open, openat, openat2, creat syscall numbers (-1: none), for the raw tracepoint fallback */

/** O_* values (octal, as the kernel's uapi headers give them). */
const GENERIC: Record<string, number> = {
	O_CREAT: 0o100,
	O_EXCL: 0o200,
	O_NOCTTY: 0o400,
	O_TRUNC: 0o1000,
	O_APPEND: 0o2000,
	O_NONBLOCK: 0o4000,
	O_DSYNC: 0o10000,
	O_ASYNC: 0o20000,
	O_DIRECT: 0o40000,
	O_LARGEFILE: 0o100000,
	O_DIRECTORY: 0o200000,
	O_NOFOLLOW: 0o400000,
	O_NOATIME: 0o1000000,
	O_CLOEXEC: 0o2000000,
	__O_SYNC: 0o4000000,
	O_PATH: 0o10000000,
	__O_TMPFILE: 0o20000000,
};
const ARCH_FLAGS: Record<string, Record<string, number>> = {
	arm64: { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000, O_DIRECT: 0o200000, O_LARGEFILE: 0o400000 },
};

const flagTables = new Map<string, { bits: [string, number][]; byName: Record<string, number> }>();

/** The O_* table of an architecture, built once (decoding runs per event). */
function flagTable(arch: string): { bits: [string, number][]; byName: Record<string, number> } {
	let t = flagTables.get(arch);
	if (!t) {
		const byName = { ...GENERIC, ...(ARCH_FLAGS[arch] ?? {}) };
		t = { bits: Object.entries(byName).sort((a, b) => a[1] - b[1]), byName };
		flagTables.set(arch, t);
	}
	return t;
}

/** The single-bit O_* flags of an architecture, bit order (low to high). */
export function openFlagBits(arch = process.arch): [string, number][] {
	return flagTable(arch).bits;
}

const ACCMODE = ['O_RDONLY', 'O_WRONLY', 'O_RDWR'];

/**
 * A -f name as a (mask, value) test: access modes compare flags & O_ACCMODE
 * (so O_RDONLY, which is 0, works); O_SYNC and O_TMPFILE need all their bits;
 * other flags are single bits. Undefined for an unknown name.
 */
export function flagFilter(name: string, arch = process.arch): { mask: number; value: number } | undefined {
	const n = name.toUpperCase();
	const acc = ACCMODE.indexOf(n);
	if (acc >= 0) return { mask: 3, value: acc };
	const t = flagTable(arch).byName;
	const alias: Record<string, string> = { O_NDELAY: 'O_NONBLOCK', FASYNC: 'O_ASYNC', O_FSYNC: 'O_SYNC', O_RSYNC: 'O_SYNC' };
	const k = alias[n] ?? n;
	let v: number | undefined;
	if (k === 'O_SYNC') v = t.__O_SYNC | t.O_DSYNC;
	else if (k === 'O_TMPFILE') v = t.__O_TMPFILE | t.O_DIRECTORY;
	else if (k.startsWith('O_')) v = t[k];
	return v === undefined ? undefined : { mask: v, value: v };
}

const namesCache = new Map<string, string[]>();

/** Flags decoded to names, the access mode first (O_SYNC and O_TMPFILE folded). */
export function flagNames(flags: number, arch = process.arch): string[] {
	const key = `${arch}:${flags}`;
	let names = namesCache.get(key);
	if (!names) {
		names = decodeFlags(flags, arch);
		if (namesCache.size < 4096) namesCache.set(key, names);
	}
	return names.slice();
}

function decodeFlags(flags: number, arch: string): string[] {
	const t = flagTable(arch).byName;
	const out = [ACCMODE[flags & 3] ?? 'O_ACCMODE'];
	let rest = (flags & ~3) >>> 0;
	if ((rest & t.__O_TMPFILE) !== 0) {
		out.push('O_TMPFILE');
		rest &= ~(t.__O_TMPFILE | t.O_DIRECTORY);
	}
	if ((rest & t.__O_SYNC) !== 0) {
		out.push('O_SYNC');
		rest &= ~(t.__O_SYNC | t.O_DSYNC);
	}
	for (const [name, bit] of flagTable(arch).bits) {
		if (rest & bit) {
			out.push(name);
			rest &= ~bit;
		}
	}
	rest >>>= 0;
	if (rest) out.push(`0${rest.toString(8)}`);
	return out;
}

/** Does an event's flags/mode pair carry a mode (O_CREAT or O_TMPFILE)? */
export function hasMode(flags: number, arch = process.arch): boolean {
	const t = flagTable(arch).byName;
	return (flags & (t.O_CREAT | t.__O_TMPFILE)) !== 0;
}

const utf8 = new TextDecoder('utf-8');

/** The file name as passed to open (without its NUL). */
export function fileName(e: OpenEvent): string {
	const n = Math.min(e.fname_len, e.buf.length);
	const end = n > 0 && e.buf[n - 1] === 0 ? n - 1 : n;
	return utf8.decode(e.buf.subarray(0, end));
}

/**
 * The path printed: the name as passed, or with -F a relative name joined to
 * the directory the kernel walked (dfd's or the cwd). Where the directory
 * is not known, or only in part, the output says so instead of guessing.
 */
export function displayPath(e: OpenEvent, full: boolean): string {
	const name = fileName(e);
	if (!full || e.dir_state === DIR.NONE || name.startsWith('/')) return name;
	const end = Math.min(e.buf.length, e.fname_len + e.dir_len);
	const comps = splitNul(e.buf.subarray(e.fname_len, end)).reverse();
	let dir: string;
	switch (e.dir_state) {
		case DIR.UNKNOWN:
			dir = e.dfd === AT_FDCWD ? '[unknown cwd]' : `[unknown dir of fd ${e.dfd}]`;
			break;
		case DIR.TRUNCATED:
			dir = ['[...]', ...comps].join('/');
			break;
		case DIR.DELETED:
			dir = `/${comps.join('/')} (deleted)`;
			break;
		default:
			dir = `/${comps.join('/')}`;
	}
	return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

interface Opts {
	timestamp?: boolean;
	printUid?: boolean;
	failed?: boolean;
	pid?: number;
	tid?: number;
	uid?: string;
	name?: string;
	extendedFields?: boolean;
	flagFilter?: string[];
	fullPath?: boolean;
}

/** The -f values: repeatable, each may be a comma list. */
function flagArgs(v: unknown): string[] {
	const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
	return list.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
}

interface Open extends OpenEvent {
	path: string;
}

/** The column spec, shared by the text and JSON sinks (exported for unit tests). */
export function openColumns(o: { timestamp?: boolean; printUid?: boolean; tid?: boolean; extended?: boolean; fullPath?: boolean; firstNs: () => number; epoch: (ns: number) => number }): Columns<Open> {
	return new Columns<Open>([
		{ header: 'TIME(s)', width: 13, show: !!o.timestamp, text: (e) => ((e.ts_ns - o.firstNs()) / 1e9).toFixed(9) },
		{ key: 'ts', json: (e) => o.epoch(e.ts_ns) },
		{ header: 'UID', key: 'uid', width: 5, show: !!o.printUid, text: (e) => String(e.uid), json: (e) => e.uid },
		{ header: o.tid ? 'TID' : 'PID', width: 6, text: (e) => String(o.tid ? e.tid : e.pid) },
		{ key: 'pid', json: (e) => e.pid },
		{ key: 'tid', json: (e) => e.tid },
		{ header: 'COMM', key: 'comm', width: 16, text: (e) => e.comm },
		{ header: 'FD', key: 'fd', width: 4, right: true, text: (e) => String(e.ret >= 0 ? e.ret : -1), json: (e) => (e.ret >= 0 ? e.ret : -1) },
		{ header: 'ERR', key: 'err', width: 3, right: true, text: (e) => String(e.ret >= 0 ? 0 : -e.ret), json: (e) => (e.ret >= 0 ? 0 : -e.ret) },
		{ header: 'FLAGS', key: 'flags', width: 8, show: !!o.extended, text: (e) => e.flags.toString(8).padStart(8, '0'), json: (e) => e.flags },
		{ key: 'flag_names', json: (e) => flagNames(e.flags) },
		{ header: 'MODE', key: 'mode', width: 4, show: !!o.extended, text: (e) => (hasMode(e.flags) ? e.mode.toString(8).padStart(4, '0') : 'n/a'), json: (e) => (hasMode(e.flags) ? e.mode : null) },
		{ key: 'syscall', json: (e) => SYSCALL_NAMES[e.nr] ?? e.nr },
		{ key: 'dfd', json: (e) => (e.nr === 1 || e.nr === 2 ? e.dfd : undefined) },
		{ header: 'PATH', key: 'path', text: (e) => e.path },
		{ key: 'path_resolved', json: (e) => (o.fullPath ? e.dir_state === DIR.NONE || e.dir_state === DIR.OK : undefined) },
	]);
}

export default defineTool<Opts>({
	name: 'opensnoop',
	description: 'Trace file opens: open(), openat(), openat2() and creat(), with the file descriptor or error.',
	options: {
		timestamp: { alias: 'T', type: 'boolean', describe: 'include a time column (seconds since the first open seen)' },
		'print-uid': { alias: 'U', type: 'boolean', describe: 'include a UID column' },
		failed: { alias: 'x', type: 'boolean', describe: 'only show failed opens' },
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'trace this PID only' },
		tid: { alias: 't', type: 'number', requiresArg: true, describe: 'trace this TID only (the first column shows TIDs)' },
		uid: { alias: 'u', type: 'string', requiresArg: true, describe: 'trace this UID (or user name) only' },
		name: { alias: 'n', type: 'string', requiresArg: true, describe: 'only print processes whose name (comm) contains NAME' },
		'extended-fields': { alias: 'e', type: 'boolean', describe: 'show the FLAGS (octal) and MODE columns' },
		'flag-filter': { alias: 'f', type: 'string', array: true, requiresArg: true, describe: 'only opens with this O_ flag (repeatable, any may match; O_RDONLY works)' },
		'full-path': { alias: 'F', type: 'boolean', describe: 'show the full path of relative names (resolved against the dfd or cwd)' },
	},
	commonAliases: { duration: 'd' },
	examples: [
		['ebpf-tools opensnoop', 'trace all open() syscalls'],
		['ebpf-tools opensnoop -T', 'include timestamps'],
		['ebpf-tools opensnoop -U', 'include UID'],
		['ebpf-tools opensnoop -x', 'only show failed opens'],
		['ebpf-tools opensnoop -p 181', 'only trace PID 181'],
		['ebpf-tools opensnoop -t 123', 'only trace TID 123'],
		['ebpf-tools opensnoop -u 1000', 'only trace UID 1000'],
		['ebpf-tools opensnoop -d 10', 'trace for 10 seconds only'],
		['ebpf-tools opensnoop -n main', 'only print process names containing "main"'],
		['ebpf-tools opensnoop -e', 'show extended fields (flags, mode)'],
		['ebpf-tools opensnoop -f O_WRONLY -f O_RDWR', 'only print calls for writing'],
		['ebpf-tools opensnoop -f O_RDONLY', 'only print read-only opens'],
		['ebpf-tools opensnoop -F', 'show full path for an open file with relative path'],
		['ebpf-tools opensnoop --json | jq .path', 'one JSON object per open'],
	],
	validate(a) {
		if (a.uid !== undefined && resolveUid(a.uid) === undefined)
			throw usage(`--uid ${a.uid}: no such user`, 'give a numeric UID or a name from /etc/passwd');
		for (const [flag, v] of [['--pid', a.pid], ['--tid', a.tid]] as const) {
			if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > 0x7fffffff))
				throw usage(`${flag} ${v}: must be a positive integer`);
		}
		const flags = flagArgs(a.flagFilter);
		if (a.flagFilter !== undefined && !flags.length) throw usage('--flag-filter: give an O_ flag name, e.g. O_WRONLY');
		if (flags.length > MAX_FLAG_FILTERS) throw usage(`--flag-filter: at most ${MAX_FLAG_FILTERS} flags`);
		for (const f of flags) if (!flagFilter(f)) throw usage(`--flag-filter ${f}: unknown flag`, 'use O_ names such as O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND');
		if (a.name !== undefined && a.name === '') throw usage('--name: give a non-empty name');
	},
	async run(t, a) {
		const uid = a.uid !== undefined ? resolveUid(a.uid) : undefined;
		const filters = flagArgs(a.flagFilter).map((f) => flagFilter(f)!);
		const ff = Buffer.alloc(MAX_FLAG_FILTERS * 8);
		filters.forEach((f, i) => {
			ff.writeUInt32LE(f.mask >>> 0, i * 8);
			ff.writeUInt32LE(f.value >>> 0, i * 8 + 4);
		});
		// syscall tracepoints when tracefs has them, else raw syscall tracepoints
		const classic = t.tracefs && tracepointExists('syscalls', 'sys_enter_openat');
		const nr = classic ? {} : rawSyscallGlobals(SYSCALL_NAMES);
		if (!nr) throw usage(`opensnoop without tracefs is not supported on ${process.arch}`, 'mount tracefs at /sys/kernel/tracing');
		const calls = SYSCALL_NAMES.filter((s) => classic && tracepointExists('syscalls', `sys_enter_${s}`) && tracepointExists('syscalls', `sys_exit_${s}`));
		const autoload: Record<string, boolean> = { raw_sys_enter: !classic, raw_sys_exit: !classic };
		for (const s of SYSCALL_NAMES) {
			autoload[`enter_${s}`] = calls.includes(s);
			autoload[`exit_${s}`] = calls.includes(s);
		}
		const obj = t.open('opensnoop', {
			layouts: { open_event: OPEN_EVENT_LAYOUT, flag_filter: FLAG_FILTER_LAYOUT },
			autoload,
			globals: {
				targ_pid: a.pid ? u32(a.pid) : undefined,
				targ_tid: a.tid ? u32(a.tid) : undefined,
				targ_uid: uid !== undefined ? u32(uid) : undefined,
				targ_failed: a.failed ? Buffer.from([1]) : undefined,
				full_path: a.fullPath ? Buffer.from([1]) : undefined,
				targ_nflags: filters.length ? u32(filters.length) : undefined,
				targ_flags: filters.length ? ff : undefined,
				...nr,
			},
		});
		let firstNs = -1;
		const clock = t.clock;
		const cols = openColumns({
			timestamp: a.timestamp,
			printUid: a.printUid,
			tid: a.tid !== undefined,
			extended: a.extendedFields,
			fullPath: a.fullPath,
			firstNs: () => firstNs,
			epoch: (ns) => clock.epochSeconds(ns),
		});
		const name = a.name;
		const full = !!a.fullPath;
		t.stream(obj, decodeOpenEvent, (ev) => {
			if (firstNs < 0) firstNs = ev.ts_ns;
			if (name !== undefined && !ev.comm.includes(name)) return;
			const e = ev as Open;
			e.path = displayPath(ev, full);
			t.out.event(cols, e);
		});
		// attach once the reader exists (a perf buffer has no ring until then)
		if (!classic) {
			if (a.verbose) t.out.info('tracefs unavailable: using raw syscall tracepoints (slower: they run for every syscall)');
			obj.attach('raw_sys_exit');
			obj.attach('raw_sys_enter');
		} else {
			if (a.verbose) t.out.info(`tracing ${calls.join(', ')}`);
			// exits first: an entry without its exit would linger in the table
			for (const s of calls) obj.tracepoint(`exit_${s}`, 'syscalls', `sys_exit_${s}`);
			for (const s of calls) obj.tracepoint(`enter_${s}`, 'syscalls', `sys_enter_${s}`);
		}

		if (!t.out.json) {
			t.out.line(cols.header());
			t.out.flush();
		}
		t.out.info(`Tracing open()s${a.failed ? ' (failures only)' : ''}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
