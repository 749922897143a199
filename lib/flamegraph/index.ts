// Flame graph output, by file extension: .svg (static, classic) or .html
// (interactive, d3-flame-graph).
import { writeFileSync } from 'node:fs';
import { renderHtml } from './html.js';
import { renderSvg } from './svg.js';
import type { FlameNode } from './tree.js';

export { buildTree, parseFolded } from './tree.js';
export type { FlameFrame, FlameKind, FlameNode, FlameStack } from './tree.js';
export { renderSvg } from './svg.js';
export { renderHtml } from './html.js';

export type FlameFormat = 'svg' | 'html';

/** svg or html from a file name, undefined for anything else. */
export function formatOf(path: string): FlameFormat | undefined {
	const m = /\.(svg|html?)$/i.exec(path);
	if (!m) return undefined;
	return m[1].toLowerCase() === 'svg' ? 'svg' : 'html';
}

export function renderFlameGraph(tree: FlameNode, format: FlameFormat, opts: { title?: string; subtitle?: string; width?: number; countName?: string } = {}): string {
	return format === 'svg' ? renderSvg(tree, opts) : renderHtml(tree, opts);
}

export function writeFlameGraph(path: string, tree: FlameNode, opts: { title?: string; subtitle?: string; width?: number; countName?: string } = {}): void {
	const format = formatOf(path) ?? 'svg';
	writeFileSync(path, renderFlameGraph(tree, format, opts));
}
