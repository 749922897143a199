// flamegraph: turn folded stacks (`a;b;c 12`, from `profile -f`, perf +
// stackcollapse, bpftrace ...) into a flame graph: a static SVG or a
// self-contained interactive HTML page. Loads no BPF.
import { readFileSync, writeFileSync } from 'node:fs';
import { ToolError, usage } from '../lib/errors.js';
import { buildTree, formatOf, parseFolded, renderFlameGraph } from '../lib/flamegraph/index.js';
import type { FlameFormat } from '../lib/flamegraph/index.js';
import { defineTool } from '../lib/tool.js';

interface Opts {
	input?: string;
	output?: string;
	format?: string;
	title?: string;
	subtitle?: string;
	width: number;
	countname?: string;
}

export default defineTool<Opts>({
	name: 'flamegraph',
	description: 'Turn folded stacks (one `frame;frame;... count` line per stack) into a flame graph: SVG or interactive HTML.',
	needsKernel: false,
	positionals: [{ name: 'input', describe: 'folded stacks file (default or "-": standard input)' }],
	options: {
		output: { alias: 'o', type: 'string', requiresArg: true, describe: 'write to FILE.svg or FILE.html (default: SVG on standard output)' },
		format: { type: 'string', choices: ['svg', 'html'], requiresArg: true, describe: 'output format (default: from the -o file name, else svg)' },
		title: { type: 'string', requiresArg: true, describe: 'title text (default "Flame Graph")' },
		subtitle: { type: 'string', requiresArg: true, describe: 'second line of text under the title' },
		width: { type: 'number', default: 1200, requiresArg: true, describe: 'SVG width in pixels' },
		countname: { type: 'string', requiresArg: true, describe: 'what a count is (default "samples")' },
	},
	examples: [
		['ebpf-tools profile -f 10 > out.folded', 'sample 10 seconds in folded format'],
		['ebpf-tools flamegraph out.folded -o cpu.svg', 'a static flame graph'],
		['ebpf-tools flamegraph out.folded -o cpu.html', 'an interactive flame graph (zoom, search)'],
		['ebpf-tools profile -f 5 | ebpf-tools flamegraph > cpu.svg', 'from standard input'],
	],
	validate(a) {
		if (a.output !== undefined && a.format === undefined && !formatOf(a.output))
			throw usage(`--output ${a.output}: give a file name ending in .svg or .html, or --format`);
		if (!Number.isInteger(a.width) || a.width < 200 || a.width > 100000) throw usage(`--width ${a.width}: must be an integer from 200 to 100000`);
		if ((a.input === undefined || a.input === '-') && process.stdin.isTTY)
			throw usage('no input: give a folded stacks file or pipe one in', "e.g. 'ebpf-tools profile -f 5 | ebpf-tools flamegraph -o cpu.svg'");
	},
	async run(t, a) {
		const input = a.input === undefined || a.input === '-' ? 0 : String(a.input);
		let text: string;
		try {
			text = readFileSync(input, 'utf8');
		} catch (e) {
			throw new ToolError('RUNTIME', `cannot read ${input === 0 ? 'standard input' : input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
		}
		const { stacks, skipped } = parseFolded(text);
		if (skipped) t.out.warn(`${skipped} lines skipped (not "frames count")`);
		if (!stacks.length) throw new ToolError('RUNTIME', 'no stacks in the input', 'expected lines like "main;foo;bar 12"');
		const format: FlameFormat = (a.format as FlameFormat | undefined) ?? (a.output ? formatOf(a.output)! : 'svg');
		const tree = buildTree(stacks);
		const doc = renderFlameGraph(tree, format, { title: a.title, subtitle: a.subtitle, width: a.width, countName: a.countname });
		if (a.output) {
			try {
				writeFileSync(a.output, doc);
			} catch (e) {
				throw new ToolError('RUNTIME', `cannot write ${a.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
			}
			t.out.info(`Wrote ${a.output} (${tree.value} ${a.countname ?? 'samples'}, ${stacks.length} stacks)`);
		} else {
			process.stdout.write(doc);
		}
	},
});
