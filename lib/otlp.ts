// --otlp: every record a tool prints with --json also goes to an
// OpenTelemetry collector as an OTLP/HTTP log record (attributes: the
// record's members, nested ones as dotted keys). The OpenTelemetry packages
// load only when --otlp is given. Records that do not reach the collector
// are counted and reported: never lost silently.
import { hostname } from 'node:os';
import { ToolError, usage } from './errors.js';
import type { SpanRecord } from './output.js';

export interface OtlpOptions {
	/** collector base URL (http://host:4318) or full logs URL (.../v1/logs); '' = OTEL_* variables or the default */
	url: string;
	/** --otlp-header KEY=VALUE, added to OTEL_EXPORTER_OTLP_HEADERS */
	headers: string[];
	tool: string;
	version: string;
	/** the tool sends spans too (OTLP traces, to .../v1/traces) */
	traces?: boolean;
}

type Primitive = string | number | boolean;
export type Attributes = Record<string, Primitive | Primitive[]>;

const isPrimitive = (v: unknown): v is Primitive => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * A record as OTel attributes: members with primitive values as they are,
 * nested objects as dotted keys, arrays of primitives as arrays, other
 * arrays (histogram buckets) as JSON text; null and undefined left out.
 */
export function toAttributes(o: Record<string, unknown>, prefix = '', out: Attributes = {}): Attributes {
	for (const [k, v] of Object.entries(o)) {
		if (v === null || v === undefined) continue;
		const key = prefix + k;
		if (isPrimitive(v)) out[key] = v;
		else if (typeof v === 'bigint') out[key] = Number(v);
		else if (Array.isArray(v)) out[key] = v.every(isPrimitive) ? (v as Primitive[]) : JSON.stringify(v);
		else if (typeof v === 'object') toAttributes(v as Record<string, unknown>, `${key}.`, out);
	}
	return out;
}

/** Unix time in seconds (a float) as OTel HrTime [seconds, nanoseconds]. */
export function hrTime(sec: number): [number, number] {
	const s = Math.floor(sec);
	return [s, Math.min(999_999_999, Math.round((sec - s) * 1e9))];
}

/** The traces endpoint beside a logs one: .../v1/logs becomes .../v1/traces. */
export function tracesUrl(logs: string): string {
	return logs.replace(/\/v1\/logs\/?$/, '/v1/traces');
}

/** The logs endpoint for --otlp URL: a base URL gets /v1/logs, a full one is kept. */
export function logsUrl(url: string): string {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		throw usage(`--otlp ${url}: not a URL`, 'write --otlp=http://HOST:4318, or put --otlp last to use the OTEL_* variables');
	}
	if (u.protocol !== 'http:' && u.protocol !== 'https:')
		throw usage(`--otlp ${url}: only http and https (OTLP/HTTP) are supported`, 'write --otlp=http://HOST:4318');
	return /\/v1\/logs\/?$/.test(u.pathname) ? u.href : u.href.replace(/\/?$/, '/v1/logs');
}

