// `ebpf-tools <tool> [options]`: tool lookup, yargs parsing with the common
// options, validation before the kernel is touched, one-line errors and exit
// codes (0 ok, 1 runtime, 2 usage). No stack trace unless -v.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import type { Options } from 'yargs';
import { ToolError, formatError, mapNativeError, usage } from './errors.js';
import { packageRoot } from './native.js';
import { TOOLS } from './registry.js';
import type { Args, ToolSpec } from './tool.js';
import { Tracer } from './tracer.js';
import type { CommonArgs } from './tracer.js';

export const COMMON_OPTIONS: Record<string, Options> = {
	json: { type: 'boolean', describe: 'print one JSON object per line (NDJSON) instead of text' },
	cgroup: { type: 'string', requiresArg: true, describe: 'trace only tasks in this cgroup v2 directory or below it' },
	duration: { type: 'number', requiresArg: true, describe: 'stop after this many seconds' },
	'perf-buffer': { type: 'boolean', describe: 'deliver events through a perf buffer instead of the ring buffer' },
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
		'Every tool takes --json, --cgroup PATH, --duration SECS, --perf-buffer and -v.',
		"Run 'ebpf-tools <tool> --help' for a tool's options, or 'man ebpf-tools'.",
		'',
	].join('\n');
}

function build(spec: ToolSpec<any>, args: string[]) {
	const common: Record<string, Options> = {};
	for (const [k, o] of Object.entries(COMMON_OPTIONS)) {
		const alias = spec.commonAliases?.[k as 'cgroup' | 'duration'];
		common[k] = alias ? { ...o, alias } : o;
	}
	const pos = (spec.positionals ?? []).map((p) => `[${p.name}]`).join(' ');
	let y = yargs(args)
		.scriptName(`ebpf-tools ${spec.name}`)
		.usage(`Usage: $0 [options]${pos ? ' ' + pos : ''}\n\n${spec.description}`)
		.options(spec.options)
		.group(Object.keys(spec.options), 'Options:')
		.options(common)
		.group(Object.keys(common), 'Common options:')
		.strictOptions()
		.parserConfiguration({ 'camel-case-expansion': true, 'strip-dashed': false, 'duplicate-arguments-array': false })
		.help(false)
		.version(false)
		.exitProcess(false)
		.wrap(Math.min(100, process.stdout.columns || 100))
		.fail((msg: string | null, err: Error | undefined) => {
			// errors reach people as one line (yargs puts `choices` on several)
			throw err ?? usage((msg ?? 'bad usage').replace(/\s*\n\s*/g, ' '), `see 'ebpf-tools ${spec.name} --help'`);
		});
	for (const [cmd, desc] of spec.examples) y = y.example(cmd, desc);
	const positionalsHelp = (spec.positionals ?? []).map((p) => `  ${p.name.padEnd(10)} ${p.describe}`).join('\n');
	y = y.epilogue([positionalsHelp && `Positional arguments:\n${positionalsHelp}`, spec.epilogue, `See man ${spec.name}(8).`].filter(Boolean).join('\n\n'));
	return y;
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
	try {
		const y = build(spec, args);
		if (args.includes('--help') || args.includes('-h')) {
			process.stdout.write((await y.getHelp()) + '\n');
			return 0;
		}
		const argv = (await y.parse()) as unknown as Args<Record<string, unknown>>;
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
		};
		Object.assign(argv, common);
		Tracer.validateCommon(common);
		spec.validate?.(argv);
		tracer = new Tracer(spec.name, common);
		tracer.preflight();
		await spec.run(tracer, argv);
		return 0;
	} catch (e) {
		const err = e instanceof ToolError ? e : mapNativeError(e, spec.name);
		process.stderr.write(formatError(spec.name, err) + '\n');
		if (verbose) {
			if (err.detail) process.stderr.write(err.detail.endsWith('\n') ? err.detail : err.detail + '\n');
			process.stderr.write(`${(err.cause instanceof Error ? err.cause : err).stack}\n`);
		}
		return err.exitCode;
	} finally {
		tracer?.close();
	}
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
