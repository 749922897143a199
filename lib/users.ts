// User names and ids from /etc/passwd (no libc calls from Node).
import { readFileSync } from 'node:fs';

let byName: Map<string, number> | undefined;

function load(path: string): Map<string, number> {
	const m = new Map<string, number>();
	let text = '';
	try {
		text = readFileSync(path, 'utf8');
	} catch {
		return m;
	}
	for (const line of text.split('\n')) {
		const f = line.split(':');
		if (f.length >= 3 && /^\d+$/.test(f[2])) m.set(f[0], Number(f[2]));
	}
	return m;
}

/** A UID given as a number or a user name; undefined when unknown. */
export function resolveUid(s: string, passwd = '/etc/passwd'): number | undefined {
	if (/^\d+$/.test(s)) {
		const n = Number(s);
		return n <= 0xfffffffe ? n : undefined;
	}
	byName ??= load(passwd);
	return byName.get(s);
}
