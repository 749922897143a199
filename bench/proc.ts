// Process accounting for the bench: CPU time and peak RSS of a process tree
// (the tracer and any wrapper/children: sudo, node, a shell), from /proc.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux ABI in use). */
const CLK_TCK = 100;

interface Stat {
	ppid: number;
	/** utime + stime + cutime + cstime, in seconds */
	cpu: number;
}

function readStat(pid: number): Stat | undefined {
	let s: string;
	try {
		s = readFileSync(`/proc/${pid}/stat`, 'utf8');
	} catch {
		return undefined;
	}
	// comm may hold spaces and parentheses: fields start after the last ')'
	const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17
	const ppid = Number(f[1]);
	const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
	return { ppid, cpu: ticks / CLK_TCK };
}

/** root and its live descendants (one scan of /proc). */
export function processTree(root: number): number[] {
	const children = new Map<number, number[]>();
	for (const d of readdirSync('/proc')) {
		const pid = Number(d);
		if (!Number.isInteger(pid) || pid <= 0) continue;
		const st = readStat(pid);
		if (!st) continue;
		let l = children.get(st.ppid);
		if (!l) children.set(st.ppid, (l = []));
		l.push(pid);
	}
	const out: number[] = [];
	const todo = [root];
	while (todo.length) {
		const p = todo.pop()!;
		out.push(p);
		todo.push(...(children.get(p) ?? []));
	}
	return out;
}

/**
 * CPU seconds (user + system) used so far by the tree: each live process's
 * own time plus that of its reaped children (cutime/cstime), so a wrapper's
 * exited children are not lost and nothing is counted twice.
 */
export function treeCpu(root: number): number {
	let cpu = 0;
	for (const pid of processTree(root)) cpu += readStat(pid)?.cpu ?? 0;
	return cpu;
}

function statusKb(pid: number, field: string): number {
	try {
		const m = new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : 0;
	} catch {
		return 0;
	}
}

/** Peak resident set (VmHWM) summed over the live tree, in kB. */
export function treePeakRssKb(root: number): number {
	let kb = 0;
	for (const pid of processTree(root)) kb += statusKb(pid, 'VmHWM');
	return kb;
}

/**
 * Count occurrences of needle in a file, streaming (outputs of a storm run can
 * be hundreds of MB), plus the numbers that follow each `after` string (lost
 * event reports inside the output).
 */
export function scanFile(path: string, needle: string, after: RegExp[] = []): { hits: number; lines: number; numbers: number[] } {
	const fd = openSync(path, 'r');
	const n = Buffer.from(needle);
	const chunk = Buffer.allocUnsafe(1 << 22);
	let carry = Buffer.alloc(0);
	let hits = 0;
	let lines = 0;
	const numbers: number[] = [];
	try {
		for (;;) {
			const got = readSync(fd, chunk, 0, chunk.length, null);
			if (got <= 0) break;
			const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
			// only whole lines are scanned; the tail waits for the next chunk
			const end = buf.lastIndexOf(10) + 1;
			const body = buf.subarray(0, end);
			for (let i = body.indexOf(n); i >= 0; i = body.indexOf(n, i + n.length)) hits++;
			for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++;
			if (after.length) scanNumbers(body, after, numbers);
			carry = Buffer.from(buf.subarray(end));
		}
		if (carry.length) {
			for (let i = carry.indexOf(n); i >= 0; i = carry.indexOf(n, i + n.length)) hits++;
			lines++;
			if (after.length) scanNumbers(carry, after, numbers);
		}
	} finally {
		closeSync(fd);
	}
	return { hits, lines, numbers };
}

function scanNumbers(body: Buffer, res: RegExp[], out: number[]): void {
	for (const re of res) {
		// cheap prefilter on the literal prefix before running a regex over the text
		const lit = /^[^\\()[\].*+?{}|^$]+/.exec(re.source)?.[0];
		if (lit && body.indexOf(lit) < 0) continue;
		const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
		for (const m of body.toString('latin1').matchAll(g)) out.push(Number(m[1]));
	}
}

export function median(xs: number[]): number {
	const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (!v.length) return NaN;
	const m = v.length >> 1;
	return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
