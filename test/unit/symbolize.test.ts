// The shared symbolizer against ELF files these tests build (PIE, non-PIE,
// stripped with a .gnu_debuglink, build-id debug files in a fake debug root,
// C++), kallsyms and perf-map fixtures, and malformed or hostile files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferSource, parseElf, readSymbols, withElfFile, SymbolTable, fileOffsetToVaddr } from '../../lib/symbolize/elf.js';
import { KernelSymbols } from '../../lib/symbolize/kallsyms.js';
import { PerfMap } from '../../lib/symbolize/perfmap.js';
import { addrToVaddr, findMapping, parseMaps } from '../../lib/symbolize/procmaps.js';
import { Symbolizer } from '../../lib/symbolize/index.js';

const C_SRC = `#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) int leaf(int x) { return x * 3 + 1; }
__attribute__((noinline)) int middle(int x) { return leaf(x) + 2; }
__attribute__((noinline)) int outer(int x) { return middle(x) + 3; }
static __attribute__((noinline)) int hidden_static(int x) { return x ^ 0x55; }
int main(void) {
	printf("%p %p %p %p\\n", (void *)outer, (void *)middle, (void *)leaf, (void *)hidden_static);
	fflush(stdout);
	char c = 0;
	if (read(0, &c, 1) < 0) return 1; /* wait until the test closes stdin */
	return outer(hidden_static(c)) & 1;
}
`;

const CXX_SRC = `#include <cstdio>
#include <unistd.h>
namespace app {
struct Engine { static int run(int x, const char *s); };
__attribute__((noinline)) int Engine::run(int x, const char *s) { return x + s[0]; }
}
int main() {
	std::printf("%p\\n", (void *)&app::Engine::run);
	std::fflush(stdout);
	char c = 0;
	if (read(0, &c, 1) < 0) return 1;
	return app::Engine::run(c, "x") & 1;
}
`;

let dir: string;
const procs: ChildProcess[] = [];

