// What a tool module exports: its options (BCC letters), help text, checks,
// and the run function. lib/cli.ts turns this into a yargs command.
import type { Options } from 'yargs';
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
	/** checks on the parsed options, before the kernel is touched (throw usage()) */
	validate?(args: Args<T>): void;
	run(tracer: Tracer, args: Args<T>): Promise<void>;
}

export function defineTool<T>(spec: ToolSpec<T>): ToolSpec<T> {
	return spec;
}
