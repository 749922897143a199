// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * profile: sample stacks on a software CPU clock perf event (one per CPU).
 *
 * Counts are aggregated in the kernel, keyed by process, thread name and the
 * ids of its user and kernel stacks in a STACK_TRACE map; user space reads
 * both maps once at the end. The first sample of each process emits a small
 * event so user space can snapshot its memory mappings (and open its
 * binaries) while the process still exists.
 */
#include "common.bpf.h"
#include "profile.h"

#define EFAULT	14
#define ENOMEM	12
#define EEXIST	17

const volatile bool include_idle = false;
const volatile bool filter_pid = false;
const volatile bool filter_tid = false;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;

DEFINE_STACK_MAP(stack_traces, 16384);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 81920);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

/* -p / -L: the PIDs or TIDs to sample */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FILTER);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* processes already announced to user space */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile_stats);
} stats SEC(".maps");

/* keeps struct profile_seen in the BTF for the decoder generator */
struct profile_seen profile_seen_btf = {};

static __always_inline void count_stack_err(struct profile_stats *st, long id)
{
	if (id >= 0 || id == -EFAULT || !st)
		return;
	if (id == -EEXIST)
		st->stack_eexist++;
	else if (id == -ENOMEM)
		st->stack_enomem++;
	else
		st->stack_other++;
}

SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, zero = 0;
	struct profile_key key = {};
	struct profile_stats *st;
	__u64 one = 1, *n;
	__u8 yes = 1;

	if (!include_idle && tid == 0)
		return 0;
	if (filter_pid && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	if (filter_tid && !bpf_map_lookup_elem(&targets, &tid))
		return 0;
	if (!cgroup_ok())
		return 0;

	st = bpf_map_lookup_elem(&stats, &zero);
	if (st)
		st->samples++;
	key.pid = tgid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.user_stack_id = -1;
	key.kernel_stack_id = -1;
	if (user_stacks) {
		key.user_stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
		count_stack_err(st, key.user_stack_id);
	}
	if (kernel_stacks) {
		key.kernel_stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
		count_stack_err(st, key.kernel_stack_id);
	}

	n = bpf_map_lookup_elem(&counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		/* raced with another CPU (EEXIST) or the map is full */
		n = bpf_map_lookup_elem(&counts, &key);
		if (n)
			__sync_fetch_and_add(n, 1);
		else if (st)
			st->counts_full++;
	}

	if (tgid && bpf_map_update_elem(&seen, &tgid, &yes, BPF_NOEXIST) == 0) {
		struct profile_seen ev = { .pid = tgid };

		emit(ctx, &ev, sizeof(ev));
	}
	return 0;
}

/*
 * A process that execs gets a new image: forget it was seen so its next
 * sample asks user space for a fresh snapshot of its mappings.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
