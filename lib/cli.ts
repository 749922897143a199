// `ebpf-tools <tool> [options]`: tool lookup, yargs parsing with the common
// options, validation before the kernel is touched, one-line errors and exit
// codes (0 ok, 1 runtime, 2 usage). No stack trace unless -v.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import parser from 'yargs-parser';
import type { Options } from 'yargs';
import { ToolError, formatError, mapNativeError, usage } from './errors.js';
import { packageRoot } from './native.js';
import { TOOLS } from './registry.js';
import type { Args, ToolSpec } from './tool.js';
import { Tracer } from './tracer.js';
import type { CommonArgs } from './tracer.js';
import { Output } from './output.js';
import type { OtlpSink } from './otlp.js';

export const COMMON_OPTIONS: Record<string, Options> = {
	json: { type: 'boolean', describe: 'print one JSON object per line (NDJSON) instead of text' },
	cgroup: { type: 'string', requiresArg: true, describe: 'trace only tasks in this cgroup v2 directory or below it' },
	duration: { type: 'number', requiresArg: true, describe: 'stop after this many seconds' },
	'perf-buffer': { type: 'boolean', describe: 'deliver events through a perf buffer instead of the ring buffer' },
	otlp: {
		type: 'string',
		describe: 'also send every record (as --json prints it) to an OpenTelemetry collector as OTLP/HTTP logs; --otlp=URL (base or /v1/logs URL), or --otlp alone for OTEL_EXPORTER_OTLP_* or http://localhost:4318',
	},
	'otlp-header': { type: 'string', array: true, requiresArg: true, describe: 'KEY=VALUE header for the OTLP requests (repeatable; adds to OTEL_EXPORTER_OTLP_HEADERS)' },
	'self-stats': { type: 'boolean', describe: "at the end, the tool's own CPU time and peak memory (stderr; a self_stats record with --json)" },
	verbose: { alias: 'v', type: 'count', describe: 'print libbpf and verifier messages and stack traces (-vv: debug)' },
};

