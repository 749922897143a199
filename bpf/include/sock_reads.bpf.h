/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A read's buffer is only filled at its return: the entry of read, recvfrom,
 * readv or recvmsg keeps the buffer (the first iovec's) per thread, and the
 * exit takes it back. Shared by the tools that look at what sockets carry
 * (httptrace, mysqlslow's wire mode).
 */
#ifndef EBPF_TOOLS_SOCK_READS_BPF_H
#define EBPF_TOOLS_SOCK_READS_BPF_H

struct pending_read {
	__u64 buf;	/* the buffer, or the first iovec's base */
	__u64 cap;	/* bytes that buffer holds (~0: as many as the call returns) */
	__s32 fd;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_read);
} reads SEC(".maps");

static __always_inline void read_keep(long fd, const void *buf, __u64 cap)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_read p = { .buf = (__u64)buf, .cap = cap, .fd = fd };

	bpf_map_update_elem(&reads, &tid, &p, BPF_ANY);
}

/* The thread's read in progress, forgotten; false when there is none. */
static __always_inline bool read_take(struct pending_read *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_read *p = bpf_map_lookup_elem(&reads, &tid);

	if (!p)
		return false;
	*out = *p;
	bpf_map_delete_elem(&reads, &tid);
	return true;
}

static __always_inline struct iovec first_iov(const void *iov)
{
	struct iovec v = {};

	bpf_probe_read_user(&v, sizeof(v), iov);
	return v;
}

static __always_inline struct iovec msg_iov(const struct user_msghdr *msg)
{
	struct iovec *iov = NULL;

	bpf_probe_read_user(&iov, sizeof(iov), &msg->msg_iov);
	return first_iov(iov);
}

#endif /* EBPF_TOOLS_SOCK_READS_BPF_H */
