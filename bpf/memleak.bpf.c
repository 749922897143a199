// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * memleak: outstanding allocations by stack.
 *
 * User space: uprobes on the allocator's entry points stash the requested
 * size per (call kind, thread); the uretprobes record the returned address
 * with its size, time and stack (taken at the return, where the frame chain
 * starts at the caller). free/munmap forget an address. Kernel: the kmem,
 * page and percpu tracepoints do the same in one step.
 *
 * Two views are kept: `allocs` (one entry per outstanding address, for the
 * age filter and -a) and `combined` (outstanding bytes and count per stack,
 * for --combined-only and very busy allocators). An address allocated again
 * without a free seen has its old entry replaced and taken out of
 * `combined` (the free was missed), so neither view drifts.
 */
#include "common.bpf.h"
#include "memleak.h"

#define EFAULT	14

const volatile __u32 target_pid = 0;	/* 0: every process the probes fire in */
const volatile __u32 self_pid = 0;	/* kernel mode: leave out memleak's own allocations */
const volatile __u64 min_size = 0;
const volatile __u64 max_size = ~0ULL;
const volatile __u32 sample_every = 1;	/* record one allocation in N */
const volatile bool trace_calls = false;	/* -t: one event per call */
const volatile bool kernel_mode = false;	/* stacks from the kernel */
/*
 * -c: stop the command at the first allocation of each image it runs until
 * user space has read its mappings (a short command would be gone before
 * its stacks could be symbolized); user space sends SIGCONT.
 */
const volatile bool stop_on_seen = false;

#define SIGSTOP	19

DEFINE_STACK_MAP(stack_traces, 10240);

/*
 * Preallocated (as are all maps here): an update must never allocate, or in
 * kernel mode the map's own kmalloc would be traced (and recorded) from
 * inside the programs. Sized by user space (--hash-storage-size).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, __u64);
	__type(value, struct memleak_alloc);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __s32);
	__type(value, struct memleak_combined);
} combined SEC(".maps");

/* an allocator call in progress, keyed by (kind << 32 | tid): nested allocators keep their own */
struct pending {
	__u64 size;
	__u64 ptr;	/* realloc: the old block; posix_memalign: where the address goes */
	__u64 skip;	/* filtered by -z/-Z or not sampled: do not record */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pending);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memleak_stats);
} stats SEC(".maps");

/* processes (images) user space was told about, so it can snapshot their mappings */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen SEC(".maps");

/* keeps struct memleak_event in the BTF for the decoder generator */
struct memleak_event memleak_event_btf = {};

