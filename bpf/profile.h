/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PROFILE_H
#define PROFILE_H

#define MAX_STACK_DEPTH	127	/* PERF_MAX_STACK_DEPTH */
#define MAX_FILTER	1024	/* PIDs or TIDs in a -p / -L list */

/* counts key: one per (process, thread name, user stack, kernel stack) */
struct profile_key {
	__u32 pid;		/* tgid */
	__s32 user_stack_id;	/* < 0: -errno from bpf_get_stackid, or -1 not taken */
	__s32 kernel_stack_id;
	char comm[16];
	__u32 pad;
};

/* per-CPU statistics, index 0 of `stats` */
struct profile_stats {
	__u64 samples;		/* samples that passed the filters */
	__u64 stack_eexist;	/* bpf_get_stackid -EEXIST: hash bucket collision */
	__u64 stack_enomem;	/* bpf_get_stackid -ENOMEM: stack map full */
	__u64 stack_other;	/* other stack errors (not -EFAULT) */
	__u64 counts_full;	/* counts map full: sample not counted */
};

/* first sample of a process: user space snapshots its mappings */
struct profile_seen {
	__u32 pid;
	__u32 pad;
};

#endif /* PROFILE_H */
