// The interactive flame graph in a real browser: Debian's chromium driven by
// playwright-core (no browser download). The page must render its frames
// with no page errors and no network requests, zoom on click, and search.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, runTool } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// page functions run in the browser, where document exists (no DOM types here)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
let dir: string;

before(() => {
	dir = mkdtempSync(join(tmpdir(), 'ebt-browser-'));
});
after(() => {
	if (process.env.EBPF_TOOLS_KEEP_SCREENSHOT !== '1') rmSync(dir, { recursive: true, force: true });
});

function requireChromium(t: TestContext): boolean {
	if (existsSync(CHROMIUM)) return true;
	if (process.env.EBPF_TOOLS_REQUIRE_E2E === '1') throw new Error(`${CHROMIUM} missing (apt-get install -y chromium)`);
	t.skip('needs chromium (apt-get install -y chromium)');
	return false;
}

test('HTML flame graph: renders offline, zooms on click, searches', async (t) => {
	if (!requireChromium(t)) return;
	const html = join(dir, 'fg.html');
	const r = runTool(['flamegraph', join(root, 'test', 'fixtures', 'profile.folded'), '-o', html, '--title', 'Browser test']);
	assert.equal(r.code, 0, r.stderr);

	const { chromium } = await import('playwright-core');
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
		const errors: string[] = [];
		const requests: string[] = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		page.on('console', (m) => {
			if (m.type() === 'error') errors.push(m.text());
		});
		page.on('request', (q) => requests.push(q.url()));
		const url = pathToFileURL(html).href;
		await page.goto(url);
		await page.waitForSelector('#chart svg g.frame', { timeout: 10000 });
		await page.waitForTimeout(600); // the first layout animates

		// every frame of the fixture is drawn, with its label
		const names = await page.locator('#chart svg g.frame').evaluateAll((gs) => gs.map((g) => g.querySelector('title')?.textContent ?? ''));
		for (const n of ['all', 'spin', 'main', 'outer', 'middle', 'leaf', 'read_zero', 'JS:*hotLoop /app.js:1:1'])
			assert.ok(names.some((x) => x.startsWith(`${n} (`)), `frame ${n} in ${names.join(' | ')}`);

		const widthOf = (name: string) =>
			page.evaluate((n) => {
				for (const g of document.querySelectorAll('#chart svg g.frame')) {
					if (g.querySelector('title')?.textContent?.startsWith(`${n} (`)) return Number(g.querySelector('rect')?.getAttribute('width'));
				}
				return -1;
			}, name);
		const full = await widthOf('all');
		const before = await widthOf('read_zero');
		assert.ok(before > 0 && before < full / 2, `read_zero is narrow before the zoom (${before} of ${full})`);
		// click a frame: it fills the width
		await page.locator('#chart svg g.frame', { hasText: 'read_zero' }).first().click();
		await page.waitForFunction(
			(f) => {
				for (const g of document.querySelectorAll('#chart svg g.frame'))
					if (g.querySelector('title')?.textContent?.startsWith('read_zero (')) return Number(g.querySelector('rect')?.getAttribute('width')) > f * 0.95;
				return false;
			},
			full,
			{ timeout: 5000 },
		);
		// reset zoom: back to its share of the width
		await page.click('#reset');
		await page.waitForTimeout(600);
		assert.ok(Math.abs((await widthOf('read_zero')) - before) < 10, `read_zero back to ${await widthOf('read_zero')} px (was ${before})`);
		// search highlights the matches and counts their samples
		await page.fill('#term', '^leaf$');
		await page.press('#term', 'Enter');
		await page.waitForFunction(() => /search: 63 of 112 total samples/.test(document.getElementById('details')?.textContent ?? ''), undefined, { timeout: 5000 });
		const highlighted = await page.evaluate(() =>
			[...document.querySelectorAll('#chart svg g.frame')]
				.filter((g: any) => (g.querySelector('rect')?.getAttribute('fill') ?? '').toUpperCase() === '#E600E6')
				.map((g: any) => g.querySelector('title')?.textContent?.replace(/ \(.*$/, '')),
		);
		assert.deepEqual(highlighted, ['leaf']);
		await page.waitForTimeout(400); // let the transition finish before the picture
		const shot = join(dir, 'flamegraph.png');
		await page.screenshot({ path: shot, fullPage: true });
		assert.ok(statSync(shot).size > 10000, 'a screenshot with content');

		assert.deepEqual(errors, []);
		assert.deepEqual(requests.filter((u) => u !== url), [], 'no network requests');
	} finally {
		await browser.close();
	}
});
