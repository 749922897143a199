// Demangling: expected strings are c++filt's (binutils 2.40), except where
// noted (std::string for Ss, hash-free Rust names as rustc-demangle's {:#}).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demangle } from '../../lib/symbolize/demangle.js';

const CASES: [string, string][] = [
	['_Z3foov', 'foo()'],
	['_Z3fooic', 'foo(int, char)'],
	['_ZN3foo3barEv', 'foo::bar()'],
	['_ZNK3Foo3getEv', 'Foo::get() const'],
	['_ZN3FooC1Ev', 'Foo::Foo()'],
	['_ZN3FooD2Ev', 'Foo::~Foo()'],
	['_ZN3FooC2ERKS_', 'Foo::Foo(Foo const&)'],
	['_ZN3FooplERKS_', 'Foo::operator+(Foo const&)'],
	['_ZNSt6vectorIiSaIiEE9push_backERKi', 'std::vector<int, std::allocator<int> >::push_back(int const&)'],
	['_ZN9__gnu_cxx13new_allocatorIcE8allocateEmPKv', '__gnu_cxx::new_allocator<char>::allocate(unsigned long, void const*)'],
	['_Z3fooIiEvT_', 'void foo<int>(int)'],
	['_Z3maxIiET_S0_S0_', 'int max<int>(int, int)'],
	['_ZN5Eigen6MatrixIdLi3ELi1ELi0ELi3ELi1EEC1Ev', 'Eigen::Matrix<double, 3, 1, 0, 3, 1>::Matrix()'],
	['_ZL6helperv', 'helper()'],
	['_ZN12_GLOBAL__N_14workEv', '(anonymous namespace)::work()'],
	['_ZNSt8ios_base4InitC1Ev', 'std::ios_base::Init::Init()'],
	['_Z1fPFviE', 'f(void (*)(int))'],
	['_Z1fPA10_i', 'f(int (*) [10])'],
	['_Z1fM3FooFviE', 'f(void (Foo::*)(int))'],
	['_ZN3Foo3barEv.cold', 'Foo::bar() [clone .cold]'],
	['_Z5outerv.constprop.0', 'outer() [clone .constprop.0]'],
	['_ZNKSt9basic_iosIcSt11char_traitsIcEEcvbEv', 'std::basic_ios<char, std::char_traits<char> >::operator bool() const'],
	['_ZZ4mainE1x', 'main::x'],
	['_ZTV3Foo', 'vtable for Foo'],
	['_ZN3foo3barIiEEvv', 'void foo::bar<int>()'],
	['_ZSt4endlIcSt11char_traitsIcEERSt13basic_ostreamIT_T0_ES6_', 'std::basic_ostream<char, std::char_traits<char> >& std::endl<char, std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&)'],
	['_ZN2v84base14Relaxed_MemcpyEPVcPVKcm', 'v8::base::Relaxed_Memcpy(char volatile*, char const volatile*, unsigned long)'],
	['_ZN2v88internal16JSDurationFormat19GetAvailableLocalesB5cxx11Ev', 'v8::internal::JSDurationFormat::GetAvailableLocales[abi:cxx11]()'],
	['_ZN2ns5Outer5innerEPKcRKSs', 'ns::Outer::inner(char const*, std::string const&)'],
	// Rust legacy: the hash is left out
	['_ZN3std2rt10lang_start17h1234567890abcdefE', 'std::rt::lang_start'],
	['_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0123456789abcdefE', 'core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>'],
	['_ZN5myapp4main17hdeadbeefdeadbeefE', 'myapp::main'],
	// Rust v0
	['_RNvCs1234_7mycrate3foo', 'mycrate::foo'],
	['_RNvNtCs1234_7mycrate5inner3bar', 'mycrate::inner::bar'],
	['_RINvCs1234_7mycrate4testlhE', 'mycrate::test::<i32, u8>'],
	['_RNvMs_Cs4Cv8Wi1oAIB_7mycrateNtB4_6Struct3new', '<mycrate::Struct>::new'],
	['_RNvXs2_Cs4Cv8Wi1oAIB_7mycrateNtB5_6StructNtNtCs1234_4core3fmt7Display3fmt', '<mycrate::Struct as core::fmt::Display>::fmt'],
	['_RNCNvCs1234_7mycrate4main0B3_', 'mycrate::main::{closure}'],
];

test('C++ and Rust names', () => {
	for (const [m, want] of CASES) assert.equal(demangle(m), want, m);
});

test('not mangled, or beyond the subset: returned unchanged', () => {
	for (const s of ['main', 'leaf', '_start', '_Z', '_ZN', '_ZN3foo', '_Zjunk', '_R', '_RZ', 'JS:*foo', '_Z1fXadL_Z1gvEE']) assert.equal(demangle(s), s);
});

test('hostile input: bounded depth, never throws', () => {
	const nasty = [
		'_Z' + 'P'.repeat(100000) + 'i',
		'_Z1f' + 'P'.repeat(5000) + 'i',
		'_ZN' + '1a'.repeat(3000) + 'E',
		'_Z1fS9999999999_',
		'_Z1fT99999_',
		'_ZN' + '9'.repeat(40) + 'E',
		'_RB_',
		'_RNvB0_3foo',
		'_RINvCs1234_7mycrate4test' + 'I'.repeat(2000),
		'_ZN3std2rt10lang_start17h1234E',
	];
	for (const s of nasty) assert.equal(typeof demangle(s), 'string');
	// far past the recursion limit: handed back as is
	assert.equal(demangle(nasty[1]), nasty[1]);
});
