// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpconnect: active TCP connects, without kprobes.
 *
 * CLOSE->SYN_SENT (sock:inet_sock_set_state) runs inside connect(), in the
 * caller's process context: the filters are applied there and the caller is
 * remembered in the shared identity map (tcp_identity.bpf.h). The outcome,
 * SYN_SENT->ESTABLISHED or SYN_SENT->CLOSE, usually runs in softirq and takes
 * pid/comm from that map; the source port exists only from then on. With -x,
 * connect() calls that fail before a SYN is sent (no route, no free port...)
 * come from syscalls:sys_{enter,exit}_connect.
 */
#include "common.bpf.h"
#include "tcp_identity.bpf.h"
#include "tcpconnect.h"

#define EINTR		4
#define EISCONN		106
#define EALREADY	114
#define EINPROGRESS	115
#define ERESTARTSYS	512

const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile __u16 targ_family = 0;	/* 0: both */
const volatile bool filter_ports = false;
const volatile bool do_count = false;
const volatile bool trace_failed = false;

DEFINE_SCRATCH(scratch, struct connect_event)

/* -P: destination ports (host order) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct connect_key);
	__type(value, struct connect_count);
} counts SEC(".maps");

/* connect() calls in flight (-x): the fd and sockaddr, by thread */
struct connect_call {
	const void *uaddr;
	__s64 fd;
	__u8 syn_sent;
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct connect_call);
} calls SEC(".maps");

/*
 * -x: a connect that failed after SYN_SENT inside connect() itself (no
 * port left in inet_hash_connect: EADDRNOTAVAIL; a route error) closes the
 * socket with no sk_err: the event waits here, by thread, for connect()'s
 * errno at its exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct connect_event);
} pending SEC(".maps");

/* Filters that need the caller: run in connect()'s process context. */
static __always_inline bool caller_wanted(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (targ_tgid && (pid_tgid >> 32) != targ_tgid)
		return false;
	if (targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	return cgroup_ok();
}

static __always_inline bool dest_wanted(__u16 family, __u16 dport)
{
	if (targ_family && family != targ_family)
		return false;
	if (filter_ports && !bpf_map_lookup_elem(&ports, &dport))
		return false;
	return true;
}

static __always_inline void count(struct connect_event *e)
{
	struct connect_key key = {};
	struct connect_count zero = {}, *c;

	__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	key.family = e->family;
	key.dport = e->dport;
	c = lookup_or_init(&counts, &key, &zero);
	if (!c)
		return;
	if (e->failed)
		__sync_fetch_and_add(&c->failures, 1);
	else
		__sync_fetch_and_add(&c->connects, 1);
}

static __always_inline void deliver(void *ctx, struct connect_event *e)
{
	if (do_count)
		count(e);
	else
		emit(ctx, e, sizeof(*e));
}

static __always_inline void report(void *ctx, const struct sock *sk, struct sk_ident *id,
				   int newstate, __u64 now)
{
	struct connect_event *e = scratch_get();
	struct connect_call *c;
	__u32 tid;

	if (!e)
		return;
	e->ts_ns = now;
	e->lat_ns = id->syn_ns ? now - id->syn_ns : 0;
	e->family = sk_family(sk);
	sk_addrs(sk, e->family, e->saddr, e->daddr);
	e->pid = id->pid;
	e->tid = id->tid;
	e->uid = id->uid;
	__builtin_memcpy(e->comm, id->comm, sizeof(e->comm));
	e->lport = sk_lport(sk) ?: id->lport;
	e->dport = id->dport ?: sk_dport(sk);
	e->failed = newstate == TCP_CLOSE;
	e->err = e->failed ? BPF_CORE_READ(sk, sk_err) : 0;
	if (e->failed && !e->err) {
		/* closed by connect() itself, in this thread: its errno comes at exit */
		tid = (__u32)bpf_get_current_pid_tgid();
		c = bpf_map_lookup_elem(&calls, &tid);
		if (c && c->syn_sent && !bpf_map_update_elem(&pending, &tid, e, BPF_ANY))
			return;
	}
	deliver(ctx, e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcpconnect_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct sk_ident *id;
	__u64 now;

	if (!sk_is_tcp(sk))
		return 0;
	now = bpf_ktime_get_ns();
	id = ident_on_state(sk, oldstate, newstate, now);
	if (!id)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		id->wanted = caller_wanted() && dest_wanted(sk_family(sk), sk_dport(sk));
		if (trace_failed) {
			__u32 tid = (__u32)bpf_get_current_pid_tgid();
			struct connect_call *c = bpf_map_lookup_elem(&calls, &tid);

			if (c)
				c->syn_sent = 1;
		}
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && id->wanted &&
	    (newstate == TCP_ESTABLISHED || (newstate == TCP_CLOSE && trace_failed))) {
		report(ctx, sk, id, newstate, now);
		id->wanted = 0;
	}
	if (newstate == TCP_CLOSE)
		ident_forget(sk);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tcpconnect_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct connect_call c = { .fd = (__s64)ctx->args[0], .uaddr = (const void *)ctx->args[1] };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!caller_wanted())
		return 0;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

/* connect() failed before any SYN: report it with connect()'s errno. */
SEC("tracepoint/syscalls/sys_exit_connect")
int tcpconnect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	long ret = ctx->ret;
	struct connect_event *e;
	struct connect_call *c;
	struct sock *sk;
	__u16 fam = 0;
	__u16 port = 0;

	c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return 0;
	e = bpf_map_lookup_elem(&pending, &tid);
	if (e) {
		/* failed after SYN_SENT inside this call: connect()'s errno is the reason */
		if (ret < 0)
			e->err = -ret;
		deliver(ctx, e);
		bpf_map_delete_elem(&pending, &tid);
		goto out;
	}
	if (ret >= 0 || c->syn_sent || ret == -EINPROGRESS || ret == -EALREADY ||
	    ret == -EISCONN || ret == -EINTR || ret == -ERESTARTSYS)
		goto out;
	sk = sk_from_fd(c->fd);
	if (!sk || !sk_is_tcp(sk))
		goto out;
	e = scratch_get();
	if (!e)
		goto out;
	__builtin_memset(e, 0, sizeof(*e));
	bpf_probe_read_user(&fam, sizeof(fam), c->uaddr);
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)c->uaddr;

		bpf_probe_read_user(&port, sizeof(port), &sin->sin_port);
		bpf_probe_read_user(e->daddr, 4, &sin->sin_addr);
	} else if (fam == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)c->uaddr;

		bpf_probe_read_user(&port, sizeof(port), &sin6->sin6_port);
		bpf_probe_read_user(e->daddr, 16, &sin6->sin6_addr);
	} else {
		goto out;
	}
	port = bpf_ntohs(port);
	if (!dest_wanted(fam, port))
		goto out;
	e->ts_ns = bpf_ktime_get_ns();
	e->family = fam;
	e->dport = port;
	e->lport = sk_lport(sk);
	if (fam == AF_INET)
		BPF_CORE_READ_INTO((__u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
	else
		BPF_CORE_READ_INTO((struct in6_addr *)e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->failed = 2;
	e->err = -ret;
	deliver(ctx, e);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

DEFINE_ACCEPT_HOOKS()

char LICENSE[] SEC("license") = "Dual BSD/GPL";
