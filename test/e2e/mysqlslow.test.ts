// mysqlslow end to end: a private MariaDB server (its own data directory and
// socket, no network) queried with the mariadb client and with the C API's
// prepared statements; the uprobe mode (dispatch_command), the wire mode
// (error codes, prepared statements, -s summary) and the USDT mode (a small
// program with mysql:query__start/done probes) each time the queries the
// test made, with the threshold and filters matching and missing.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compileC, marker, ndjson, requireRoot, runTool, sleep, startTool, withoutTracefs } from './helpers.js';

let dir = '';
let server: ChildProcess | undefined;
let serverPid = 0;
let sock = '';
let stmtClient = '';
let fakeServer = '';

before(async () => {
	if (process.getuid?.() !== 0) return;
	dir = mkdtempSync(join(tmpdir(), 'ebt-mysql-'));
	sock = join(dir, 'sock');
	execFileSync('mariadb-install-db', ['--no-defaults', '--user=root', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'ignore' });
	server = spawn('mariadbd', ['--no-defaults', '--user=root', `--datadir=${dir}/data`, `--socket=${sock}`, '--skip-networking', '--skip-grant-tables',
		`--pid-file=${dir}/pid`, `--log-error=${dir}/err.log`, '--innodb-buffer-pool-size=16M'], { stdio: 'ignore' });
	serverPid = server.pid!;
	for (let i = 0; i < 300 && !existsSync(sock); i++) await sleep(50);
	assert.ok(existsSync(sock), existsSync(`${dir}/err.log`) ? readFileSync(`${dir}/err.log`, 'utf8') : 'mariadbd did not start');
	stmtClient = compileC('stmt', STMT_CLIENT, dir, { flags: ['-I/usr/include/mariadb', '-lmariadb'] });
	fakeServer = compileC('fakedb', FAKE_SERVER, dir);
});
after(() => {
	server?.kill('SIGKILL');
	if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Queries through the mariadb client (comments kept, so markers reach the server). */
function sql(statements: string): string {
	const r = spawnSync('mariadb', ['--no-defaults', '-S', sock, '--comments', '-N', '-e', statements], { encoding: 'utf8' });
	return r.stdout + r.stderr;
}

// prepared statements through the C API (COM_STMT_PREPARE / COM_STMT_EXECUTE)
const STMT_CLIENT = `
#include <mysql.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	MYSQL *m = mysql_init(0);
	if (!mysql_real_connect(m, 0, "root", 0, 0, 0, argv[1], 0)) { fprintf(stderr, "%s\\n", mysql_error(m)); return 1; }
	MYSQL_STMT *s = mysql_stmt_init(m);
	if (mysql_stmt_prepare(s, argv[2], strlen(argv[2]))) { fprintf(stderr, "%s\\n", mysql_stmt_error(s)); return 1; }
	for (int i = 0; i < 2; i++) {
		if (mysql_stmt_execute(s)) { fprintf(stderr, "%s\\n", mysql_stmt_error(s)); return 1; }
		mysql_stmt_store_result(s);
		mysql_stmt_free_result(s);
	}
	mysql_stmt_close(s);
	mysql_close(m);
	return 0;
}
`;

// a stand-in server with the MySQL DTrace probes: each query "runs" for its number of ms
const FAKE_SERVER = `
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
	char line[256];
	if (!fgets(line, sizeof line, stdin)) return 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		DTRACE_PROBE5(mysql, query__start, argv[i], 1, "db", "user", "host");
		usleep(atoi(argv[i + 1]) * 1000);
		DTRACE_PROBE1(mysql, query__done, 0);
	}
	return 0;
}
`;

interface Row {
	time: number;
	pid: number;
	ms: number;
	query: string;
}

function rows(stdout: string): Row[] {
	return [...stdout.matchAll(/^(\d+\.\d{6}) +(\d+) +(\d+\.\d{3}) (.*)$/gm)].map((m) => ({ time: Number(m[1]), pid: Number(m[2]), ms: Number(m[3]), query: m[4] }));
}

test('mysqlslow (uprobe on dispatch_command): slow queries with their time; -m leaves fast ones out', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('mys');
	const run = startTool(['mysqlslow', '-p', String(serverPid), '-m', '30']);
	await run.attached();
	assert.match(run.stderr, new RegExp(`for pid ${serverPid} slower than 30 ms \\(uprobe mode\\)`));
	sql(`select sleep(0.06) /* ${mk}-slow */; select 1 /* ${mk}-fast */`);
	await run.waitFor((s) => s.includes(`${mk}-slow`));
	await sleep(300);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, /^TIME\(s\) {8}PID {10}MS QUERY$/m);
	const mine = rows(r.stdout).filter((x) => x.query.includes(mk));
	assert.equal(mine.length, 1, r.stdout);
	assert.equal(mine[0].query, `select sleep(0.06) /* ${mk}-slow */`);
	assert.equal(mine[0].pid, serverPid);
	assert.ok(mine[0].ms >= 60 && mine[0].ms < 2000, String(mine[0].ms));
});

test('mysqlslow -x BINARY -m 0 --json: every query of the servers running it', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('myx');
	const run = startTool(['mysqlslow', '-x', '/usr/sbin/mariadbd', '-m', '0', '--json']);
	await run.attached();
	sql(`select 1 /* ${mk}-a */; select 2 /* ${mk}-b */`);
	await run.waitFor((s) => s.includes(`${mk}-b`));
	const r = await run.stop();
	const recs = ndjson<Record<string, any>>(r.stdout).filter((x) => String(x.query).includes(mk));
	assert.deepEqual(recs.map((x) => x.query), [`select 1 /* ${mk}-a */`, `select 2 /* ${mk}-b */`]);
	for (const x of recs) {
		assert.equal(x.pid, serverPid);
		assert.ok(x.ms >= 0 && x.ms < 1000);
		assert.ok(x.ts > 1e9);
	}
});

