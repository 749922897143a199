// Demanglers for the names profilers meet most: Itanium C++ (a practical
// subset: nested names, ctors/dtors, operators, builtin and compound types,
// templates, substitutions, function parameters), Rust legacy (`_ZN...17h<hash>E`)
// and Rust v0 (`_R...`, paths, generics, basic types). Anything outside the
// subset comes back unchanged: a mangled name is better than a wrong one.
// Inputs are bounded (length, recursion depth, substitutions): no hangs.

const MAX_INPUT = 4096;
const MAX_DEPTH = 64;
const MAX_OUTPUT = 8192;

class Fail extends Error {}

const BUILTIN: Record<string, string> = {
	v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short',
	t: 'unsigned short', i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long',
	y: 'unsigned long long', n: '__int128', o: 'unsigned __int128', f: 'float', d: 'double',
	e: 'long double', g: '__float128', z: '...',
};
const BUILTIN_D: Record<string, string> = {
	d: 'decimal64', e: 'decimal128', f: 'decimal32', h: 'half', i: 'char32_t', s: 'char16_t',
	u: 'char8_t', a: 'auto', c: 'decltype(auto)', n: 'decltype(nullptr)',
};
const OPERATORS: Record<string, string> = {
	nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', ps: '+', ng: '-', ad: '&', de: '*', co: '~',
	pl: '+', mi: '-', ml: '*', dv: '/', rm: '%', an: '&', or: '|', eo: '^', aS: '=', pL: '+=', mI: '-=',
	mL: '*=', dV: '/=', rM: '%=', aN: '&=', oR: '|=', eO: '^=', ls: '<<', rs: '>>', lS: '<<=', rS: '>>=',
	eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', ss: '<=>', nt: '!', aa: '&&', oo: '||',
	pp: '++', mm: '--', cm: ',', pm: '->*', pt: '->', cl: '()', ix: '[]', qu: '?',
};
const STD_SUBST: Record<string, string> = {
	a: 'std::allocator', b: 'std::basic_string',
	s: 'std::string', i: 'std::istream', o: 'std::ostream', d: 'std::iostream',
};

/** A demangled type: text split around where a declarator goes (for pointers to functions/arrays). */
interface TypeOut {
	left: string;
	right: string;
}
const plain = (s: string): TypeOut => ({ left: s, right: '' });
const str = (t: TypeOut): string => t.left + t.right;

class Itanium {
	private p = 0;
	private depth = 0;
	private subs: TypeOut[] = [];
	private tmpl: TypeOut[] = [];
	private lastArgs: TypeOut[] = [];
	constructor(private readonly s: string) {}

	private peek(n = 0): string {
		return this.s[this.p + n] ?? '';
	}
	private eat(c: string): boolean {
		if (this.s.startsWith(c, this.p)) {
			this.p += c.length;
			return true;
		}
		return false;
	}
	private need(c: string): void {
		if (!this.eat(c)) throw new Fail();
	}
	private enter(): void {
		if (++this.depth > MAX_DEPTH) throw new Fail();
	}
	private addSub(t: TypeOut): void {
		if (this.subs.length < 4096) this.subs.push(t);
	}
	private number(): number {
		const m = /^n?\d+/.exec(this.s.slice(this.p, this.p + 12));
		if (!m) throw new Fail();
		this.p += m[0].length;
		const v = Number(m[0].replace('n', '-'));
		return v;
	}

	/** _Z <encoding> [.clone suffixes] */
	demangle(): string {
		this.need('_Z');
		let out = this.encoding(true);
		while (this.p < this.s.length) {
			const m = /^\.[A-Za-z_]+(\.\d+)*|^\.\d+/.exec(this.s.slice(this.p));
			if (!m) throw new Fail();
			out += ` [clone ${m[0]}]`;
			this.p += m[0].length;
		}
		if (out.length > MAX_OUTPUT) throw new Fail();
		return out;
	}

	private encoding(top: boolean): string {
		this.enter();
		if (this.peek() === 'T' || this.peek() === 'G') {
			const special = this.special();
			this.depth--;
			return special;
		}
		const saved = this.tmpl;
		const { name, isTemplate, cv } = this.name();
		// T_ in the return and parameter types: the function's own template arguments
		if (isTemplate) this.tmpl = this.lastArgs;
		if (this.p >= this.s.length || this.peek() === 'E' || this.peek() === '.') {
			this.depth--;
			return name;
		}
		// template functions encode their return type first
		let ret = '';
		if (isTemplate && !this.isCtorDtor && !/(^|::)operator [^:]*$/.test(name.replace(/<.*$/, ''))) ret = str(this.type()) + ' ';
		this.isCtorDtor = false;
		const params = this.bareFunctionType();
		this.tmpl = saved;
		this.depth--;
		void top;
		return `${ret}${name}(${params})${cv}`;
	}
	private isCtorDtor = false;

