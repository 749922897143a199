/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef BIOLATENCY_H
#define BIOLATENCY_H

#define MAX_SLOTS	64	/* log2 slots of a 64-bit latency */

/* counters in the `stats` map, printed with -v */
enum biolat_stat {
	STAT_STARTED,	/* start times recorded */
	STAT_TIMED,	/* completions that went into a histogram */
	STAT_NO_START,	/* completions without a recorded start */
	STAT_PARTIAL,	/* partial completions (the request went on) */
	STAT_LOST,	/* starts found still recorded when the request started again:
			 * completions the program never saw */
	STAT_MAX,
};

/* One histogram slot of one section: the key of the per-CPU `hists` map. */
struct hist_key {
	__u32 dev;	/* disk (kernel dev_t: major << 20 | minor) with -D, else 0 */
	__u32 flags;	/* request op and flags (cmd_flags & flags_mask) with -F, else 0 */
	__u32 slot;	/* floor(log2(latency in the unit)) */
};

/* -e: sum and number of the latencies recorded (per CPU). */
struct hist_ext {
	__u64 total;	/* in the unit (usecs or msecs) */
	__u64 count;
};

#endif /* BIOLATENCY_H */
