// An interactive flame graph as one self-contained HTML file: d3 and
// d3-flame-graph are read from node_modules at run time and inlined with the
// data, so the page works offline (no network request at all). Click a frame
// to zoom, search with the box (regular expression), reset to zoom out.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FlameNode } from './tree.js';

export interface HtmlOptions {
	title?: string;
	subtitle?: string;
	countName?: string;
}

interface D3Node {
	name: string;
	value: number;
	libtype: string;
	children: D3Node[];
}

function toD3(n: FlameNode, root = true): D3Node {
	return {
		name: n.name,
		value: n.value,
		libtype: root ? 'user' : n.kind === 'delimiter' ? 'inlined' : n.kind,
		children: n.children.map((c) => toD3(c, false)),
	};
}

/** The browser builds of d3 and d3-flame-graph (5.x), from node_modules. */
export function flamegraphAssets(): { d3: string; flamegraph: string; css: string } {
	const require = createRequire(import.meta.url);
	const fgDir = dirname(require.resolve('d3-flame-graph'));
	const d3Dir = join(dirname(require.resolve('d3')), '..', 'dist');
	return {
		d3: readFileSync(join(d3Dir, 'd3.min.js'), 'utf8'),
		flamegraph: readFileSync(join(fgDir, 'd3-flamegraph.umd.min.js'), 'utf8'),
		css: readFileSync(join(fgDir, 'd3-flamegraph.css'), 'utf8'),
	};
}

/** Make text safe inside a <script> or <style> element. */
export function inlineSafe(js: string): string {
	return js.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(s: string): string {
	return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderHtml(root: FlameNode, opts: HtmlOptions = {}): string {
	const a = flamegraphAssets();
	const title = opts.title ?? 'Flame Graph';
	const data = JSON.stringify(toD3(root)).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
	const countName = JSON.stringify(opts.countName ?? 'samples');
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${inlineSafe(a.css)}</style>
<style>
body { font-family: Verdana, sans-serif; margin: 12px 16px; background: #fff; color: #222; }
h1 { font-size: 18px; margin: 0 0 2px; font-weight: normal; }
.sub { color: #777; font-size: 12px; margin-bottom: 8px; }
.bar { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; font-size: 13px; }
.bar input { font: inherit; padding: 2px 6px; width: 240px; }
.bar button { font: inherit; }
.legend span { display: inline-block; padding: 1px 6px; margin-left: 4px; border-radius: 2px; font-size: 12px; }
#details { min-height: 1.3em; font-size: 12px; color: #333; margin-top: 6px; white-space: pre; overflow: hidden; text-overflow: ellipsis; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="sub">${escapeHtml(opts.subtitle ?? '')}</div>
<div class="bar">
<input id="term" type="search" placeholder="Search (regex)" aria-label="search">
<button id="search">Search</button>
<button id="clear">Clear</button>
<button id="reset">Reset zoom</button>
<span class="legend">frames:<span style="background:rgb(235,100,90)">user</span><span style="background:rgb(230,150,40)">kernel</span><span style="background:rgb(90,220,90)">JIT</span></span>
</div>
<div id="chart"></div>
<div id="details"></div>
<script type="application/json" id="flame-data">${data}</script>
<script>${inlineSafe(a.d3)}</script>
<script>${inlineSafe(a.flamegraph)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('flame-data').textContent);
  var countName = ${countName};
  var el = document.getElementById('chart');
  var width = Math.max(600, el.clientWidth || document.body.clientWidth || 1200);
  // d3-flame-graph 5.x browser build: the constructor is flamegraph.default()
  var chart = flamegraph.default()
    .width(width)
    .cellHeight(18)
    .transitionDuration(300)
    .minFrameSize(1)
    .sort(true)
    .selfValue(false)
    .setDetailsElement(document.getElementById('details'));
  chart.setLabelHandler(function (d) {
    var pct = data.value ? (100 * d.value / data.value).toFixed(2) : '0.00';
    return d.data.name + ' (' + d.value + ' ' + countName + ', ' + pct + '%)';
  });
  d3.select('#chart').datum(data).call(chart);
  var term = document.getElementById('term');
  function search() { chart.search(term.value); }
  document.getElementById('search').addEventListener('click', search);
  term.addEventListener('keydown', function (e) { if (e.key === 'Enter') search(); });
  document.getElementById('clear').addEventListener('click', function () { term.value = ''; chart.clear(); });
  document.getElementById('reset').addEventListener('click', function () { chart.resetZoom(); });
  window.flameChart = chart;
})();
</script>
</body>
</html>
`;
}