	private special(): string {
		if (this.eat('TV')) return `vtable for ${str(this.type())}`;
		if (this.eat('TT')) return `VTT for ${str(this.type())}`;
		if (this.eat('TI')) return `typeinfo for ${str(this.type())}`;
		if (this.eat('TS')) return `typeinfo name for ${str(this.type())}`;
		if (this.eat('GV')) return `guard variable for ${this.name().name}`;
		if (this.eat('Th')) {
			this.number();
			this.need('_');
			return `non-virtual thunk to ${this.encoding(false)}`;
		}
		if (this.eat('Tv')) {
			this.number();
			this.need('_');
			this.number();
			this.need('_');
			return `virtual thunk to ${this.encoding(false)}`;
		}
		throw new Fail();
	}

	private bareFunctionType(): string {
		const params: string[] = [];
		while (this.p < this.s.length && this.peek() !== 'E' && this.peek() !== '.') {
			const t = str(this.type());
			if (t !== '') params.push(t); // an empty pack expansion
		}
		if (params.length === 1 && params[0] === 'void') return '';
		return params.join(', ');
	}

	private cvQuals(): string {
		let r = false;
		let v = false;
		let k = false;
		while (true) {
			if (this.eat('r')) r = true;
			else if (this.eat('V')) v = true;
			else if (this.eat('K')) k = true;
			else break;
		}
		return (k ? ' const' : '') + (v ? ' volatile' : '') + (r ? ' restrict' : '');
	}

	/** <name>: nested, local, unscoped (std::), or a substitution + template args */
	private name(): { name: string; isTemplate: boolean; cv: string } {
		this.enter();
		try {
			const c = this.peek();
			if (c === 'N') return this.nestedName();
			if (c === 'Z') {
				this.p++;
				const fn = this.encoding(false);
				this.need('E');
				if (this.eat('s')) {
					this.discriminator();
					return { name: `${fn}::string literal`, isTemplate: false, cv: '' };
				}
				const inner = this.name();
				this.discriminator();
				return { name: `${fn}::${inner.name}`, isTemplate: inner.isTemplate, cv: inner.cv };
			}
			let n: string;
			if (this.s.startsWith('St', this.p)) {
				this.p += 2;
				n = 'std::' + this.unqualifiedName('std');
				if (this.peek() === 'I') this.addSub(plain(n));
			} else if (c === 'S') {
				const sub = this.substitution();
				if (this.peek() !== 'I') throw new Fail();
				n = str(sub);
			} else {
				n = this.unqualifiedName('');
				if (this.peek() === 'I') this.addSub(plain(n));
			}
			if (this.peek() === 'I') {
				const args = this.templateArgs();
				n += args;
				return { name: n, isTemplate: true, cv: '' };
			}
			return { name: n, isTemplate: false, cv: '' };
		} finally {
			this.depth--;
		}
	}

	private discriminator(): void {
		if (this.eat('__')) {
			this.number();
			this.need('_');
		} else if (this.eat('_')) {
			this.number();
		}
	}

	private nestedName(): { name: string; isTemplate: boolean; cv: string } {
		this.need('N');
		const cv = this.cvQuals();
		let ref = '';
		if (this.eat('R')) ref = ' &';
		else if (this.eat('O')) ref = ' &&';
		let prefix = '';
		let last = '';
		let isTemplate = false;
		let count = 0;
		while (!this.eat('E')) {
			if (this.p >= this.s.length || ++count > 256) throw new Fail();
			const c = this.peek();
			if (c === 'S' && this.peek(1) !== 't' && !prefix) {
				prefix = str(this.substitution());
				isTemplate = false;
				continue;
			}
			if (c === 'S' && this.peek(1) === 't' && !prefix) {
				this.p += 2;
				prefix = 'std';
				continue;
			}
			if (c === 'T' && !prefix) {
				prefix = str(this.templateParam());
				this.addSub(plain(prefix));
				continue;
			}
			if (c === 'I') {
				if (!prefix) throw new Fail();
				prefix += this.templateArgs();
				isTemplate = true;
				if (this.peek() !== 'E') this.addSub(plain(prefix));
				continue;
			}
			if (c === 'M') {
				// member-like lambda context: ignore
				this.p++;
				continue;
			}
			last = this.unqualifiedName(prefix);
			prefix = prefix ? `${prefix}::${last}` : last;
			isTemplate = false;
			if (this.peek() !== 'E') this.addSub(plain(prefix));
		}
		return { name: prefix, isTemplate, cv: cv + ref };
	}

