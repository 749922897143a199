// The bench suite: `npm run bench [-- TOOL...] [options]` (see bench/README.md).
// For each tool entry (bench/entries.ts) and each target rate it runs the
// workload alone and under each tracer (ours, bpftrace, an optional peer),
// repeats, and reports medians: capture vs generated, lost events reported,
// tracer CPU per 1k events, workload slowdown, start-up to the first event,
// tracer peak RSS. Markdown on stdout, JSON in the results directory.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENTRIES } from './entries.js';
import type { Ctx, Entry, Kind, Tracer, WorkloadSummary } from './entries.js';
import { scanFile, treeCpu, treePeakRssKb } from './proc.js';
import { report } from './report.js';

/** the checkout this bench lives in (dist/bench/run.js -> ../..) */
const benchRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Options {
	tools: string[];
	repeats: number;
	duration: number;
	rates?: number[];
	fixedRate?: number;
	workers?: number;
	tracers: Tracer[];
	results: string;
	install: boolean;
	keep: boolean;
	verbose: boolean;
}

/** One measured run: a workload at a target rate, under one tracer or none. */
export interface Run {
	tool: string;
	kind: Kind;
	repeat: number;
	target: number;
	ops: number;
	seconds: number;
	rate: number;
	generated: number;
	captured?: number;
	/** every line the tracer printed (other processes' events too) */
	lines?: number;
	lostReported?: number;
	cpuSec?: number;
	cpuMsPer1k?: number;
	startupMs?: number;
	bannerMs?: number;
	rssKb?: number;
	error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

// ---------------------------------------------------------------- setup

function ensureBpftrace(install: boolean): string | undefined {
	const have = () => spawnSync('bpftrace', ['--version'], { encoding: 'utf8' });
	let v = have();
	if (v.status !== 0 && install) {
		log('bpftrace missing: apt-get install -y bpftrace');
		const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
		let r = spawnSync('apt-get', ['install', '-y', 'bpftrace'], { stdio: ['ignore', 'ignore', 'inherit'], env });
		if (r.status !== 0) {
			spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
			r = spawnSync('apt-get', ['install', '-y', 'bpftrace'], { stdio: ['ignore', 'ignore', 'inherit'], env });
		}
		v = have();
	}
	return v.status === 0 ? v.stdout.trim() : undefined;
}

/** Tools `ebpf-tools --help` lists in the checkout under test. */
function registryTools(root: string): string[] {
	const r = spawnSync(process.execPath, [join(root, 'bin', 'ebpf-tools.js'), '--help'], { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`${root}/bin/ebpf-tools.js --help failed: ${r.stderr}`);
	const tools: string[] = [];
	let inTools = false;
	for (const line of r.stdout.split('\n')) {
		if (/^Tools:/.test(line)) inTools = true;
		else if (inTools && /^\s+\S/.test(line)) tools.push(line.trim().split(/\s+/)[0]);
		else if (inTools) inTools = false;
	}
	return tools;
}

/** Build bench/workloads/<source>.c once per source/flags hash; returns the binary path. */
function buildWorkload(e: Entry): string {
	const w = e.workload;
	const srcDir = join(benchRoot, 'bench', 'workloads');
	const src = join(srcDir, `${w.source}.c`);
	const cc = w.cc ?? 'gcc';
	const flags = ['-O2', '-Wall', ...(w.flags ?? [])];
	const h = createHash('sha256').update(readFileSync(src)).update(readFileSync(join(srcDir, 'storm.h'))).update(cc + flags.join(' ')).digest('hex').slice(0, 12);
	const dir = join(tmpdir(), 'ebpf-tools-bench', `${w.source}-${h}`);
	// the binary keeps the source's name: it is the workload's comm
	const bin = join(dir, w.source);
	if (!existsSync(bin)) {
		mkdirSync(dir, { recursive: true });
		execFileSync(cc, [...flags, '-o', bin + '.tmp', src], { stdio: ['ignore', 'inherit', 'inherit'] });
		execFileSync('mv', [bin + '.tmp', bin]);
	}
	return bin;
}

function freePort(): Promise<number> {
	return new Promise((res, rej) => {
		const s = createServer();
		s.once('error', rej);
		s.listen(0, '127.0.0.1', () => {
			const p = (s.address() as { port: number }).port;
			s.close(() => res(p));
		});
	});
}

// ---------------------------------------------------------------- running

function exited(c: ChildProcess): Promise<number | null> {
	if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
	return new Promise((r) => c.once('exit', (code) => r(code)));
}

async function runWorkload(bin: string, args: string[]): Promise<WorkloadSummary> {
	const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	let err = '';
	c.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
	c.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
	const code = await new Promise<number | null>((r) => c.once('close', (code) => r(code)));
	const line = out.trim().split('\n').pop() ?? '';
	if (code !== 0 || !line.startsWith('{')) throw new Error(`workload ${bin} ${args.join(' ')} failed (${code}): ${err.trim() || out.trim()}`);
	return JSON.parse(line) as WorkloadSummary;
}

/** Signal a child started with detached: true and everything in its process group. */
function killGroup(c: ChildProcess, sig: NodeJS.Signals): void {
	try {
		process.kill(-c.pid!, sig);
	} catch {
		/* gone */
	}
}

interface TracerProc {
	child: ChildProcess;
	stderr: string;
	outPath: string;
	t0: number;
}

function tracerArgv(e: Entry, kind: Tracer, ctx: Ctx, scriptDir: string, root: string): string[] {
	if (kind === 'ours') {
		const wrap = (process.env.EBPF_TOOLS_BENCH_WRAP ?? '').split(/\s+/).filter(Boolean);
		const nodeFlags = (process.env.EBPF_TOOLS_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
		const prof = process.env.EBPF_TOOLS_BENCH_CPUPROF;
		if (prof) {
			mkdirSync(prof, { recursive: true });
			nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`);
		}
		return [...wrap, process.execPath, ...nodeFlags, join(root, 'bin', 'ebpf-tools.js'), ...e.ours(ctx)];
	}
	if (kind === 'bpftrace') {
		const script = join(scriptDir, `${e.tool}.bt`);
		writeFileSync(script, e.bpftrace(ctx));
		// line-buffered, as on a terminal: events show up when they happen
		return ['bpftrace', '-B', 'line', script];
	}
	const peer = peerPath(e)!;
	// libbpf-tools print with stdio: line-buffer it so events show up as they happen
	const stdbuf = process.env.EBPF_TOOLS_PEER_STDBUF === '0' ? [] : ['stdbuf', '-oL'];
	const extra = (process.env[`${peerEnv(e)}_ARGS`] ?? '').split(/\s+/).filter(Boolean);
	return [...stdbuf, peer, ...(extra.length ? extra : e.peerArgs(ctx))];
}

export const peerEnv = (e: Entry) => `EBPF_TOOLS_PEER_${e.tool.toUpperCase()}`;
const peerPath = (e: Entry) => process.env[peerEnv(e)] || undefined;

function startTracer(argv: string[], outPath: string): TracerProc {
	const fd = openSync(outPath, 'w');
	const t0 = performance.now();
	// own process group: a hung tracer (and its children) can be killed whole
	const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, 'pipe'], detached: true });
	closeSync(fd);
	const tp: TracerProc = { child, stderr: '', outPath, t0 };
	child.stderr!.setEncoding('utf8').on('data', (d: string) => (tp.stderr += d));
	return tp;
}

async function stopTracer(tp: TracerProc, timeoutMs = 20000): Promise<void> {
	const c = tp.child;
	if (c.exitCode !== null || c.signalCode !== null) return;
	c.kill('SIGINT');
	const done = await Promise.race([exited(c).then(() => true), sleep(timeoutMs).then(() => false)]);
	if (!done) {
		log(`tracer ${c.pid} did not exit on SIGINT within ${timeoutMs} ms: killing its process group`);
		killGroup(c, 'SIGKILL');
		await exited(c);
	}
	// stderr can still be in flight
	await new Promise((r) => (c.stderr!.readableEnded ? r(undefined) : c.stderr!.once('end', r)));
}

const BANNER = /Hit Ctrl-C to end|Attaching \d+ probes?/;

/**
 * Wait until the tracer shows it is live: an event of the ready probe in its
 * output (or a banner, for aggregating tools). Resolves with the time from
 * launch, in ms; the ours banner time is recorded too.
 */
async function waitReady(tp: TracerProc, e: Entry, needle: string | undefined, timeoutMs: number): Promise<{ readyMs: number; bannerMs?: number }> {
	const fd = openSync(tp.outPath, 'r');
	const buf = Buffer.alloc(1 << 16);
	let text = '';
	let bannerMs: number | undefined;
	try {
		for (;;) {
			const now = performance.now();
			for (;;) {
				const n = readSync(fd, buf, 0, buf.length, null);
				if (n <= 0) break;
				text = (text + buf.toString('latin1', 0, n)).slice(-(1 << 16));
			}
			if (bannerMs === undefined && (BANNER.test(tp.stderr) || BANNER.test(text))) bannerMs = now - tp.t0;
			if (e.ready === 'banner' && bannerMs !== undefined) return { readyMs: bannerMs, bannerMs };
			if (needle && text.includes(needle)) return { readyMs: now - tp.t0, bannerMs };
			if (tp.child.exitCode !== null || tp.child.signalCode !== null)
				throw new Error(`tracer exited early (${tp.child.exitCode ?? tp.child.signalCode}): ${tp.stderr.trim().slice(-500) || text.slice(-500)}`);
			if (now - tp.t0 > timeoutMs) throw new Error(`tracer not ready after ${timeoutMs} ms: ${tp.stderr.trim().slice(-500)}`);
			await sleep(2);
		}
	} finally {
		closeSync(fd);
	}
}

/** Wait until the output file stops growing (the tracer drained what the kernel holds). */
async function waitDrained(path: string, quietMs: number, maxMs: number): Promise<void> {
	const t0 = performance.now();
	let size = -1;
	let since = t0;
	for (;;) {
		const fd = openSync(path, 'r');
		const s = fstatSync(fd).size;
		closeSync(fd);
		const now = performance.now();
		if (s !== size) {
			size = s;
			since = now;
		} else if (now - since >= quietMs) return;
		if (now - t0 > maxMs) return;
		await sleep(50);
	}
}

/** Lost events the tracer reported (ours: its own total; others: every "Lost N events"). */
function lostReported(kind: Tracer, stderr: string, outNumbers: number[]): number {
	if (kind === 'ours') {
		const total = /WARNING: (\d+) events lost in total/.exec(stderr);
		if (total) return Number(total[1]);
		let n = 0;
		for (const m of stderr.matchAll(/WARNING: (\d+) events lost \(/g)) n += Number(m[1]);
		return n;
	}
	let n = outNumbers.reduce((a, b) => a + b, 0);
	for (const m of stderr.matchAll(/[Ll]ost (\d+) events/g)) n += Number(m[1]);
	return n;
}

interface Env {
	opts: Options;
	root: string;
	dir: string;
	bin: Map<string, string>;
}

async function measure(env: Env, e: Entry, kind: Kind, target: number, repeat: number): Promise<Run> {
	const { opts } = env;
	const bin = env.bin.get(e.tool)!;
	const workers = opts.workers ?? e.workload.workers;
	const tag = randomBytes(4).toString('hex');
	const ctx: Ctx = {
		marker: `ebtbench${process.pid}x${tag}W`,
		readyMarker: `ebtbench${process.pid}x${tag}R`,
		port: await freePort(),
		readyPort: await freePort(),
		dir: env.dir,
		comm: e.workload.source.slice(0, 15),
	};
	e.workload.setup?.(ctx);
	const run: Run = { tool: e.tool, kind, repeat, target, ops: 0, seconds: 0, rate: 0, generated: 0 };
	const cleanup: string[] = [join(ctx.dir, ctx.marker), join(ctx.dir, ctx.readyMarker)];
	const wargs = e.workload.args(ctx, 'main', target, opts.duration, workers);
	try {
		if (kind === 'base') {
			const s = await runWorkload(bin, wargs);
			Object.assign(run, { ops: s.ops, seconds: s.seconds, rate: s.rate, generated: e.generated ? e.generated(s) : s.ops });
			return run;
		}
		const outPath = join(ctx.dir, `${e.tool}-${kind}-${tag}.out`);
		if (!opts.keep) cleanup.push(outPath);
		const tp = startTracer(tracerArgv(e, kind, ctx, ctx.dir, env.root), outPath);
		let probe: ChildProcess | undefined;
		try {
			const needle = e.needle?.(ctx, kind, 'ready');
			if (e.ready === 'event') {
				probe = spawn(bin, e.workload.args(ctx, 'ready', e.readyRate, 0, 1), { stdio: 'ignore', detached: true });
			}
			const r = await waitReady(tp, e, needle, 60000);
			run.startupMs = Math.round(r.readyMs);
			if (r.bannerMs !== undefined) run.bannerMs = Math.round(r.bannerMs);
			if (probe) {
				killGroup(probe, 'SIGTERM');
				await exited(probe);
				probe = undefined;
			}
			await sleep(300);
			const cpu0 = treeCpu(tp.child.pid!);
			const s = await runWorkload(bin, wargs);
			await waitDrained(outPath, e.aggregate ? 200 : 500, 15000);
			const cpu1 = treeCpu(tp.child.pid!);
			run.rssKb = treePeakRssKb(tp.child.pid!);
			const generated = e.generated ? e.generated(s) : s.ops;
			Object.assign(run, { ops: s.ops, seconds: s.seconds, rate: s.rate, generated });
			run.cpuSec = Math.round((cpu1 - cpu0) * 1000) / 1000;
			await stopTracer(tp);
			if (e.countOutput) {
				const out = readFileSync(outPath, 'latin1');
				run.captured = e.countOutput(out, ctx, kind);
				run.lines = out.split('\n').length - 1;
				run.lostReported = lostReported(kind, tp.stderr, [...out.matchAll(/Lost (\d+) events/g)].map((m) => Number(m[1])));
			} else {
				const sc = scanFile(outPath, e.needle!(ctx, kind, 'main'), kind === 'ours' ? [] : [/Lost (\d+) events/]);
				run.captured = sc.hits;
				run.lines = sc.lines;
				run.lostReported = lostReported(kind, tp.stderr, sc.numbers);
			}
			run.cpuMsPer1k = generated > 0 ? Math.round(((run.cpuSec * 1e6) / generated) * 100) / 100 : undefined;
			if (tp.child.exitCode !== 0 && tp.child.exitCode !== null) run.error = `tracer exited ${tp.child.exitCode}: ${tp.stderr.trim().slice(-300)}`;
		} finally {
			if (probe) killGroup(probe, 'SIGKILL');
			await stopTracer(tp);
		}
		return run;
	} catch (err) {
		run.error = (err as Error).message;
		return run;
	} finally {
		for (const f of cleanup) rmSync(f, { force: true });
	}
}

// ---------------------------------------------------------------- main

const USAGE = `Usage: npm run bench -- [TOOL...] [options]

Measures ebpf-tools side by side with bpftrace (and a peer binary given by
EBPF_TOOLS_PEER_<TOOL>=/path, e.g. a libbpf-tools build) on generated workloads.
Tools: ${ENTRIES.map((e) => e.tool).join(', ')} (default: every one the checkout has).

Options:
  -r, --repeats N      repeats per measurement, medians reported (default 3)
  -d, --duration S     seconds per workload run (default 3)
      --rates LIST     target rates, comma separated, 0 = max (default: per tool)
      --fixed-rate N   rate for CPU per 1k events (default: per tool)
  -w, --workers N      workload processes (default 2)
      --tracers LIST   ours,bpftrace,peer (default: all available)
      --results DIR    where JSON results go (default bench/results)
      --no-install     do not apt-get install bpftrace when missing
      --keep           keep tracer outputs in the scratch directory
  -v, --verbose        print every run as it finishes
  -h, --help

Environment:
  EBPF_TOOLS_ROOT             checkout whose bin/ebpf-tools.js is measured (default: this one)
  EBPF_TOOLS_PEER_<TOOL>      peer binary for TOOL (EBPF_TOOLS_PEER_<TOOL>_ARGS: its arguments)
  EBPF_TOOLS_PEER_STDBUF=0    do not line-buffer the peer's stdout with stdbuf -oL
  EBPF_TOOLS_BENCH_CPUPROF    directory: run ours with node --cpu-prof (summarize: node dist/bench/cpuprof.js DIR)
  EBPF_TOOLS_BENCH_NODE_FLAGS extra node flags for ours
  EBPF_TOOLS_BENCH_WRAP       command prefix for ours (e.g. "sudo -n"): its CPU and RSS count
`;

function parseOptions(argv: string[]): Options | undefined {
	const { values, positionals } = parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			repeats: { type: 'string', short: 'r' },
			duration: { type: 'string', short: 'd' },
			rates: { type: 'string' },
			'fixed-rate': { type: 'string' },
			workers: { type: 'string', short: 'w' },
			tracers: { type: 'string' },
			results: { type: 'string' },
			'no-install': { type: 'boolean' },
			keep: { type: 'boolean' },
			verbose: { type: 'boolean', short: 'v' },
			help: { type: 'boolean', short: 'h' },
		},
	});
	if (values.help) {
		process.stdout.write(USAGE);
		return undefined;
	}
	const num = (s: string | undefined, name: string, def: number, min: number): number => {
		if (s === undefined) return def;
		const n = Number(s);
		if (!Number.isFinite(n) || n < min) throw new Error(`--${name} ${s}: expected a number >= ${min}`);
		return n;
	};
	for (const t of positionals) if (!ENTRIES.some((e) => e.tool === t)) throw new Error(`unknown tool '${t}' (bench has: ${ENTRIES.map((e) => e.tool).join(', ')})`);
	const tracers = (values.tracers ?? 'ours,bpftrace,peer').split(',').filter(Boolean) as Tracer[];
	for (const t of tracers) if (!['ours', 'bpftrace', 'peer'].includes(t)) throw new Error(`--tracers: unknown tracer '${t}'`);
	return {
		tools: positionals,
		repeats: Math.floor(num(values.repeats, 'repeats', 3, 1)),
		duration: num(values.duration, 'duration', 3, 0.2),
		rates: values.rates?.split(',').map((r) => num(r, 'rates', 0, 0)),
		fixedRate: values['fixed-rate'] !== undefined ? num(values['fixed-rate'], 'fixed-rate', 0, 0) : undefined,
		workers: values.workers !== undefined ? Math.floor(num(values.workers, 'workers', 2, 1)) : undefined,
		tracers,
		results: resolve(values.results ?? join(benchRoot, 'bench', 'results')),
		install: !values['no-install'],
		keep: !!values.keep,
		verbose: !!values.verbose,
	};
}

async function main(): Promise<number> {
	let opts: Options | undefined;
	try {
		opts = parseOptions(process.argv.slice(2));
	} catch (e) {
		process.stderr.write(`bench: ${(e as Error).message}\n`);
		return 2;
	}
	if (!opts) return 0;
	if (process.getuid?.() !== 0) {
		process.stderr.write('bench: needs root (the tracers load BPF programs)\n');
		return 1;
	}
	const root = resolve(process.env.EBPF_TOOLS_ROOT ?? benchRoot);
	const have = registryTools(root);
	const skipped: string[] = [];
	let entries = ENTRIES.filter((e) => (opts.tools.length ? opts.tools.includes(e.tool) : true));
	entries = entries.filter((e) => {
		if (have.includes(e.tool)) return true;
		skipped.push(e.tool);
		return false;
	});
	for (const t of skipped) log(`${t}: not in ${root}'s registry (ebpf-tools --help): skipped`);
	if (!entries.length) {
		process.stderr.write('bench: nothing to run\n');
		return 1;
	}
	let bpftraceVersion: string | undefined;
	if (opts.tracers.includes('bpftrace')) {
		bpftraceVersion = ensureBpftrace(opts.install);
		if (!bpftraceVersion) log('bpftrace unavailable: its columns stay empty');
	}
	const env: Env = { opts, root, dir: mkdtempSync(join(tmpdir(), 'ebpf-tools-bench-')), bin: new Map() };
	const started = new Date();
	const all: Run[] = [];
	try {
		for (const e of entries) {
			env.bin.set(e.tool, buildWorkload(e));
			const kinds: Kind[] = [];
			if (opts.tracers.includes('ours')) kinds.push('ours');
			if (opts.tracers.includes('bpftrace') && bpftraceVersion) kinds.push('bpftrace');
			if (opts.tracers.includes('peer') && peerPath(e)) kinds.push('peer');
			const rates = opts.rates ?? e.rates;
			const fixed = opts.fixedRate ?? e.fixedRate;
			// increasing target rates (the fixed rate among them), then max
			const targets = [...new Set([...rates.filter((r) => r > 0), ...(fixed > 0 ? [fixed] : [])])].sort((a, b) => a - b);
			if (rates.includes(0)) targets.push(0);
			const total = opts.repeats * targets.length * kinds.length + opts.repeats;
			let n = 0;
			log(`${e.tool}: ${e.workload.describe}; ${kinds.join(', ')}; rates ${targets.map((r) => r || 'max').join(', ')}; ${opts.repeats} x ${opts.duration} s`);
			for (let rep = 0; rep < opts.repeats; rep++) {
				for (const target of targets) {
					// the workload alone, in the same repeat as the tracers, for the slowdown
					const order: Kind[] = target === 0 ? ['base', ...kinds] : [...kinds];
					// rotate the tracer order between repeats: no one always runs first
					const rot = order.length ? rep % order.length : 0;
					for (const kind of [...order.slice(rot), ...order.slice(0, rot)]) {
						const r = await measure(env, e, kind, target, rep);
						all.push(r);
						n++;
						if (r.error) log(`${e.tool} ${kind} @${target || 'max'}: ERROR ${r.error}`);
						else if (opts.verbose)
							log(`[${n}/${total}] ${e.tool} ${kind} @${target || 'max'}: ${Math.round(r.rate)}/s` +
								(kind === 'base' ? '' : ` captured ${r.captured}/${r.generated} lost-reported ${r.lostReported} cpu ${r.cpuSec}s start-up ${r.startupMs} ms rss ${Math.round((r.rssKb ?? 0) / 1024)} MB`));
					}
				}
			}
		}
	} finally {
		if (!opts.keep) rmSync(env.dir, { recursive: true, force: true });
		else log(`outputs kept in ${env.dir}`);
	}
	const meta = {
		date: started.toISOString(),
		host: hostname(),
		kernel: release(),
		node: process.version,
		cpus: (await import('node:os')).cpus().length,
		loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
		bpftrace: bpftraceVersion,
		root,
		peers: Object.fromEntries(entries.filter((e) => peerPath(e)).map((e) => [e.tool, peerPath(e)])),
		command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
		options: { ...opts, results: undefined },
		skipped,
	};
	const { markdown, summaries } = report(entries, all, opts, meta);
	process.stdout.write(markdown);
	mkdirSync(opts.results, { recursive: true });
	const file = join(opts.results, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
	writeFileSync(file, JSON.stringify({ meta, summaries, runs: all }, null, 1) + '\n');
	log(`results: ${file}`);
	return all.some((r) => r.error) ? 1 : 0;
}


process.exitCode = await main();
