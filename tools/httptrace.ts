// httptrace: HTTP/1.x requests with their status and latency, client and
// server side, from the socket syscalls (no code changes, no proxies). The
// kernel side sends only reads and writes that start an HTTP message; here
// requests and responses are paired per (process, descriptor), in order, so
// keep-alive, pipelining and event-loop servers (one thread, many
// connections) all pair correctly.
import { existsSync } from 'node:fs';
import { ToolError, usage } from '../lib/errors.js';
import { HTTP_DIR as DIR, HTTP_EVENT_LAYOUT, decodeHttpEvent } from '../lib/gen/httptrace.js';
import type { HttpEvent } from '../lib/gen/httptrace.js';
import { AF_INET, AF_INET6, formatAddr } from '../lib/net.js';
import { tracepointExists } from '../lib/preflight.js';
import { defineTool } from '../lib/tool.js';
import { rawSyscallGlobals } from '../lib/syscalls.js';
import { hhmmss, u32 } from '../lib/tracer.js';

type Side = 'client' | 'server';
/** the PATH column: the row stays within 80 columns */
const PATH_W = 25;

interface Opts {
	pid?: number;
	port?: string;
	minMs: number;
	status?: string;
	side?: string;
}

/** A request line or a status line, with the headers that matter here. */
export interface Message {
	kind: 'request' | 'response';
	method?: string;
	target?: string;
	version: string;
	status?: number;
	headers: Record<string, string>;
}

/** Parse the start of an HTTP/1.x message (what was captured of it). */
export function parseMessage(text: string): Message | undefined {
	const end = text.indexOf('\r\n');
	const line = end < 0 ? text : text.slice(0, end);
	const headers: Record<string, string> = {};
	if (end >= 0) {
		for (const h of text.slice(end + 2).split('\r\n')) {
			if (!h) break;
			const i = h.indexOf(':');
			if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
		}
	}
	let m = /^(HTTP\/\d(?:\.\d)?) (\d{3})(?: |$)/.exec(line);
	if (m) return { kind: 'response', version: m[1], status: Number(m[2]), headers };
	m = /^([A-Z]+) (\S+) (HTTP\/\d(?:\.\d)?)$/.exec(line);
	if (m) return { kind: 'request', method: m[1], target: m[2], version: m[3], headers };
	return undefined;
}

/**
 * The messages that start in one captured buffer: a pipelining client (or
 * server) may send several at once. After each message's headers, its body
 * (Content-Length, when it is all in the buffer) is skipped; anything that
 * does not start a message ends the list.
 */
export function splitMessages(text: string): Message[] {
	const out: Message[] = [];
	let rest = text;
	for (let i = 0; i < 16 && rest; i++) {
		const m = parseMessage(rest);
		if (!m) break;
		out.push(m);
		const end = rest.indexOf('\r\n\r\n');
		if (end < 0) break;
		// no body: requests without Content-Length, 1xx, 204 and 304 responses; other responses without it run to the close
		const bodiless = m.kind === 'request' || m.status! < 200 || m.status === 204 || m.status === 304;
		const body = Number(m.headers['content-length'] ?? (bodiless ? 0 : NaN));
		if (!Number.isInteger(body) || m.headers['transfer-encoding']) break;
		rest = rest.slice(end + 4 + body);
	}
	return out;
}

