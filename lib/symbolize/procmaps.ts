// /proc/PID/maps: the mappings of a process, and the address math that turns
// a runtime address into the link-time virtual address of the mapped ELF
// file: file offset = addr - start + offset, then through the PT_LOAD segment
// holding that offset: vaddr = off - p_offset + p_vaddr (works the same for
// PIE, non-PIE and shared libraries).
import { readFileSync, statSync } from 'node:fs';
import { fileOffsetToVaddr } from './elf.js';
import type { ElfInfo } from './elf.js';

export interface Mapping {
	start: number;
	end: number;
	perms: string;
	offset: number;
	/** device as "major:minor" (hex, as in maps) */
	dev: string;
	inode: number;
	/** path, [vdso], [heap], '' for anonymous memory; " (deleted)" removed */
	path: string;
	deleted: boolean;
}

export function parseMaps(text: string): Mapping[] {
	const out: Mapping[] = [];
	for (const line of text.split('\n')) {
		const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s*(.*)$/i.exec(line);
		if (!m) continue;
		let path = m[7];
		let deleted = false;
		if (path.endsWith(' (deleted)')) {
			path = path.slice(0, -10);
			deleted = true;
		}
		const start = parseInt(m[1], 16);
		const end = parseInt(m[2], 16);
		if (!(end > start)) continue;
		out.push({ start, end, perms: m[3], offset: parseInt(m[4], 16), dev: m[5], inode: Number(m[6]), path, deleted });
	}
	return out;
}

export function readMaps(pid: number, procRoot = '/proc'): Mapping[] | null {
	try {
		return parseMaps(readFileSync(`${procRoot}/${pid}/maps`, 'latin1'));
	} catch {
		return null;
	}
}

/** The mapping holding addr (maps are sorted by start). */
export function findMapping<M extends Mapping>(maps: M[], addr: number): M | undefined {
	let lo = 0;
	let hi = maps.length - 1;
	while (lo <= hi) {
		const mid = (lo + hi) >> 1;
		const m = maps[mid];
		if (addr < m.start) hi = mid - 1;
		else if (addr >= m.end) lo = mid + 1;
		else return m;
	}
	return undefined;
}

/** Runtime address -> link-time virtual address in the mapped file. */
export function addrToVaddr(m: Mapping, info: Pick<ElfInfo, 'segments'> & Partial<ElfInfo>, addr: number): number | undefined {
	const off = addr - m.start + m.offset;
	return fileOffsetToVaddr(info as ElfInfo, off);
}

/** True when the mapping is a file that may hold ELF code. */
export function isFileMapping(m: Mapping): boolean {
	return m.path.startsWith('/') && m.inode !== 0;
}

/**
 * A file a process maps, as a path this process can open: the path itself
 * when the process shares our root (it stays valid after the process
 * exits), else through /proc/PID/root (a container's own file).
 */
export function procPath(pid: number, path: string, procRoot = '/proc'): string {
	const root = `${procRoot}/${pid}/root`;
	try {
		const a = statSync(root);
		const b = statSync('/');
		if (a.dev === b.dev && a.ino === b.ino && procRoot === '/proc') return path;
	} catch {
		/* gone, or not ours to see: keep the /proc path */
	}
	return `${root}${path}`;
}
