// Shared by the TCP tools: address formatting (IPv4/IPv6 as inet_ntop
// prints them), port list parsing, TCP state names, the kernel-side filter
// maps, socket owner display, and the kernel's own SNMP/netstat counters.
import { readFileSync } from 'node:fs';
import { usage } from './errors.js';
import { tracepointExists } from './preflight.js';
import type { LoadedObject } from './tracer.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** TCP states by number (include/net/tcp_states.h), as BCC names them. */
export const TCP_STATES: Record<number, string> = {
	1: 'ESTABLISHED',
	2: 'SYN_SENT',
	3: 'SYN_RECV',
	4: 'FIN_WAIT1',
	5: 'FIN_WAIT2',
	6: 'TIME_WAIT',
	7: 'CLOSE',
	8: 'CLOSE_WAIT',
	9: 'LAST_ACK',
	10: 'LISTEN',
	11: 'CLOSING',
	12: 'NEW_SYN_RECV',
};

export function tcpState(n: number): string {
	return TCP_STATES[n] ?? `UNKNOWN(${n})`;
}

type Bytes = ArrayLike<number>;

function ipv4(b: Bytes, o = 0): string {
	return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** IPv6 text as glibc's inet_ntop writes it (RFC 5952: longest zero run compressed, ::ffff:a.b.c.d). */
export function ipv6(b: Bytes): string {
	const w: number[] = [];
	for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
	// IPv4-mapped addresses keep the dotted quad, as glibc prints them
	if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) return `::ffff:${ipv4(b, 12)}`;
	let best = -1;
	let bestLen = 1; // a single zero word is not compressed
	for (let i = 0; i < 8; ) {
		if (w[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && w[j] === 0) j++;
		if (j - i > bestLen) {
			best = i;
			bestLen = j - i;
		}
		i = j;
	}
	const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
	if (best < 0) return hex(w);
	return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** An address from a 16-byte field (IPv4 in the first four bytes). */
export function formatAddr(family: number, b: Bytes): string {
	return family === AF_INET ? ipv4(b) : ipv6(b);
}

/** "4" or "6", the IP column. */
export function ipVersion(family: number): number {
	return family === AF_INET6 ? 6 : 4;
}

/** `addr:port`, with IPv6 as BCC prints it (no brackets). */
export function endpoint(family: number, b: Bytes, port: number): string {
	return `${formatAddr(family, b)}:${port}`;
}

/**
 * Ports from a comma-separated list (repeatable option): "80,443" -> [80, 443].
 * Throws a usage error naming the option on anything but 1..65535.
 */
export function parsePorts(value: string | string[] | number | number[], flag: string): number[] {
	const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
	const out: number[] = [];
	for (const raw of items) {
		const s = raw.trim();
		if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535)
			throw usage(`${flag} ${value}: '${s}' is not a port (1-65535)`, 'give a comma-separated list, e.g. 80,443');
		const n = Number(s);
		if (!out.includes(n)) out.push(n);
	}
	if (out.length > 64) throw usage(`${flag}: at most 64 ports`);
	return out;
}

/** Fill a u16 -> u8 hash map (the BPF side's port filter) with ports. */
export function fillPortMap(obj: LoadedObject, map: string, ports: number[]): void {
	const one = Buffer.from([1]);
	for (const p of ports) {
		const k = Buffer.alloc(2);
		k.writeUInt16LE(p);
		obj.obj.mapUpdate(map, k, one);
	}
}

/** -4 / -6 -> the family the kernel keeps (0: both). */
export function familyFilter(a: { ipv4?: boolean; ipv6?: boolean }): number {
	if (a.ipv4 && a.ipv6) throw usage('-4 and -6 exclude each other');
	return a.ipv4 ? AF_INET : a.ipv6 ? AF_INET6 : 0;
}

/**
 * Kernel counters as nstat reads them: /proc/net/snmp and /proc/net/netstat
 * hold pairs of lines "Tcp: Name ..." / "Tcp: 1 2 ...". Returns
 * { Tcp: { RetransSegs: n, ... }, TcpExt: { TCPLossProbes: n, ... } }.
 */
export function parseCounters(text: string): Record<string, Record<string, number>> {
	const out: Record<string, Record<string, number>> = {};
	const lines = text.split('\n').filter((l) => l.includes(':'));
	for (let i = 0; i + 1 < lines.length; i += 2) {
		const [proto, names] = [lines[i].slice(0, lines[i].indexOf(':')), lines[i].slice(lines[i].indexOf(':') + 1).trim().split(/\s+/)];
		const vals = lines[i + 1].slice(lines[i + 1].indexOf(':') + 1).trim().split(/\s+/);
		if (lines[i + 1].slice(0, lines[i + 1].indexOf(':')) !== proto) break;
		const rec: Record<string, number> = (out[proto] ??= {});
		names.forEach((n, k) => (rec[n] = Number(vals[k])));
	}
	return out;
}

export function readCounters(file: '/proc/net/snmp' | '/proc/net/netstat' | string): Record<string, Record<string, number>> {
	try {
		return parseCounters(readFileSync(file, 'utf8'));
	} catch {
		return {};
	}
}

/** One kernel counter (e.g. 'TcpExt', 'TCPLossProbes'), undefined when absent. */
export function kernelCounter(group: string, name: string): number | undefined {
	for (const f of ['/proc/net/netstat', '/proc/net/snmp']) {
		const v = readCounters(f)[group]?.[name];
		if (v !== undefined) return v;
	}
	return undefined;
}

/** Read fixed-size records out of a mapDump() result. */
export function dumpRecords<K, V>(
	dump: { keys: Buffer; values: Buffer; count: number },
	keySize: number,
	valueSize: number,
	decodeKey: (v: DataView, o: number, len: number) => K,
	decodeValue: (v: DataView, o: number, len: number) => V,
): { key: K; value: V }[] {
	const kv = new DataView(dump.keys.buffer, dump.keys.byteOffset, dump.keys.byteLength);
	const vv = new DataView(dump.values.buffer, dump.values.byteOffset, dump.values.byteLength);
	const out: { key: K; value: V }[] = [];
	for (let i = 0; i < dump.count; i++)
		out.push({ key: decodeKey(kv, i * keySize, keySize), value: decodeValue(vv, i * valueSize, valueSize) });
	return out;
}

/** The accept hooks of tcp_identity.bpf.h: classic tracepoints, so they need tracefs. */
const ACCEPT_HOOKS: [string, string][] = [
	['ident_exit_accept4', 'sys_exit_accept4'],
	['ident_exit_accept', 'sys_exit_accept'],
];

/** Autoload settings for the identity programs every TCP tool carries. */
export function identityAutoload(tracefs: boolean): Record<string, boolean> {
	const a: Record<string, boolean> = {};
	for (const [prog, tp] of ACCEPT_HOOKS) a[prog] = tracefs && tracepointExistsSafe(tp);
	return a;
}

/**
 * Attach the accept hooks (passive sockets' owners). Without tracefs the
 * owner of an accepted socket is learnt from its first state change in
 * process context instead (usually its close()).
 */
export function attachIdentity(obj: LoadedObject, autoload: Record<string, boolean>): boolean {
	let all = true;
	for (const [prog, tp] of ACCEPT_HOOKS) {
		if (autoload[prog]) obj.tracepoint(prog, 'syscalls', tp);
		else all = false;
	}
	return all;
}

function tracepointExistsSafe(name: string): boolean {
	try {
		return tracepointExists('syscalls', name);
	} catch {
		return false;
	}
}

/** A socket owner's comm for display ("?" when the owner is unknown). */
export function ownerComm(comm: string): string {
	return comm || '?';
}

const ERRNO: Record<number, [string, string]> = {
	1: ['EPERM', 'not permitted'],
	13: ['EACCES', 'denied'],
	22: ['EINVAL', 'invalid'],
	97: ['EAFNOSUPPORT', 'no family'],
	98: ['EADDRINUSE', 'addr in use'],
	99: ['EADDRNOTAVAIL', 'no local addr'],
	100: ['ENETDOWN', 'network down'],
	101: ['ENETUNREACH', 'net unreachable'],
	103: ['ECONNABORTED', 'aborted'],
	104: ['ECONNRESET', 'reset'],
	110: ['ETIMEDOUT', 'timeout'],
	111: ['ECONNREFUSED', 'refused'],
	112: ['EHOSTDOWN', 'host down'],
	113: ['EHOSTUNREACH', 'host unreachable'],
	125: ['ECANCELED', 'canceled'],
};

/** Errno name ("ECONNREFUSED") and a short reason ("refused"); 0 is a closed-before-established connect. */
export function errnoInfo(err: number): { name: string | null; reason: string } {
	if (!err) return { name: null, reason: 'closed' };
	const e = ERRNO[err];
	return e ? { name: e[0], reason: e[1] } : { name: `E${err}`, reason: `errno ${err}` };
}