	private lastComponent(prefix: string): string {
		// the class name for ctors/dtors: the last component without template args
		let depth = 0;
		let end = prefix.length;
		for (let i = prefix.length - 1; i >= 0; i--) {
			const ch = prefix[i];
			if (ch === '>') depth++;
			else if (ch === '<') {
				depth--;
				if (depth === 0) end = i;
			} else if (ch === ':' && depth === 0 && prefix[i - 1] === ':') return prefix.slice(i + 1, end);
		}
		return prefix.slice(0, end);
	}

	private unqualifiedName(prefix: string): string {
		let n = this.unqualifiedBase(prefix);
		// ABI tags: B5cxx11 -> [abi:cxx11]
		while (this.peek() === 'B' && /[0-9]/.test(this.peek(1))) {
			this.p++;
			n += `[abi:${this.sourceName()}]`;
		}
		return n;
	}

	private unqualifiedBase(prefix: string): string {
		const c = this.peek();
		if (c >= '0' && c <= '9') return this.sourceName();
		if (c === 'L') {
			this.p++;
			const n = this.sourceName();
			this.discriminator();
			return n;
		}
		if (c === 'C') {
			this.p++;
			this.eat('I');
			if (!/[1-5]/.test(this.peek())) throw new Fail();
			this.p++;
			this.isCtorDtor = true;
			return this.lastComponent(prefix);
		}
		if (c === 'D' && /[0-5]/.test(this.peek(1))) {
			this.p += 2;
			this.isCtorDtor = true;
			return '~' + this.lastComponent(prefix);
		}
		if (c === 'U' && this.peek(1) === 'l') {
			// lambda: Ul <params> E [n] _
			this.p += 2;
			const params = this.bareFunctionType();
			this.need('E');
			let n = 1;
			if (this.peek() !== '_') n = this.number() + 2;
			this.need('_');
			return `{lambda(${params})#${n}}`;
		}
		if (c === 'U' && this.peek(1) === 't') {
			this.p += 2;
			let n = 1;
			if (this.peek() !== '_') n = this.number() + 2;
			this.need('_');
			return `{unnamed type#${n}}`;
		}
		if (c === 'c' && this.peek(1) === 'v') {
			this.p += 2;
			return `operator ${str(this.type())}`;
		}
		if (c === 'l' && this.peek(1) === 'i') {
			this.p += 2;
			return `operator"" ${this.sourceName()}`;
		}
		const op = OPERATORS[this.s.slice(this.p, this.p + 2)];
		if (op) {
			this.p += 2;
			return /^[a-z]/.test(op) ? `operator ${op}` : `operator${op}`;
		}
		throw new Fail();
	}

	private sourceName(): string {
		const n = this.number();
		if (n <= 0 || this.p + n > this.s.length) throw new Fail();
		const id = this.s.slice(this.p, this.p + n);
		this.p += n;
		if (id.startsWith('_GLOBAL__N')) return '(anonymous namespace)';
		return id;
	}

	private substitution(): TypeOut {
		this.need('S');
		const c = this.peek();
		if (c in STD_SUBST && c !== '_' && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z')) {
			this.p++;
			return plain(STD_SUBST[c]);
		}
		let idx = 0;
		if (c !== '_') {
			const m = /^[0-9A-Z]+/.exec(this.s.slice(this.p, this.p + 8));
			if (!m) throw new Fail();
			this.p += m[0].length;
			idx = parseInt(m[0], 36) + 1;
		}
		this.need('_');
		const t = this.subs[idx];
		if (!t) throw new Fail();
		return t;
	}

	private templateParam(): TypeOut {
		this.need('T');
		let idx = 0;
		if (this.peek() !== '_') idx = this.number() + 1;
		this.need('_');
		const t = this.tmpl[idx];
		if (!t) throw new Fail();
		return t;
	}