static __always_inline struct memleak_stats *stat(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline bool traced(void)
{
	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return false;
	return cgroup_ok();
}

static __always_inline void trace_event(void *ctx, __u8 kind, __u64 addr, __u64 size)
{
	struct memleak_event ev = {};
	__u64 id = bpf_get_current_pid_tgid();

	if (!trace_calls)
		return;
	ev.ts_ns = bpf_ktime_get_ns();
	ev.addr = addr;
	ev.size = size;
	ev.pid = id >> 32;
	ev.tid = (__u32)id;
	ev.kind = kind;
	emit(ctx, &ev, sizeof(ev));
}

static __always_inline void combined_add(__s32 stack_id, __s64 bytes, __s64 count)
{
	struct memleak_combined init = {}, *c;

	c = lookup_or_init(&combined, &stack_id, &init);
	if (!c)
		return;
	__sync_fetch_and_add(&c->bytes, bytes);
	__sync_fetch_and_add(&c->count, count);
}

/* Forget an outstanding allocation; true when it was recorded. */
static __always_inline bool forget(void *ctx, __u8 kind, __u64 key, __u64 addr)
{
	struct memleak_alloc *a = bpf_map_lookup_elem(&allocs, &key);
	struct memleak_stats *st;
	__u64 size;

	if (!a)
		return false;
	size = a->size;
	combined_add(a->stack_id, -(__s64)size, -1);
	bpf_map_delete_elem(&allocs, &key);
	st = stat();
	if (st)
		st->frees++;
	trace_event(ctx, kind, addr, size);
	return true;
}

static __always_inline bool sampled(__u64 size)
{
	if (size < min_size || size > max_size)
		return false;
	return sample_every <= 1 || bpf_get_prandom_u32() % sample_every == 0;
}

/* Record an allocation of size bytes at addr (map key: key). */
static __always_inline void record(void *ctx, __u8 kind, __u64 key, __u64 addr, __u64 size)
{
	struct memleak_alloc a = {}, *old;
	struct memleak_stats *st = stat();

	a.size = size;
	a.ts_ns = bpf_ktime_get_ns();
	a.pid = bpf_get_current_pid_tgid() >> 32;
	a.stack_id = bpf_get_stackid(ctx, &stack_traces, kernel_mode ? 0 : BPF_F_USER_STACK);
	if (a.stack_id < 0 && a.stack_id != -EFAULT && st)
		st->stack_errors++;
	old = bpf_map_lookup_elem(&allocs, &key);
	if (old) {
		/* allocated again without a free we saw: the old one is gone */
		combined_add(old->stack_id, -(__s64)old->size, -1);
		if (st)
			st->replaced++;
	}
	if (bpf_map_update_elem(&allocs, &key, &a, BPF_ANY)) {
		if (old)
			bpf_map_delete_elem(&allocs, &key);
		if (st)
			st->allocs_full++;
		return;
	}
	combined_add(a.stack_id, size, 1);
	if (st)
		st->allocs++;
	trace_event(ctx, kind, addr, size);
	if (!kernel_mode) {
		__u8 yes = 1;

		/* the first allocation of this image: its libraries are mapped by now */
		if (bpf_map_update_elem(&seen, &a.pid, &yes, BPF_NOEXIST) == 0) {
			struct memleak_event ev = { .pid = a.pid, .kind = K_SEEN };

			/* queued before user space can answer: its SIGCONT also cancels a stop not yet taken */
			if (stop_on_seen)
				bpf_send_signal(SIGSTOP);
			emit(ctx, &ev, sizeof(ev));
		}
	}
}

/* ---- user space allocators ---- */

static __always_inline __u64 call_key(__u8 kind)
{
	return ((__u64)kind << 32) | (__u32)bpf_get_current_pid_tgid();
}

/*
 * Inside another allocator call of this thread (malloc mapping a chunk or a
 * new arena, realloc(NULL, n) tail-calling malloc): the outer call, the one
 * the program made, records the block; the inner one is not recorded again.
 */
static __always_inline bool in_allocator(__u8 except)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	for (__u64 k = K_MALLOC; k <= K_PVALLOC; k++) {
		__u64 key = (k << 32) | tid;

		if (k != except && bpf_map_lookup_elem(&calls, &key))
			return true;
	}
	return false;
}

static __always_inline int enter(__u8 kind, __u64 size, __u64 ptr)
{
	struct pending p = { .size = size, .ptr = ptr };
	__u64 key = call_key(kind);

	if (!traced() || in_allocator(kind))
		return 0;
	p.skip = !sampled(size);
	bpf_map_update_elem(&calls, &key, &p, BPF_ANY);
	return 0;
}

