// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpretrans: TCP retransmits, without kprobes.
 *
 * tcp:tcp_retransmit_skb as tp_btf with typed arguments (the classic
 * tracepoint's context struct was renamed from trace_event_raw_tcp_event_sk_skb
 * to trace_event_raw_tcp_retransmit_skb when it gained the err argument).
 * Retransmits run from timers and ACK processing in softirq, so the PID comes
 * from the shared identity map (tcp_identity.bpf.h), not from the current
 * task. Each event carries the segment count the kernel adds to RetransSegs,
 * and, where the tracepoint has it the error of a failed attempt.
 * Tail loss probes (-l) need a kprobe on tcp_send_loss_probe; user space
 * attaches it only where that really works.
 */
#include "common.bpf.h"
#include "tcp_identity.bpf.h"
#include "tcpretrans.h"

const volatile __u16 targ_family = 0;	/* 0: both */
const volatile bool do_count = false;

DEFINE_SCRATCH(scratch, struct retrans_event)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct retrans_key);
	__type(value, struct retrans_count);
} counts SEC(".maps");

static __always_inline void count(struct retrans_event *e)
{
	struct retrans_key key = {};
	struct retrans_count zero = {}, *c;

	__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	key.family = e->family;
	key.lport = e->lport;
	key.dport = e->dport;
	c = lookup_or_init(&counts, &key, &zero);
	if (!c)
		return;
	__sync_fetch_and_add(&c->retransmits, 1);
	__sync_fetch_and_add(&c->segs, e->segs);
}

static __always_inline int trace(void *ctx, const struct sock *sk, const struct sk_buff *skb, __u8 type, int err)
{
	struct retrans_event *e;
	struct sk_ident *id;
	struct tcp_skb_cb *cb;
	__u16 family;

	family = sk_family(sk);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (targ_family && family != targ_family)
		return 0;
	id = ident_get(sk);
	if (filter_cg && (!id || !id->cg_ok))
		return 0;
	e = scratch_get();
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->family = family;
	sk_addrs(sk, family, e->saddr, e->daddr);
	e->lport = sk_lport(sk);
	e->dport = sk_dport(sk);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->type = type;
	e->err = err;
	e->seq = 0;
	e->segs = 1;
	if (skb) {
		cb = (struct tcp_skb_cb *)&skb->cb[0];
		e->seq = BPF_CORE_READ(cb, seq);
		e->segs = BPF_CORE_READ(cb, tcp_gso_segs) ?: 1;
	}
	if (id && id->owned) {
		e->pid = id->pid;
		__builtin_memcpy(e->comm, id->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		e->comm[0] = 0;
	}
	if (do_count)
		count(e);
	else
		emit(ctx, e, sizeof(*e));
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcpretrans_skb, const struct sock *sk, const struct sk_buff *skb)
{
	/* newer kernels: the tracepoint also fires for failed attempts (err != 0) */
	int err = 0;

	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err))
		err = (int)ctx[2];
	return trace(ctx, sk, skb, RETRANS_TYPE_RETRANSMIT, err);
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(tcpretrans_tlp, struct sock *sk)
{
	return trace(ctx, sk, NULL, RETRANS_TYPE_TLP, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcpretrans_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (!sk_is_tcp(sk))
		return 0;
	ident_on_state(sk, oldstate, newstate, bpf_ktime_get_ns());
	if (newstate == TCP_CLOSE)
		ident_forget(sk);
	return 0;
}

DEFINE_ACCEPT_HOOKS()

char LICENSE[] SEC("license") = "Dual BSD/GPL";