	private templateArgs(): string {
		this.enter();
		this.need('I');
		const args: TypeOut[] = [];
		while (!this.eat('E')) {
			if (this.p >= this.s.length) throw new Fail();
			args.push(this.templateArg());
		}
		this.lastArgs = args;
		this.depth--;
		const inner = args.map(str).filter((x) => x !== '').join(', ');
		return `<${inner}${inner.endsWith('>') ? ' ' : ''}>`;
	}

	private templateArg(): TypeOut {
		const c = this.peek();
		if (c === 'L') return plain(this.literal());
		if (c === 'J') {
			this.p++;
			const parts: string[] = [];
			while (!this.eat('E')) {
				if (this.p >= this.s.length) throw new Fail();
				parts.push(str(this.templateArg()));
			}
			return plain(parts.join(', '));
		}
		if (c === 'X') throw new Fail(); // expressions: out of the subset
		return this.type();
	}

	private literal(): string {
		this.need('L');
		if (this.s.startsWith('_Z', this.p)) {
			this.p += 2;
			const e = this.encoding(false);
			this.need('E');
			return e;
		}
		const t = str(this.type());
		const m = /^n?[0-9a-f]*/.exec(this.s.slice(this.p, this.p + 40));
		const v = m ? m[0] : '';
		this.p += v.length;
		this.need('E');
		const num = v.replace(/^n/, '-');
		if (t === 'bool') return num === '0' ? 'false' : 'true';
		if (t === 'int') return num;
		if (t === 'unsigned int') return `${num}u`;
		if (t === 'long') return `${num}l`;
		if (t === 'unsigned long') return `${num}ul`;
		if (t === 'long long') return `${num}ll`;
		if (t === 'unsigned long long') return `${num}ull`;
		return `(${t})${num}`;
	}

	type(): TypeOut {
		this.enter();
		try {
			return this.typeInner();
		} finally {
			this.depth--;
		}
	}

	private typeInner(): TypeOut {
		const c = this.peek();
		if (c in BUILTIN && c !== '') {
			this.p++;
			return plain(BUILTIN[c]);
		}
		if (c === 'u') {
			this.p++;
			const t = plain(this.sourceName());
			this.addSub(t);
			return t;
		}
		if (c === 'D') {
			const d = this.peek(1);
			if (d === 'p') {
				this.p += 2;
				const t = this.type();
				this.addSub(t);
				return t;
			}
			if (d in BUILTIN_D) {
				this.p += 2;
				return plain(d === 'n' ? 'decltype(nullptr)' : BUILTIN_D[d]);
			}
			throw new Fail();
		}
		if (c === 'r' || c === 'V' || c === 'K') {
			const q = this.cvQuals();
			const inner = this.type();
			const t = inner.right.startsWith(')(') || inner.right.startsWith('(')
				? { left: inner.left, right: inner.right + q }
				: { left: inner.left + q, right: inner.right };
			this.addSub(t);
			return t;
		}
		if (c === 'P' || c === 'R' || c === 'O') {
			this.p++;
			const sym = c === 'P' ? '*' : c === 'R' ? '&' : '&&';
			const inner = this.type();
			let t: TypeOut;
			if (inner.right.startsWith('(') || inner.right.startsWith(' [')) {
				// pointer to function or array: void (*)(int)
				t = inner.left.endsWith('(')
					? { left: inner.left + sym, right: inner.right }
					: { left: `${inner.left.endsWith(' ') ? inner.left : inner.left + ' '}(${sym}`, right: `)${inner.right}` };
			} else {
				t = { left: inner.left + sym, right: inner.right };
			}
			this.addSub(t);
			return t;
		}
		if (c === 'F') {
			this.p++;
			this.eat('Y');
			const ret = this.type();
			const params: string[] = [];
			while (!this.eat('E')) {
				if (this.p >= this.s.length) throw new Fail();
				if ((this.peek() === 'R' || this.peek() === 'O') && this.peek(1) === 'E') {
					this.p++; // ref-qualifier of the function type
					continue;
				}
				params.push(str(this.type()));
			}
			const ps = params.length === 1 && params[0] === 'void' ? '' : params.join(', ');
			const t = { left: `${str(ret)} `, right: `(${ps})` };
			this.addSub(t);
			return t;
		}
		if (c === 'A') {
			this.p++;
			let dim = '';
			if (this.peek() !== '_') dim = String(this.number());
			this.need('_');
			const el = this.type();
			const t = { left: el.left, right: ` [${dim}]${el.right}` };
			this.addSub(t);
			return t;
		}
		if (c === 'M') {
			this.p++;
			const cls = str(this.type());
			const mem = this.type();
			const t = mem.right.startsWith('(')
				? { left: `${mem.left}(${cls}::*`, right: `)${mem.right}` }
				: { left: `${mem.left} ${cls}::*`, right: mem.right };
			this.addSub(t);
			return t;
		}
		if (c === 'T') {
			const t = this.templateParam();
			this.addSub(t);
			if (this.peek() === 'I') {
				const full = plain(str(t) + this.templateArgs());
				this.addSub(full);
				return full;
			}
			return t;
		}
		if (c === 'S') {
			if (this.peek(1) === 't') {
				const n = this.name();
				const t = plain(n.name);
				this.addSub(t);
				return t;
			}
			const sub = this.substitution();
			if (this.peek() === 'I') {
				const full = plain(str(sub) + this.templateArgs());
				this.addSub(full);
				return full;
			}
			return sub;
		}
		if (c === 'N' || c === 'Z' || (c >= '0' && c <= '9')) {
			const n = this.name();
			const t = plain(n.name);
			this.addSub(t);
			return t;
		}
		throw new Fail();
	}
}