function sh(cmd: string, args: string[]): void {
	execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Start a fixture; resolves with its pid and the function addresses it printed. */
function start(bin: string): Promise<{ pid: number; addrs: bigint[]; child: ChildProcess }> {
	const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
	procs.push(child);
	return new Promise((resolve, reject) => {
		let out = '';
		child.stdout!.setEncoding('utf8').on('data', (d: string) => {
			out += d;
			if (out.includes('\n')) resolve({ pid: child.pid!, addrs: out.trim().split(/\s+/).map((x) => BigInt(x)), child });
		});
		child.on('error', reject);
		child.on('exit', (c) => reject(new Error(`fixture exited (${c}) before printing`)));
	});
}

function finish(child: ChildProcess): Promise<void> {
	return new Promise((resolve) => {
		if (child.exitCode !== null) return resolve();
		child.on('exit', () => resolve());
		child.stdin!.end();
	});
}

before(() => {
	dir = mkdtempSync(join(tmpdir(), 'ebt-sym-'));
	writeFileSync(join(dir, 'fx.c'), C_SRC);
	writeFileSync(join(dir, 'fx.cc'), CXX_SRC);
	sh('gcc', ['-O1', '-g', '-fPIE', '-pie', '-Wl,--build-id', '-o', join(dir, 'pie'), join(dir, 'fx.c')]);
	sh('gcc', ['-O1', '-g', '-fno-pie', '-no-pie', '-Wl,--build-id', '-o', join(dir, 'nopie'), join(dir, 'fx.c')]);
	sh('clang', ['-O1', '-g', '-fPIE', '-pie', '-Wl,--build-id', '-o', join(dir, 'clangpie'), join(dir, 'fx.c')]);
	sh('g++', ['-O1', '-g', '-Wl,--build-id', '-o', join(dir, 'cxx'), join(dir, 'fx.cc')]);
	// stripped, with a .gnu_debuglink to a debug file next to it (no build-id: the CRC is checked)
	sh('gcc', ['-O1', '-g', '-Wl,--build-id=none', '-o', join(dir, 'linked'), join(dir, 'fx.c')]);
	sh('objcopy', ['--only-keep-debug', join(dir, 'linked'), join(dir, 'linked.debug')]);
	sh('strip', ['--strip-all', join(dir, 'linked')]);
	sh('objcopy', [`--add-gnu-debuglink=${join(dir, 'linked.debug')}`, join(dir, 'linked')]);
	// the same, but the debug file sits in the .debug/ subdirectory
	mkdirSync(join(dir, 'sub', '.debug'), { recursive: true });
	sh('gcc', ['-O1', '-g', '-Wl,--build-id=none', '-o', join(dir, 'sub', 'linked2'), join(dir, 'fx.c')]);
	sh('objcopy', ['--only-keep-debug', join(dir, 'sub', 'linked2'), join(dir, 'sub', '.debug', 'linked2.debug')]);
	sh('strip', ['--strip-all', join(dir, 'sub', 'linked2')]);
	sh('objcopy', [`--add-gnu-debuglink=${join(dir, 'sub', '.debug', 'linked2.debug')}`, join(dir, 'sub', 'linked2')]);
	// stripped, debug file found by build-id in a fake debug root
	sh('gcc', ['-O1', '-g', '-Wl,--build-id', '-o', join(dir, 'byid'), join(dir, 'fx.c')]);
	const info = withElfFile(join(dir, 'byid'), (_s, i) => i)!;
	assert.ok(info.buildId, 'gcc wrote a build-id');
	const idDir = join(dir, 'debugroot', '.build-id', info.buildId.slice(0, 2));
	mkdirSync(idDir, { recursive: true });
	sh('objcopy', ['--only-keep-debug', join(dir, 'byid'), join(idDir, `${info.buildId.slice(2)}.debug`)]);
	sh('strip', ['--strip-all', join(dir, 'byid')]);
});

after(async () => {
	for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
	rmSync(dir, { recursive: true, force: true });
});

describe('ELF symbols through /proc/PID/maps (load bias)', () => {
	for (const bin of ['pie', 'nopie', 'clangpie']) {
		test(`${bin}: functions resolve at their start and inside`, async () => {
			const { pid, addrs, child } = await start(join(dir, bin));
			const sym = new Symbolizer({ debugRoots: [] });
			assert.ok(sym.snapshot(pid));
			const names = ['outer', 'middle', 'leaf', 'hidden_static'];
			addrs.forEach((a, i) => {
				const f = sym.userSymbol(pid, a);
				assert.equal(f.name, names[i], `0x${a.toString(16)}`);
				assert.equal(f.offset, 0);
				assert.equal(f.kind, 'user');
				assert.equal(f.module, join(dir, bin));
				const inside = sym.userSymbol(pid, a + 2n);
				assert.equal(inside.name, names[i]);
				assert.equal(inside.offset, 2);
			});
			await finish(child);
		});
	}

	test('the ELF type tells PIE from non-PIE, and the math works for both', () => {
		const pie = withElfFile(join(dir, 'pie'), (_s, i) => i)!;
		const nopie = withElfFile(join(dir, 'nopie'), (_s, i) => i)!;
		assert.equal(pie.type, 3);
		assert.equal(nopie.type, 2);
		// a PIE text mapping at 0x5555... with file offset 0x1000
		const seg = pie.segments.find((s) => s.type === 1 && (s.flags & 1))!;
		const m = { start: 0x555555554000 + seg.offset, end: 0x555555554000 + seg.offset + 0x1000, perms: 'r-xp', offset: seg.offset, dev: '0:0', inode: 1, path: '/x', deleted: false };
		assert.equal(addrToVaddr(m, pie, m.start + 0x10), seg.vaddr + 0x10);
		// non-PIE: link-time address == runtime address
		const nseg = nopie.segments.find((s) => s.type === 1 && (s.flags & 1))!;
		const nm = { start: nseg.vaddr - (nseg.vaddr % 4096), end: nseg.vaddr + 0x1000, perms: 'r-xp', offset: nseg.offset - (nseg.vaddr % 4096), dev: '0:0', inode: 1, path: '/x', deleted: false };
		assert.equal(addrToVaddr(nm, nopie, nseg.vaddr + 0x20), nseg.vaddr + 0x20);
	});

	test('C++ names are demangled', async () => {
		const { pid, addrs, child } = await start(join(dir, 'cxx'));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.equal(sym.userSymbol(pid, addrs[0]).name, 'app::Engine::run(int, char const*)');
		await finish(child);
	});
});

describe('separate debug files', () => {
	test('stripped binary: symbols come from the .gnu_debuglink file next to it (CRC checked)', async () => {
		const info = withElfFile(join(dir, 'linked'), (_s, i) => i)!;
		assert.equal(info.debuglink?.file, 'linked.debug');
		assert.equal(info.buildId, undefined);
		assert.ok(!info.sections.some((s) => s.name === '.symtab'), 'strip removed .symtab');
		const { pid, addrs, child } = await start(join(dir, 'linked'));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.deepEqual(addrs.map((a) => sym.userSymbol(pid, a).name), ['outer', 'middle', 'leaf', 'hidden_static']);
		await finish(child);
	});

	test('debuglink in the .debug/ subdirectory', async () => {
		const { pid, addrs, child } = await start(join(dir, 'sub', 'linked2'));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.equal(sym.userSymbol(pid, addrs[2]).name, 'leaf');
		await finish(child);
	});

	test('a debug file whose CRC does not match is refused', async () => {
		const d2 = join(dir, 'crc');
		mkdirSync(d2, { recursive: true });
		copyFileSync(join(dir, 'linked'), join(d2, 'linked'));
		// a different program under the expected name
		copyFileSync(join(dir, 'sub', '.debug', 'linked2.debug'), join(d2, 'linked.debug'));
		writeFileSync(join(d2, 'linked.debug'), Buffer.concat([readFileSync(join(d2, 'linked.debug')), Buffer.from('x')]));
		const { pid, addrs, child } = await start(join(d2, 'linked'));
		const sym = new Symbolizer({ debugRoots: [] });
		const f = sym.userSymbol(pid, addrs[2]);
		assert.notEqual(f.name, 'leaf');
		assert.equal(f.known, false);
		assert.equal(f.module, join(d2, 'linked'));
		await finish(child);
	});

	test('stripped binary: symbols come from <debug root>/.build-id/xx/yyyy.debug', async () => {
		const { pid, addrs, child } = await start(join(dir, 'byid'));
		const without = new Symbolizer({ debugRoots: [] });
		assert.equal(without.userSymbol(pid, addrs[2]).known, false, 'no symbols without the debug root');
		const sym = new Symbolizer({ debugRoots: [join(dir, 'debugroot')] });
		assert.deepEqual(addrs.map((a) => sym.userSymbol(pid, a).name), ['outer', 'middle', 'leaf', 'hidden_static']);
		await finish(child);
	});
});

describe('snapshots and the file cache', () => {
	test('a process that exited after its snapshot still resolves', async () => {
		const { pid, addrs, child } = await start(join(dir, 'pie'));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.ok(sym.snapshot(pid));
		await finish(child);
		assert.equal(sym.snapshot(pid), false, 'the process is gone');
		assert.equal(sym.userSymbol(pid, addrs[1]).name, 'middle');
	});

	test('a lazy snapshot holds the file open: it resolves after the process exited and the binary was deleted', async () => {
		const path = join(dir, 'doomed');
		copyFileSync(join(dir, 'pie'), path);
		const { pid, addrs, child } = await start(path);
		const sym = new Symbolizer({ debugRoots: [] });
		assert.ok(sym.snapshot(pid, { lazy: true }));
		assert.ok(sym.pendingFiles >= 1, 'files opened, not parsed yet');
		await finish(child);
		rmSync(path);
		assert.equal(sym.userSymbol(pid, addrs[0]).name, 'outer');
		assert.equal(sym.loadPending(), 0);
		assert.equal(sym.userSymbol(pid, addrs[2]).name, 'leaf');
		sym.close();
	});

	test('the parser thread parses what lazy snapshots opened, while this thread stays free', async () => {
		const { pid, addrs, child } = await start(join(dir, 'clangpie'));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.ok(sym.snapshot(pid, { lazy: true }));
		const waiting = sym.pendingFiles;
		assert.ok(waiting >= 1);
		sym.loadInBackground();
		await finish(child);
		for (let i = 0; i < 500 && sym.pendingFiles; i++) await new Promise((r) => setTimeout(r, 20));
		assert.equal(sym.pendingFiles, 0, 'all parsed in the worker');
		const loaded = sym.filesLoaded;
		assert.ok(loaded >= 1);
		assert.deepEqual(addrs.map((a) => sym.userSymbol(pid, a).name), ['outer', 'middle', 'leaf', 'hidden_static']);
		assert.equal(sym.filesLoaded, loaded, 'lookups used the parsed files');
		sym.close();
	});

	test('files are cached by identity: a hard link is the same file, a copy is not', async () => {
		const d3 = join(dir, 'ident');
		mkdirSync(d3, { recursive: true });
		linkSync(join(dir, 'nopie'), join(d3, 'hard'));
		copyFileSync(join(dir, 'nopie'), join(d3, 'copy'));
		const sym = new Symbolizer({ debugRoots: [] });
		const a = await start(join(dir, 'nopie'));
		sym.snapshot(a.pid);
		const loaded = sym.filesLoaded;
		const b = await start(join(d3, 'hard'));
		sym.snapshot(b.pid);
		assert.equal(sym.filesLoaded, loaded, 'same inode: served from the cache');
		assert.equal(sym.userSymbol(b.pid, b.addrs[0]).name, 'outer');
		const c = await start(join(d3, 'copy'));
		sym.snapshot(c.pid);
		assert.equal(sym.userSymbol(c.pid, c.addrs[0]).name, 'outer');
		await Promise.all([finish(a.child), finish(b.child), finish(c.child)]);
	});

	test('unknown addresses: [unknown], with the module when one is mapped', async () => {
		const { pid, child } = await start(join(dir, 'pie'));
		const sym = new Symbolizer({ debugRoots: [], perfMapDir: join(dir, 'no-perf-maps') });
		const f = sym.userSymbol(pid, 0x10n);
		assert.equal(f.known, false);
		assert.equal(f.name, '[unknown]');
		assert.equal(f.module, undefined);
		await finish(child);
	});

	test('the vDSO is read from memory and has its symbols', () => {
		const line = readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.endsWith('[vdso]'));
		assert.ok(line, 'this process has a vDSO');
		const [lo, hi] = line.split(' ')[0].split('-').map((x) => BigInt(`0x${x}`));
		const sym = new Symbolizer({ debugRoots: [] });
		assert.ok(sym.snapshot(process.pid));
		const names = new Set<string>();
		for (let a = lo; a < hi; a += 16n) {
			const f = sym.userSymbol(process.pid, a);
			assert.equal(f.module, '[vdso]');
			if (f.known) names.add(f.name);
		}
		assert.ok(names.has('__vdso_clock_gettime'), [...names].join(' '));
	});

	test('JIT addresses come from perf-PID.map', async () => {
		const { pid, child } = await start(join(dir, 'pie'));
		const pmDir = join(dir, 'perfmaps');
		mkdirSync(pmDir, { recursive: true });
		writeFileSync(join(pmDir, `perf-${pid}.map`), '7f0000001000 100 JS:*hotFunction /app.js:1:1\n7f0000001100 80 LazyCompile:~other\n');
		const sym = new Symbolizer({ debugRoots: [], perfMapDir: pmDir });
		sym.snapshot(pid);
		const f = sym.userSymbol(pid, 0x7f0000001010n);
		assert.equal(f.name, 'JS:*hotFunction /app.js:1:1');
		assert.equal(f.kind, 'jit');
		assert.equal(f.offset, 0x10);
		assert.equal(sym.userSymbol(pid, 0x7f0000001180n).known, false);
		await finish(child);
	});
});