function version(): string {
	return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function topHelp(): string {
	const names = Object.keys(TOOLS);
	const w = Math.max(...names.map((n) => n.length));
	return [
		'Usage: ebpf-tools <tool> [options]',
		'',
		'BCC-style eBPF tracing tools (CO-RE, no compiler at run time).',
		'',
		'Tools:',
		...names.map((n) => `  ${n.padEnd(w)}  ${TOOLS[n].summary}`),
		'',
		'Tracing tools take the common options --json, --otlp[=URL], --cgroup PATH, --duration SECS, --perf-buffer, --self-stats and -v.',
		"Run 'ebpf-tools <tool> --help' for a tool's options, or 'man ebpf-tools'.",
		'',
	].join('\n');
}

function commonFor(spec: ToolSpec<any>): Record<string, Options> {
	const common: Record<string, Options> = {};
	for (const [k, o] of Object.entries(COMMON_OPTIONS)) {
		const alias = spec.commonAliases?.[k as 'cgroup' | 'duration'];
		common[k] = alias ? { ...o, alias } : o;
	}
	return common;
}

/** The tool's --help, rendered by yargs (loaded only for help: it costs ~150 ms to import). */
async function help(spec: ToolSpec<any>): Promise<string> {
	const { default: yargs } = await import('yargs');
	const common = commonFor(spec);
	const pos = (spec.positionals ?? []).map((p) => `[${p.name}]`).join(' ');
	let y = yargs([])
		.scriptName(`ebpf-tools ${spec.name}`)
		.usage(`Usage: $0 [options]${pos ? ' ' + pos : ''}\n\n${spec.description}`)
		.options(spec.options)
		.group(Object.keys(spec.options), 'Options:')
		.options(common)
		.group(Object.keys(common), 'Common options:')
		.help(false)
		.version(false)
		.wrap(Math.min(100, process.stdout.columns || 100));
	for (const [cmd, desc] of spec.examples) y = y.example(cmd, desc);
	const positionalsHelp = (spec.positionals ?? []).map((p) => `  ${p.name.padEnd(10)} ${p.describe}`).join('\n');
	y = y.epilogue([positionalsHelp && `Positional arguments:\n${positionalsHelp}`, spec.epilogue, `See man ${spec.name}(8).`].filter(Boolean).join('\n\n'));
	return y.getHelp();
}

const asArray = (a: string | readonly string[] | undefined): string[] => (a === undefined ? [] : typeof a === 'string' ? [a] : [...a]);
const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parse with yargs-parser (yargs' own parser) from the same option specs
 * yargs renders in --help; strict about unknown options and missing values.
 */
export function parse(spec: ToolSpec<any>, args: string[]): Record<string, unknown> & { _: (string | number)[] } {
	const opts = { ...spec.options, ...commonFor(spec) };
	const cfg = { alias: {} as Record<string, string[]>, boolean: [] as string[], number: [] as string[], string: [] as string[],
		count: [] as string[], array: [] as string[], default: {} as Record<string, unknown> };
	const known = new Set<string>(['_', '--']);
	for (const [k, o] of Object.entries(opts)) {
		const aliases = asArray(o.alias);
		cfg.alias[k] = aliases;
		for (const n of [k, ...aliases]) {
			known.add(n);
			known.add(camel(n));
		}
		if (o.type === 'boolean') cfg.boolean.push(k);
		else if (o.type === 'number') cfg.number.push(k);
		else if (o.type === 'count') cfg.count.push(k);
		else if (o.type === 'string') cfg.string.push(k);
		if (o.array) cfg.array.push(k);
		if (o.default !== undefined) cfg.default[k] = o.default;
	}
	// an option named no-X (BCC's --no-openssl) is a flag of its own, not the negation of an X
	const noFlags = new Set(Object.keys(opts).filter((k) => k.startsWith('no-') && opts[k].type === 'boolean').map((k) => `--${k}`));
	if (noFlags.size) args = args.map((a) => (noFlags.has(a) ? `${a}=true` : a));
	const r = parser.detailed(args, { ...cfg, configuration: { 'camel-case-expansion': true, 'strip-dashed': false,
		'duplicate-arguments-array': true, 'greedy-arrays': false } });
	if (r.error) throw usage(r.error.message, `see 'ebpf-tools ${spec.name} --help'`);
	const argv = r.argv as Record<string, unknown> & { _: (string | number)[] };
	for (const k of Object.keys(argv)) {
		if (!known.has(k)) throw usage(`Unknown argument: ${k}`, `see 'ebpf-tools ${spec.name} --help'`);
	}
	for (const [k, o] of Object.entries(opts)) {
		const v = argv[k];
		const flags = [`--${k}`, ...asArray(o.alias).map((al) => (al.length === 1 ? `-${al}` : `--${al}`))];
		// a flag last on the line has no value, even when the option has a default
		const last = args.length > 0 && flags.includes(args[args.length - 1]);
		if (o.requiresArg && (last || v === '' || (o.type === 'number' && v === undefined && args.some((a) => flags.includes(a)))))
			throw usage(`--${k} needs a value`, `see 'ebpf-tools ${spec.name} --help'`);
		// a repeated option keeps its last value, unless it collects them (array: true)
		if (!o.array && Array.isArray(v)) {
			const last = v[v.length - 1];
			for (const n of [k, ...asArray(o.alias)]) argv[n] = argv[camel(n)] = last;
		}
	}
	return argv;
}

function checkNumbers(spec: ToolSpec<any>, argv: Record<string, unknown>): void {
	const all = { ...spec.options, ...COMMON_OPTIONS };
	for (const [k, o] of Object.entries(all)) {
		if (o.type !== 'number') continue;
		const v = argv[k];
		const bad = Array.isArray(v) ? v.some((x) => typeof x !== 'number' || Number.isNaN(x)) : typeof v === 'number' && Number.isNaN(v);
		if (bad) throw usage(`--${k}: expected a number`, `see 'ebpf-tools ${spec.name} --help'`);
	}
}

/** Parse and run one tool. Returns the exit code. */
export async function runTool(name: string, args: string[]): Promise<number> {
	const entry = TOOLS[name];
	if (!entry) {
		process.stderr.write(`ebpf-tools: unknown tool '${name}' (tools: ${Object.keys(TOOLS).join(', ')})\n`);
		return 2;
	}
	const spec = (await entry.load()).default;
	const verbose = args.some((a) => /^-v+$/.test(a) || a === '--verbose');
	let tracer: Tracer | undefined;
	let otlp: OtlpSink | undefined;
	// an error thrown from a timer or callback ends the run like any other:
	// cleanly, as one line
	const onUncaught = (e: unknown) => {
		if (tracer) return tracer.fail(e);
		throw e;
	};
	process.on('uncaughtException', onUncaught);
	try {
		if (args.includes('--help') || args.includes('-h')) {
			process.stdout.write((await help(spec)) + '\n');
			return 0;
		}
		const argv = parse(spec, args) as unknown as Args<Record<string, unknown>>;
		checkNumbers(spec, argv as Record<string, unknown>);
		const positionals = spec.positionals ?? [];
		if (argv._.length > positionals.length)
			throw usage(`unexpected argument '${argv._[positionals.length]}'`, `see 'ebpf-tools ${spec.name} --help'`);
		argv._.forEach((v, i) => ((argv as Record<string, unknown>)[positionals[i].name] = v));
		const common: CommonArgs = {
			verbose: Number(argv.verbose ?? 0),
			json: !!argv.json,
			cgroup: argv.cgroup as string | undefined,
			perfBuffer: !!argv['perf-buffer'],
			duration: argv.duration as number | undefined,
			otlp: argv.otlp as string | undefined,
			otlpHeaders: (argv['otlp-header'] as string[] | undefined) ?? [],
			selfStats: !!argv['self-stats'],
		};
		Object.assign(argv, common);
		Tracer.validateCommon(common);
		spec.validate?.(argv);
		if (common.otlp !== undefined && spec.needsKernel !== false) {
			const { OtlpSink } = await import('./otlp.js');
			otlp = await OtlpSink.create({ url: common.otlp, headers: common.otlpHeaders ?? [], tool: spec.name, version: version(), traces: spec.otlpTraces });
			const sink = otlp;
			tracer = new Tracer(spec.name, common, new Output({ json: common.json, sink: (r) => sink.emit(r), span: spec.otlpTraces ? (s) => sink.span(s) : undefined }));
		} else tracer = new Tracer(spec.name, common);
		if (spec.needsKernel !== false) tracer.preflight();
		await spec.run(tracer, argv);
		if (common.selfStats) tracer.selfStats();
		// detach and run the end-of-run summaries first: no record may reach
		// the sink after it started shutting down (those would be dropped)
		const closeError = tracer.close();
		const otlpError = await otlp?.close();
		otlp = undefined;
		const first = closeError ?? otlpError;
		return first ? report(spec.name, first, verbose, closeError && otlpError) : 0;
	} catch (e) {
		const closeError = tracer?.close();
		tracer = undefined;
		// deliver what was gathered before the failure
		await otlp?.close();
		return report(spec.name, e instanceof ToolError ? e : mapNativeError(e, spec.name), verbose, closeError);
	} finally {
		const closeError = tracer?.close();
		process.removeListener('uncaughtException', onUncaught);
		// a failure while cleaning up (e.g. reading a summary map) is reported too
		if (closeError) return report(spec.name, closeError, verbose);
	}
}

/** Print an error as one line (details and stack only with -v); returns the exit code. */
function report(tool: string, err: ToolError, verbose: boolean, also?: ToolError): number {
	for (const e of also ? [err, also] : [err]) {
		process.stderr.write(formatError(tool, e) + '\n');
		if (verbose) {
			if (e.detail) process.stderr.write(e.detail.endsWith('\n') ? e.detail : e.detail + '\n');
			process.stderr.write(`${(e.cause instanceof Error ? e.cause : e).stack}\n`);
		}
	}
	return err.exitCode;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
	const [first, ...rest] = argv;
	if (first === undefined) {
		process.stderr.write(topHelp());
		return 2;
	}
	if (first === '--help' || first === '-h' || first === 'help') {
		if (first === 'help' && rest[0]) return runTool(rest[0], ['--help']);
		process.stdout.write(topHelp());
		return 0;
	}
	if (first === '--version' || first === '-V') {
		process.stdout.write(`ebpf-tools ${version()}\n`);
		return 0;
	}
	if (first.startsWith('-')) {
		process.stderr.write(`ebpf-tools: expected a tool name before options, got '${first}' (see ebpf-tools --help)\n`);
		return 2;
	}
	return runTool(first, rest);
}
