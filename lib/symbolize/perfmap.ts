// JIT symbol maps in the perf-map format: /tmp/perf-PID.map, one
// `START SIZE name` line per compiled function (hex, no 0x needed), written by
// Node --perf-basic-prof, the JVM perf-map-agent, LuaJIT, .NET ... Later lines
// win over earlier ones for the same range (code moved or recompiled).
import { readSync } from 'node:fs';
import { withRegularFile } from './elf.js';

const MAX_BYTES = 256 << 20;

export class PerfMap {
	private starts = new Float64Array(0);
	private ends = new Float64Array(0);
	private names: string[] = [];

	static parse(text: string): PerfMap {
		const rows: { start: number; end: number; name: string; seq: number }[] = [];
		let seq = 0;
		for (const line of text.split('\n')) {
			const m = /^\s*(?:0x)?([0-9a-fA-F]{1,16})\s+(?:0x)?([0-9a-fA-F]{1,16})\s+(.*?)\s*$/.exec(line);
			if (!m || !m[3]) continue;
			const start = parseInt(m[1], 16);
			const size = parseInt(m[2], 16);
			if (!Number.isFinite(start) || !Number.isFinite(size) || size <= 0) continue;
			rows.push({ start, end: start + size, name: m[3], seq: seq++ });
		}
		// by start; for equal starts the latest line first
		rows.sort((a, b) => a.start - b.start || b.seq - a.seq);
		const keep: typeof rows = [];
		for (const r of rows) if (!keep.length || keep[keep.length - 1].start !== r.start) keep.push(r);
		const pm = new PerfMap();
		pm.starts = Float64Array.from(keep, (r) => r.start);
		pm.ends = Float64Array.from(keep, (r) => r.end);
		pm.names = keep.map((r) => r.name);
		return pm;
	}

	/** Read a perf map file; null when missing or not a regular file. */
	static load(path: string): PerfMap | null {
		return withRegularFile(path, (fd, size) => {
			const n = Math.min(size, MAX_BYTES);
			const b = Buffer.allocUnsafe(n);
			let got = 0;
			while (got < n) {
				const r = readSync(fd, b, got, n - got, got);
				if (r <= 0) break;
				got += r;
			}
			return PerfMap.parse(b.toString('utf8', 0, got));
		});
	}

	get length(): number {
		return this.names.length;
	}

	lookup(addr: number): { name: string; offset: number } | null {
		let lo = 0;
		let hi = this.starts.length - 1;
		let best = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (this.starts[mid] <= addr) {
				best = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		// an earlier, longer region may still cover addr: look back a little
		for (let i = best, n = 0; i >= 0 && n < 8; i--, n++) {
			if (addr < this.ends[i]) return { name: this.names[i], offset: addr - this.starts[i] };
		}
		return null;
	}
}
