/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef MYSQLSLOW_H
#define MYSQLSLOW_H

#define QUERY_MAX	1024	/* bytes of query text kept (usdt, uprobe) */
#define WIRE_MAX	1024	/* bytes of a socket read kept (wire mode) */

/* dispatch_command's argument layouts (uprobe mode): one entry program each */
enum mysql_layout {
	LAYOUT_MARIADB = 0,	/* MariaDB, MySQL <= 5.6: (command, THD *, char *packet, uint length, ...) */
	LAYOUT_MYSQL57,		/* MySQL 5.7, 8.x: (THD *, const COM_DATA *, command) */
};

/* a query that took at least the threshold (usdt, uprobe) */
struct query_event {
	__u64 ts_ns;		/* at its end */
	__u64 delta_ns;
	__u32 pid;
	__u32 tid;
	__u32 len;		/* the query's length (wider than the text kept when truncated) */
	__u32 pad;
	char query[QUERY_MAX];
};

enum wire_kind {
	WIRE_RX = 0,		/* the server read bytes from fd */
	WIRE_TX,		/* the server writes to fd (enter: its first bytes) */
	WIRE_CLOSE,		/* the server closed fd */
};

/* wire mode: one syscall of the server on a descriptor */
struct wire_event {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u32 len;		/* bytes read or to be written */
	__u32 captured;		/* bytes in data */
	__u8 kind;		/* enum wire_kind */
	__u8 pad[3];
	char data[WIRE_MAX];
};

#endif /* MYSQLSLOW_H */
