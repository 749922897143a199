/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPRETRANS_H
#define TCPRETRANS_H

#define RETRANS_TYPE_RETRANSMIT	1	/* R> */
#define RETRANS_TYPE_TLP	2	/* L> tail loss probe */

/* One retransmitted skb (or a tail loss probe with -l). */
struct retrans_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u8 saddr[16];		/* local; IPv4 in the first 4 bytes */
	__u8 daddr[16];		/* remote */
	char comm[16];		/* socket owner's comm ("" unknown) */
	__u32 pid;		/* socket owner's tgid (0: unknown) */
	__u32 seq;		/* first sequence number of the skb */
	__u32 segs;		/* segments retransmitted (counted in RetransSegs) */
	__u32 state;		/* TCP state */
	__u16 lport;		/* host order */
	__u16 dport;		/* host order */
	__u16 family;		/* AF_INET, AF_INET6 */
	__u8 type;		/* RETRANS_TYPE_* */
	__u8 pad;
	__s32 err;		/* 0, or the error of a failed attempt (kernels with the err argument) */
	__u8 pad2[4];
};

/* -c: retransmitted segments per flow, counted in the kernel. */
struct retrans_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 lport;
	__u16 dport;
	__u8 pad[2];
};

struct retrans_count {
	__u64 retransmits;	/* retransmitted skbs (events) */
	__u64 segs;		/* segments in them */
};

#endif /* TCPRETRANS_H */