static __always_inline int leave(void *ctx, __u8 kind, __u64 addr, bool failed)
{
	__u64 key = call_key(kind);
	struct pending *p = bpf_map_lookup_elem(&calls, &key);
	struct memleak_stats *st;
	__u64 size, skip;

	if (!p) {
		if (traced() && !in_allocator(kind) && (st = stat()))
			st->no_entry++;
		return 0;
	}
	size = p->size;
	skip = p->skip;
	bpf_map_delete_elem(&calls, &key);
	if (failed) {
		if ((st = stat()))
			st->failed++;
		return 0;
	}
	if (!skip)
		record(ctx, kind, addr, addr, size);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, size_t size)
{
	return enter(K_MALLOC, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(malloc_exit, void *ret)
{
	return leave(ctx, K_MALLOC, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, size_t nmemb, size_t size)
{
	return enter(K_CALLOC, (__u64)nmemb * size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(calloc_exit, void *ret)
{
	return leave(ctx, K_CALLOC, (__u64)ret, !ret);
}

/*
 * realloc frees the old block only when it succeeds (or when size is 0):
 * the old pointer waits for the return.
 */
SEC("uprobe")
int BPF_KPROBE(realloc_enter, void *ptr, size_t size)
{
	return enter(K_REALLOC, size, (__u64)ptr);
}

SEC("uretprobe")
int BPF_KRETPROBE(realloc_exit, void *ret)
{
	__u64 key = call_key(K_REALLOC);
	struct pending *p = bpf_map_lookup_elem(&calls, &key);

	if (p && p->ptr && (ret || p->size == 0))
		forget(ctx, K_FREE, p->ptr, p->ptr);
	if (p && p->size == 0 && !ret) {
		/* realloc(p, 0): a free, not a failure */
		bpf_map_delete_elem(&calls, &key);
		return 0;
	}
	return leave(ctx, K_REALLOC, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(mmap_enter, void *addr, size_t length)
{
	return enter(K_MMAP, length, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(mmap_exit, void *ret)
{
	return leave(ctx, K_MMAP, (__u64)ret, (long)ret == -1);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, void **memptr, size_t alignment, size_t size)
{
	return enter(K_POSIX_MEMALIGN, size, (__u64)memptr);
}

SEC("uretprobe")
int BPF_KRETPROBE(posix_memalign_exit, int ret)
{
	__u64 key = call_key(K_POSIX_MEMALIGN);
	struct pending *p = bpf_map_lookup_elem(&calls, &key);
	__u64 addr = 0;

	if (p && ret == 0)
		bpf_probe_read_user(&addr, sizeof(addr), (void *)p->ptr);
	return leave(ctx, K_POSIX_MEMALIGN, addr, ret != 0 || !addr);
}

SEC("uprobe")
int BPF_KPROBE(aligned_alloc_enter, size_t alignment, size_t size)
{
	return enter(K_ALIGNED_ALLOC, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(aligned_alloc_exit, void *ret)
{
	return leave(ctx, K_ALIGNED_ALLOC, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(valloc_enter, size_t size)
{
	return enter(K_VALLOC, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(valloc_exit, void *ret)
{
	return leave(ctx, K_VALLOC, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(memalign_enter, size_t alignment, size_t size)
{
	return enter(K_MEMALIGN, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(memalign_exit, void *ret)
{
	return leave(ctx, K_MEMALIGN, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(pvalloc_enter, size_t size)
{
	return enter(K_PVALLOC, size, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(pvalloc_exit, void *ret)
{
	return leave(ctx, K_PVALLOC, (__u64)ret, !ret);
}

SEC("uprobe")
int BPF_KPROBE(free_enter, void *ptr)
{
	if (ptr && traced())
		forget(ctx, K_FREE, (__u64)ptr, (__u64)ptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(munmap_enter, void *addr)
{
	if (addr && traced())
		forget(ctx, K_MUNMAP, (__u64)addr, (__u64)addr);
	return 0;
}

/*
 * A traced process replaced its image (exec): its heap is gone, and so are
 * the allocations recorded for it. Linux 5.13+ (bpf_for_each_map_elem);
 * without it the program is not loaded and such entries stay (rare: the
 * target of -p exec'ing; -c starts its command through one exec).
 */
static long drop_pid(struct bpf_map *map, __u64 *key, struct memleak_alloc *a, __u32 *pid)
{
	if (a->pid == *pid) {
		combined_add(a->stack_id, -(__s64)a->size, -1);
		bpf_map_delete_elem(&allocs, key);
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (!target_pid || pid != target_pid)
		return 0;
	bpf_map_delete_elem(&seen, &pid);
	bpf_for_each_map_elem(&allocs, drop_pid, &pid, 0);
	return 0;
}

/* ---- kernel allocations (classic tracepoints; CO-RE for older layouts) ---- */

/* page frame numbers (or struct page pointers) and percpu pointers are XORed with a tag in the key's top byte: never equal to a kmalloc'd pointer */
#define PAGE_TAG	(0xa0ULL << 56)
#define PERCPU_TAG	(0xb0ULL << 56)
#define PAGE_SIZE_BYTES	4096ULL

/* before Linux 6.1, kmalloc and kmem_cache_alloc shared one layout, and kfree/kmem_cache_free another */
struct trace_event_raw_kmem_alloc___old {
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmalloc___new {
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_cache_alloc___new {
	const void *ptr;
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_free___old {
	const void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_kfree___new {
	const void *ptr;
} __attribute__((preserve_access_index));

struct trace_event_raw_kmem_cache_free___new {
	const void *ptr;
} __attribute__((preserve_access_index));

static __always_inline int kalloc(void *ctx, __u8 kind, __u64 key, __u64 addr, __u64 size)
{
	if (!addr || (bpf_get_current_pid_tgid() >> 32) == self_pid || !traced() || !sampled(size))
		return 0;
	record(ctx, kind, key, addr, size);
	return 0;
}

static __always_inline int kfree_addr(void *ctx, __u8 kind, __u64 key, __u64 addr)
{
	if (addr)
		forget(ctx, kind, key, addr);
	return 0;
}

SEC("tracepoint/kmem/kmalloc")
int tp_kmalloc(void *ctx)
{
	__u64 ptr, size;

	if (bpf_core_type_exists(struct trace_event_raw_kmalloc___new)) {
		struct trace_event_raw_kmalloc___new *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
		size = BPF_CORE_READ(a, bytes_alloc);
	} else {
		struct trace_event_raw_kmem_alloc___old *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
		size = BPF_CORE_READ(a, bytes_alloc);
	}
	return kalloc(ctx, K_KMALLOC, ptr, ptr, size);
}

SEC("tracepoint/kmem/kmem_cache_alloc")
int tp_kmem_cache_alloc(void *ctx)
{
	__u64 ptr, size;

	if (bpf_core_type_exists(struct trace_event_raw_kmem_cache_alloc___new)) {
		struct trace_event_raw_kmem_cache_alloc___new *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
		size = BPF_CORE_READ(a, bytes_alloc);
	} else {
		struct trace_event_raw_kmem_alloc___old *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
		size = BPF_CORE_READ(a, bytes_alloc);
	}
	return kalloc(ctx, K_KMEM_CACHE, ptr, ptr, size);
}

SEC("tracepoint/kmem/kfree")
int tp_kfree(void *ctx)
{
	__u64 ptr;

	if (bpf_core_type_exists(struct trace_event_raw_kfree___new)) {
		struct trace_event_raw_kfree___new *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
	} else {
		struct trace_event_raw_kmem_free___old *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
	}
	return kfree_addr(ctx, K_KFREE, ptr, ptr);
}

SEC("tracepoint/kmem/kmem_cache_free")
int tp_kmem_cache_free(void *ctx)
{
	__u64 ptr;

	if (bpf_core_type_exists(struct trace_event_raw_kmem_cache_free___new)) {
		struct trace_event_raw_kmem_cache_free___new *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
	} else {
		struct trace_event_raw_kmem_free___old *a = ctx;

		ptr = (__u64)BPF_CORE_READ(a, ptr);
	}
	return kfree_addr(ctx, K_KMEM_CACHE_FREE, ptr, ptr);
}

SEC("tracepoint/kmem/mm_page_alloc")
int tp_page_alloc(struct trace_event_raw_mm_page_alloc *a)
{
	__u64 pfn = BPF_CORE_READ(a, pfn);
	__u32 order = BPF_CORE_READ(a, order);

	return kalloc(a, K_PAGE, pfn ^ PAGE_TAG, pfn, PAGE_SIZE_BYTES << (order & 31));
}

SEC("tracepoint/kmem/mm_page_free")
int tp_page_free(struct trace_event_raw_mm_page_free *a)
{
	__u64 pfn = BPF_CORE_READ(a, pfn);

	return kfree_addr(a, K_PAGE_FREE, pfn ^ PAGE_TAG, pfn);
}

/* order-0 pages freed in a batch (BCC does not see these) */
SEC("tracepoint/kmem/mm_page_free_batched")
int tp_page_free_batched(struct trace_event_raw_mm_page_free_batched *a)
{
	__u64 pfn = BPF_CORE_READ(a, pfn);

	return kfree_addr(a, K_PAGE_FREE, pfn ^ PAGE_TAG, pfn);
}

SEC("tracepoint/percpu/percpu_alloc_percpu")
int tp_percpu_alloc(struct trace_event_raw_percpu_alloc_percpu *a)
{
	__u64 ptr = (__u64)BPF_CORE_READ(a, ptr);
	__u64 size = BPF_CORE_READ(a, size);

	if (bpf_core_field_exists(a->bytes_alloc))
		size = BPF_CORE_READ(a, bytes_alloc);
	return kalloc(a, K_PERCPU, ptr ^ PERCPU_TAG, ptr, size);
}

SEC("tracepoint/percpu/percpu_free_percpu")
int tp_percpu_free(struct trace_event_raw_percpu_free_percpu *a)
{
	__u64 ptr = (__u64)BPF_CORE_READ(a, ptr);

	return kfree_addr(a, K_PERCPU_FREE, ptr ^ PERCPU_TAG, ptr);
}

/*
 * The same through BTF-typed tracepoints, where tracefs cannot be mounted.
 * Arguments by position (the first ones have kept their place since Linux
 * 4.x); a page is keyed by its struct page pointer here (alloc and free
 * alike) instead of its frame number.
 */
struct kmem_cache___x {
	unsigned int size;
} __attribute__((preserve_access_index));

/* argument i as a number: typed pointers (struct page *) allow no arithmetic */
static __always_inline __u64 arg_value(__u64 *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

SEC("tp_btf/kmalloc")
int btf_kmalloc(__u64 *ctx)
{
	/* (call_site, ptr, bytes_req, bytes_alloc, ...) */
	__u64 ptr = arg_value(ctx, 1);

	return kalloc(ctx, K_KMALLOC, ptr, ptr, ctx[3]);
}

SEC("tp_btf/kmem_cache_alloc")
int btf_kmem_cache_alloc(__u64 *ctx)
{
	__u64 size;

	/* 6.1+: (call_site, ptr, struct kmem_cache *s, ...); before: (call_site, ptr, bytes_req, bytes_alloc, ...) */
	if (bpf_core_type_exists(struct trace_event_raw_kmem_cache_alloc___new))
		size = BPF_CORE_READ((struct kmem_cache___x *)ctx[2], size);
	else
		size = ctx[3];
	__u64 ptr = arg_value(ctx, 1);

	return kalloc(ctx, K_KMEM_CACHE, ptr, ptr, size);
}

SEC("tp_btf/kfree")
int btf_kfree(__u64 *ctx)
{
	__u64 ptr = arg_value(ctx, 1);

	return kfree_addr(ctx, K_KFREE, ptr, ptr);
}

SEC("tp_btf/kmem_cache_free")
int btf_kmem_cache_free(__u64 *ctx)
{
	__u64 ptr = arg_value(ctx, 1);

	return kfree_addr(ctx, K_KMEM_CACHE_FREE, ptr, ptr);
}

SEC("tp_btf/mm_page_alloc")
int btf_page_alloc(__u64 *ctx)
{
	/* (struct page *page, unsigned int order, ...) */
	__u64 page = arg_value(ctx, 0);

	return kalloc(ctx, K_PAGE, page ^ PAGE_TAG, page, PAGE_SIZE_BYTES << (ctx[1] & 31));
}

SEC("tp_btf/mm_page_free")
int btf_page_free(__u64 *ctx)
{
	__u64 page = arg_value(ctx, 0);

	return kfree_addr(ctx, K_PAGE_FREE, page ^ PAGE_TAG, page);
}

SEC("tp_btf/mm_page_free_batched")
int btf_page_free_batched(__u64 *ctx)
{
	__u64 page = arg_value(ctx, 0);

	return kfree_addr(ctx, K_PAGE_FREE, page ^ PAGE_TAG, page);
}

/* 6.0+: (call_site, reserved, is_atomic, size, align, base_addr, off, ptr, bytes_alloc, gfp_flags) */
SEC("tp_btf/percpu_alloc_percpu")
int btf_percpu_alloc(__u64 *ctx)
{
	__u64 ptr = arg_value(ctx, 7);

	return kalloc(ctx, K_PERCPU, ptr ^ PERCPU_TAG, ptr, ctx[8]);
}

/* (base_addr, off, ptr) */
SEC("tp_btf/percpu_free_percpu")
int btf_percpu_free(__u64 *ctx)
{
	__u64 ptr = arg_value(ctx, 2);

	return kfree_addr(ctx, K_PERCPU_FREE, ptr ^ PERCPU_TAG, ptr);
}

char LICENSE[] SEC("license") = "GPL";
