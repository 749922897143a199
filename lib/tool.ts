// What a tool module exports: its options (BCC letters), help text, checks,
// and the run function. lib/cli.ts turns this into a yargs command.
import type { Options } from 'yargs';
import { usage } from './errors.js';
import type { CommonArgs, Tracer } from './tracer.js';

export type Args<T> = CommonArgs & T & { _: (string | number)[] };

export interface ToolSpec<T = Record<string, unknown>> {
	name: string;
	/** one line, shown in `ebpf-tools --help` and the tool's help */
	description: string;
	/** positional arguments, e.g. ['interval', 'count'] */
	positionals?: { name: string; describe: string }[];
	options: Record<string, Options>;
	/** short aliases this tool gives to common options, e.g. {cgroup: 'c'} */
	commonAliases?: Partial<Record<'cgroup' | 'duration', string>>;
	examples: [string, string][];
	epilogue?: string;
	/** false for tools that load no BPF (converters): no privilege/BTF/tracefs preflight */
	needsKernel?: boolean;
	/** with --otlp, the tool also sends spans (OTLP traces) through t.out.span */
	otlpTraces?: boolean;
	/** checks on the parsed options, before the kernel is touched (throw usage()) */
	validate?(args: Args<T>): void;
	run(tracer: Tracer, args: Args<T>): Promise<void>;
}

export function defineTool<T>(spec: ToolSpec<T>): ToolSpec<T> {
	return spec;
}

/** A positional or option that must be a positive number (an integer when integer). */
export function checkPositive(what: string, v: unknown, integer: boolean): void {
	if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
		throw usage(`${what} '${v}': must be a positive ${integer ? 'integer' : 'number'}`);
}

/** BCC's `[interval [count]]` positionals. */
export function checkIntervalCount(a: { interval?: unknown; count?: unknown }): void {
	if (a.interval !== undefined) checkPositive('interval', a.interval, false);
	if (a.count !== undefined) {
		if (a.interval === undefined) throw usage('count needs an interval');
		checkPositive('count', a.count, true);
	}
}
