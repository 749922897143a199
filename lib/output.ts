// Output sinks: BCC-style aligned text or NDJSON on stdout, banners and
// warnings on stderr. Rows of one batch are joined and written once (writes
// to a pipe are synchronous in Node). A closed stdout (EPIPE, `| head`) ends
// the tool quietly.

/** One output field: shown as a text column and/or a JSON member. */
export interface Field<E> {
	/** JSON member name (snake_case); omit for text-only columns */
	key?: string;
	/** text column header; omit for JSON-only members */
	header?: string;
	/** text column width (the last column is never padded) */
	width?: number;
	right?: boolean;
	/** false: not shown in text mode (option not given) */
	show?: boolean;
	text?: (e: E) => string;
	json?: (e: E) => unknown;
}

export function pad(s: string, width: number | undefined, right = false): string {
	if (!width || s.length >= width) return s;
	return right ? s.padStart(width) : s.padEnd(width);
}

export class Columns<E> {
	readonly text: Field<E>[];
	readonly json: Field<E>[];
	constructor(fields: (Field<E> | false | undefined)[]) {
		const all = fields.filter((f): f is Field<E> => !!f);
		this.text = all.filter((f) => f.header !== undefined && f.show !== false && f.text);
		this.json = all.filter((f) => f.key !== undefined && (f.json || f.text));
	}

	header(): string {
		const last = this.text.length - 1;
		return this.text.map((f, i) => (i === last ? f.header! : pad(f.header!, f.width, f.right))).join(' ');
	}

	row(e: E): string {
		const last = this.text.length - 1;
		let s = '';
		for (let i = 0; i <= last; i++) {
			const f = this.text[i];
			const v = f.text!(e);
			s += i === last ? v : pad(v, f.width, f.right) + ' ';
		}
		return s;
	}

	object(e: E): Record<string, unknown> {
		const o: Record<string, unknown> = {};
		for (const f of this.json) o[f.key!] = f.json ? f.json(e) : f.text!(e);
		return o;
	}
}

/** Lines joined into one write at most: a storm's batch must not become one huge string. */
const FLUSH_LINES = 1024;

/** A timed operation for OTLP traces: times in Unix seconds; parent from a W3C traceparent. */
export interface SpanRecord {
	name: string;
	kind: 'server' | 'client' | 'internal';
	startSec: number;
	endSec: number;
	attributes: Record<string, string | number | boolean>;
	parent?: { traceId: string; spanId: string; sampled: boolean };
	error?: boolean;
}

export interface OutputOptions {
	json: boolean;
	/** also hand every record (what --json prints) to this sink (--otlp) */
	sink?: (record: Record<string, unknown>) => void;
	/** tools that see timed operations (httptrace's requests) send them as spans here (--otlp) */
	span?: (s: SpanRecord) => void;
	stdout?: NodeJS.WriteStream | NodeJS.WritableStream;
	stderr?: NodeJS.WritableStream;
}

export class Output {
	/** records go to stdout as NDJSON (--json) */
	readonly json: boolean;
	/** tools build records: for stdout (--json) and/or the sink (--otlp) */
	readonly records: boolean;
	private readonly sink: ((record: Record<string, unknown>) => void) | undefined;
	/** spans to the OTLP sink; undefined without --otlp */
	readonly span: ((s: SpanRecord) => void) | undefined;
	private pending: string[] = [];
	private readonly out: NodeJS.WritableStream;
	private readonly err: NodeJS.WritableStream;
	private closedCb: (() => void) | undefined;
	closed = false;
	/** stderr's reader went away (`2>&1 | head`): messages are dropped */
	private errClosed = false;

	constructor(opts: OutputOptions) {
		this.json = opts.json;
		this.sink = opts.sink;
		this.span = opts.span;
		this.records = opts.json || !!opts.sink;
		this.out = opts.stdout ?? process.stdout;
		this.err = opts.stderr ?? process.stderr;
		this.out.on('error', (e: NodeJS.ErrnoException) => {
			if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
				this.closed = true;
				this.pending = [];
				this.closedCb?.();
			} else {
				throw e;
			}
		});
		// `2>&1 | head`: stderr is the same closed pipe. Without a listener its
		// EPIPE would be an uncaught error ending the tool with status 1; stop
		// writing messages instead (the next row on stdout ends the tool).
		this.err.on('error', (e: NodeJS.ErrnoException) => {
			if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.errClosed = true;
			else throw e;
		});
	}

	/** Called once when stdout is closed by the reader. */
	onClosed(cb: () => void): void {
		this.closedCb = cb;
	}

	/** Queue a text line (text mode) for the next flush. */
	line(s: string): void {
		if (this.closed) return;
		this.pending.push(s);
		if (this.pending.length >= FLUSH_LINES) this.flush();
	}

	/** One record: an NDJSON line with --json, and to the sink with --otlp. */
	record(o: Record<string, unknown>): void {
		if (this.closed) return;
		this.sink?.(o);
		if (this.json) this.pending.push(JSON.stringify(o));
	}

	/** Queue an event through a column spec, in the current mode (and to the sink). */
	event<E>(cols: Columns<E>, e: E): void {
		if (this.closed) return;
		const o = this.records ? cols.object(e) : undefined;
		if (o) this.sink?.(o);
		this.pending.push(this.json ? JSON.stringify(o) : cols.row(e));
		if (this.pending.length >= FLUSH_LINES) this.flush();
	}

	flush(): void {
		if (!this.pending.length || this.closed) return;
		const s = this.pending.join('\n') + '\n';
		this.pending = [];
		this.out.write(s);
	}

	/** A message for people (banners, warnings): stderr, never mixed into data. */
	info(msg: string): void {
		if (!this.errClosed) this.err.write(msg.endsWith('\n') ? msg : msg + '\n');
	}

	warn(msg: string): void {
		this.info(`WARNING: ${msg}`);
	}
}
