#!/usr/bin/env node
// Run the compiled tests with node's test runner (Node 20 needs explicit file
// paths: no globs). `node scripts/run-tests.js [unit|e2e] [file-filter]`.
// With EBPF_TOOLS_REQUIRE_E2E=1 (CI), a skipped end-to-end test fails the run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [which = 'all', filter = ''] = process.argv.slice(2);
const groups = which === 'all' ? ['unit', 'e2e'] : [which];

function files(group) {
	const dir = join(root, 'dist', 'test', group);
	if (!existsSync(dir)) return [];
	return readdirSync(dir)
		.filter((f) => f.endsWith('.test.js') && f.includes(filter))
		.sort()
		.map((f) => join(dir, f));
}

let failed = false;
let skipped = 0;
let ran = 0;
const total = { pass: 0, fail: 0, skip: 0 };
for (const group of groups) {
	const list = files(group);
	if (!list.length) continue;
	const args = ['--test', '--test-reporter=tap', `--test-concurrency=${group === 'e2e' ? 3 : 2}`, ...list];
	const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
	let out = '';
	child.stdout.setEncoding('utf8').on('data', (d) => {
		out += d;
		process.stdout.write(d);
	});
	const code = await new Promise((r) => child.on('close', r));
	const num = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out) ?? [])[1] ?? 0);
	ran += num('tests');
	for (const k of Object.keys(total)) total[k] += num(k);
	if (group === 'e2e') skipped += num('skip');
	if (code !== 0) failed = true;
}
if (process.env.EBPF_TOOLS_REQUIRE_E2E === '1' && skipped) {
	console.error(`run-tests: ${skipped} end-to-end tests were skipped, which EBPF_TOOLS_REQUIRE_E2E=1 forbids`);
	failed = true;
}
if (!ran) {
	console.error('run-tests: no tests ran (build first: npm run build)');
	failed = true;
}
console.log(`${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`);
process.exitCode = failed ? 1 : 0;
