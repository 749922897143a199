/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Socket identity for the TCP tools (tcpconnect, tcplife, tcpretrans).
 *
 * Most TCP events (handshake completion, RST, retransmit timers, the final
 * CLOSE) run in softirq, where the current task is whoever happened to be on
 * the CPU. So the owner of every socket is remembered when the kernel is known
 * to run in the owner's process context, keyed by the struct sock pointer:
 *   - CLOSE->SYN_SENT inside connect() (active opens);
 *   - accept()/accept4() exit: the returned fd's socket (passive opens);
 *   - the transitions only close()/shutdown() make, always in the caller's
 *     process context: ->FIN_WAIT1 (we close first) and CLOSE_WAIT->LAST_ACK
 *     (the peer closed first), when the owner is still unknown, e.g. for
 *     sockets opened before tracing started.
 * (Telling task from softirq context by the preempt count would need the
 * per-CPU __preempt_count ksym, which kernels without CONFIG_KALLSYMS_ALL
 * cannot resolve, so only transitions known to run in process context count.)
 * The entry also keeps what the kernel has already cleared at CLOSE (the
 * local port) and the birth time of the session. It is removed at CLOSE.
 */
#ifndef EBPF_TOOLS_TCP_IDENTITY_BPF_H
#define EBPF_TOOLS_TCP_IDENTITY_BPF_H

#include "common.bpf.h"

#ifndef AF_INET
#define AF_INET		2
#define AF_INET6	10
#endif

struct sk_ident {
	__u64 birth_ns;	/* first state below FIN_WAIT1 (0: not seen) */
	__u64 syn_ns;	/* CLOSE->SYN_SENT (active opens) */
	__u32 pid;	/* owner's tgid */
	__u32 tid;
	__u32 uid;
	__u16 lport;	/* host order; remembered, as it reads 0 at CLOSE */
	__u16 dport;	/* host order */
	char comm[TASK_COMM_LEN];
	__u8 owned;	/* pid/tid/uid/comm are set */
	__u8 active;	/* opened by connect() */
	__u8 cg_ok;	/* owner passed the --cgroup filter */
	__u8 wanted;	/* free for the tool: e.g. passed its filters */
	__u8 pad[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);		/* struct sock * */
	__type(value, struct sk_ident);
} sk_idents SEC(".maps");

static __always_inline bool sk_is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family != AF_INET && family != AF_INET6)
		return false;
	/* a bitfield before 5.6: the probed read handles both layouts */
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline __u16 sk_family(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_family);
}

/*
 * Local and remote address as 16 bytes each (IPv4 in the first four, the
 * rest zeroed: events are built in per-CPU scratch slots that may still hold
 * an earlier IPv6 event's bytes, and the -c count keys are copied from them).
 */
static __always_inline void sk_addrs(const struct sock *sk, __u16 family, __u8 *saddr, __u8 *daddr)
{
	if (family == AF_INET) {
		__builtin_memset(saddr, 0, 16);
		__builtin_memset(daddr, 0, 16);
		BPF_CORE_READ_INTO((__u32 *)saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)daddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline __u16 sk_lport(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline __u16 sk_dport(const struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline struct sk_ident *ident_get(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	return bpf_map_lookup_elem(&sk_idents, &key);
}

static __always_inline struct sk_ident *ident_get_or_new(const struct sock *sk)
{
	struct sk_ident zero = {};
	__u64 key = (__u64)sk;

	return lookup_or_init(&sk_idents, &key, &zero);
}

static __always_inline void ident_forget(const struct sock *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&sk_idents, &key);
}

/* The current task owns the socket (call only in its process context). */
static __always_inline void ident_own(struct sk_ident *id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	id->pid = pid_tgid >> 32;
	id->tid = (__u32)pid_tgid;
	id->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(id->comm, sizeof(id->comm));
	id->cg_ok = cgroup_ok();
	id->owned = 1;
}

/*
 * Bookkeeping for every inet_sock_set_state of a TCP socket. Returns the
 * socket's entry (NULL at a CLOSE of a socket never seen, or when the map is
 * full of sockets in use). The caller removes the
 * entry with ident_forget() after handling newstate == TCP_CLOSE.
 */
static __always_inline struct sk_ident *
ident_on_state(const struct sock *sk, int oldstate, int newstate, __u64 now)
{
	struct sk_ident *id;
	__u16 port;

	/* a socket first seen at its CLOSE has nothing to remember */
	id = newstate == TCP_CLOSE ? ident_get(sk) : ident_get_or_new(sk);
	if (!id)
		return NULL;
	if (newstate < TCP_FIN_WAIT1 && !id->birth_ns)
		id->birth_ns = now;
	if (newstate == TCP_SYN_SENT) {
		/* inside connect() (or a fast-open sendmsg): the caller owns it */
		id->syn_ns = now;
		id->active = 1;
		ident_own(id);
	} else if (!id->owned && (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK)) {
		ident_own(id);
	}
	if (newstate != TCP_CLOSE) {
		port = sk_lport(sk);
		if (port)
			id->lport = port;
		port = sk_dport(sk);
		if (port)
			id->dport = port;
	}
	return id;
}

/* The socket behind a file descriptor of the current task, or NULL. */
static __always_inline struct sock *sk_from_fd(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file **fds, *f = NULL;
	struct socket *sock;
	unsigned int max;

	if (fd < 0)
		return NULL;
	max = BPF_CORE_READ(t, files, fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(t, files, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	/* a socket's file points back at it; anything else does not */
	if (!sock || BPF_CORE_READ(sock, file) != f)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* accept()/accept4() returned fd in the acceptor's process context. */
static __always_inline void ident_on_accept(long fd)
{
	struct sk_ident *id;
	struct sock *sk;

	if (fd < 0)
		return;
	sk = sk_from_fd(fd);
	if (!sk || !sk_is_tcp(sk))
		return;
	id = ident_get_or_new(sk);
	if (!id)
		return;
	ident_own(id);
	if (!id->lport)
		id->lport = sk_lport(sk);
	if (!id->dport)
		id->dport = sk_dport(sk);
}

/* Programs every TCP tool attaches to keep passive sockets' owners. */
#define DEFINE_ACCEPT_HOOKS()							\
SEC("tracepoint/syscalls/sys_exit_accept4")					\
int ident_exit_accept4(struct trace_event_raw_sys_exit *ctx)			\
{										\
	ident_on_accept(ctx->ret);						\
	return 0;								\
}										\
SEC("tracepoint/syscalls/sys_exit_accept")					\
int ident_exit_accept(struct trace_event_raw_sys_exit *ctx)			\
{										\
	ident_on_accept(ctx->ret);						\
	return 0;								\
}

#endif /* EBPF_TOOLS_TCP_IDENTITY_BPF_H */
