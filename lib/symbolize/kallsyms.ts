// Kernel symbols from /proc/kallsyms. Addresses are 64-bit (beyond 2^53), so
// they are kept as offsets from the lowest text address, which fit a double
// exactly.
import { readFileSync } from 'node:fs';

export class KernelSymbols {
	private base = 0n;
	private offs = new Float64Array(0);
	private names: string[] = [];
	private mods: (string | undefined)[] = [];

	/** Parse kallsyms text: `ffffffff81000000 T _text [module]`; text symbols only. */
	static parse(text: string): KernelSymbols {
		const ks = new KernelSymbols();
		const rows: { addr: bigint; name: string; mod?: string }[] = [];
		let min: bigint | undefined;
		for (const line of text.split('\n')) {
			const sp1 = line.indexOf(' ');
			if (sp1 <= 0 || sp1 > 16) continue;
			const type = line[sp1 + 1];
			if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
			let addr: bigint;
			try {
				addr = BigInt('0x' + line.slice(0, sp1));
			} catch {
				continue;
			}
			if (addr === 0n) continue; // hidden (kptr_restrict, not root)
			let rest = line.slice(sp1 + 3);
			let mod: string | undefined;
			const m = /^(\S+)\s+\[([^\]]+)\]\s*$/.exec(rest);
			if (m) {
				rest = m[1];
				mod = m[2];
			}
			rest = rest.trim();
			if (!rest) continue;
			rows.push({ addr, name: rest, mod });
			if (min === undefined || addr < min) min = addr;
		}
		if (min === undefined) return ks;
		rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
		ks.base = min;
		ks.offs = new Float64Array(rows.length);
		ks.names = new Array<string>(rows.length);
		ks.mods = new Array<string | undefined>(rows.length);
		rows.forEach((r, i) => {
			ks.offs[i] = Number(r.addr - min!);
			ks.names[i] = r.name;
			ks.mods[i] = r.mod;
		});
		return ks;
	}

	static load(path = '/proc/kallsyms'): KernelSymbols {
		try {
			return KernelSymbols.parse(readFileSync(path, 'latin1'));
		} catch {
			return new KernelSymbols();
		}
	}

	get length(): number {
		return this.names.length;
	}

	/** The symbol at or before addr (kallsyms has no sizes). */
	lookup(addr: bigint): { name: string; offset: number; module?: string } | null {
		if (!this.names.length || addr < this.base) return null;
		const d = addr - this.base;
		if (d > BigInt(Number.MAX_SAFE_INTEGER)) return null;
		const x = Number(d);
		let lo = 0;
		let hi = this.offs.length - 1;
		let best = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (this.offs[mid] <= x) {
				best = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		if (best < 0) return null;
		// the last symbol has no known end: accept up to 1 MiB past it
		if (best === this.offs.length - 1 && x - this.offs[best] > 1 << 20) return null;
		return { name: this.names[best], offset: x - this.offs[best], module: this.mods[best] };
	}
}
