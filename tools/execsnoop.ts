// execsnoop: trace new processes. Successful execs come from
// sched_process_exec with argv read from the new mm; failed ones (-x) from
// execve/execveat syscall exit (or raw syscall tracepoints without tracefs).
import { usage } from '../lib/errors.js';
import { EXEC_EVENT_LAYOUT, decodeExecEvent } from '../lib/gen/execsnoop.js';
import type { ExecEvent } from '../lib/gen/execsnoop.js';
import { splitNul } from '../lib/decode.js';
import { Columns } from '../lib/output.js';
import { tracepointExists } from '../lib/preflight.js';
import { rawSyscallGlobals } from '../lib/syscalls.js';
import { defineTool } from '../lib/tool.js';
import { hhmmss, u32 } from '../lib/tracer.js';
import { resolveUid } from '../lib/users.js';

/** most arguments the BPF side reads on the failure path (MAX_ARGS_LIMIT) */
const MAX_ARGS_LIMIT = 60;

/** execve / execveat syscall numbers, for the raw tracepoint fallback */
interface Opts {
	time?: boolean;
	timestamp?: boolean;
	fails?: boolean;
	uid?: string;
	quote?: boolean;
	name?: string;
	line?: string;
	maxArgs: number;
	ppid?: number;
	printUid?: boolean;
}

interface Exec extends ExecEvent {
	argv: string[];
	cut: boolean;
}

/** Format argv as BCC does: space-joined, optionally quoted, ` ...` when cut. */
export function formatArgs(argv: string[], cut: boolean, quote: boolean): string {
	const parts = quote ? argv.map((a) => `"${a.replace(/"/g, '\\"')}"`) : argv;
	return parts.join(' ') + (cut ? ' ...' : '');
}

/** Split the argv blob and apply --max-args. */
export function execArgs(e: ExecEvent, maxArgs: number): { argv: string[]; cut: boolean } {
	let argv = splitNul(e.args.subarray(0, e.args_size));
	let cut = e.args_truncated !== 0;
	if (argv.length > maxArgs) {
		argv = argv.slice(0, maxArgs);
		cut = true;
	}
	return { argv, cut };
}

