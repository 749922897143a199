/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by every tool's BPF program: the event channel (ring buffer, or a
 * perf buffer when user space asks for it), per-CPU drop counters, the cgroup
 * filter, and small helpers. Each object gets its own copy of these maps.
 */
#ifndef EBPF_TOOLS_COMMON_BPF_H
#define EBPF_TOOLS_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#ifndef TASK_COMM_LEN
#define TASK_COMM_LEN 16
#endif

/*
 * Event channel. Declared as a ring buffer (5.8+). User space may retype it to
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY before load and set use_perfbuf, for kernels
 * without ring buffers or to exercise that path; the verifier then prunes the
 * ring buffer branch as dead code.
 */
const volatile bool use_perfbuf = false;
/* Wake the reader only once this much data is pending; user space drains on a
 * short timer in between (far fewer wakeups at moderate rates). 0: always. */
const volatile __u32 wakeup_bytes = 0;
/* Filter on a cgroup (v2) hierarchy: cgroup_map[0] holds the cgroup's fd. */
const volatile bool filter_cg = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* Events that could not be delivered (channel full), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1; /* per-CPU slot: no atomics needed */
}

/* True when the current task passes the --cgroup filter. */
static __always_inline bool cgroup_ok(void)
{
	if (!filter_cg)
		return true;
	return bpf_current_task_under_cgroup(&cgroup_map, 0) == 1;
}

static __always_inline __u64 rb_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Copy size bytes at data (usually a per-CPU scratch slot) into the channel.
 * A failure (channel full) is counted, never silent.
 */
static __always_inline void emit(void *ctx, void *data, __u64 size)
{
	long err;

	if (use_perfbuf)
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size);
	else
		err = bpf_ringbuf_output(&events, data, size, rb_flags());
	if (err)
		count_drop();
}

/* The value at key, created from init when absent; NULL when the map is full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Per-CPU scratch space for one event too large for the 512-byte stack. */
#define DEFINE_SCRATCH(name, vtype)                                  \
	struct {                                                    \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);            \
		__uint(max_entries, 1);                             \
		__type(key, __u32);                                 \
		__type(value, vtype);                               \
	} name SEC(".maps");                                        \
	static __always_inline vtype *name##_get(void)              \
	{                                                           \
		__u32 zero = 0;                                     \
		return bpf_map_lookup_elem(&name, &zero);           \
	}

#ifndef MAX_STACK_DEPTH
#define MAX_STACK_DEPTH 127	/* PERF_MAX_STACK_DEPTH */
#endif

/* A STACK_TRACE map for bpf_get_stackid (user space may resize it before load). */
#define DEFINE_STACK_MAP(name, entries)                                  \
	struct {                                                         \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                  \
		__uint(max_entries, entries);                            \
		__uint(key_size, sizeof(__u32));                         \
		__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));     \
	} name SEC(".maps")

/* floor(log2(v)) without loops (a loop costs the verifier far more). */
static __always_inline __u64 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2l(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return log2_u32(hi) + 32;
	return log2_u32(v);
}

#endif /* EBPF_TOOLS_COMMON_BPF_H */
