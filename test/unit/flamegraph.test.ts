// Flame graphs: folded parsing, the tree, the SVG renderer against a golden
// file (byte for byte: output is deterministic), the HTML page's assets, and
// the `flamegraph` tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTree, parseFolded } from '../../lib/flamegraph/tree.js';
import { escapeXml, frameColor, renderSvg } from '../../lib/flamegraph/svg.js';
import { inlineSafe, renderHtml } from '../../lib/flamegraph/html.js';
import { root, runTool } from '../e2e/helpers.js';

const fixture = join(root, 'test', 'fixtures', 'profile.folded');
const golden = join(root, 'test', 'fixtures', 'profile.golden.svg');

test('folded lines: counts, annotations, the - delimiter, junk', () => {
	const { stacks, skipped } = parseFolded('a;b;c 3\nno count here\na;-;k1;k2 2\nx;f_[k];g_[j] 1\n\n');
	assert.equal(skipped, 1);
	assert.deepEqual(stacks[0], { frames: [{ name: 'a', kind: 'user' }, { name: 'b', kind: 'user' }, { name: 'c', kind: 'user' }], count: 3 });
	assert.deepEqual(stacks[1].frames.map((f) => f.kind), ['user', 'delimiter', 'kernel', 'kernel']);
	assert.deepEqual(stacks[2].frames, [{ name: 'x', kind: 'user' }, { name: 'f', kind: 'kernel' }, { name: 'g', kind: 'jit' }]);
});

test('the tree merges common prefixes and sorts children by name', () => {
	const t = buildTree(parseFolded('m;b;x 2\nm;a 1\nm;b;y 3\nz 4\n').stacks);
	assert.equal(t.value, 10);
	assert.deepEqual(t.children.map((c) => [c.name, c.value]), [['m', 6], ['z', 4]]);
	assert.deepEqual(t.children[0].children.map((c) => [c.name, c.value]), [['a', 1], ['b', 5]]);
	assert.deepEqual(t.children[0].children[1].children.map((c) => c.name), ['x', 'y']);
});

test('SVG: matches the golden file byte for byte', () => {
	const tree = buildTree(parseFolded(readFileSync(fixture, 'utf8')).stacks);
	const svg = renderSvg(tree, { title: 'Golden', subtitle: 'fixture' });
	if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, svg);
	assert.equal(svg, readFileSync(golden, 'utf8'));
});

test('SVG: the same stacks in another order give the same bytes', () => {
	const lines = readFileSync(fixture, 'utf8').trim().split('\n');
	const a = renderSvg(buildTree(parseFolded(lines.join('\n')).stacks));
	const b = renderSvg(buildTree(parseFolded([...lines].reverse().join('\n')).stacks));
	assert.equal(a, b);
});

