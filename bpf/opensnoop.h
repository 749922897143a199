/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef OPENSNOOP_H
#define OPENSNOOP_H

#define FNAME_MAX	4096	/* PATH_MAX: longest file name an open() accepts */
#define DIR_MAX		4096	/* bytes of directory components carried with -F */
#define NAME_LEN	256	/* NAME_MAX + 1: one directory component */
#define DIR_DEPTH	64	/* most directory components walked with -F */
#define MAX_FLAG_FILTERS 16	/* -f options */

/* which syscall (open_event.nr) */
#define SYS_OPEN	0
#define SYS_OPENAT	1
#define SYS_OPENAT2	2
#define SYS_CREAT	3	/* creat(2): open(O_CREAT|O_WRONLY|O_TRUNC) */

/* open_event.dir_state, for -F and a relative file name */
#define DIR_NONE	0	/* absolute name, or -F not asked */
#define DIR_OK		1	/* components of the directory, leaf first */
#define DIR_TRUNCATED	2	/* deeper than DIR_DEPTH / DIR_MAX: outer part missing */
#define DIR_UNKNOWN	3	/* dfd not open or unreadable: the kernel cannot tell */
#define DIR_DELETED	4	/* like DIR_OK, but the directory was removed */

/* One -f filter: an open matches when (flags & mask) == value. */
struct flag_filter {
	__u32 mask;
	__u32 value;
};

/*
 * One open, open-at or openat2 call, reported at syscall exit. buf holds the
 * file name (fname_len bytes with its NUL) then, with -F, dir_len bytes of
 * NUL-terminated directory components from the innermost outwards.
 */
struct open_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC, at syscall exit */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;		/* fd, or -errno */
	__u32 flags;		/* O_* flags as passed (openat2: open_how.flags) */
	__u32 mode;		/* only with O_CREAT or O_TMPFILE, else 0 */
	__s32 dfd;		/* directory fd (AT_FDCWD = -100; open(): AT_FDCWD) */
	__u16 fname_len;
	__u16 dir_len;
	__u8 nr;		/* SYS_OPEN, SYS_OPENAT, SYS_OPENAT2, SYS_CREAT */
	__u8 dir_state;		/* DIR_* */
	__u8 pad[6];
	char comm[16];
	char buf[FNAME_MAX + DIR_MAX];
};

#endif /* OPENSNOOP_H */
