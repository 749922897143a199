// sslsniff: the plaintext of TLS read and write calls of OpenSSL, GnuTLS and
// NSS, captured at the libraries' return with uprobes, as BCC prints it.
// Credentials in HTTP headers and form/JSON fields are redacted unless
// --no-redact.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { usage } from '../lib/errors.js';
import { Columns } from '../lib/output.js';
import { SSL_EVENT_LAYOUT, SSL_RW, decodeSslEvent } from '../lib/gen/sslsniff.js';
import type { SslEvent } from '../lib/gen/sslsniff.js';
import { readSymbols, withElfFile } from '../lib/symbolize/elf.js';
import { readMaps, procPath } from '../lib/symbolize/procmaps.js';
import { defineTool } from '../lib/tool.js';
import { u32, u8 } from '../lib/tracer.js';
import type { LoadedObject } from '../lib/tracer.js';
import { findObject } from './memleak.js';

/** The largest --max-buffer-size: MAX_BUF_SIZE in bpf/sslsniff.h. */
export const MAX_BUF_SIZE = 32768 - 64;

export type LibType = 'openssl' | 'gnutls' | 'nss';
const LIB_TYPES: LibType[] = ['openssl', 'gnutls', 'nss'];

/** Per library type: [function, entry program, return program]. */
const FUNCS: Record<LibType, [string, string, string][]> = {
	openssl: [
		['SSL_read', 'ssl_read_enter', 'ssl_read_exit'],
		['SSL_write', 'ssl_write_enter', 'ssl_write_exit'],
		['SSL_read_ex', 'ssl_read_ex_enter', 'ssl_read_ex_exit'],
		['SSL_write_ex', 'ssl_write_ex_enter', 'ssl_write_ex_exit'],
	],
	gnutls: [
		['gnutls_record_recv', 'rw_read_enter', 'gnutls_read_exit'],
		['gnutls_record_send', 'rw_write_enter', 'gnutls_write_exit'],
	],
	nss: [
		['PR_Read', 'rw_read_enter', 'nspr_read_exit'],
		['PR_Recv', 'rw_read_enter', 'nspr_read_exit'],
		['PR_Write', 'rw_write_enter', 'nspr_write_exit'],
		['PR_Send', 'rw_write_enter', 'nspr_write_exit'],
	],
};
const HANDSHAKE: [string, string, string] = ['SSL_do_handshake', 'handshake_enter', 'handshake_exit'];
/** The library each type is looked up as (-O style names: libssl.so.3, libgnutls.so.30, libnspr4.so). */
const LIB_NAMES: Record<LibType, string> = { openssl: 'ssl', gnutls: 'gnutls', nss: 'nspr4' };
/** A function whose presence marks a file as holding that library (embedded, e.g. node). */
const MARKERS: Record<LibType, string> = { openssl: 'SSL_write', gnutls: 'gnutls_record_send', nss: 'PR_Write' };

interface Opts {
	pid?: number;
	uid?: number;
	extra?: boolean;
	comm?: string;
	noOpenssl?: boolean;
	noGnutls?: boolean;
	noNss?: boolean;
	hexdump?: boolean;
	maxBufferSize: number;
	latency?: boolean;
	handshake?: boolean;
	extraLib?: string[];
	redact: boolean;
}

/** One file to probe, with the library type it holds and the functions it has. */
export interface Target {
	type: LibType;
	path: string;
	funcs: Set<string>;
	/** found in another running process's executable (it may exit before the probes attach) */
	scanned?: boolean;
}

/** --extra-lib TYPE:PATH */
export function parseExtraLib(s: string): { type: LibType; path: string } {
	const i = s.indexOf(':');
	const type = s.slice(0, i) as LibType;
	if (i <= 0 || !LIB_TYPES.includes(type) || !s.slice(i + 1))
		throw usage(`--extra-lib ${s}: expected TYPE:PATH with TYPE one of ${LIB_TYPES.join(', ')}`);
	return { type, path: s.slice(i + 1) };
}

const HEADER_SECRETS = /^((?:proxy-)?authorization|cookie|set-cookie)([ \t]*:[ \t]*)([^\r\n]*)/gim;
/** Field names whose values are secrets: these words, alone or at the end of a longer name (user_password, x-api_key). */
const SECRET_NAMES = '[\\w-]*?(?:password|passwd|pwd|passphrase|secret|token|api_key|apikey)';
const FIELD_SECRETS = new RegExp(`\\b(${SECRET_NAMES})=([^&\\s"';]*)`, 'gi');
const JSON_SECRETS = new RegExp(`("${SECRET_NAMES}"[ \\t]*:[ \\t]*)("(?:[^"\\\\]|\\\\.)*"|[^,}\\]\\s]+)`, 'gi');