export default defineTool<Opts>({
	name: 'execsnoop',
	description: 'Trace new processes: every exec(), with its arguments, parent and return value.',
	options: {
		time: { alias: 'T', type: 'boolean', describe: 'include a time column (HH:MM:SS)' },
		timestamp: { alias: 't', type: 'boolean', describe: 'include a time column in seconds since tracing started' },
		fails: { alias: 'x', type: 'boolean', describe: 'include failed exec()s' },
		uid: { alias: 'u', type: 'string', requiresArg: true, describe: 'trace this UID or user name only' },
		quote: { alias: 'q', type: 'boolean', describe: 'put quotes (") around arguments' },
		name: { alias: 'n', type: 'string', requiresArg: true, describe: 'only print commands whose name (comm) matches this regex' },
		line: { alias: 'l', type: 'string', requiresArg: true, describe: 'only print commands whose arguments match this regex' },
		'max-args': { type: 'number', default: 20, requiresArg: true, describe: `most arguments to print (1-${MAX_ARGS_LIMIT})` },
		ppid: { alias: 'P', type: 'number', requiresArg: true, describe: 'trace only children of this parent PID' },
		'print-uid': { alias: 'U', type: 'boolean', describe: 'include a UID column' },
	},
	commonAliases: { cgroup: 'c' },
	examples: [
		['ebpf-tools execsnoop', 'trace all exec() syscalls'],
		['ebpf-tools execsnoop -x', 'include failed exec()s'],
		['ebpf-tools execsnoop -T -U', 'include time (HH:MM:SS) and UID columns'],
		['ebpf-tools execsnoop -u 1000', 'only trace UID 1000'],
		['ebpf-tools execsnoop -u root', 'get root UID and trace only this'],
		['ebpf-tools execsnoop -n main', 'only print command lines containing "main"'],
		['ebpf-tools execsnoop -l tpkg', 'only print command where arguments contain "tpkg"'],
		['ebpf-tools execsnoop -P 181', 'only trace new processes whose parent PID is 181'],
		['ebpf-tools execsnoop -c /sys/fs/cgroup/system.slice', 'only trace tasks in that cgroup'],
		['ebpf-tools execsnoop --json | jq .args', 'one JSON object per exec'],
	],
	validate(a) {
		if (!Number.isInteger(a.maxArgs) || a.maxArgs < 1 || a.maxArgs > MAX_ARGS_LIMIT)
			throw usage(`--max-args ${a.maxArgs}: must be an integer from 1 to ${MAX_ARGS_LIMIT}`);
		if (a.uid !== undefined && resolveUid(a.uid) === undefined)
			throw usage(`--uid ${a.uid}: no such user`, 'give a numeric UID or a name from /etc/passwd');
		if (a.ppid !== undefined && (!Number.isInteger(a.ppid) || a.ppid <= 0))
			throw usage(`--ppid ${a.ppid}: must be a positive PID`);
		for (const [flag, re] of [['--name', a.name], ['--line', a.line]] as const) {
			if (re === undefined) continue;
			try {
				new RegExp(re);
			} catch {
				throw usage(`${flag} ${re}: not a valid regular expression`);
			}
		}
	},
	async run(t, a) {
		const nameRe = a.name !== undefined ? new RegExp(a.name) : undefined;
		const lineRe = a.line !== undefined ? new RegExp(a.line) : undefined;
		const uid = a.uid !== undefined ? resolveUid(a.uid) : undefined;
		const failProgs = ['enter_execve', 'enter_execveat', 'exit_execve', 'exit_execveat'];
		const rawProgs = ['raw_sys_enter', 'raw_sys_exit'];
		// failed execs: syscall tracepoints when tracefs has them, else raw syscall tracepoints
		const classic = !!a.fails && t.tracefs && tracepointExists('syscalls', 'sys_enter_execveat');
		const raw = !!a.fails && !classic;
		const nr = raw ? rawSyscallGlobals(['execve', 'execveat']) : {};
		if (!nr) throw usage(`-x without tracefs is not supported on ${process.arch}`, 'mount tracefs at /sys/kernel/tracing');
		const autoload: Record<string, boolean> = {};
		for (const p of failProgs) autoload[p] = classic;
		for (const p of rawProgs) autoload[p] = raw;
		const obj = t.open('execsnoop', {
			layouts: { exec_event: EXEC_EVENT_LAYOUT },
			autoload,
			globals: {
				targ_uid: uid !== undefined ? u32(uid) : undefined,
				targ_ppid: a.ppid ? u32(a.ppid) : undefined,
				max_args: u32(a.maxArgs),
				...nr,
			},
		});
		const clock = t.clock;
		const cols = new Columns<Exec>([
			{ header: 'TIME', width: 8, show: !!a.time, text: (e) => hhmmss(clock.epochSeconds(e.ts_ns)) },
			{ header: 'TIME(s)', width: 7, show: !!a.timestamp, text: (e) => clock.sinceStart(e.ts_ns).toFixed(3) },
			{ key: 'ts', json: (e) => clock.epochSeconds(e.ts_ns) },
			{ header: 'UID', key: 'uid', width: 5, show: !!a.printUid, text: (e) => String(e.uid), json: (e) => e.uid },
			{ header: 'PCOMM', key: 'comm', width: 16, text: (e) => e.comm },
			{ header: 'PID', key: 'pid', width: 7, text: (e) => String(e.pid), json: (e) => e.pid },
			{ key: 'tid', json: (e) => e.tid },
			{ header: 'PPID', key: 'ppid', width: 7, text: (e) => String(e.ppid), json: (e) => e.ppid },
			{ header: 'RET', key: 'ret', width: 3, right: true, text: (e) => String(e.ret), json: (e) => e.ret },
			{ header: 'ARGS', key: 'args', text: (e) => formatArgs(e.argv, e.cut, !!a.quote), json: (e) => e.argv },
			{ key: 'args_truncated', json: (e) => e.cut },
		]);
		t.stream(obj, decodeExecEvent, (ev) => {
			if (nameRe && !nameRe.test(ev.comm)) return;
			const e = ev as Exec;
			const { argv, cut } = execArgs(ev, a.maxArgs);
			if (lineRe && !lineRe.test(argv.join(' '))) return;
			e.argv = argv;
			e.cut = cut;
			t.out.event(cols, e);
		});
		if (raw && a.verbose) t.out.info('tracefs unavailable: failed execs come from raw syscall tracepoints');
		obj.attach('exec_success');
		if (classic) {
			obj.tracepoint('enter_execve', 'syscalls', 'sys_enter_execve');
			obj.tracepoint('exit_execve', 'syscalls', 'sys_exit_execve');
			obj.tracepoint('enter_execveat', 'syscalls', 'sys_enter_execveat');
			obj.tracepoint('exit_execveat', 'syscalls', 'sys_exit_execveat');
		} else if (raw) {
			obj.attach('raw_sys_enter');
			obj.attach('raw_sys_exit');
		}

		if (!t.out.json) {
			t.out.line(cols.header());
			t.out.flush();
		}
		t.out.info(`Tracing exec()s${a.fails ? ' (including failures)' : ''}... Hit Ctrl-C to end.`);
		await t.run();
	},
});
