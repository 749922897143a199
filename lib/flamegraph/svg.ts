// A classic flame graph as a static SVG (the look of flamegraph.pl): the root
// at the bottom, callees stacked above their callers, x = share of samples,
// one rectangle per frame with a <title> tooltip, labels truncated to fit,
// warm colours for user code, orange for the kernel, green for JIT code.
// Output depends only on the input (colours are hashed from names): the
// same stacks always give the same bytes.
import { depth } from './tree.js';
import type { FlameKind, FlameNode } from './tree.js';

export interface SvgOptions {
	title?: string;
	subtitle?: string;
	/** image width in pixels (default 1200) */
	width?: number;
	/** frame height (default 16) */
	frameHeight?: number;
	fontSize?: number;
	/** frames narrower than this many pixels are left out (default 0.1) */
	minWidth?: number;
	/** what one count is (default "samples") */
	countName?: string;
}

export function escapeXml(s: string): string {
	return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
		// characters XML 1.0 forbids
		.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?');
}

/** Three numbers in [0, 1) from a name (FNV-1a), so colours are stable. */
function hash3(name: string): [number, number, number] {
	let h = 0x811c9dc5;
	for (let i = 0; i < name.length; i++) {
		h ^= name.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return [(h & 0x3ff) / 1024, ((h >>> 10) & 0x3ff) / 1024, ((h >>> 20) & 0x3ff) / 1024];
}

export function frameColor(name: string, kind: FlameKind): string {
	const [v1, v2, v3] = hash3(name);
	let r: number, g: number, b: number;
	switch (kind) {
		case 'kernel': // orange
			r = 190 + 65 * v1;
			g = 90 + 65 * v1;
			b = 0;
			break;
		case 'jit': // green
			r = 50 + 60 * v1;
			g = 200 + 55 * v1;
			b = 50 + 60 * v1;
			break;
		case 'delimiter':
			r = g = b = 200;
			break;
		default: // user code: reds (flamegraph.pl's java palette), distinct from the kernel's orange
			r = 200 + 55 * v3;
			g = 50 + 80 * v1;
			b = 50 + 80 * v2;
	}
	return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
}

function pct(n: number, total: number): string {
	return total ? ((100 * n) / total).toFixed(2) : '0.00';
}

/** Render a tree (from buildTree) as an SVG document. */
export function renderSvg(root: FlameNode, opts: SvgOptions = {}): string {
	const width = opts.width ?? 1200;
	const fh = opts.frameHeight ?? 16;
	const fontSize = opts.fontSize ?? 12;
	const fontWidth = 0.59;
	const minWidth = opts.minWidth ?? 0.1;
	const countName = opts.countName ?? 'samples';
	const xpad = 10;
	const ypadTop = fontSize * (opts.subtitle ? 4 : 3);
	const ypadBottom = fontSize * 2 + 10;
	const levels = depth(root) + 1;
	const height = ypadTop + ypadBottom + levels * fh;
	const total = root.value;
	const scale = total > 0 ? (width - 2 * xpad) / total : 0;
	const title = opts.title ?? 'Flame Graph';

	const out: string[] = [];
	out.push('<?xml version="1.0" standalone="no"?>');
	out.push('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">');
	out.push(`<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">`);
	out.push('<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0"><stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>');
	out.push(`<style type="text/css">text { font-family: Verdana, sans-serif; font-size: ${fontSize}px; fill: rgb(0,0,0); } .title { font-size: ${fontSize + 5}px; } .frame rect:hover { stroke: black; stroke-width: 0.5; }</style>`);
	out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>`);
	out.push(`<text class="title" x="${width / 2}" y="${fontSize * 2}" text-anchor="middle">${escapeXml(title)}</text>`);
	if (opts.subtitle) out.push(`<text x="${width / 2}" y="${fontSize * 2 + fontSize + 2}" text-anchor="middle" fill="rgb(160,160,160)">${escapeXml(opts.subtitle)}</text>`);
	out.push(`<text x="${xpad}" y="${height - fontSize / 2}">${escapeXml(`${total} ${countName}`)}</text>`);
	out.push('<g id="frames">');

	// depth-first, children left to right in sorted order; x in samples
	const stack: { n: FlameNode; x: number; level: number }[] = [{ n: root, x: 0, level: 0 }];
	while (stack.length) {
		const { n, x, level } = stack.pop()!;
		const w = n.value * scale;
		if (w < minWidth) continue;
		const x0 = xpad + x * scale;
		const y0 = height - ypadBottom - (level + 1) * fh;
		const tip = `${n.name} (${n.value} ${countName}, ${pct(n.value, total)}%)`;
		const kind = level === 0 ? 'root' : n.kind;
		const fill = level === 0 ? 'rgb(230,120,80)' : frameColor(n.name, n.kind);
		const chars = Math.floor((w - 6) / (fontSize * fontWidth));
		let label = '';
		if (chars >= 3) label = n.name.length <= chars ? n.name : n.name.slice(0, chars - 2) + '..';
		out.push(
			`<g class="frame" data-kind="${kind}"><title>${escapeXml(tip)}</title>` +
				`<rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${w.toFixed(1)}" height="${(fh - 1).toFixed(1)}" fill="${fill}" rx="2" ry="2"/>` +
				(label ? `<text x="${(x0 + 3).toFixed(1)}" y="${(y0 + fh - 5).toFixed(1)}">${escapeXml(label)}</text>` : '') +
				'</g>',
		);
		let cx = x;
		const kids: { n: FlameNode; x: number; level: number }[] = [];
		for (const c of n.children) {
			kids.push({ n: c, x: cx, level: level + 1 });
			cx += c.value;
		}
		for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
	}
	out.push('</g>');
	out.push('</svg>');
	return out.join('\n') + '\n';
}