/**
 * Secrets out of captured text: the values of Authorization, Proxy-Authorization,
 * Cookie and Set-Cookie headers, and of password=/token=-style form fields and
 * JSON members, become [REDACTED]. Works on latin1 text too (byte per char).
 */
export function redact(text: string): string {
	return text
		.replace(HEADER_SECRETS, (_m, name: string, sep: string, value: string) => (value ? `${name}${sep}[REDACTED]` : `${name}${sep}`))
		.replace(FIELD_SECRETS, (_m, name: string, value: string) => (value ? `${name}=[REDACTED]` : `${name}=`))
		.replace(JSON_SECRETS, (_m, pre: string) => `${pre}"[REDACTED]"`);
}

/** BCC's --hexdump: hex digits, 32 to a line (16 bytes). */
export function hexdump(bytes: Uint8Array): string {
	const hex = Buffer.from(bytes).toString('hex');
	const lines: string[] = [];
	for (let i = 0; i < hex.length; i += 32) lines.push(hex.slice(i, i + 32));
	return lines.join('\n');
}

/** not fatal: invalid bytes become U+FFFD, as BCC's decode('utf-8', 'replace') */
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The captured bytes as printed: redacted (unless told not to), UTF-8 with replacement, or hex. */
export function payload(bytes: Uint8Array, o: { hex: boolean; redact: boolean }): string {
	if (o.hex) return hexdump(o.redact ? Buffer.from(redact(Buffer.from(bytes).toString('latin1')), 'latin1') : bytes);
	const text = utf8.decode(bytes);
	return o.redact ? redact(text) : text;
}

const FUNC_NAMES = ['READ/RECV', 'WRITE/SEND', 'HANDSHAKE'];

/** BCC's event block: the row, then the data between markers (none for a handshake). */
export function eventBlock(row: string, e: Pick<SslEvent, 'rw' | 'len' | 'buf_filled'>, data: string): string[] {
	if (e.rw === SSL_RW.RW_HANDSHAKE) return [row];
	const lost = e.len - e.buf_filled;
	return [row, '----- DATA -----', data, lost > 0 ? `----- END DATA (TRUNCATED, ${lost} bytes lost) -----` : '----- END DATA -----', ''];
}

/** The library types a file holds (by their marker functions), and its function names. */
function inspect(path: string): { types: LibType[]; funcs: Set<string> } | null {
	return withElfFile(path, (src, info) => {
		const funcs = new Set(readSymbols(src, info).map((s) => s.name));
		return { types: LIB_TYPES.filter((t) => funcs.has(MARKERS[t])), funcs };
	});
}

/** Files to probe: libraries by name (ld.so cache, or the process's maps with -p), and binaries that embed one. */
export function findTargets(types: LibType[], pid: number | undefined, extra: { type: LibType; path: string }[]): Target[] {
	const out: Target[] = [];
	const seen = new Set<string>();
	const add = (path: string, only?: LibType, scanned = false) => {
		let id: string;
		try {
			const st = statSync(path);
			id = `${st.dev}:${st.ino}`;
		} catch {
			return;
		}
		// one set of probes per file and library type, however the file was found
		const wanted = (only ? [only] : types).filter((t) => !seen.has(`${id}:${t}`));
		if (!wanted.length || seen.has(`${id}:none`)) return;
		const r = inspect(path);
		if (!r) return seen.add(`${id}:none`), undefined;
		for (const type of r.types.filter((t) => wanted.includes(t))) {
			seen.add(`${id}:${type}`);
			out.push({ type, path, funcs: r.funcs, scanned });
		}
	};
	for (const e of extra) add(e.path, e.type);
	if (pid !== undefined) {
		// everything the process maps that holds one of the libraries: its own libssl, or a binary embedding it
		for (const m of readMaps(pid) ?? []) if (m.path.startsWith('/')) add(procPath(pid, m.path));
		return out;
	}
	for (const t of types) {
		const p = findObject(LIB_NAMES[t], undefined);
		if (p) add(p, t);
	}
	// running programs that embed a library and export its functions (node)
	let pids: string[] = [];
	try {
		pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
	} catch {
		/* no /proc */
	}
	for (const p of pids) {
		let exe: string;
		try {
			exe = readlinkSync(`/proc/${p}/exe`);
		} catch {
			continue;
		}
		if (exe.endsWith(' (deleted)')) continue;
		add(procPath(Number(p), exe), undefined, true);
	}
	return out;
}