test('mysqlslow --mode wire: error codes, prepared statements by their text, -s summary per normalized query', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('myw');
	const run = startTool(['mysqlslow', '--mode', 'wire', '-p', String(serverPid), '-m', '0', '-s']);
	await run.attached();
	assert.match(run.stderr, /\(wire mode\)/);
	sql(`select 5 as ${mk}; select 6 as ${mk}; select 7 as ${mk}`);
	sql(`select * from mysql.${mk}_missing`);
	const st = spawnSync(stmtClient, [sock, `select sleep(0.02) as ${mk}_p`], { encoding: 'utf8' });
	assert.equal(st.status, 0, st.stderr);
	await run.waitFor((s) => (s.match(new RegExp(`${mk}_p`, 'g')) ?? []).length >= 2);
	await sleep(300);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const all = rows(r.stdout);
	assert.deepEqual(all.filter((x) => /^select \d as /.test(x.query) && x.query.includes(mk)).map((x) => x.query), [5, 6, 7].map((n) => `select ${n} as ${mk}`));
	const err = all.filter((x) => x.query.includes(`${mk}_missing`));
	assert.equal(err.length, 1, r.stdout);
	assert.equal(err[0].query, `[ERROR 1146] select * from mysql.${mk}_missing`);
	// the prepared statement: executed twice, each shown with its text and its time
	const prep = all.filter((x) => x.query === `select sleep(0.02) as ${mk}_p`);
	assert.equal(prep.length, 2, r.stdout);
	for (const p of prep) assert.ok(p.ms >= 20, String(p.ms));
	// the summary: one line for the three literal-only variants
	const sum = r.stdout.slice(r.stdout.indexOf('COUNT'));
	assert.match(sum, /^COUNT +TOTAL\(ms\) +AVG\(ms\) +MAX\(ms\) +QUERY$/m);
	assert.match(sum, new RegExp(`^ +3 +[\\d.]+ +[\\d.]+ +[\\d.]+ +select \\? as ${mk}$`, 'm'));
	assert.match(sum, new RegExp(`^ +2 +[\\d.]+ +[\\d.]+ +[\\d.]+ +select sleep\\(\\?\\) as ${mk}_p$`, 'm'));
});

test('mysqlslow --mode wire without tracefs and no CAP_SYS_ADMIN: the raw syscall tracepoints give the same queries', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('myr');
	const caps = '-all,+bpf,+perfmon,+sys_ptrace,+dac_read_search';
	const run = startTool(['mysqlslow', '--mode', 'wire', '-p', String(serverPid), '-m', '0', '--json'],
		{ wrap: withoutTracefs('setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`) });
	await run.attached();
	sql(`select 11 as ${mk}; select * from mysql.${mk}_none`);
	await run.waitFor((s) => s.includes(`${mk}_none`));
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const recs = ndjson<Record<string, any>>(r.stdout).filter((x) => String(x.query).includes(mk));
	assert.deepEqual(recs.map((x) => [x.query, x.error]), [[`select 11 as ${mk}`, undefined], [`select * from mysql.${mk}_none`, 1146]]);
});

test('mysqlslow --mode usdt: mysql:query__start/done probes of a program that has them; -p matches or not', async (t) => {
	if (!requireRoot(t)) return;
	const mk = marker('myu');
	const prog = spawn(fakeServer, [`select 1 /* ${mk}-slow */`, '40', `select 2 /* ${mk}-fast */`, '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
	t.after(() => prog.kill('SIGKILL'));
	await sleep(100);
	const run = startTool(['mysqlslow', '--mode', 'usdt', '-p', String(prog.pid), '-m', '20', '--json']);
	await run.attached();
	assert.match(run.stderr, /\(usdt mode\)/);
	prog.stdin!.end('go\n');
	await new Promise((res) => prog.on('exit', res));
	await sleep(300);
	const r = await run.stop();
	assert.equal(r.code, 0, r.stderr);
	const recs = ndjson<Record<string, any>>(r.stdout);
	assert.deepEqual(recs.map((x) => x.query), [`select 1 /* ${mk}-slow */`]);
	assert.equal(recs[0].pid, prog.pid);
	assert.ok(recs[0].ms >= 40 && recs[0].ms < 2000);
	// the real server has no such probes: --mode usdt says so in one line
	const no = runTool(['mysqlslow', '--mode', 'usdt', '-p', String(serverPid)]);
	assert.equal(no.code, 1, no.stderr);
	assert.equal(no.stderr.trim().split('\n').length, 1, no.stderr);
	assert.match(no.stderr, /^mysqlslow: --mode usdt: .* has no mysql:query__start\/query__done probes/);
});

test('mysqlslow usage errors: one line, exit 2', () => {
	for (const args of [['--mode', 'dtrace'], ['-m', '-1'], ['-m'], ['--mode', 'wire', '-x', '/usr/sbin/mariadbd'], ['-p', '1', '-x', '/usr/sbin/mariadbd'], ['-p', '999999999'], ['-x', '/etc/passwd']]) {
		const r = runTool(['mysqlslow', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, /^mysqlslow: /);
	}
});
