// biolatency against the real kernel: a known number of O_DIRECT writes and
// reads (dd) on a file of the disk under the test directory; every histogram
// of that disk must account for all of them (other I/O may add some).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { native, packageRoot } from '../../lib/native.js';
import { sumPerCpuU64 } from '../../lib/histogram.js';
import { ToolRun, cli, linksStillPresent, marker, ndjson, requireRoot, sleep, startTool } from './helpers.js';

const WRITES = 150;
const READS = 120;

interface Row {
	low: number;
	high: number;
	count: number;
}
interface Hist {
	/** "disk = vda" -> ['disk', 'vda'] */
	key?: [string, string];
	unit: string;
	rows: Row[];
}

/** Parse BCC-style histogram text into sections. */
function parse(stdout: string): Hist[] {
	const out: Hist[] = [];
	let key: [string, string] | undefined;
	for (const line of stdout.split('\n')) {
		let m = /^(\w+) = (.*)$/.exec(line);
		if (m) {
			key = [m[1], m[2]];
			continue;
		}
		m = /^ +(\w+) +: count     distribution$/.exec(line);
		if (m) {
			out.push({ key, unit: m[1], rows: [] });
			key = undefined;
			continue;
		}
		m = /^ *(\d+) -> (\d+) *: (\d+) *\|[*+ ]*\|$/.exec(line);
		if (m) out[out.length - 1].rows.push({ low: Number(m[1]), high: Number(m[2]), count: Number(m[3]) });
	}
	return out;
}

const total = (h: Hist | undefined) => (h ? h.rows.reduce((a, r) => a + r.count, 0) : 0);

/** The whole disk holding path (a partition's parent), by sysfs name. */
function diskOf(path: string): string {
	const dev = statSync(path).dev;
	const major = Math.floor(dev / 256) & 0xfff;
	const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
	const sys = `/sys/dev/block/${major}:${minor}`;
	if (!existsSync(sys)) throw new Error(`${path} is not on a block device (${major}:${minor}); run the tests from a disk-backed directory`);
	const real = realpathSync(sys);
	return existsSync(join(real, 'partition')) ? basename(dirname(real)) : basename(real);
}

let dir = '';
let file = '';
let disk = '';

before(() => {
	if (process.getuid?.() !== 0) return;
	// a disk-backed directory (EBT_DISK_DIR to choose another)
	dir = mkdtempSync(join(process.env.EBT_DISK_DIR ?? '/var/tmp', `${marker('biolat')}-`));
	file = join(dir, 'data');
	disk = diskOf(dir);
	// allocate the file first, so the O_DIRECT writes are plain overwrites
	execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', `count=${WRITES}`, 'conv=fsync', 'status=none']);
});

after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

/** WRITES O_DIRECT writes then READS O_DIRECT reads of 4 KiB, each its own request. */
function directIo(writes = WRITES, reads = READS): void {
	if (writes) execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', `count=${writes}`, 'oflag=direct', 'conv=notrunc', 'status=none']);
	if (reads) execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=4096', `count=${reads}`, 'iflag=direct', 'status=none']);
}

/** Requests merged into others on the disk so far (/sys/block/DISK/stat: read and write merges). */
function diskStat(): { merges: number; ios: number } {
	const f = readFileSync(`/sys/block/${disk}/stat`, 'utf8').trim().split(/\s+/).map(Number);
	return { merges: f[1] + f[5], ios: f[0] + f[4] };
}

/**
 * Run the workload. A bio of ours can be merged into a neighbouring request
 * of another process queued in the scheduler: then it is no request of its
 * own. The disk's merge counters bound how many of ours that can be.
 */
function work(fn: () => void = directIo): number {
	const s0 = diskStat();
	fn();
	const s1 = diskStat();
	lastIos = s1.ios - s0.ios;
	return s1.merges - s0.merges;
}
/** requests the disk completed during the last workload (for failure messages) */
let lastIos = 0;

