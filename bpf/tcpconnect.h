/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPCONNECT_H
#define TCPCONNECT_H

/* One active connect: established, or failed (-x). */
struct connect_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 lat_ns;		/* SYN_SENT -> ESTABLISHED (or -> CLOSE) */
	__u8 saddr[16];		/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[16];
	__u32 pid;		/* tgid of the connecting process */
	__u32 tid;
	__u32 uid;
	__u16 lport;		/* host order */
	__u16 dport;		/* host order */
	__u16 family;		/* AF_INET, AF_INET6 */
	__u8 failed;		/* 0 established, 1 SYN_SENT->CLOSE, 2 connect() failed before SYN */
	__u8 pad;
	__s32 err;		/* errno of a failure (sk_err, or connect()'s) */
};

/* -c: connects per (source, destination, port), counted in the kernel. */
struct connect_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 dport;
	__u8 pad[4];
};

struct connect_count {
	__u64 connects;
	__u64 failures;
};

#endif /* TCPCONNECT_H */
