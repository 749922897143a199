// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Not a tool: probes that exercise every attach type of the native addon
 * (uprobe by symbol and by offset, uretprobe, USDT with a cookie, raw_tp,
 * perf_event per CPU) for test/e2e/native.test.ts.
 */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>
#include "selftest.h"

const volatile __u32 targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} samples SEC(".maps");

DEFINE_SCRATCH(scratch, struct st_event)

static __always_inline int report(void *ctx, __u32 kind, __s64 value, __u64 cookie)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct st_event *e;

	if (targ_pid && pid != targ_pid)
		return 0;
	e = scratch_get();
	if (!e)
		return 0;
	e->cookie = cookie;
	e->value = value;
	e->pid = pid;
	e->kind = kind;
	emit(ctx, e, sizeof(*e));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_uprobe, long arg)
{
	return report(ctx, 1, arg, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(on_uretprobe, long ret)
{
	return report(ctx, 2, ret, 0);
}

SEC("usdt")
int on_usdt(struct pt_regs *ctx)
{
	long val = 0;

	bpf_usdt_arg(ctx, 0, &val);
	return report(ctx, 3, val, bpf_usdt_cookie(ctx));
}

SEC("raw_tp/sched_process_exec")
int on_raw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	return report(ctx, 4, 0, 0);
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&samples, &zero);

	if (n)
		*n += 1;
	return 0;
}

/* Rejected by the verifier on purpose (dereferences a scalar): not loaded
 * unless a test turns autoload on, to check the error path. */
SEC("?raw_tp/sched_process_exec")
int bad_prog(void *ctx)
{
	return *(volatile int *)(long)bpf_get_prandom_u32();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
