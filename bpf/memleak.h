/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef MEMLEAK_H
#define MEMLEAK_H

#define MAX_STACK_DEPTH	127	/* PERF_MAX_STACK_DEPTH */

/* allocator entry points (user space) and kernel allocation kinds */
enum memleak_kind {
	K_MALLOC = 0,
	K_CALLOC,
	K_REALLOC,
	K_MMAP,
	K_POSIX_MEMALIGN,
	K_ALIGNED_ALLOC,
	K_VALLOC,
	K_MEMALIGN,
	K_PVALLOC,
	K_FREE,
	K_MUNMAP,
	K_KMALLOC,
	K_KMEM_CACHE,
	K_PAGE,
	K_PERCPU,
	K_KFREE,
	K_KMEM_CACHE_FREE,
	K_PAGE_FREE,
	K_PERCPU_FREE,
	K_SEEN,		/* event only: first allocation of a process image */
	K_KINDS,
};

typedef __u64 addr64_t;

/* allocs: one per outstanding allocation, keyed by its address */
struct memleak_alloc {
	__u64 size;
	__u64 ts_ns;		/* bpf_ktime_get_ns at the allocation */
	__s32 stack_id;		/* < 0: -errno from bpf_get_stackid */
	__u32 pid;
};

/* combined: outstanding bytes and allocations per stack (--combined-only) */
struct memleak_combined {
	__s64 bytes;
	__s64 count;
};

/* -t: one event per allocation or free call */
struct memleak_event {
	__u64 ts_ns;
	addr64_t addr;
	__u64 size;
	__u32 pid;
	__u32 tid;
	__u8 kind;		/* enum memleak_kind */
	__u8 pad[7];
};

/* per-CPU statistics, index 0 of `stats` */
struct memleak_stats {
	__u64 allocs;		/* allocations recorded */
	__u64 frees;		/* frees of a recorded allocation */
	__u64 failed;		/* allocations that returned NULL / MAP_FAILED (ignored) */
	__u64 allocs_full;	/* allocs map full: allocation not recorded */
	__u64 replaced;		/* an address allocated again without a free seen */
	__u64 no_entry;		/* return without the entry's size (entry missed) */
	__u64 stack_errors;	/* bpf_get_stackid failed (not -EFAULT) */
};

#endif /* MEMLEAK_H */