/** Rust legacy symbols: _ZN<len><part>...17h<16 hex>E */
function rustLegacy(s: string): string | null {
	if (!s.startsWith('_ZN')) return null;
	let p = 3;
	const parts: string[] = [];
	while (p < s.length && s[p] !== 'E') {
		const m = /^\d+/.exec(s.slice(p, p + 8));
		if (!m) return null;
		const n = Number(m[0]);
		p += m[0].length;
		if (n <= 0 || p + n > s.length) return null;
		parts.push(s.slice(p, p + n));
		p += n;
		if (parts.length > 256) return null;
	}
	if (s[p] !== 'E' || parts.length < 2) return null;
	const rest = s.slice(p + 1);
	if (rest && !/^\.llvm\.\d+$|^\./.test(rest)) return null;
	const hash = parts[parts.length - 1];
	if (!/^h[0-9a-f]{16}$/.test(hash)) return null;
	const esc: Record<string, string> = {
		SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',',
	};
	const decode = (part: string): string => {
		let out = part.startsWith('_$') ? part.slice(1) : part;
		out = out.replace(/\$([A-Z]{1,2}|u[0-9a-f]{1,6})\$/g, (all, code: string) => {
			if (code in esc) return esc[code];
			if (code.startsWith('u')) {
				const cp = parseInt(code.slice(1), 16);
				return cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
			}
			return all;
		});
		return out.replace(/\.\./g, '::');
	};
	return parts.slice(0, -1).map(decode).join('::');
}

/** Rust v0 symbols (_R...): paths, generic arguments, basic types. */
class RustV0 {
	private p = 0;
	private depth = 0;
	constructor(private readonly s: string) {}

	private peek(): string {
		return this.s[this.p] ?? '';
	}
	private eat(c: string): boolean {
		if (this.s[this.p] === c) {
			this.p++;
			return true;
		}
		return false;
	}
	private enter(): void {
		if (++this.depth > MAX_DEPTH) throw new Fail();
	}

	demangle(): string {
		if (!this.s.startsWith('_R')) throw new Fail();
		this.p = 2;
		while (/[0-9]/.test(this.peek())) this.p++; // encoding version
		const path = this.path();
		return path;
	}

	private base62(): number {
		if (this.eat('_')) return 0;
		let n = 0;
		let steps = 0;
		while (!this.eat('_')) {
			const c = this.peek();
			let d: number;
			if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
			else if (c >= 'a' && c <= 'z') d = c.charCodeAt(0) - 97 + 10;
			else if (c >= 'A' && c <= 'Z') d = c.charCodeAt(0) - 65 + 36;
			else throw new Fail();
			this.p++;
			n = n * 62 + d;
			if (++steps > 16) throw new Fail();
		}
		return n + 1;
	}

	private disambiguator(): void {
		if (this.eat('s')) this.base62();
	}

	private ident(): string {
		this.disambiguator();
		const puny = this.eat('u');
		const m = /^\d+/.exec(this.s.slice(this.p, this.p + 8));
		if (!m) throw new Fail();
		this.p += m[0].length;
		const n = Number(m[0]);
		this.eat('_');
		if (this.p + n > this.s.length) throw new Fail();
		const id = this.s.slice(this.p, this.p + n);
		this.p += n;
		return puny ? `{punycode ${id}}` : id;
	}

