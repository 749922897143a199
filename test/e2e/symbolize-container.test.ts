// Symbolizing a process in other namespaces, as in a container: its binary
// exists only in its own mount namespace (a private tmpfs on /tmp) and its
// JIT perf map is /tmp/perf-<pid in its PID namespace>.map in there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Symbolizer } from '../../lib/symbolize/index.js';
import { compileC, requireRoot } from './helpers.js';

const SRC = `#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) int inside_fn(int x) { return x * 7; }
int main(void) {
	printf("%p %d\\n", (void *)inside_fn, (int)getpid());
	fflush(stdout);
	char c = 0;
	if (read(0, &c, 1) < 0) return 1;
	return inside_fn(c) & 1;
}
`;

test('binary and perf map only visible inside the process mount and PID namespaces', async (t) => {
	if (!requireRoot(t)) return;
	const dir = mkdtempSync(join(tmpdir(), 'ebt-ns-'));
	t.after(() => rmSync(dir, { recursive: true, force: true }));
	const bin = compileC('nsapp', SRC, dir, { flags: ['-g'] });
	// inside: a private /tmp, the binary copied there, a perf map for a JIT range, then exec
	// (the build directory is under /tmp too: keep the binary open across the mount)
	const script = `exec 3<${bin} && mount -t tmpfs tmpfs /tmp && cat <&3 > /tmp/nsapp-inner && exec 3<&- && chmod +x /tmp/nsapp-inner && echo '7f1234560000 100 JS:*jitted_inside' > /tmp/perf-$$.map && exec /tmp/nsapp-inner`;
	const child = spawn('unshare', ['--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
	t.after(() => {
		if (child.exitCode === null) child.kill('SIGKILL');
	});
	const line = await new Promise<string>((resolve, reject) => {
		let out = '';
		child.stdout!.setEncoding('utf8').on('data', (d: string) => {
			out += d;
			if (out.includes('\n')) resolve(out.trim());
		});
		child.on('exit', (c) => reject(new Error(`exited ${c}`)));
	});
	const [addr, nsPid] = line.split(' ');
	assert.equal(nsPid, '1', 'PID 1 in its own PID namespace');
	// the host PID: the child of unshare running /tmp/nsapp-inner
	const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
	assert.ok(readFileSync(`/proc/${pid}/maps`, 'utf8').includes('/tmp/nsapp-inner'));
	assert.ok(!existsSync('/tmp/nsapp-inner'), 'not visible from the host');
	assert.ok(!existsSync(`/tmp/perf-1.map`) || !readFileSync('/tmp/perf-1.map', 'utf8').includes('jitted_inside'));

	const sym = new Symbolizer({ debugRoots: [] });
	assert.ok(sym.snapshot(pid));
	const f = sym.userSymbol(pid, BigInt(addr));
	assert.equal(f.name, 'inside_fn');
	assert.equal(f.module, '/tmp/nsapp-inner');
	const j = sym.userSymbol(pid, 0x7f1234560010n);
	assert.equal(j.name, 'JS:*jitted_inside');
	assert.equal(j.kind, 'jit');
	child.stdin!.end();
});
