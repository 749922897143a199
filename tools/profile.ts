// profile: sample stack traces on every online CPU at a timed interval
// (software CPU clock perf event), count them in the kernel, and print them
// at the end as BCC does (multi-line or folded), or as a flame graph. The
// first sample of each process triggers a snapshot of its mappings so
// short-lived processes still get symbols.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { sumPerCpuStruct } from '../lib/decode.js';
import { ToolError, usage } from '../lib/errors.js';
import { buildTree, formatOf, writeFlameGraph } from '../lib/flamegraph/index.js';
import type { FlameFrame, FlameStack } from '../lib/flamegraph/index.js';
import {
	PROFILE_KEY_LAYOUT,
	PROFILE_KEY_SIZE,
	PROFILE_SEEN_LAYOUT,
	PROFILE_STATS_LAYOUT,
	PROFILE_STATS_SIZE,
	decodeProfileKey,
	decodeProfileSeen,
	decodeProfileStats,
} from '../lib/gen/profile.js';
import type { ProfileKey, ProfileStats } from '../lib/gen/profile.js';
import type { NativeLink } from '../lib/native.js';
import { ProcessTracker, StackResolver, frameJson, frameName, stackIdErr } from '../lib/stacks.js';
import type { Frame } from '../lib/stacks.js';
import { defineTool } from '../lib/tool.js';
import { u32, u8 } from '../lib/tracer.js';

const MAX_FILTER = 1024;
const EEXIST = 17;

interface Opts {
	pid?: string;
	tid?: string;
	userStacksOnly?: boolean;
	kernelStacksOnly?: boolean;
	frequency?: number;
	count?: number;
	delimited?: boolean;
	annotations?: boolean;
	includeIdle?: boolean;
	folded?: boolean;
	stackStorageSize: number;
	hashStorageSize: number;
	cpu?: number;
	flamegraph?: string;
}

/** "0-3,5" -> [0,1,2,3,5] (the /sys/devices/system/cpu/online format) */
export function parseCpuList(s: string): number[] {
	const out: number[] = [];
	for (const part of s.trim().split(',')) {
		if (!part) continue;
		const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
		if (!m) continue;
		const a = Number(m[1]);
		const b = m[2] !== undefined ? Number(m[2]) : a;
		for (let i = a; i <= b && out.length < 65536; i++) out.push(i);
	}
	return out;
}

export function onlineCpus(): number[] {
	try {
		return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
	} catch {
		return [0];
	}
}

/** "185,186" -> [185, 186]; throws a usage error naming the option. */
export function parseIdList(s: string | number, flag: string): number[] {
	const ids = String(s)
		.split(',')
		.map((x) => x.trim())
		.filter((x) => x);
	if (!ids.length) throw usage(`${flag} ${s}: expected a comma-separated list of IDs`);
	if (ids.length > MAX_FILTER) throw usage(`${flag}: at most ${MAX_FILTER} IDs`);
	return ids.map((x) => {
		if (!/^\d+$/.test(x) || Number(x) <= 0 || Number(x) > 0x3fffffff) throw usage(`${flag} ${s}: '${x}' is not a valid ID`);
		return Number(x);
	});
}

export { frameName, stackIdErr };

export interface ResolvedStack {
	key: ProfileKey;
	count: number;
	/** leaf first, as the kernel records them */
	user: Frame[];
	kernel: Frame[];
}

export interface FormatOptions {
	userOnly: boolean;
	kernelOnly: boolean;
	delimited: boolean;
	annotations: boolean;
}

const kname = (f: Frame, o: FormatOptions) => frameName(f) + (o.annotations ? '_[k]' : '');

