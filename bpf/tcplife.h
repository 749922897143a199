/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TCPLIFE_H
#define TCPLIFE_H

/* One TCP session, reported when it reaches CLOSE. */
struct life_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC, at CLOSE */
	__u64 span_ns;		/* birth (first state below FIN_WAIT1) to CLOSE */
	__u64 rx_bytes;		/* tcp_sock.bytes_received */
	__u64 tx_bytes;		/* tcp_sock.bytes_acked */
	__u8 saddr[16];		/* local; IPv4 in the first 4 bytes */
	__u8 daddr[16];		/* remote */
	char comm[16];
	__u32 pid;		/* owner's tgid (0: unknown) */
	__u32 tid;
	__u32 uid;
	__u16 lport;		/* host order */
	__u16 dport;		/* host order */
	__u16 family;		/* AF_INET, AF_INET6 */
	__u8 active;		/* 1: opened by connect(), 0: accepted */
	__u8 owned;		/* pid/comm known */
	__u8 pad[4];
};

#endif /* TCPLIFE_H */
