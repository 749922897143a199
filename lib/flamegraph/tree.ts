// The data behind both flame graphs: stacks (root first) with counts, merged
// into a tree. Folded text (`a;b;c 12`, the format flamegraph.pl and BCC's
// `profile -f` use) parses into the same stacks.

/** kernel, user (native), jit, or the `-` delimiter between user and kernel */
export type FlameKind = 'kernel' | 'user' | 'jit' | 'delimiter';

export interface FlameFrame {
	name: string;
	kind: FlameKind;
}

export interface FlameStack {
	frames: FlameFrame[];
	count: number;
}

export interface FlameNode {
	name: string;
	kind: FlameKind;
	value: number;
	children: FlameNode[];
}

/** Merge stacks into a tree under a root named `all`; children sorted by name (deterministic). */
export function buildTree(stacks: FlameStack[], rootName = 'all'): FlameNode {
	type Build = { node: FlameNode; kids: Map<string, Build> };
	const root: Build = { node: { name: rootName, kind: 'user', value: 0, children: [] }, kids: new Map() };
	for (const s of stacks) {
		if (!(s.count > 0)) continue;
		root.node.value += s.count;
		let cur = root;
		for (const f of s.frames) {
			const key = `${f.kind}\0${f.name}`;
			let next = cur.kids.get(key);
			if (!next) {
				next = { node: { name: f.name, kind: f.kind, value: 0, children: [] }, kids: new Map() };
				cur.kids.set(key, next);
			}
			next.node.value += s.count;
			cur = next;
		}
	}
	const finish = (b: Build): FlameNode => {
		b.node.children = [...b.kids.values()]
			.map(finish)
			.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : 0));
		return b.node;
	};
	return finish(root);
}

const ANNOTATION = /_\[([kwjiu])\]$/;

/**
 * Parse folded stacks. Frame kinds come from annotations (`_[k]` kernel,
 * `_[j]` JIT, stripped from the name) and the `-` delimiter of `profile -d`
 * (frames after it are kernel frames). Lines that do not end in a count are
 * skipped; returns the stacks and the number of lines skipped.
 */
export function parseFolded(text: string): { stacks: FlameStack[]; skipped: number } {
	const stacks: FlameStack[] = [];
	let skipped = 0;
	for (const raw of text.split('\n')) {
		const line = raw.replace(/\r$/, '');
		if (!line.trim()) continue;
		const m = /^(.*\S)\s+(\d+(?:\.\d+)?)$/.exec(line);
		if (!m) {
			skipped++;
			continue;
		}
		const count = Number(m[2]);
		const frames: FlameFrame[] = [];
		let kernel = false;
		for (const part of m[1].split(';')) {
			if (part === '-' || part === '--') {
				kernel = true;
				frames.push({ name: '-', kind: 'delimiter' });
				continue;
			}
			const a = ANNOTATION.exec(part);
			if (a) {
				const kind: FlameKind = a[1] === 'k' ? 'kernel' : a[1] === 'j' ? 'jit' : 'user';
				frames.push({ name: part.slice(0, -4), kind });
			} else {
				frames.push({ name: part, kind: kernel ? 'kernel' : 'user' });
			}
		}
		stacks.push({ frames, count });
	}
	return { stacks, skipped };
}

/** Tree depth (frames on the longest path, root excluded). */
export function depth(n: FlameNode): number {
	let d = 0;
	const stack: [FlameNode, number][] = [[n, 0]];
	while (stack.length) {
		const [x, k] = stack.pop()!;
		if (k > d) d = k;
		for (const c of x.children) stack.push([c, k + 1]);
	}
	return d;
}