export default defineTool<Opts>({
	name: 'sslsniff',
	description: 'Trace the plaintext of TLS reads and writes (OpenSSL, GnuTLS, NSS), with secrets redacted.',
	options: {
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'sniff this PID only' },
		uid: { alias: 'u', type: 'number', requiresArg: true, describe: 'sniff this UID only' },
		extra: { alias: 'x', type: 'boolean', describe: 'show extra fields (UID, TID)' },
		comm: { alias: 'c', type: 'string', requiresArg: true, describe: 'sniff only commands matching this name' },
		'no-openssl': { alias: 'o', type: 'boolean', describe: 'do not show OpenSSL calls' },
		'no-gnutls': { alias: 'g', type: 'boolean', describe: 'do not show GnuTLS calls' },
		'no-nss': { alias: 'n', type: 'boolean', describe: 'do not show NSS calls' },
		hexdump: { type: 'boolean', describe: 'show data as hexdump instead of trying to decode it as UTF-8' },
		'max-buffer-size': { type: 'number', default: 8192, requiresArg: true, describe: `the amount of data to capture per call, in bytes (at most ${MAX_BUF_SIZE})` },
		latency: { alias: 'l', type: 'boolean', describe: 'show the latency of each call (LAT(ms))' },
		handshake: { type: 'boolean', describe: 'show SSL handshakes (SSL_do_handshake) with their latency (implies -l)' },
		'extra-lib': { type: 'string', array: true, requiresArg: true, describe: 'also probe this library or binary: TYPE:PATH, TYPE openssl, gnutls or nss (repeatable)' },
		redact: { type: 'boolean', default: true, describe: 'redact Authorization/Cookie header values and password/token fields (--no-redact shows everything)' },
	},
	examples: [
		['ebpf-tools sslsniff', 'sniff OpenSSL, GnuTLS and NSS functions'],
		['ebpf-tools sslsniff -p 181', 'sniff PID 181 only'],
		['ebpf-tools sslsniff -u 1000', 'sniff only UID 1000'],
		['ebpf-tools sslsniff -c curl', 'sniff curl command only'],
		['ebpf-tools sslsniff --no-openssl', 'do not show OpenSSL calls'],
		['ebpf-tools sslsniff --no-gnutls', 'do not show GnuTLS calls'],
		['ebpf-tools sslsniff --no-nss', 'do not show NSS calls'],
		['ebpf-tools sslsniff --hexdump', 'show data as hex instead of trying to decode it as UTF-8'],
		['ebpf-tools sslsniff -x', 'show process UID and TID'],
		['ebpf-tools sslsniff -l', 'show function latency'],
		['ebpf-tools sslsniff -l --handshake', 'show SSL handshake latency'],
		['ebpf-tools sslsniff --extra-lib openssl:/path/libssl.so.1.1', 'sniff an extra library'],
		['ebpf-tools sslsniff --json --no-redact', 'one JSON object per call, secrets included'],
	],
	validate(a) {
		if (a.pid !== undefined && !(Number.isInteger(a.pid) && a.pid > 0)) throw usage(`--pid ${a.pid}: must be a positive PID`);
		if (a.uid !== undefined && !(Number.isInteger(a.uid) && a.uid >= 0 && a.uid < 0xffffffff)) throw usage(`--uid ${a.uid}: must be a user ID`);
		if (a.comm !== undefined && (!a.comm || Buffer.byteLength(a.comm) > 15)) throw usage(`--comm ${a.comm}: must be 1 to 15 bytes (a task's comm)`);
		if (!Number.isInteger(a.maxBufferSize) || a.maxBufferSize <= 0 || a.maxBufferSize > MAX_BUF_SIZE)
			throw usage(`--max-buffer-size ${a.maxBufferSize}: must be 1 to ${MAX_BUF_SIZE} bytes`);
		for (const e of a.extraLib ?? []) parseExtraLib(e);
		if (a.noOpenssl && a.noGnutls && a.noNss && !a.extraLib?.length) throw usage('-o, -g and -n leave nothing to sniff', 'drop one of them, or add --extra-lib');
	},
	async run(t, a) {
		const types = LIB_TYPES.filter((x) => !(x === 'openssl' ? a.noOpenssl : x === 'gnutls' ? a.noGnutls : a.noNss));
		const extra = (a.extraLib ?? []).map(parseExtraLib);
		for (const e of extra) {
			const st = (() => {
				try {
					return statSync(e.path);
				} catch {
					return undefined;
				}
			})();
			if (!st?.isFile()) throw usage(`--extra-lib ${e.type}:${e.path}: no such file`);
		}
		if (a.pid !== undefined && readMaps(a.pid) === null) throw usage(`--pid ${a.pid}: no such process`);
		const targets = findTargets(types, a.pid, extra);
		for (const e of extra)
			if (!withElfFile(e.path, (src, info) => readSymbols(src, info).some((x) => x.name === MARKERS[e.type])))
				throw usage(`--extra-lib ${e.type}:${e.path}: has no ${MARKERS[e.type]}`, 'give a library (or binary) that defines the functions of that type');
		if (!targets.length)
			throw usage(a.pid !== undefined ? `process ${a.pid} maps no ${types.join(', ')} library` : `no ${types.join(', ')} library found`,
				'install one, or name it with --extra-lib TYPE:PATH');
		const latency = !!a.latency || !!a.handshake;

		const lo: LoadedObject = t.open('sslsniff', {
			layouts: { ssl_event: SSL_EVENT_LAYOUT },
			globals: {
				targ_pid: a.pid !== undefined ? u32(a.pid) : undefined,
				targ_uid: a.uid !== undefined ? u32(a.uid) : undefined,
				filter_comm: u8(a.comm !== undefined),
				targ_comm: a.comm !== undefined ? Buffer.concat([Buffer.from(a.comm), Buffer.alloc(16)]).subarray(0, 16) : undefined,
				max_buf: u32(a.maxBufferSize),
			},
		});
		const probed: string[] = [];
		for (const tg of targets) {
			const fns = [...FUNCS[tg.type], ...(a.handshake && tg.type === 'openssl' ? [HANDSHAKE] : [])].filter(([f]) => tg.funcs.has(f));
			try {
				for (const [f, enter, exit] of fns) {
					lo.uprobe(enter, { path: tg.path, pid: a.pid, func: f });
					lo.uprobe(exit, { path: tg.path, pid: a.pid, func: f, retprobe: true });
				}
			} catch (e) {
				// a program seen in the scan that has exited since (a container's file, reached through its /proc root)
				if (!tg.scanned) throw e;
				if (a.verbose) t.out.info(`sslsniff: ${tg.path} not probed: ${(e as Error).message}`);
				continue;
			}
			probed.push(`${basename(tg.path)} (${tg.type})`);
		}

		let firstNs = 0;
		const cols = new Columns<SslEvent>([
			{ header: 'FUNC', width: 12, text: (e) => FUNC_NAMES[e.rw] ?? String(e.rw) },
			{ header: 'TIME(s)', width: 18, text: (e) => ((e.ts_ns - firstNs) / 1e9).toFixed(9) },
			{ header: 'COMM', width: 16, text: (e) => e.comm },
			{ header: 'PID', width: 7, text: (e) => String(e.pid) },
			{ header: 'LEN', width: 6, text: (e) => String(e.len) },
			{ header: 'UID', width: 7, show: !!a.extra, text: (e) => String(e.uid) },
			{ header: 'TID', width: 7, show: !!a.extra, text: (e) => String(e.tid) },
			{ header: 'LAT(ms)', show: latency, text: (e) => (e.delta_ns ? (e.delta_ns / 1e6).toFixed(3) : 'N/A') },
		]);
		const hex = !!a.hexdump;
		t.stream(lo, decodeSslEvent, (e) => {
			firstNs ||= e.ts_ns;
			const data = payload(e.buf.subarray(0, e.buf_filled), { hex, redact: a.redact });
			if (t.out.records) {
				t.out.record({
					ts: t.clock.epochSeconds(e.ts_ns),
					func: ['read', 'write', 'handshake'][e.rw] ?? String(e.rw),
					comm: e.comm,
					pid: e.pid,
					tid: e.tid,
					uid: e.uid,
					len: e.len,
					latency_ms: e.delta_ns / 1e6,
					...(e.rw === SSL_RW.RW_HANDSHAKE ? {} : { [hex ? 'data_hex' : 'data']: hex ? data.replace(/\n/g, '') : data, truncated: e.len - e.buf_filled }),
				});
			}
			if (!t.out.json) for (const l of eventBlock(cols.row(e), e, data)) t.out.line(l);
		});

		if (!t.out.json) t.out.line(cols.header());
		t.out.info(`Sniffing ${probed.join(', ')}${a.pid !== undefined ? ` in PID ${a.pid}` : ''}${a.redact ? '' : ', secrets NOT redacted'}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