export function parseHeaders(list: string[]): Record<string, string> {
	const h: Record<string, string> = {};
	for (const kv of list) {
		const i = kv.indexOf('=');
		if (i <= 0) throw usage(`--otlp-header ${kv}: expected KEY=VALUE`);
		h[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
	}
	return h;
}

type Exported = { code: number; error?: Error };
interface Exporter<T> {
	export(items: T[], done: (r: Exported) => void): void;
	shutdown(): Promise<void>;
	forceFlush?(): Promise<void>;
}

/** An exporter that counts what the collector accepted, and keeps the last error. */
function counting<T>(inner: Exporter<T>, count: { delivered: number; lastError: string }): Exporter<T> {
	return {
		export(items, done) {
			inner.export(items, (res) => {
				if (res.code === 0) count.delivered += items.length;
				else count.lastError = res.error?.message ?? 'export failed';
				done(res);
			});
		},
		shutdown: () => inner.shutdown(),
		forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
	};
}

interface SpanPipeline {
	provider: { shutdown(): Promise<void> };
	emit(s: SpanRecord): void;
	count: { emitted: number; delivered: number; lastError: string };
	target: string;
}

export class OtlpSink {
	emitted = 0;
	delivered = 0;
	private lastError = '';
	private spans: SpanPipeline | undefined;

	private constructor(
		private readonly provider: { shutdown(): Promise<void> },
		private readonly logger: { emit(r: Record<string, unknown>): void },
		readonly target: string,
		private readonly tool: string,
	) {}

	static async create(o: OtlpOptions): Promise<OtlpSink> {
		const url = o.url ? logsUrl(o.url) : undefined;
		const headers = parseHeaders(o.headers);
		const [{ OTLPLogExporter }, { LoggerProvider, BatchLogRecordProcessor }, { detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
			import('@opentelemetry/exporter-logs-otlp-http'),
			import('@opentelemetry/sdk-logs'),
			import('@opentelemetry/resources'),
		]);
		const exporter = new OTLPLogExporter({ ...(url ? { url } : {}), headers, timeoutMillis: 5000 });
		let sink: OtlpSink | undefined;
		// count what the collector accepted and what it did not
		const logCount = {
			get delivered() {
				return sink!.delivered;
			},
			set delivered(n: number) {
				sink!.delivered = n;
			},
			get lastError() {
				return sink!.lastError;
			},
			set lastError(m: string) {
				sink!.lastError = m;
			},
		};
		type LogExporter = ConstructorParameters<typeof BatchLogRecordProcessor>[0]['exporter'];
		const countingLogs = counting(exporter as unknown as Exporter<unknown>, logCount) as unknown as LogExporter;
		const resource = resourceFromAttributes({
			'service.name': 'ebpf-tools',
			'service.version': o.version,
			'host.name': hostname(),
			'ebpf_tools.tool': o.tool,
		}).merge(detectResources({ detectors: [envDetector] }));
		// a queue large enough for a storm between two exports; anything the
		// processor still drops shows up as emitted but never delivered
		const processor = new BatchLogRecordProcessor({
			exporter: countingLogs,
			maxQueueSize: 1 << 16,
			maxExportBatchSize: 2048,
			scheduledDelayMillis: 1000,
			exportTimeoutMillis: 10000,
		});
		const provider = new LoggerProvider({ resource, processors: [processor] });
		const logger = provider.getLogger('ebpf-tools', o.version);
		const target = url ?? process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
		sink = new OtlpSink(provider, logger as unknown as { emit(r: Record<string, unknown>): void }, target, o.tool);
		if (o.traces) sink.spans = await spanPipeline(url ? tracesUrl(url) : undefined, headers, resource, o.version);
		return sink;
	}

	/** A timed operation as a span (tools that declare traces). */
	span(s: SpanRecord): void {
		this.spans?.emit(s);
	}

	/** One record (what --json prints) as a log record; its time from ts or timestamp (Unix seconds). */
	emit(record: Record<string, unknown>): void {
		const t = typeof record.ts === 'number' ? record.ts : typeof record.timestamp === 'number' ? record.timestamp : Date.now() / 1000;
		const type = typeof record.type === 'string' ? record.type : 'event';
		this.logger.emit({
			timestamp: hrTime(t),
			severityNumber: type === 'lost' ? 13 : 9, // WARN : INFO
			severityText: type === 'lost' ? 'WARN' : 'INFO',
			body: `${this.tool} ${type}`,
			attributes: { 'ebpf_tools.tool': this.tool, ...toAttributes(record) },
		});
		this.emitted++;
	}

	/** Export what is queued and stop; a ToolError when records did not reach the collector. */
	async close(): Promise<ToolError | undefined> {
		await Promise.all([this.provider.shutdown(), this.spans?.provider.shutdown()]);
		const lost = this.emitted - this.delivered;
		const sp = this.spans?.count;
		const lostSpans = sp ? sp.emitted - sp.delivered : 0;
		if (lost <= 0 && lostSpans <= 0) return undefined;
		const what = [
			lost > 0 ? `${lost} of ${this.emitted} records not delivered to ${this.target}${this.lastError ? `: ${this.lastError}` : ''}` : '',
			lostSpans > 0 ? `${lostSpans} of ${sp!.emitted} spans not delivered to ${this.spans!.target}${sp!.lastError ? `: ${sp!.lastError}` : ''}` : '',
		].filter(Boolean);
		return new ToolError('RUNTIME', `OTLP: ${what.join('; ')}`, 'start an OpenTelemetry collector with an OTLP/HTTP receiver there (usually port 4318)');
	}
}

/** The traces half of --otlp: spans with their own times and remote parents, every one recorded. */
async function spanPipeline(url: string | undefined, headers: Record<string, string>, resource: unknown, version: string): Promise<SpanPipeline> {
	const [{ OTLPTraceExporter }, { TracerProvider, BatchSpanProcessor, AlwaysOnSampler }, api] = await Promise.all([
		import('@opentelemetry/exporter-trace-otlp-http'),
		import('@opentelemetry/sdk-trace'),
		import('@opentelemetry/api'),
	]);
	const count = { emitted: 0, delivered: 0, lastError: '' };
	const exporter = counting(new OTLPTraceExporter({ ...(url ? { url } : {}), headers, timeoutMillis: 5000 }) as unknown as Exporter<unknown>, count);
	const provider = new TracerProvider({
		resource: resource as never,
		// the tool observes: it records every operation, whatever the parent decided
		sampler: new AlwaysOnSampler(),
		spanProcessors: [new BatchSpanProcessor({ exporter: exporter as never, maxQueueSize: 1 << 16, maxExportBatchSize: 2048, scheduledDelayMillis: 1000, exportTimeoutMillis: 10000 })],
	});
	const tracer = provider.getTracer('ebpf-tools', version);
	const kinds = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL };
	const target = url ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318'}/v1/traces`;
	return {
		provider,
		count,
		target,
		emit(s) {
			const ctx = s.parent
				? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: s.parent.traceId, spanId: s.parent.spanId, traceFlags: s.parent.sampled ? 1 : 0, isRemote: true })
				: api.ROOT_CONTEXT;
			const span = tracer.startSpan(s.name, { kind: kinds[s.kind], startTime: hrTime(s.startSec), attributes: s.attributes }, ctx);
			if (s.error) span.setStatus({ code: api.SpanStatusCode.ERROR });
			span.end(hrTime(s.endSec));
			count.emitted++;
		},
	};
}
