// Man pages exist for every tool, render without warnings, and document
// every option the tool's --help shows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMON_OPTIONS } from '../../lib/cli.js';
import { packageRoot } from '../../lib/native.js';
import { TOOLS } from '../../lib/registry.js';

const page = (name: string) => join(packageRoot, 'man', 'man8', `${name}.8`);

function render(path: string): { out: string; warnings: string } {
	const r = spawnSync('man', ['--warnings', '-l', path], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
	assert.equal(r.status, 0, r.stderr);
	return { out: r.stdout.replace(/.\x08/g, ''), warnings: r.stderr };
}

test('ebpf-tools(8) renders without warnings and lists every tool', () => {
	const { out, warnings } = render(page('ebpf-tools'));
	assert.equal(warnings, '');
	for (const name of Object.keys(TOOLS)) assert.ok(out.includes(name), `ebpf-tools(8) does not mention ${name}`);
	for (const opt of Object.keys(COMMON_OPTIONS)) assert.ok(out.includes(`--${opt}`), `ebpf-tools(8) lacks --${opt}`);
});

for (const [name, entry] of Object.entries(TOOLS)) {
	test(`${name}(8) renders without warnings and documents every option`, async () => {
		assert.ok(existsSync(page(name)), `man/man8/${name}.8 is missing`);
		const { out, warnings } = render(page(name));
		assert.equal(warnings, '');
		const spec = (await entry.load()).default;
		const src = readFileSync(page(name), 'utf8').replace(/\\-/g, '-');
		for (const opt of Object.keys(spec.options)) assert.ok(src.includes(`--${opt}`), `${name}(8) lacks --${opt}`);
		assert.match(out, /EXAMPLES/);
	});
}