async function traced(args: string[], fn: () => void = directIo): Promise<{ run: ToolRun; stdout: string; stderr: string; merged: number }> {
	const run = startTool(['biolatency', ...(args.includes('-v') ? args : [...args, '-v'])]);
	await run.attached();
	const merged = work(fn);
	const r = await run.stop('SIGINT');
	assert.equal(r.code, 0, `exit ${r.code} signal ${r.signal}: ${r.stderr}`);
	assert.deepEqual(linksStillPresent(run.linkIds), [], 'links left attached');
	return { run, stdout: r.stdout, stderr: r.stderr, merged };
}

/**
 * Requests the tool said it lost, from its "WARNING: N events lost (why)"
 * lines (not the "in total" line at exit). Two kinds can happen: runs the
 * kernel skipped and counted (a program already running on the CPU), and
 * completions the kernel never ran the program for at all (on this VM:
 * whenever the sandbox agent's thread is the interrupted task), which the
 * tool finds by request reuse and its idle-request sweep.
 */
function lostOf(stderr: string): number {
	return [...stderr.matchAll(/^WARNING: (\d+) events lost \(/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

/** The -v counters: every start recorded was timed, reported unseen, or is still in flight at exit. */
function assertCountersBalance(stderr: string): void {
	const m = /(\d+) starts recorded, (\d+) completions timed, .*?, (\d+) unseen .*?, (\d+) program runs skipped/.exec(stderr);
	assert.ok(m, stderr);
	const [started, timed, unseen, skipped] = m.slice(1).map(Number);
	const inFlight = started - timed - unseen;
	assert.ok(inFlight >= 0 && inFlight <= 64, `started ${started}, timed ${timed}, unseen ${unseen}`);
	// all of it reported as lost, one warning per print
	assert.equal(lostOf(stderr), unseen + skipped, stderr);
}

/** Our I/O: counted (or reported lost), with latencies a disk can have (2 us .. 16 s). */
function assertAccounts(h: Hist | undefined, n: number, r: { stderr: string; merged: number }, unit = 'usecs'): void {
	n -= lostOf(r.stderr) + r.merged;
	assert.ok(h, 'no histogram');
	assert.equal(h.unit, unit);
	assert.ok(total(h) >= n, `histogram holds ${total(h)} requests, expected at least ${n} (${r.merged} merged, the disk completed ${lastIos} meanwhile)\n${r.stderr}`);
	if (unit === 'usecs') {
		const plausible = h.rows.filter((r) => r.low >= 2 && r.high < 1 << 24).reduce((a, r) => a + r.count, 0);
		assert.ok(plausible >= n, `only ${plausible} of ${total(h)} latencies within 2 us .. 16 s`);
	}
	// rows run from 0 -> 1 up to the last non-empty bucket, in log2 steps
	assert.deepEqual(h.rows[0], { ...h.rows[0], low: 0, high: 1 });
	h.rows.forEach((r, i) => i > 0 && assert.deepEqual([r.low, r.high], [2 ** i, 2 ** (i + 1) - 1]));
	assert.ok(h.rows[h.rows.length - 1].count > 0, 'trailing empty bucket printed');
}

test('default: one histogram that accounts for every O_DIRECT request', async (t) => {
	if (!requireRoot(t)) return;
	const res = await traced(['-v']);
	const { stdout, stderr } = res;
	assert.match(stderr, /^Tracing block device I\/O\.\.\. Hit Ctrl-C to end\.$/m);
	assert.match(stderr, /using tp_btf hooks/);
	const hs = parse(stdout);
	assert.equal(hs.length, 1, stdout);
	assert.equal(hs[0].key, undefined);
	assertAccounts(hs[0], WRITES + READS, res);
	assertCountersBalance(stderr);
});

test('-D names the disk; -e prints the avg/total/count line', async (t) => {
	if (!requireRoot(t)) return;
	const res = await traced(['-D', '-e']);
	const { stdout, stderr } = res;
	const hs = parse(stdout);
	const ours = hs.find((h) => h.key?.[0] === 'disk' && h.key[1] === disk);
	assertAccounts(ours, WRITES + READS, res);
	const m = /^avg = (\d+) usecs, total: (\d+) usecs, count: (\d+)$/m.exec(stdout);
	assert.ok(m, stdout);
	const [avg, sum, count] = m.slice(1).map(Number);
	// the -e counters and the histograms are read one after the other: a
	// request completing in between may be in one and not yet in the other
	assert.ok(count >= WRITES + READS - lostOf(stderr) - res.merged, `count ${count}`);
	// (other tests' disk I/O runs meanwhile: allow what completes between the two reads)
	const inHists = hs.reduce((a, h) => a + total(h), 0);
	assert.ok(Math.abs(count - inHists) <= Math.max(5, 0.05 * count), `count ${count} is the number of requests in the histograms (${inHists})`);
	assert.equal(avg, Math.trunc(sum / count));
	assert.ok(avg >= 2, `avg ${avg} us`);
});

test('-F separates reads and writes by the kernel\'s flags', async (t) => {
	if (!requireRoot(t)) return;
	const { stdout, stderr, merged } = await traced(['-F']);
	const lost = lostOf(stderr) + merged;
	const hs = parse(stdout);
	assert.ok(hs.every((h) => h.key?.[0] === 'flags'), stdout);
	const labels = hs.map((h) => h.key![1]);
	assert.equal(new Set(labels).size, labels.length, 'one section per flag set');
	const sum = (re: RegExp) => hs.filter((h) => re.test(h.key![1])).reduce((a, h) => a + total(h), 0);
	assert.ok(sum(/(^|-)Write$/) >= WRITES - lost, `writes: ${sum(/(^|-)Write$/)}\n${stdout}`);
	assert.ok(sum(/(^|-)Read$/) >= READS - lost, `reads: ${sum(/(^|-)Read$/)}\n${stdout}`);
	// O_DIRECT writes are synchronous requests: Sync-Write (Idle-Sync-Write since 4.10)
	assert.ok(hs.some((h) => /Sync-Write$/.test(h.key![1]) && total(h) >= WRITES - lost), stdout);
});

test('-d: the named disk only', async (t) => {
	if (!requireRoot(t)) return;
	const match = await traced(['-d', disk, '-D']);
	const hs = parse(match.stdout);
	assert.deepEqual(hs.map((h) => h.key), [['disk', disk]], match.stdout);
	assertAccounts(hs[0], WRITES + READS, match);

	const other = readdirSync('/sys/block').find((d) => d !== disk);
	assert.ok(other, 'no second block device to filter on');
	const miss = await traced(['-d', other, '-D']);
	assert.ok(!parse(miss.stdout).some((h) => h.key?.[1] === disk), `-d ${other} showed ${disk}:\n${miss.stdout}`);
});

test('-Q and -m: queued time included, millisecond buckets', async (t) => {
	if (!requireRoot(t)) return;
	const q = await traced(['-Q', '-D']);
	assertAccounts(parse(q.stdout).find((h) => h.key?.[1] === disk), WRITES + READS, q);
	const m = await traced(['-m', '-D']);
	assertAccounts(parse(m.stdout).find((h) => h.key?.[1] === disk), WRITES + READS, m, 'msecs');
});

for (const hook of ['raw_tp', 'tracepoint']) {
	test(`--hook ${hook}: the fallback sees the same requests`, async (t) => {
		if (!requireRoot(t)) return;
		const res = await traced(['--hook', hook, '-D', '-v']);
		assert.match(res.stderr, new RegExp(`using ${hook} hooks`));
		assertAccounts(parse(res.stdout).find((h) => h.key?.[1] === disk), WRITES + READS, res);
	assertCountersBalance(res.stderr);
	});
}

test('interval and count: "1 3" prints three intervals and exits', async (t) => {
	if (!requireRoot(t)) return;
	const run = startTool(['biolatency', '-T', '1', '3']);
	await run.attached();
	const merged = work();
	const timer = setTimeout(() => run.child.kill('SIGKILL'), 15000);
	const r = await run.exited;
	clearTimeout(timer);
	assert.equal(r.code, 0, `exit ${r.code} signal ${r.signal}: ${r.stderr}`);
	const stamps = r.stdout.match(/^\d\d:\d\d:\d\d$/gm) ?? [];
	assert.equal(stamps.length, 3, r.stdout);
	// every interval starts with a blank line and the time
	assert.equal((r.stdout.match(/^\n\d\d:\d\d:\d\d$/gm) ?? []).length, 3);
	assert.ok(parse(r.stdout).reduce((a, h) => a + total(h), 0) >= WRITES + READS - lostOf(r.stderr) - merged);
	assert.deepEqual(linksStillPresent(run.linkIds), []);
});

test('--json: one object per histogram, buckets with bounds, the -e summary', async (t) => {
	if (!requireRoot(t)) return;
	const { stdout, stderr, merged } = await traced(['--json', '-D', '-e']);
	const lost = lostOf(stderr);
	const recs = ndjson<Record<string, any>>(stdout);
	const hists = recs.filter((r) => r.type === 'histogram');
	const ours = hists.find((h) => h.key?.disk === disk);
	assert.ok(ours, stdout);
	assert.equal(ours.unit, 'usecs');
	assert.equal(ours.interval, 1);
	assert.ok(Math.abs(ours.timestamp - Date.now() / 1000) < 60);
	assert.match(ours.key.dev, /^\d+:\d+$/);
	assert.ok(ours.total_count >= WRITES + READS - lost - merged);
	assert.equal(recs.filter((r) => r.type === 'lost').reduce((a, r) => a + r.count, 0), lost);
	assert.equal(ours.buckets.reduce((a: number, b: Row) => a + b.count, 0), ours.total_count);
	ours.buckets.forEach((b: Row, i: number) => assert.deepEqual([b.low, b.high], [i ? 2 ** i : 0, 2 ** (i + 1) - 1]));
	const sum = recs.find((r) => r.type === 'summary');
	assert.ok(sum, stdout);
	assert.ok(Math.abs(sum.count - hists.reduce((a, h) => a + h.total_count, 0)) <= 5);
	assert.equal(sum.avg, Math.trunc(sum.total / sum.count));
});

test('the links outlive garbage collection (the addon detaches a link whose wrapper is collected)', async (t) => {
	if (!requireRoot(t)) return;
	// collect garbage every 20 ms in the tool's process
	const gc = join(dir, 'gc.cjs');
	writeFileSync(gc, 'setInterval(() => globalThis.gc(), 20).unref();\n');
	const child = spawn(process.execPath, ['--expose-gc', '--require', gc, cli, 'biolatency', '-D'], { stdio: ['ignore', 'pipe', 'pipe'] });
	const run = new ToolRun(child);
	await run.attached();
	await sleep(200);
	const merged = work();
	const r = await run.stop('SIGINT');
	assert.equal(r.code, 0, `exit ${r.code} signal ${r.signal}: ${r.stderr}`);
	assertAccounts(parse(r.stdout).find((h) => h.key?.[1] === disk), WRITES + READS, { stderr: r.stderr, merged });
});

test('unseen completions are found and counted: the completion program never runs here', async (t) => {
	if (!requireRoot(t)) return;
	// As if the kernel never ran the completion program: only the issue
	// program is attached. Requests are recycled structs (128 per hardware
	// queue here), so most unseen completions show when a request is issued
	// again; the sweep finds the rest, now idle. Every start must end up
	// counted as unseen, except requests of other processes still in flight.
	const o = new (native().BpfObject)(join(packageRoot, 'bpf', 'biolatency.bpf.o'), 'biolatency');
	using _o = o;
	for (const p of o.programs()) o.setAutoload(p.name, p.name === 'btf_issue' || p.name === 'sweep');
	o.load();
	const stat = (i: number) => {
		const d = o.mapDump('stats');
		const size = d.values.length / d.count;
		return sumPerCpuU64(d.values.subarray(i * size, (i + 1) * size), 8)[0];
	};
	const link = o.attach('btf_issue');
	const n = 300;
	directIo(n, 0);
	link.close();
	const started = stat(0);
	const byReuse = stat(4);
	assert.ok(started >= n, `started ${started}`);
	assert.ok(byReuse >= n - 128 * readdirSync(`/sys/block/${disk}/mq`).length, `found by reuse: ${byReuse} of ${started}`);
	await sleep(5); // older than the sweep's 1 ms floor
	o.run('sweep');
	const unseen = stat(4);
	const left = o.mapDump('start').count;
	assert.equal(unseen + left, started, `unseen ${unseen}, left ${left}, started ${started}`);
	assert.ok(left <= 16, `${left} starts left after the sweep: in flight?`);
	// nothing timed: the completion program never ran
	assert.equal(stat(1), 0);
});
