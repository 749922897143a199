/* SPDX-License-Identifier: MIT */
/* CPU-bound with frame pointers (build with clang -fno-omit-frame-pointer
 * -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls): a known call chain
 * main -> spin_outer -> spin_middle -> spin_leaf for profilers to sample.
 * One op is one call of spin_outer (tens of microseconds of CPU).
 * usage: cpuspin RATE SECS NPROC   (RATE 0: max; SECS 0: until SIGTERM) */
#include "storm.h"

volatile uint64_t sink;

__attribute__((noinline)) static uint64_t spin_leaf(uint64_t x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) static uint64_t spin_middle(uint64_t x)
{
	for (int i = 0; i < 100; i++)
		x = spin_leaf(x);
	return x;
}

__attribute__((noinline)) static int spin_outer(int worker)
{
	sink += spin_middle(sink + worker);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s RATE SECS NPROC\n", argv[0]);
		return 2;
	}
	return run_storm((int)arg_num(argv[3], "nproc"), arg_num(argv[1], "rate"), arg_num(argv[2], "secs"), spin_outer);
}
