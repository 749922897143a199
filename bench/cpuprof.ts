// Summarize V8 .cpuprofile files (node --cpu-prof, written by the bench when
// EBPF_TOOLS_BENCH_CPUPROF=DIR): self time per function and per file, so a
// missed target says where the tracer's time goes.
// usage: node dist/bench/cpuprof.js DIR|FILE.cpuprofile... [--top N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface Node {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}
interface Profile {
	nodes: Node[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
	endTime: number;
}

const args = process.argv.slice(2);
let top = 25;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
	if (args[i] === '--top') top = Number(args[++i]);
	else if (statSync(args[i]).isDirectory()) files.push(...readdirSync(args[i]).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(args[i], f)));
	else files.push(args[i]);
}
if (!files.length) {
	process.stderr.write('usage: node dist/bench/cpuprof.js DIR|FILE.cpuprofile... [--top N]\n');
	process.exit(2);
}

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
for (const f of files) {
	const p = JSON.parse(readFileSync(f, 'utf8')) as Profile;
	const nodes = new Map(p.nodes.map((n) => [n.id, n]));
	for (let i = 0; i < p.samples.length; i++) {
		const us = p.timeDeltas[i] ?? 0;
		const n = nodes.get(p.samples[i]);
		if (!n) continue;
		const cf = n.callFrame;
		const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(/.*\/(dist|node_modules)\//, '$1/') : `(${cf.functionName || 'native'})`;
		const fn = `${cf.functionName || '(anonymous)'} ${cf.url ? `${basename(file)}:${cf.lineNumber + 1}` : ''}`.trim();
		byFn.set(fn, (byFn.get(fn) ?? 0) + us);
		byFile.set(file, (byFile.get(file) ?? 0) + us);
		total += us;
	}
}
const show = (title: string, m: Map<string, number>) => {
	process.stdout.write(`\n${title}\n`);
	for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
		process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
};
process.stdout.write(`${files.length} profiles, ${(total / 1000).toFixed(1)} ms sampled (idle included as "(idle)")\n`);
show('self time by function', byFn);
show('self time by file', byFile);
