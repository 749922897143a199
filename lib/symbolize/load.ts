// Loading one ELF file's symbols, with its separate debug file: shared by the
// symbolizer (synchronously) and its parser thread (parse-worker.ts).
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SymbolTable, readSymbols, withElfFile } from './elf.js';
import type { ElfInfo, SymbolArrays } from './elf.js';

export interface LoadedSymbols {
	info: ElfInfo;
	table: SymbolArrays;
	debugFile?: string;
}

/**
 * Parse path (an ELF file), add the symbols of its debug file if it has no
 * .symtab, and sort them. skip(buildId) true: stop after the headers (the
 * caller has this build-id already); table is then empty.
 */
export function loadSymbols(path: string, display: string, root: string, debugRoots: string[], skip?: (buildId: string) => boolean): LoadedSymbols | null {
	const parsed = withElfFile(path, (src, info) => ({ info, syms: info.buildId && skip?.(info.buildId) ? null : readSymbols(src, info) }));
	if (!parsed) return null;
	const { info } = parsed;
	if (!parsed.syms) return { info, table: { addrs: new Float64Array(0), ends: new Float64Array(0), names: [] } };
	let syms = parsed.syms;
	let debugFile: string | undefined;
	const dbg = findDebugFile(info, display, root, debugRoots);
	if (dbg) {
		const more = withElfFile(dbg, (src, dinfo) => readSymbols(src, dinfo));
		if (more && more.length) {
			syms = syms.concat(more);
			debugFile = dbg;
		}
	}
	return { info, table: new SymbolTable(syms).arrays(), debugFile };
}

/** A separate debug file: by build-id, then by .gnu_debuglink (checked by build-id or CRC). */
export function findDebugFile(info: ElfInfo, path: string, root: string, debugRoots: string[]): string | undefined {
	// a file with its own .symtab needs no debug file
	if (info.sections.some((s) => s.name === '.symtab' && s.size > 0 && s.type === 2)) return undefined;
	const roots = root === '/' ? debugRoots : [...debugRoots.map((r) => join(root, r)), ...debugRoots];
	if (info.buildId && info.buildId.length > 2) {
		for (const r of roots) {
			const p = join(r, '.build-id', info.buildId.slice(0, 2), `${info.buildId.slice(2)}.debug`);
			if (debugMatches(p, info)) return p;
		}
	}
	if (info.debuglink) {
		const dir = dirname(path);
		const cands = [
			join(root, dir, info.debuglink.file),
			join(root, dir, '.debug', info.debuglink.file),
			...roots.map((r) => join(r, dir, info.debuglink!.file)),
		];
		for (const p of cands) if (debugMatches(p, info, info.debuglink.crc)) return p;
	}
	return undefined;
}

function debugMatches(p: string, info: ElfInfo, crc?: number): boolean {
	if (!existsSync(p)) return false;
	const dinfo = withElfFile(p, (_src, i) => i);
	if (!dinfo) return false;
	if (info.buildId && dinfo.buildId) return info.buildId === dinfo.buildId;
	if (crc === undefined) return false;
	return fileCrc32(p) === crc;
}

/** CRC-32 of a whole file (the .gnu_debuglink checksum). */
export function fileCrc32(path: string): number | undefined {
	let fd: number;
	try {
		fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}
	try {
		if (!fstatSync(fd).isFile()) return undefined;
		const buf = Buffer.allocUnsafe(1 << 20);
		let crc = 0;
		let pos = 0;
		for (;;) {
			const n = readSync(fd, buf, 0, buf.length, pos);
			if (n <= 0) break;
			crc = crc32(buf.subarray(0, n), crc);
			pos += n;
		}
		return crc >>> 0;
	} catch {
		return undefined;
	} finally {
		closeSync(fd);
	}
}
