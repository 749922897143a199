/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef SSLSNIFF_H
#define SSLSNIFF_H

/* the largest plaintext copied per call: one per-CPU scratch slot (32 KiB) less the header */
#define MAX_BUF_SIZE	(32768 - 64)

/* which library function a probe is on */
enum ssl_func {
	F_SSL_READ = 0,		/* SSL_read, gnutls_record_recv, PR_Read, PR_Recv: length is the result */
	F_SSL_WRITE,		/* SSL_write, gnutls_record_send, PR_Write, PR_Send */
	F_SSL_READ_EX,		/* SSL_read_ex: result 1, length through the 4th argument */
	F_SSL_WRITE_EX,		/* SSL_write_ex */
	F_HANDSHAKE,		/* SSL_do_handshake */
	F_FUNCS,
};

/* what the event is, for user space */
enum ssl_rw {
	RW_READ = 0,
	RW_WRITE,
	RW_HANDSHAKE,
};

/* one call: header, then buf_filled bytes of plaintext */
struct ssl_event {
	__u64 ts_ns;		/* at the return */
	__u64 delta_ns;		/* return - entry */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 len;		/* bytes the call read or wrote (handshake: its result) */
	__u32 buf_filled;	/* bytes copied below (<= len, <= max_buf) */
	__u8 rw;		/* enum ssl_rw */
	__u8 pad[3];
	char comm[16];
	char buf[MAX_BUF_SIZE];
};

#endif /* SSLSNIFF_H */