test('SVG: one rect with a title per frame, labels that fit, colours by kind', () => {
	const tree = buildTree(parseFolded(readFileSync(fixture, 'utf8')).stacks);
	const svg = renderSvg(tree);
	const frames = [...svg.matchAll(/<g class="frame" data-kind="(\w+)"><title>([^<]*)<\/title><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="(rgb\([\d,]+\))"/g)];
	// every node of the tree is drawn (none is narrower than 0.1 px here)
	let nodes = 0;
	const walk = (n: typeof tree) => {
		nodes++;
		n.children.forEach(walk);
	};
	walk(tree);
	assert.equal(frames.length, nodes);
	assert.equal((svg.match(/<rect /g) ?? []).length, nodes + 1, 'plus the background');
	const byName = new Map(frames.map((m) => [m[2].replace(/ \(.*$/, ''), m]));
	assert.equal(byName.get('leaf')![1], 'user');
	assert.equal(byName.get('read_zero')![1], 'kernel');
	assert.equal(byName.get('JS:*hotLoop /app.js:1:1')![1], 'jit');
	assert.equal(byName.get('read_zero')![5], frameColor('read_zero', 'kernel'));
	assert.match(byName.get('leaf')![2], /^leaf \(63 samples, 56\.25%\)$/);
	// escaped names
	assert.ok(svg.includes('&lt;&amp;&quot;escaped&quot;&gt;'));
	assert.ok(!svg.includes('<&"escaped">'));
	// labels are cut to fit their box
	for (const m of svg.matchAll(/width="([\d.]+)" height="[\d.]+" fill="[^"]+" rx="2" ry="2"\/><text [^>]*>([^<]*)<\/text>/g)) {
		const label = m[2].replace(/&[a-z]+;/g, '_');
		assert.ok(label.length * 12 * 0.59 <= Number(m[1]), `label "${label}" fits ${m[1]} px`);
	}
	// kernel frames are orange, user frames red, JIT green
	const [r, g, b] = frameColor('x', 'kernel').match(/\d+/g)!.map(Number);
	assert.ok(r >= 190 && g >= 90 && g <= 155 && b === 0);
	const [jr, jg] = frameColor('x', 'jit').match(/\d+/g)!.map(Number);
	assert.ok(jg >= 200 && jr < 120);
});

test('XML escaping covers control characters', () => {
	assert.equal(escapeXml('a<b>&"\'\u0001'), 'a&lt;b&gt;&amp;&quot;&#39;?');
});

test('HTML: self-contained, d3-flame-graph 5 constructor, data escaped', () => {
	const tree = buildTree(parseFolded('a;</script><script>alert(1)</script> 1\n').stacks);
	const html = renderHtml(tree, { title: 'T <x>' });
	assert.ok(html.includes('flamegraph.default()'));
	assert.ok(!/<script[^>]+src=/i.test(html), 'no external scripts');
	assert.ok(!/<link[^>]+href=/i.test(html), 'no external styles');
	assert.ok(!html.includes('<script>alert(1)'), 'frame names cannot close the data script');
	assert.ok(html.includes('<title>T &lt;x&gt;</title>'));
	assert.equal(inlineSafe('a</script>b<!--c'), 'a<\\/script>b<\\!--c');
	// both libraries are inlined
	assert.ok(html.includes('d3-flame-graph'));
	assert.ok(/\bd3\b.*version/.test(html) || html.includes('d3js.org'));
});

test('flamegraph tool: file to SVG and HTML, stdin, usage errors', () => {
	const dir = mkdtempSync(join(tmpdir(), 'ebt-fg-'));
	try {
		const svgOut = join(dir, 'out.svg');
		let r = runTool(['flamegraph', fixture, '-o', svgOut, '--title', 'Golden', '--subtitle', 'fixture']);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(readFileSync(svgOut, 'utf8'), readFileSync(golden, 'utf8'));
		assert.match(r.stderr, /Wrote .*out\.svg \(112 samples, 9 stacks\)/);
		r = runTool(['flamegraph', '-o', join(dir, 'out.html')], { input: 'a;b 1\n' });
		assert.equal(r.code, 0, r.stderr);
		assert.ok(readFileSync(join(dir, 'out.html'), 'utf8').startsWith('<!DOCTYPE html>'));
		r = runTool(['flamegraph', '--width', '600'], { input: 'a;b 1\nbad\n' });
		assert.equal(r.code, 0);
		assert.ok(r.stdout.startsWith('<?xml'));
		assert.match(r.stderr, /1 lines skipped/);
		r = runTool(['flamegraph', fixture, '-o', join(dir, 'out.png')]);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /\.svg or \.html/);
		r = runTool(['flamegraph', join(dir, 'missing.folded')]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /cannot read .*missing\.folded: ENOENT/);
		r = runTool(['flamegraph'], { input: '\n' });
		assert.equal(r.code, 1);
		assert.match(r.stderr, /no stacks/);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});

test('flamegraph loads no BPF: it runs without privileges (needsKernel: false), profile does not', (t) => {
	if (process.getuid?.() !== 0) {
		// already unprivileged: the converter must just work
		const r = runTool(['flamegraph', '--width', '300'], { input: 'a;b 1\n' });
		assert.equal(r.code, 0, r.stderr);
		return;
	}
	const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
	let r = runTool(['flamegraph', '--width', '300'], { input: 'a;b 1\n', wrap: nobody });
	if (r.code !== 0 && /EACCES|permission denied/i.test(r.stderr)) return t.skip('the checkout is not readable by nobody');
	assert.equal(r.code, 0, r.stderr);
	assert.ok(r.stdout.startsWith('<?xml'));
	r = runTool(['profile', '1'], { wrap: nobody });
	assert.equal(r.code, 1);
	assert.match(r.stderr, /^profile: missing privileges/);
});
