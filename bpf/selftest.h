/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef SELFTEST_H
#define SELFTEST_H

/* What the addon's own tests observe: one record per probe hit. */
struct st_event {
	__u64 cookie;	/* USDT cookie, 0 elsewhere */
	__s64 value;	/* first argument, return value, or USDT argument */
	__u32 pid;
	__u32 kind;	/* 1 uprobe, 2 uretprobe, 3 usdt, 4 raw_tp */
};

#endif
