/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

#define ARGS_MAX	8192	/* bytes of argv carried per event (power of 2) */
#define ARG_SIZE	128	/* longest single argument read on the failure path */
#define MAX_ARGS_LIMIT	60	/* most arguments read on the failure path */

/* One exec: the argv strings follow, NUL-separated, args_size bytes in all. */
struct exec_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 ret;		/* 0, or -errno of a failed execve/execveat */
	__u32 args_size;
	__u8 args_truncated;	/* argv longer than was copied */
	__u8 pad[7];
	char comm[16];
	char args[ARGS_MAX];
};

#endif /* EXECSNOOP_H */