describe('kallsyms', () => {
	const text = [
		'0000000000000000 A fixed_percpu_data',
		'ffffffff81000000 T _text',
		'ffffffff81001000 T do_one',
		'ffffffff81001100 t local_two',
		'ffffffff81001200 D some_data',
		'ffffffff81001300 W weak_three',
		'ffffffffc0001000 t mod_func\t[mymod]',
		'garbage line',
		'',
	].join('\n');

	test('text symbols by address, with offsets and modules', () => {
		const ks = KernelSymbols.parse(text);
		assert.equal(ks.length, 5);
		assert.deepEqual(ks.lookup(0xffffffff81001000n), { name: 'do_one', offset: 0, module: undefined });
		assert.deepEqual(ks.lookup(0xffffffff81001105n), { name: 'local_two', offset: 5, module: undefined });
		// data symbols are skipped: the text symbol before them covers the address
		assert.equal(ks.lookup(0xffffffff81001210n)?.name, 'local_two');
		assert.equal(ks.lookup(0xffffffff81001301n)?.name, 'weak_three');
		assert.deepEqual(ks.lookup(0xffffffffc0001010n), { name: 'mod_func', offset: 0x10, module: 'mymod' });
		assert.equal(ks.lookup(0xffffffff80000000n), null);
		assert.equal(ks.lookup(0xffffffffc1000000n), null, 'far beyond the last symbol');
	});

	test('hidden addresses (not root) give no symbols', () => {
		const ks = KernelSymbols.parse('0000000000000000 T do_one\n0000000000000000 T do_two\n');
		assert.equal(ks.length, 0);
		assert.equal(ks.lookup(0xffffffff81000000n), null);
	});

	test('a missing file is no symbols, not an error', () => {
		assert.equal(KernelSymbols.load('/nonexistent/kallsyms').length, 0);
	});
});