/** BCC's folded line: comm;user root..leaf[;-];kernel root..leaf count */
export function foldedLine(s: ResolvedStack, o: FormatOptions): string {
	const needDelim = o.delimited && !o.userOnly && !o.kernelOnly;
	const line = [s.key.comm];
	if (!o.kernelOnly) {
		if (stackIdErr(s.key.user_stack_id)) line.push('[Missed User Stack]');
		else for (let i = s.user.length - 1; i >= 0; i--) line.push(frameName(s.user[i]));
	}
	if (!o.userOnly) {
		if (needDelim && s.key.kernel_stack_id >= 0 && s.key.user_stack_id >= 0) line.push('-');
		if (stackIdErr(s.key.kernel_stack_id)) line.push('[Missed Kernel Stack]');
		else for (let i = s.kernel.length - 1; i >= 0; i--) line.push(kname(s.kernel[i], o));
	}
	return `${line.join(';')} ${s.count}`;
}

/** Sum folded lines with the same frames; sorted by count ascending, then text (BCC prints the hottest last). */
export function mergeFolded(lines: string[]): [string, number][] {
	const m = new Map<string, number>();
	for (const l of lines) {
		const sp = l.lastIndexOf(' ');
		const k = l.slice(0, sp);
		m.set(k, (m.get(k) ?? 0) + Number(l.slice(sp + 1)));
	}
	return [...m].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** BCC's default multi-line stack, leaf first, then `-  comm (pid)` and the count. */
export function multilineStack(s: ResolvedStack, o: FormatOptions): string[] {
	const needDelim = o.delimited && !o.userOnly && !o.kernelOnly;
	const out: string[] = [];
	if (!o.userOnly) {
		if (stackIdErr(s.key.kernel_stack_id)) out.push('    [Missed Kernel Stack]');
		else for (const f of s.kernel) out.push(`    ${kname(f, o)}`);
	}
	if (!o.kernelOnly) {
		if (needDelim && s.key.user_stack_id >= 0 && s.key.kernel_stack_id >= 0) out.push('    --');
		if (stackIdErr(s.key.user_stack_id)) out.push('    [Missed User Stack]');
		else for (const f of s.user) out.push(`    ${frameName(f)}`);
	}
	out.push(`    ${'-'.padEnd(16)} ${s.key.comm} (${s.key.pid})`);
	out.push(`        ${s.count}`);
	out.push('');
	return out;
}

/** Frames for a flame graph, root first: comm, user frames, kernel frames. */
export function flameStack(s: ResolvedStack, o: FormatOptions): FlameStack {
	const frames: FlameFrame[] = [{ name: s.key.comm, kind: 'user' }];
	if (!o.kernelOnly) {
		if (stackIdErr(s.key.user_stack_id)) frames.push({ name: '[Missed User Stack]', kind: 'user' });
		else for (let i = s.user.length - 1; i >= 0; i--) frames.push({ name: frameName(s.user[i]), kind: s.user[i].kind === 'jit' ? 'jit' : 'user' });
	}
	if (!o.userOnly) {
		if (o.delimited && !o.kernelOnly && s.key.kernel_stack_id >= 0 && s.key.user_stack_id >= 0) frames.push({ name: '-', kind: 'delimiter' });
		if (stackIdErr(s.key.kernel_stack_id)) frames.push({ name: '[Missed Kernel Stack]', kind: 'kernel' });
		else for (let i = s.kernel.length - 1; i >= 0; i--) frames.push({ name: frameName(s.kernel[i]), kind: 'kernel' });
	}
	return { frames, count: s.count };
}

const sumStats = (v: Buffer | null): ProfileStats => sumPerCpuStruct(v, PROFILE_STATS_SIZE, decodeProfileStats, { samples: 0, stack_eexist: 0, stack_enomem: 0, stack_other: 0, counts_full: 0 });

export default defineTool<Opts>({
	name: 'profile',
	description: 'Profile CPU usage by sampling stack traces at a timed interval (kernel and user stacks, counted in the kernel).',
	positionals: [{ name: 'duration', describe: 'how long to sample, in seconds (default: until Ctrl-C)' }],
	options: {
		pid: { alias: 'p', type: 'string', requiresArg: true, describe: 'profile these processes only (comma-separated PIDs)' },
		tid: { alias: 'L', type: 'string', requiresArg: true, describe: 'profile these threads only (comma-separated TIDs)' },
		'user-stacks-only': { alias: 'U', type: 'boolean', describe: 'show stacks from user space only (no kernel space stacks)' },
		'kernel-stacks-only': { alias: 'K', type: 'boolean', describe: 'show stacks from kernel space only (no user space stacks)' },
		frequency: { alias: 'F', type: 'number', requiresArg: true, describe: 'sample frequency, Hertz (default 49)' },
		count: { alias: 'c', type: 'number', requiresArg: true, describe: 'sample period, number of events (CPU clock: nanoseconds)' },
		delimited: { alias: 'd', type: 'boolean', describe: 'insert delimiter between kernel/user stacks' },
		annotations: { alias: 'a', type: 'boolean', describe: 'add _[k] annotations to kernel frames' },
		'include-idle': { alias: 'I', type: 'boolean', describe: 'include CPU idle stacks' },
		folded: { alias: 'f', type: 'boolean', describe: 'output folded format, one line per stack (for flame graphs)' },
		'stack-storage-size': { type: 'number', default: 16384, requiresArg: true, describe: 'the number of unique stack traces that can be stored and displayed' },
		'hash-storage-size': { type: 'number', default: 81920, requiresArg: true, describe: 'the number of hash keys (unique process and stack pairs) that can be stored' },
		cpu: { alias: 'C', type: 'number', requiresArg: true, describe: 'cpu number to run profile on' },
		flamegraph: { type: 'string', requiresArg: true, describe: 'write a flame graph: FILE.svg (static) or FILE.html (interactive)' },
	},
	examples: [
		['ebpf-tools profile', 'profile stack traces at 49 Hertz until Ctrl-C'],
		['ebpf-tools profile -F 99', 'profile stack traces at 99 Hertz'],
		['ebpf-tools profile -c 1000000', 'profile stack traces every 1 in a million events'],
		['ebpf-tools profile 5', 'profile at 49 Hertz for 5 seconds only'],
		['ebpf-tools profile -f 5', 'output in folded format for flame graphs'],
		['ebpf-tools profile -p 185', 'only profile process with PID 185'],
		['ebpf-tools profile -L 185', 'only profile thread with TID 185'],
		['ebpf-tools profile -U', 'only show user space stacks (no kernel)'],
		['ebpf-tools profile -K', 'only show kernel space stacks (no user)'],
		['ebpf-tools profile --flamegraph cpu.svg 10', 'write a flame graph of 10 seconds'],
		['ebpf-tools profile --flamegraph cpu.html -p 185 30', 'an interactive flame graph of one process'],
	],
	validate(a) {
		if (a.pid !== undefined && a.tid !== undefined) throw usage('-p/--pid and -L/--tid cannot be used together');
		if (a.userStacksOnly && a.kernelStacksOnly) throw usage('-U and -K cannot be used together', 'leave both out for user + kernel stacks');
		if (a.frequency !== undefined && a.count !== undefined) throw usage('-F/--frequency and -c/--count cannot be used together');
		if (a.frequency !== undefined && (!Number.isInteger(a.frequency) || a.frequency <= 0))
			throw usage(`--frequency ${a.frequency}: must be a positive integer (Hertz)`);
		if (a.count !== undefined && (!Number.isInteger(a.count) || a.count <= 0))
			throw usage(`--count ${a.count}: must be a positive integer`);
		for (const [flag, v] of [['--stack-storage-size', a.stackStorageSize], ['--hash-storage-size', a.hashStorageSize]] as const)
			if (!Number.isInteger(v) || v <= 0 || v > 1 << 24) throw usage(`${flag} ${v}: must be a positive integer (at most ${1 << 24})`);
		if (a.pid !== undefined) parseIdList(a.pid, '--pid');
		if (a.tid !== undefined) parseIdList(a.tid, '--tid');
		if (a.cpu !== undefined) {
			const cpus = onlineCpus();
			if (!Number.isInteger(a.cpu) || !cpus.includes(a.cpu))
				throw usage(`--cpu ${a.cpu}: not an online CPU`, `online CPUs: ${cpus.join(',')}`);
		}
		if (a.flamegraph !== undefined && !formatOf(a.flamegraph))
			throw usage(`--flamegraph ${a.flamegraph}: give a file name ending in .svg or .html`);
		if (a.flamegraph !== undefined && !existsSync(dirname(resolve(a.flamegraph))))
			throw usage(`--flamegraph ${a.flamegraph}: no such directory ${dirname(resolve(a.flamegraph))}`);
	},
	async run(t, a) {
		const pids = a.pid !== undefined ? parseIdList(a.pid, '--pid') : [];
		const tids = a.tid !== undefined ? parseIdList(a.tid, '--tid') : [];
		const userOnly = !!a.userStacksOnly;
		const kernelOnly = !!a.kernelStacksOnly;
		const obj = t.open('profile', {
			layouts: { profile_key: PROFILE_KEY_LAYOUT, profile_stats: PROFILE_STATS_LAYOUT, profile_seen: PROFILE_SEEN_LAYOUT },
			globals: {
				include_idle: u8(!!a.includeIdle),
				filter_pid: u8(pids.length > 0),
				filter_tid: u8(tids.length > 0),
				user_stacks: u8(!kernelOnly),
				kernel_stacks: u8(!userOnly),
			},
			autoload: { on_exec: !kernelOnly },
			maps: { stack_traces: { maxEntries: a.stackStorageSize }, counts: { maxEntries: a.hashStorageSize } },
		});
		for (const id of [...pids, ...tids]) obj.obj.mapUpdate('targets', u32(id), u8(1));

		// first sample of a process, or first after it exec'd: snapshot its symbols
		const procs = new ProcessTracker();
		t.atEnd(() => procs.close());
		if (!kernelOnly) for (const p of pids) procs.see(p);
		t.stream(obj, decodeProfileSeen, (e) => {
			if (!kernelOnly) procs.see(e.pid);
		});

		const cpus = a.cpu !== undefined ? [a.cpu] : onlineCpus();
		const freq = a.count !== undefined ? undefined : (a.frequency ?? 49);
		const links: NativeLink[] = [];
		if (!kernelOnly) links.push(obj.attach('on_exec'));
		for (const cpu of cpus) {
			links.push(obj.perfEvent('do_perf_event', freq !== undefined ? { cpu, freq } : { cpu, period: a.count }));
		}

		const sampleContext = freq !== undefined ? `${freq} Hertz` : `every ${a.count} events`;
		const threadContext = pids.length ? `PID ${pids.join(',')}` : tids.length ? `TID ${tids.join(',')}` : 'all threads';
		const stackContext = userOnly ? 'user' : kernelOnly ? 'kernel' : 'user + kernel';
		const duration = t.common.duration;
		t.out.info(
			`Sampling at ${sampleContext} of ${threadContext} by ${stackContext} stack` +
				(a.cpu !== undefined ? ` on CPU#${a.cpu}` : '') +
				(duration ? ` for ${duration} secs.` : '...') +
				' Hit Ctrl-C to end.',
		);
		const reason = await t.run();
		for (const l of links) l.close();
		if (reason === 'stdout-closed') return;
		procs.finish();

		// read the counts and stacks
		const dump = obj.obj.mapDump('counts');
		const keySize = PROFILE_KEY_SIZE;
		const kv = new DataView(dump.keys.buffer, dump.keys.byteOffset, dump.keys.length);
		const resolver = new StackResolver(obj, 'stack_traces', procs.sym);
		const stacks: ResolvedStack[] = [];
		let missing = 0;
		let collision = false;
		for (let i = 0; i < dump.count; i++) {
			const key = decodeProfileKey(kv, i * keySize, keySize);
			const count = Number(dump.values.readBigUInt64LE(i * 8));
			if (!userOnly && stackIdErr(key.kernel_stack_id)) {
				missing++;
				collision ||= key.kernel_stack_id === -EEXIST;
			}
			if (!kernelOnly && stackIdErr(key.user_stack_id)) {
				missing++;
				collision ||= key.user_stack_id === -EEXIST;
			}
			const user = resolver.user(key.pid, key.user_stack_id);
			const kernel = resolver.kernel(key.kernel_stack_id);
			stacks.push({ key, count, user, kernel });
		}
		stacks.sort((x, y) => x.count - y.count || x.key.pid - y.key.pid || x.key.user_stack_id - y.key.user_stack_id || x.key.kernel_stack_id - y.key.kernel_stack_id || (x.key.comm < y.key.comm ? -1 : x.key.comm > y.key.comm ? 1 : 0));

		const fo: FormatOptions = { userOnly, kernelOnly, delimited: !!a.delimited, annotations: !!a.annotations };
		// text: stacks unless only a flame graph was asked for; records (--json, --otlp): always
		const printStacks = !t.out.json && (!a.flamegraph || a.folded);
		if (printStacks && a.folded) {
			// stacks that differ only in addresses print the same: merge them (as flame graph tools would)
			for (const [line, n] of mergeFolded(stacks.map((s) => foldedLine(s, fo)))) t.out.line(`${line} ${n}`);
		} else if (printStacks) {
			for (const s of stacks) for (const l of multilineStack(s, fo)) t.out.line(l);
		}
		if (t.out.records) {
			for (const s of stacks) {
				t.out.record({
					pid: s.key.pid,
					comm: s.key.comm,
					count: s.count,
					...(kernelOnly ? {} : { user_stack: s.user.map(frameJson), user_stack_error: stackIdErr(s.key.user_stack_id) ? s.key.user_stack_id : undefined }),
					...(userOnly ? {} : { kernel_stack: s.kernel.map(frameJson), kernel_stack_error: stackIdErr(s.key.kernel_stack_id) ? s.key.kernel_stack_id : undefined }),
				});
			}
		}
		t.out.flush();

		const st = sumStats(obj.obj.mapLookup('stats', u32(0)));
		if (a.flamegraph) {
			const tree = buildTree(stacks.map((s) => flameStack(s, fo)));
			try {
				writeFlameGraph(a.flamegraph, tree, {
					title: 'CPU Flame Graph',
					subtitle: `ebpf-tools profile: ${sampleContext}, ${threadContext}, ${stackContext} stacks`,
				});
			} catch (e) {
				throw new ToolError('RUNTIME', `--flamegraph ${a.flamegraph}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
			}
			t.out.info(`Wrote ${a.flamegraph} (${tree.value} samples, ${stacks.length} unique stacks)`);
		}
		if (missing > 0) {
			t.out.info(`WARNING: ${missing} stack traces could not be displayed.${collision || st.stack_enomem ? ' Consider increasing --stack-storage-size.' : ''}`);
		}
		if (st.stack_eexist || st.stack_enomem || st.stack_other)
			t.out.info(`WARNING: ${st.stack_eexist + st.stack_enomem + st.stack_other} stacks not stored in ${st.samples} samples (${st.stack_eexist} hash collisions, ${st.stack_enomem} stack map full, ${st.stack_other} other errors)`);
		if (st.counts_full || dump.count >= a.hashStorageSize)
			t.out.info(`WARNING: hash table full (${st.counts_full} samples not counted). Consider increasing --hash-storage-size.`);
		if (t.out.records)
			t.out.record({ type: 'summary', samples: st.samples, unique_stacks: stacks.length, stack_errors: { eexist: st.stack_eexist, enomem: st.stack_enomem, other: st.stack_other }, uncounted: st.counts_full });
		t.out.flush();
	},
});
