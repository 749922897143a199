// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcplife: TCP sessions with their duration and bytes, without kprobes.
 *
 * sock:inet_sock_set_state (tp_btf, typed struct sock *): the session is born
 * at its first state below FIN_WAIT1 and reported at CLOSE with bytes_acked /
 * bytes_received. CLOSE often runs in softirq and the local port is already 0
 * there, so owner and ports come from the shared identity map
 * (tcp_identity.bpf.h), filled in process context (connect, accept, close).
 * All filters, including -m/--min-ms, are applied here in the kernel.
 */
#include "common.bpf.h"
#include "tcp_identity.bpf.h"
#include "tcplife.h"

const volatile __u32 targ_tgid = 0;
const volatile __u16 targ_family = 0;	/* 0: both */
const volatile bool filter_lports = false;
const volatile bool filter_rports = false;
const volatile __u64 min_ns = 0;

DEFINE_SCRATCH(scratch, struct life_event)

/* -L / -D: local and remote ports (host order) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} lports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} rports SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcplife_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct life_event *e;
	struct sk_ident *id;
	struct tcp_sock *tp;
	__u64 now, span;
	__u16 family;

	if (!sk_is_tcp(sk))
		return 0;
	now = bpf_ktime_get_ns();
	id = ident_on_state(sk, oldstate, newstate, now);
	if (!id || newstate != TCP_CLOSE)
		return 0;
	if (!id->birth_ns)	/* born before tracing started */
		goto out;
	span = now - id->birth_ns;
	if (span < min_ns)
		goto out;
	family = sk_family(sk);
	if (targ_family && family != targ_family)
		goto out;
	if (targ_tgid && id->pid != targ_tgid)
		goto out;
	if (filter_cg && !id->cg_ok)
		goto out;
	if (filter_lports && !bpf_map_lookup_elem(&lports, &id->lport))
		goto out;
	if (filter_rports && !bpf_map_lookup_elem(&rports, &id->dport))
		goto out;
	e = scratch_get();
	if (!e)
		goto out;
	e->ts_ns = now;
	e->span_ns = span;
	e->rx_bytes = 0;
	e->tx_bytes = 0;
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (tp) {
		e->rx_bytes = BPF_CORE_READ(tp, bytes_received);
		e->tx_bytes = BPF_CORE_READ(tp, bytes_acked);
	}
	e->family = family;
	sk_addrs(sk, family, e->saddr, e->daddr);
	e->lport = id->lport;
	e->dport = id->dport;
	e->pid = id->pid;
	e->tid = id->tid;
	e->uid = id->uid;
	e->active = id->active;
	e->owned = id->owned;
	__builtin_memcpy(e->comm, id->comm, sizeof(e->comm));
	emit(ctx, e, sizeof(*e));
out:
	ident_forget(sk);
	return 0;
}

DEFINE_ACCEPT_HOOKS()

char LICENSE[] SEC("license") = "Dual BSD/GPL";
