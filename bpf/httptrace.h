/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef HTTPTRACE_H
#define HTTPTRACE_H

#define HTTP_MAX	1024	/* bytes of a message's start kept (request line, status line, headers) */

enum http_dir {
	DIR_READ = 0,
	DIR_WRITE,
	DIR_CLOSE,
};

/* a socket read or write that starts with an HTTP request or status line (or a close) */
struct http_event {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u32 len;		/* bytes read, or to be written */
	__u32 captured;		/* bytes in data */
	__u16 family;		/* AF_INET, AF_INET6, AF_UNIX */
	__u16 lport;
	__u16 rport;
	__u8 dir;		/* enum http_dir */
	__u8 pad[5];
	__u8 laddr[16];
	__u8 raddr[16];
	char comm[16];
	char data[HTTP_MAX];
};

#endif /* HTTPTRACE_H */