describe('perf maps', () => {
	test('ranges, later lines win, junk skipped', () => {
		const pm = PerfMap.parse('1000 100 first\nzzz\n1000 100 second\n2000 10 third one\n0x3000 0x20 hexed\n4000 0 empty\n');
		assert.equal(pm.lookup(0x1050)?.name, 'second');
		assert.equal(pm.lookup(0x200f)?.name, 'third one'); // sizes are hex too
		assert.equal(pm.lookup(0x2010), null);
		assert.equal(pm.lookup(0x3010)?.name, 'hexed');
		assert.equal(pm.lookup(0x4000), null);
		assert.equal(pm.lookup(0x10), null);
	});

	test('a FIFO at the path does not block', () => {
		const fifo = join(dir, 'fifo.map');
		execFileSync('mkfifo', [fifo]);
		assert.equal(PerfMap.load(fifo), null);
		assert.equal(withElfFile(fifo, () => 1), null);
	});
});

describe('/proc/PID/maps', () => {
	test('parse lines, deleted files, anonymous memory', () => {
		const maps = parseMaps([
			'555555554000-555555555000 r--p 00000000 fd:01 1234 /usr/bin/prog',
			'555555555000-555555556000 r-xp 00001000 fd:01 1234 /usr/bin/prog',
			'7ffff7fc1000-7ffff7fc5000 r-xp 00002000 00:1f 99 /tmp/lib with space.so (deleted)',
			'7ffff7ff0000-7ffff7ff2000 rwxp 00000000 00:00 0 ',
			'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
			'not a line',
		].join('\n'));
		assert.equal(maps.length, 5);
		assert.equal(maps[1].offset, 0x1000);
		assert.equal(maps[1].dev, 'fd:01');
		assert.equal(maps[2].path, '/tmp/lib with space.so');
		assert.equal(maps[2].deleted, true);
		assert.equal(maps[3].path, '');
		assert.equal(findMapping(maps, 0x555555555010)?.perms, 'r-xp');
		assert.equal(findMapping(maps, 0x555555556000), undefined);
	});

	test('load bias: addr - start + offset, then p_vaddr - p_offset of the segment', () => {
		const info = { segments: [
			{ type: 1, flags: 4, offset: 0, vaddr: 0, filesz: 0x600, memsz: 0x600 },
			{ type: 1, flags: 5, offset: 0x1000, vaddr: 0x1000, filesz: 0x200, memsz: 0x200 },
			{ type: 1, flags: 6, offset: 0x2df0, vaddr: 0x3df0, filesz: 0x220, memsz: 0x228 },
		] };
		const m = { start: 0x7f0000001000, end: 0x7f0000002000, perms: 'r-xp', offset: 0x1000, dev: '0:0', inode: 1, path: '/l.so', deleted: false };
		assert.equal(addrToVaddr(m, info, 0x7f0000001123), 0x1123);
		const d = { ...m, start: 0x7f0000003000, end: 0x7f0000004000, offset: 0x2000, perms: 'rw-p' };
		// file offset 0x2df8 lies in the data segment (p_offset 0x2df0, p_vaddr 0x3df0)
		assert.equal(addrToVaddr(d, info, 0x7f0000003df8), 0x3df8);
		assert.equal(fileOffsetToVaddr(info as never, 0x9000), undefined);
	});
});

