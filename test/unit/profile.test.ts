// profile: BCC's output layouts (multi-line and folded, -d, -a, missed
// stacks), the flame graph stack order, option parsing and usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flameStack, foldedLine, frameName, mergeFolded, multilineStack, parseCpuList, parseIdList, stackIdErr } from '../../tools/profile.js';
import type { FormatOptions, ResolvedStack } from '../../tools/profile.js';
import type { Frame } from '../../lib/symbolize/index.js';
import { runTool } from '../e2e/helpers.js';

const u = (name: string, known = true, module?: string): Frame => ({ name, kind: 'user', addr: 1n, known, module });
const k = (name: string): Frame => ({ name, kind: 'kernel', addr: 0xffffffff81000000n, known: true });

const stack = (over: Partial<ResolvedStack['key']> = {}): ResolvedStack => ({
	key: { pid: 4242, user_stack_id: 3, kernel_stack_id: 7, comm: 'spin', ...over },
	count: 17,
	user: [u('leaf'), u('middle'), u('outer'), u('main')],
	kernel: [k('sysvec_apic_timer_interrupt'), k('asm_sysvec_apic_timer_interrupt')],
});
const opts = (o: Partial<FormatOptions> = {}): FormatOptions => ({ userOnly: false, kernelOnly: false, delimited: false, annotations: false, ...o });

test('folded: comm, user root to leaf, kernel root to leaf, count', () => {
	assert.equal(foldedLine(stack(), opts()), 'spin;main;outer;middle;leaf;asm_sysvec_apic_timer_interrupt;sysvec_apic_timer_interrupt 17');
	assert.equal(foldedLine(stack(), opts({ delimited: true })), 'spin;main;outer;middle;leaf;-;asm_sysvec_apic_timer_interrupt;sysvec_apic_timer_interrupt 17');
	assert.equal(foldedLine(stack(), opts({ annotations: true })), 'spin;main;outer;middle;leaf;asm_sysvec_apic_timer_interrupt_[k];sysvec_apic_timer_interrupt_[k] 17');
	assert.equal(foldedLine(stack({ kernel_stack_id: -1 }), opts({ userOnly: true, delimited: true })), 'spin;main;outer;middle;leaf 17');
	assert.equal(foldedLine(stack({ user_stack_id: -1 }), opts({ kernelOnly: true })), 'spin;asm_sysvec_apic_timer_interrupt;sysvec_apic_timer_interrupt 17');
});

test('folded: no delimiter when a side has no stack (-EFAULT), placeholders for lost stacks', () => {
	const s = { ...stack({ kernel_stack_id: -14 }), kernel: [] };
	assert.equal(foldedLine(s, opts({ delimited: true })), 'spin;main;outer;middle;leaf 17');
	const lost = { ...stack({ user_stack_id: -17, kernel_stack_id: -12 }), user: [], kernel: [] };
	assert.equal(foldedLine(lost, opts({ delimited: true })), 'spin;[Missed User Stack];[Missed Kernel Stack] 17');
	assert.equal(stackIdErr(-14), false);
	assert.equal(stackIdErr(-17), true);
	assert.equal(stackIdErr(0), false);
});

test('multi-line: kernel leaf first, -- with -d, user leaf first, then comm (pid) and count', () => {
	assert.deepEqual(multilineStack(stack(), opts({ delimited: true })), [
		'    sysvec_apic_timer_interrupt',
		'    asm_sysvec_apic_timer_interrupt',
		'    --',
		'    leaf',
		'    middle',
		'    outer',
		'    main',
		'    -                spin (4242)',
		'        17',
		'',
	]);
	const lost = { ...stack({ user_stack_id: -12 }), user: [] };
	assert.deepEqual(multilineStack(lost, opts({ annotations: true })), [
		'    sysvec_apic_timer_interrupt_[k]',
		'    asm_sysvec_apic_timer_interrupt_[k]',
		'    [Missed User Stack]',
		'    -                spin (4242)',
		'        17',
		'',
	]);
});

test('frame names: symbol, else [module], else [unknown]', () => {
	assert.equal(frameName(u('x')), 'x');
	assert.equal(frameName(u('[unknown]', false, '/usr/lib/x86_64-linux-gnu/libc.so.6')), '[libc.so.6]');
	assert.equal(frameName(u('[unknown]', false)), '[unknown]');
});

test('flame graph stacks: root first with kinds', () => {
	const s = stack();
	s.user[0] = { ...s.user[0], kind: 'jit', name: 'JS:*hot' };
	const f = flameStack(s, opts({ delimited: true }));
	assert.deepEqual(f.frames.map((x) => `${x.kind}:${x.name}`), [
		'user:spin', 'user:main', 'user:outer', 'user:middle', 'jit:JS:*hot', 'delimiter:-',
		'kernel:asm_sysvec_apic_timer_interrupt', 'kernel:sysvec_apic_timer_interrupt',
	]);
	assert.equal(f.count, 17);
});

test('identical folded lines merge, hottest last', () => {
	assert.deepEqual(mergeFolded(['a;b 2', 'c 9', 'a;b 3', 'a;c 1']), [['a;c', 1], ['a;b', 5], ['c', 9]]);
});

test('CPU and ID lists', () => {
	assert.deepEqual(parseCpuList('0-3,6,8-9\n'), [0, 1, 2, 3, 6, 8, 9]);
	assert.deepEqual(parseCpuList('0'), [0]);
	assert.deepEqual(parseIdList('12,13', '--pid'), [12, 13]);
	assert.deepEqual(parseIdList(7 as never, '--pid'), [7]);
	assert.throws(() => parseIdList('12,x', '--pid'), /'x' is not a valid ID/);
	assert.throws(() => parseIdList('0', '--pid'), /not a valid ID/);
});

test('usage errors exit 2 before touching the kernel', () => {
	const cases: [string[], RegExp][] = [
		[['-U', '-K'], /-U and -K cannot be used together/],
		[['-p', '1', '-L', '2'], /cannot be used together/],
		[['-F', '99', '-c', '1000'], /cannot be used together/],
		[['-F', '0'], /--frequency 0: must be a positive integer/],
		[['-F', 'abc'], /--frequency: expected a number/],
		[['-c', '-5'], /--count -5/],
		[['-p', 'abc'], /'abc' is not a valid ID/],
		[['-C', '4096'], /--cpu 4096: not an online CPU/],
		[['--stack-storage-size', '0'], /--stack-storage-size 0/],
		[['--flamegraph', 'out.png'], /\.svg or \.html/],
		[['--flamegraph', '/nonexistent-dir/out.svg'], /no such directory \/nonexistent-dir/],
		[['0'], /must be a positive number of seconds/],
		[['5', '6'], /unexpected argument '6'/],
		[['--bogus'], /Unknown argument/],
	];
	for (const [args, re] of cases) {
		const r = runTool(['profile', ...args]);
		assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
		assert.match(r.stderr, re, args.join(' '));
	}
});

test('--help lists the BCC options', () => {
	const r = runTool(['profile', '--help']);
	assert.equal(r.code, 0);
	for (const o of ['--pid', '--tid', '--user-stacks-only', '--kernel-stacks-only', '--frequency', '--count', '--delimited', '--annotations', '--include-idle', '--folded', '--stack-storage-size', '--cpu', '--flamegraph'])
		assert.ok(r.stdout.includes(o), o);
});