	private backref<T>(fn: () => T): T {
		const start = this.p - 1;
		const target = this.base62() + 2;
		if (target >= start) throw new Fail();
		const save = this.p;
		this.p = target;
		try {
			return fn();
		} finally {
			this.p = save;
		}
	}

	path(): string {
		this.enter();
		try {
			const c = this.s[this.p++];
			switch (c) {
				case 'C':
					return this.ident();
				case 'N': {
					const ns = this.s[this.p++];
					if (!ns || !/[A-Za-z]/.test(ns)) throw new Fail();
					const parent = this.path();
					const id = this.ident();
					if (ns === 'C') return `${parent}::{closure${id ? `:${id}` : ''}}`;
					if (ns === 'S') return `${parent}::{shim${id ? `:${id}` : ''}}`;
					if (ns >= 'A' && ns <= 'Z') return `${parent}::{${ns}${id ? `:${id}` : ''}}`;
					return `${parent}::${id}`;
				}
				case 'M': {
					this.disambiguator();
					this.path(); // impl's parent path
					return `<${this.type()}>`;
				}
				case 'X': {
					this.disambiguator();
					this.path();
					const t = this.type();
					return `<${t} as ${this.path()}>`;
				}
				case 'Y': {
					const t = this.type();
					return `<${t} as ${this.path()}>`;
				}
				case 'I': {
					const base = this.path();
					const args: string[] = [];
					while (!this.eat('E')) {
						if (this.p >= this.s.length) throw new Fail();
						args.push(this.genericArg());
					}
					return `${base}::<${args.join(', ')}>`;
				}
				case 'B':
					return this.backref(() => this.path());
				default:
					throw new Fail();
			}
		} finally {
			this.depth--;
		}
	}

	private genericArg(): string {
		if (this.eat('L')) {
			this.base62();
			return "'_";
		}
		if (this.eat('K')) return this.constant();
		return this.type();
	}

	private constant(): string {
		if (this.eat('p')) return '_';
		if (this.eat('B')) return this.backref(() => this.constant());
		const t = this.peek();
		if (!/[a-z]/.test(t)) throw new Fail();
		this.p++;
		const neg = this.eat('n');
		const m = /^[0-9a-f]*_/.exec(this.s.slice(this.p, this.p + 40));
		if (!m) throw new Fail();
		this.p += m[0].length;
		const hex = m[0].slice(0, -1) || '0';
		if (t === 'b') return hex === '1' ? 'true' : 'false';
		const v = BigInt('0x' + hex);
		return `${neg ? '-' : ''}${v}`;
	}

	private static BASIC: Record<string, string> = {
		a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32',
		m: 'u32', n: 'i128', o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
	};

	type(): string {
		this.enter();
		try {
			const c = this.peek();
			if (c in RustV0.BASIC) {
				this.p++;
				return RustV0.BASIC[c];
			}
			this.p++;
			switch (c) {
				case 'R':
				case 'Q': {
					if (this.eat('L')) this.base62();
					return `&${c === 'Q' ? 'mut ' : ''}${this.type()}`;
				}
				case 'P':
					return `*const ${this.type()}`;
				case 'O':
					return `*mut ${this.type()}`;
				case 'A': {
					const t = this.type();
					return `[${t}; ${this.constant()}]`;
				}
				case 'S':
					return `[${this.type()}]`;
				case 'T': {
					const ts: string[] = [];
					while (!this.eat('E')) {
						if (this.p >= this.s.length) throw new Fail();
						ts.push(this.type());
					}
					return ts.length === 1 ? `(${ts[0]},)` : `(${ts.join(', ')})`;
				}
				case 'B':
					return this.backref(() => this.type());
				case 'C':
				case 'N':
				case 'M':
				case 'X':
				case 'Y':
				case 'I':
					this.p--;
					return this.path();
				default:
					throw new Fail(); // fn pointers, dyn traits: out of the subset
			}
		} finally {
			this.depth--;
		}
	}
}

/** Demangle a C++ or Rust symbol; anything not understood is returned as is. */
export function demangle(name: string): string {
	if (name.length > MAX_INPUT) return name;
	if (name.startsWith('_R')) {
		try {
			const base = name.replace(/\.llvm\.\d+$/, '');
			return new RustV0(base).demangle();
		} catch {
			return name;
		}
	}
	if (!name.startsWith('_Z')) return name;
	const rust = rustLegacy(name);
	if (rust !== null) return rust;
	try {
		return new Itanium(name).demangle();
	} catch {
		return name;
	}
}