describe('malformed and hostile ELF files', () => {
	function mutations(seed: number, good: Buffer, n: number): Buffer[] {
		let s = seed;
		const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
		const out: Buffer[] = [];
		for (let i = 0; i < n; i++) {
			const b = Buffer.from(good.subarray(0, Math.min(good.length, 16384)));
			const hits = 1 + Math.floor(rnd() * 8);
			for (let k = 0; k < hits; k++) {
				// mostly the headers and tables at the start
				const pos = Math.floor(rnd() * Math.min(b.length, rnd() < 0.5 ? 64 : b.length));
				b[pos] = Math.floor(rnd() * 256);
			}
			out.push(b);
		}
		return out;
	}

	test('truncated at every length: no throw, no hang', () => {
		const good = readFileSync(join(dir, 'nopie'));
		for (let len = 0; len < Math.min(good.length, 20000); len += 13) {
			const src = new BufferSource(good.subarray(0, len));
			const info = parseElf(src);
			if (info) readSymbols(src, info);
		}
		// the whole file still parses
		const info = parseElf(new BufferSource(good))!;
		assert.ok(readSymbols(new BufferSource(good), info).some((s) => s.name === 'leaf'));
	});

	test('random corruption of real files: no throw, no hang', () => {
		for (const f of ['pie', 'nopie', 'linked', 'cxx']) {
			const good = readFileSync(join(dir, f));
			for (const b of mutations(f.length * 7919, good, 400)) {
				const src = new BufferSource(b);
				const info = parseElf(src);
				if (info) {
					const syms = readSymbols(src, info);
					new SymbolTable(syms).lookup(0x1000);
				}
			}
		}
	});

	test('hostile headers: huge counts and offsets, bad links, giant notes', () => {
		const good = Buffer.from(readFileSync(join(dir, 'nopie')));
		const hdr = parseElf(new BufferSource(good))!;
		const cases: ((b: Buffer) => void)[] = [
			(b) => b.writeUInt16LE(0xffff, 60), // e_shnum
			(b) => b.writeUInt16LE(0, 60), // extended numbering with garbage section 0
			(b) => b.writeBigUInt64LE(0xffffffffffffffffn, 40), // e_shoff
			(b) => b.writeBigUInt64LE(0xfffffffffffff000n, 32), // e_phoff
			(b) => b.writeUInt16LE(0xffff, 56), // e_phnum
			(b) => b.writeUInt16LE(1, 58), // e_shentsize too small
			(b) => b.writeUInt16LE(0xfffe, 62), // e_shstrndx out of range
		];
		const shoff = Number(good.readBigUInt64LE(40));
		hdr.sections.forEach((s, i) => {
			const o = shoff + i * 64;
			if (s.type === 2 || s.type === 11) {
				cases.push((b) => b.writeUInt32LE(0xffffff, o + 40)); // sh_link
				cases.push((b) => b.writeBigUInt64LE(0x7fffffffffffffffn, o + 32)); // sh_size
				cases.push((b) => b.writeBigUInt64LE(0n, o + 56)); // sh_entsize 0
			}
			if (s.type === 7) {
				cases.push((b) => b.writeUInt32LE(0xfffffff0, s.offset)); // note namesz
				cases.push((b) => b.writeUInt32LE(0xfffffff0, s.offset + 4)); // note descsz
				cases.push((b) => b.writeBigUInt64LE(BigInt(good.length + 100), o + 24)); // sh_offset past EOF
			}
			if (s.name === '.gnu_debuglink' || s.name === '.strtab') cases.push((b) => b.fill(0x41, s.offset, s.offset + Math.min(s.size, 64)));
		});
		for (const mutate of cases) {
			const b = Buffer.from(good);
			mutate(b);
			const src = new BufferSource(b);
			const info = parseElf(src);
			if (info) readSymbols(src, info);
		}
	});

	test('not ELF at all', () => {
		assert.equal(parseElf(new BufferSource(Buffer.alloc(0))), null);
		assert.equal(parseElf(new BufferSource(Buffer.from('#!/bin/sh\necho hi\n'))), null);
		assert.equal(parseElf(new BufferSource(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 9, 9]))), null);
		assert.equal(withElfFile('/nonexistent', () => 1), null);
		assert.equal(withElfFile('/dev/zero', () => 1), null);
		assert.equal(withElfFile(dir, () => 1), null);
	});

	test('the symbolizer survives a mapped file that is not ELF', () => {
		const sym = new Symbolizer({ debugRoots: [] });
		writeFileSync(join(dir, 'notelf'), 'hello');
		assert.equal(sym.loadFile(join(dir, 'notelf')), null);
		assert.equal(sym.loadFile(join(dir, 'missing')), undefined);
	});
});
