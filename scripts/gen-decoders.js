#!/usr/bin/env node
// Generate TypeScript decoders for the structs that bpf/X.h declares, from the
// BTF inside the compiled bpf/X.bpf.o (so offsets come from the compiler, never
// from hand-written numbers). Output: lib/gen/X.ts.
//
//   node scripts/gen-decoders.js          write lib/gen/*.ts
//   node scripts/gen-decoders.js --check  exit 1 when a generated file is stale
//
// Rules: implicit padding and bitfields are refused (declare padding as
// `__u8 pad[N]`, which is then left out of the decoded object); char arrays
// decode to strings, except a char array that is the struct's last member,
// which is a variable-length tail and decodes to a Uint8Array of the bytes
// the record carries; 64-bit integers decode to numbers (exact below 2^53)
// unless their typedef is addr64_t, which decodes to bigint.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

function fail(msg) {
	console.error(`gen-decoders: ${msg}`);
	process.exit(1);
}

function camel(s) {
	return s.replace(/(^|_)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
}

function btfTypes(obj) {
	const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { maxBuffer: 64 << 20 });
	const byId = new Map();
	for (const t of JSON.parse(out).types) byId.set(t.id, t);
	return byId;
}

// Follow typedefs and qualifiers; remember whether addr64_t was crossed.
function resolve(types, id) {
	let big = false;
	let t = types.get(id);
	while (t && ['TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) {
		if (t.kind === 'TYPEDEF' && t.name === 'addr64_t') big = true;
		t = types.get(t.type_id);
	}
	if (!t) fail(`unresolvable BTF type ${id}`);
	return { t, big };
}

function sizeOf(types, id) {
	const { t } = resolve(types, id);
	switch (t.kind) {
		case 'INT': return t.size;
		case 'ENUM': return t.size ?? 4;
		case 'STRUCT': case 'UNION': return t.size;
		case 'ARRAY': return t.nr_elems * sizeOf(types, t.type_id);
		case 'PTR': return 8;
		default: fail(`unsupported BTF kind ${t.kind}`);
	}
}

function intReader(size, signed, big, off) {
	switch (size) {
		case 1: return `v.get${signed ? 'Int8' : 'Uint8'}(${off})`;
		case 2: return `v.get${signed ? 'Int16' : 'Uint16'}(${off}, true)`;
		case 4: return `v.get${signed ? 'Int32' : 'Uint32'}(${off}, true)`;
		case 8:
			if (big) return `v.get${signed ? 'BigInt64' : 'BigUint64'}(${off}, true)`;
			return signed ? `i64(v, ${off})` : `u64(v, ${off})`;
		default: fail(`unsupported integer size ${size}`);
	}
}

function genStruct(types, name, known) {
	const st = [...types.values()].find((t) => t.kind === 'STRUCT' && t.name === name);
	if (!st) fail(`struct ${name} is not in the object's BTF (use it in a map's __type or a global)`);
	const fields = [];
	const layout = [];
	let end = 0;
	const members = st.members;
	members.forEach((m, i) => {
		if (m.bitfield_size) fail(`struct ${name}: bitfield ${m.name} is not supported`);
		if (m.bits_offset % 8) fail(`struct ${name}: ${m.name} is not byte aligned`);
		const off = m.bits_offset / 8;
		if (off !== end) fail(`struct ${name}: ${off - end} bytes of implicit padding before ${m.name}: declare them`);
		const size = sizeOf(types, m.type_id);
		end = off + size;
		layout.push(`${m.name}@${off}+${size}`);
		if (/^(__)?pad\d*$/.test(m.name)) return;
		const last = i === members.length - 1;
		const { t, big } = resolve(types, m.type_id);
		const o = off === 0 ? 'o' : `o + ${off}`;
		if (t.kind === 'INT' || t.kind === 'ENUM') {
			const signed = t.kind === 'INT' ? t.encoding === 'SIGNED' : !!t.signed;
			fields.push({ name: m.name, ts: big && size === 8 ? 'bigint' : 'number', expr: intReader(size, signed, big, o) });
		} else if (t.kind === 'ARRAY') {
			const { t: el } = resolve(types, t.type_id);
			const elSize = sizeOf(types, t.type_id);
			const isChar = el.kind === 'INT' && elSize === 1 && (el.name === 'char' || el.encoding === 'CHAR');
			if (isChar && last) {
				fields.push({ name: m.name, ts: 'Uint8Array', expr: `tail(v, ${o}, o + len, ${size})`, tail: off });
			} else if (isChar) {
				fields.push({ name: m.name, ts: 'string', expr: `cstr(v, ${o}, ${size})` });
			} else if (el.kind === 'INT') {
				const signed = el.encoding === 'SIGNED';
				const items = [];
				for (let k = 0; k < t.nr_elems; k++) items.push(intReader(elSize, signed, false, `${o} + ${k * elSize}`));
				fields.push({ name: m.name, ts: 'number[]', expr: `[${items.join(', ')}]` });
			} else fail(`struct ${name}: array member ${m.name} of ${el.kind} is not supported`);
		} else if (t.kind === 'STRUCT' && known.has(t.name)) {
			fields.push({ name: m.name, ts: camel(t.name), expr: `decode${camel(t.name)}(v, ${o}, ${size})` });
		} else fail(`struct ${name}: member ${m.name} of kind ${t.kind} is not supported`);
	});
	if (end !== st.size) fail(`struct ${name}: ${st.size - end} bytes of implicit tail padding: declare them`);
	const tailField = fields.find((f) => f.tail !== undefined);
	const minLen = tailField ? tailField.tail : st.size;
	const T = camel(name);
	const upper = name.toUpperCase();
	return `
export interface ${T} {
${fields.map((f) => `\t${f.name}: ${f.ts};`).join('\n')}
}

/** Size of struct ${name}; records may be shorter only by the variable tail. */
export const ${upper}_SIZE = ${st.size};
export const ${upper}_MIN_SIZE = ${minLen};
/** Layout fingerprint, compared with the loaded object's BTF at open. */
export const ${upper}_LAYOUT = '${name}:${st.size}:${layout.join(',')}';

export function decode${T}(v: DataView, o: number, len: number): ${T} {
\tif (len < ${minLen}) throw new DecodeError('${name}', len, ${minLen});
\treturn {
${fields.map((f) => `\t\t${f.name}: ${f.expr},`).join('\n')}
\t};
}
`;
}

// `enum name { A = 0, B, ... };` in the header: a constant object of its values
// (from the header text: enums of constants need not appear in the BTF).
function genEnums(header) {
	let out = '';
	for (const m of header.matchAll(/^enum\s+(\w+)\s*\{([^}]*)\}/gm)) {
		let next = 0;
		const members = [];
		for (const raw of m[2].replace(/\/\*[\s\S]*?\*\//g, '').split(',')) {
			const e = /^\s*(\w+)\s*(?:=\s*(\w+))?\s*$/.exec(raw);
			if (!e) {
				if (raw.trim()) fail(`enum ${m[1]}: cannot read '${raw.trim()}'`);
				continue;
			}
			const v = e[2] !== undefined ? Number(e[2]) : next;
			if (!Number.isInteger(v)) fail(`enum ${m[1]}: ${e[1]} is not a plain number`);
			members.push(`\t${e[1]}: ${v},`);
			next = v + 1;
		}
		out += `\n/** enum ${m[1]} */\nexport const ${m[1].toUpperCase()} = {\n${members.join('\n')}\n} as const;\n`;
	}
	return out;
}

function generate(tool) {
	const header = readFileSync(join(root, 'bpf', `${tool}.h`), 'utf8');
	const names = [...header.matchAll(/^struct\s+(\w+)\s*\{/gm)].map((m) => m[1]);
	const obj = join(root, 'bpf', `${tool}.bpf.o`);
	if (!existsSync(obj)) fail(`${obj} missing: run make -C bpf`);
	const types = btfTypes(obj);
	const known = new Set(names);
	const body = names.map((n) => genStruct(types, n, known)).join('') + genEnums(header);
	const used = ['DecodeError', 'cstr', 'tail', 'u64', 'i64'].filter((h) => h === 'DecodeError' || body.includes(`${h}(`));
	return `// Generated by scripts/gen-decoders.js from the BTF of bpf/${tool}.bpf.o
// (structs declared in bpf/${tool}.h). Do not edit: run \`npm run build:bpf\`.
import { ${used.join(', ')} } from '../decode.js';
${body}`;
}

const tools = readdirSync(join(root, 'bpf'))
	.filter((f) => f.endsWith('.bpf.c'))
	.map((f) => f.slice(0, -'.bpf.c'.length))
	.filter((t) => existsSync(join(root, 'bpf', `${t}.h`)));
const outDir = join(root, 'lib', 'gen');
mkdirSync(outDir, { recursive: true });
let stale = 0;
for (const tool of tools) {
	const file = join(outDir, `${tool}.ts`);
	const text = generate(tool);
	if (check) {
		const cur = existsSync(file) ? readFileSync(file, 'utf8') : '';
		if (cur !== text) {
			console.error(`stale: lib/gen/${tool}.ts (run npm run build:bpf)`);
			stale++;
		}
	} else {
		writeFileSync(file, text);
	}
}
if (check && stale) process.exit(1);
if (check) console.log('generated decoders fresh');