/** W3C traceparent: version-traceid-parentid-flags. */
export function parseTraceparent(v: string | undefined): { traceId: string; spanId: string; sampled: boolean } | undefined {
	const m = v && /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(v.trim());
	if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return undefined;
	return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

/** --status: "404,500" or classes "5xx,4xx". */
export function parseStatusFilter(s: string): (code: number) => boolean {
	const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
	if (!parts.length) throw usage(`--status ${s}: expected codes like 404,500 or classes like 5xx`);
	const tests = parts.map((p) => {
		if (/^[1-5]xx$/i.test(p)) return (c: number) => Math.floor(c / 100) === Number(p[0]);
		if (/^[1-5]\d\d$/.test(p)) return (c: number) => c === Number(p);
		throw usage(`--status ${s}: '${p}' is not a status code or class (e.g. 404, 5xx)`);
	});
	return (c) => tests.some((t) => t(c));
}

/** --port: "80,8080" */
export function parsePorts(s: string): Set<number> {
	const ports = String(s).split(',').map((x) => x.trim()).filter(Boolean);
	if (!ports.length) throw usage(`--port ${s}: expected a comma-separated list of ports`);
	return new Set(ports.map((p) => {
		if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw usage(`--port ${s}: '${p}' is not a port`);
		return Number(p);
	}));
}

/** One request with its response. */
export interface Exchange {
	side: Side;
	pid: number;
	comm: string;
	method: string;
	target: string;
	status: number;
	startNs: number;
	endNs: number;
	headers: Record<string, string>;
	family: number;
	laddr: number[];
	raddr: number[];
	lport: number;
	rport: number;
}

interface Pending {
	side: Side;
	msg: Message;
	tsNs: number;
	e: HttpEvent;
}

/**
 * Requests and responses per (process, descriptor). A request read there
 * makes it a server-side connection, one written a client-side one; each
 * response completes the oldest request of its connection (pipelining keeps
 * the order). A close forgets the connection.
 */
export class Pairer {
	private readonly conns = new Map<string, Pending[]>();
	/** responses with no request before them (the request was sent before tracing) */
	unpaired = 0;

	constructor(private readonly done: (x: Exchange) => void) {}

	event(e: HttpEvent): void {
		const key = `${e.pid}:${e.fd}`;
		if (e.dir === DIR.DIR_CLOSE) {
			this.conns.delete(key);
			return;
		}
		for (const msg of splitMessages(Buffer.from(e.data.subarray(0, e.captured)).toString('latin1'))) this.message(key, e, msg);
	}

	private message(key: string, e: HttpEvent, msg: Message): void {
		let q = this.conns.get(key);
		if (msg.kind === 'request') {
			if (!q) this.conns.set(key, (q = []));
			q.push({ side: e.dir === DIR.DIR_READ ? 'server' : 'client', msg, tsNs: e.ts_ns, e });
			if (q.length > 64) q.shift();
			return;
		}
		// a response goes the other way: written by a server, read by a client
		const side: Side = e.dir === DIR.DIR_WRITE ? 'server' : 'client';
		const i = q?.findIndex((p) => p.side === side) ?? -1;
		if (!q || i < 0) {
			this.unpaired++;
			return;
		}
		const [p] = q.splice(i, 1);
		// 1xx responses are interim: the request still waits for its final one
		if (msg.status! < 200 && msg.status !== 101) {
			q.splice(i, 0, p);
			return;
		}
		this.done({
			side, pid: e.pid, comm: e.comm, method: p.msg.method!, target: p.msg.target!, status: msg.status!, startNs: p.tsNs, endNs: e.ts_ns,
			headers: p.msg.headers, family: p.e.family, laddr: p.e.laddr, raddr: p.e.raddr, lport: p.e.lport, rport: p.e.rport,
		});
	}
}

/** The path of a request target (no query string), for the PATH column and url.path. */
export function pathOf(target: string): string {
	if (/^https?:\/\//i.test(target)) {
		try {
			return new URL(target).pathname;
		} catch {
			return target;
		}
	}
	const q = target.indexOf('?');
	return q < 0 ? target : target.slice(0, q);
}

export default defineTool<Opts>({
	name: 'httptrace',
	otlpTraces: true,
	description: 'Trace HTTP/1.x requests with their status and latency, client and server side, from the socket syscalls.',
	options: {
		pid: { alias: 'p', type: 'number', requiresArg: true, describe: 'trace this process only' },
		port: { type: 'string', requiresArg: true, describe: 'only connections with one of these local or remote ports (comma-separated)' },
		'min-ms': { alias: 'm', type: 'number', default: 0, requiresArg: true, describe: 'only requests that took at least this many milliseconds' },
		status: { type: 'string', requiresArg: true, describe: 'only these response status codes or classes (e.g. 404,500 or 5xx)' },
		side: { type: 'string', requiresArg: true, describe: 'only the client or the server side: client|server' },
	},
	examples: [
		['ebpf-tools httptrace', 'every HTTP request on this host, both sides'],
		['ebpf-tools httptrace -p 1234 --side server', 'the requests process 1234 serves'],
		['ebpf-tools httptrace --port 8080 -m 100', 'requests on port 8080 that took 100 ms or more'],
		['ebpf-tools httptrace --status 5xx', 'failed requests only'],
		['ebpf-tools httptrace --json', 'one JSON object per request, OpenTelemetry attribute names'],
	],
	validate(a) {
		if (a.pid !== undefined && !(Number.isInteger(a.pid) && a.pid > 0)) throw usage(`--pid ${a.pid}: must be a positive PID`);
		if (a.pid !== undefined && !existsSync(`/proc/${a.pid}`)) throw usage(`--pid ${a.pid}: no such process`);
		if (a.port !== undefined) parsePorts(a.port);
		if (!(a.minMs >= 0)) throw usage(`--min-ms ${a.minMs}: must be 0 or more milliseconds`);
		if (a.status !== undefined) parseStatusFilter(a.status);
		if (a.side !== undefined && a.side !== 'client' && a.side !== 'server') throw usage(`--side ${a.side}: must be client or server`);
	},
	async run(t, a) {
		const ports = a.port !== undefined ? parsePorts(a.port) : undefined;
		const statusOk = a.status !== undefined ? parseStatusFilter(a.status) : () => true;
		const calls: [string, string][] = [
			['sys_enter_read', 'tp_read_enter'], ['sys_exit_read', 'tp_read_exit'], ['sys_enter_recvfrom', 'tp_recvfrom_enter'], ['sys_exit_recvfrom', 'tp_recvfrom_exit'],
			['sys_enter_readv', 'tp_readv_enter'], ['sys_exit_readv', 'tp_readv_exit'], ['sys_enter_recvmsg', 'tp_recvmsg_enter'], ['sys_exit_recvmsg', 'tp_recvmsg_exit'],
			['sys_enter_write', 'tp_write'], ['sys_enter_sendto', 'tp_sendto'], ['sys_enter_writev', 'tp_writev'], ['sys_enter_sendmsg', 'tp_sendmsg'],
			['sys_enter_close', 'tp_close'],
		];
		// classic syscall tracepoints, or without tracefs the raw ones (every syscall, picked by number)
		const raw = !t.tracefs;
		const nr = raw ? rawSyscallGlobals(['read', 'readv', 'recvfrom', 'recvmsg', 'write', 'writev', 'sendto', 'sendmsg', 'close']) : {};
		if (!nr) throw new ToolError('RUNTIME', `tracefs could not be mounted, and the syscall numbers of ${process.arch} are not known here`, 'mount tracefs at /sys/kernel/tracing');
		const autoload: Record<string, boolean> = { raw_sys_enter: raw, raw_sys_exit: raw };
		for (const [, prog] of calls) autoload[prog] = !raw;
		const globals: Record<string, Buffer> = { targ_pid: u32(a.pid ?? 0), ...nr };
		const lo = t.open('httptrace', { layouts: { http_event: HTTP_EVENT_LAYOUT }, globals, autoload });
		if (raw) {
			lo.attach('raw_sys_enter');
			lo.attach('raw_sys_exit');
		} else for (const [name, prog] of calls) if (tracepointExists('syscalls', name)) lo.tracepoint(prog, 'syscalls', name);

		const self = process.pid;
		const pairer = new Pairer((x) => {
			if (x.pid === self) return;
			const ms = (x.endNs - x.startNs) / 1e6;
			if (ms < a.minMs || !statusOk(x.status) || (a.side !== undefined && x.side !== a.side)) return;
			if (ports && !ports.has(x.lport) && !ports.has(x.rport)) return;
			const path = pathOf(x.target);
			const inet = x.family === AF_INET || x.family === AF_INET6;
			// the server's address: the peer for a client, ourselves for a server
			const server = inet ? (x.side === 'client' ? { addr: formatAddr(x.family, x.raddr), port: x.rport } : { addr: formatAddr(x.family, x.laddr), port: x.lport }) : undefined;
			const tp = parseTraceparent(x.headers.traceparent);
			if (t.out.records)
				t.out.record({
					ts: t.clock.epochSeconds(x.endNs),
					pid: x.pid,
					comm: x.comm,
					side: x.side,
					'http.request.method': x.method,
					'url.path': path,
					...(path !== x.target ? { 'url.full_target': x.target } : {}),
					'http.response.status_code': x.status,
					duration_ms: ms,
					...(x.headers.host ? { 'http.request.header.host': x.headers.host } : {}),
					...(server ? { 'server.address': server.addr, 'server.port': server.port } : {}),
					...(tp ? { trace_id: tp.traceId, parent_span_id: tp.spanId } : {}),
				});
			// --otlp: a span per exchange, child of the request's traceparent (server side: the caller's span)
			t.out.span?.({
				name: x.method,
				kind: x.side,
				startSec: t.clock.epochSeconds(x.startNs),
				endSec: t.clock.epochSeconds(x.endNs),
				attributes: {
					'http.request.method': x.method,
					'url.path': path,
					...(path !== x.target ? { 'url.query': x.target.slice(x.target.indexOf('?') + 1) } : {}),
					'http.response.status_code': x.status,
					...(server ? { 'server.address': server.addr, 'server.port': server.port } : {}),
					...(inet && x.side === 'server' ? { 'client.address': formatAddr(x.family, x.raddr), 'client.port': x.rport } : {}),
					'process.pid': x.pid,
					'process.executable.name': x.comm,
				},
				parent: tp,
				error: x.side === 'server' ? x.status >= 500 : x.status >= 400,
			});
			if (!t.out.json) {
				const p = path.length > PATH_W ? `${path.slice(0, PATH_W - 1)}~` : path;
				t.out.line(`${hhmmss(t.clock.epochSeconds(x.endNs))} ${String(x.pid).padEnd(7)} ${x.comm.slice(0, 12).padEnd(12)} ${x.side === 'client' ? 'C' : 'S'} ${x.method.padEnd(7)} ${p.padEnd(PATH_W)} ${String(x.status).padEnd(6)} ${ms.toFixed(2).padStart(7)}`);
			}
		});
		t.stream(lo, decodeHttpEvent, (e) => pairer.event(e));
		if (!t.out.json) t.out.line(`${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} S ${'METHOD'.padEnd(7)} ${'PATH'.padEnd(PATH_W)} ${'STATUS'} ${'MS'.padStart(7)}`);
		t.out.info(`Tracing HTTP requests${a.pid !== undefined ? ` of PID ${a.pid}` : ''}${raw ? ' (raw syscall tracepoints: no tracefs)' : ''} (S: server side, C: client side)... Hit Ctrl-C to end.`);
		await t.run();
		if (a.verbose) t.out.info(`httptrace: ${pairer.unpaired} responses without their request (sent before tracing, or not seen)`);
	},
});
