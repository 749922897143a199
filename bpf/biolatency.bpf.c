// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * biolatency: block I/O latency as log2 histograms, aggregated in the kernel.
 *
 * A request's start time is kept in `start`, keyed by the struct request
 * pointer (tp_btf, or raw_tp where tp_btf is unavailable), from
 * block_rq_issue (or block_rq_insert with -Q, to include the time spent in
 * the I/O scheduler's queue). At block_rq_complete the latency goes into the
 * per-CPU hash `hists`, keyed by (disk dev, flags, slot); user space reads
 * and deletes it each interval. Classic tracepoints are the last fallback:
 * they carry no request pointer, so requests are keyed by (dev, sector).
 *
 * block_rq_complete fires for each partial completion (blk_update_request);
 * only the final one, which completes the request's remaining bytes, ends
 * the timing.
 *
 * A completion can happen without this program running (a kernel that does
 * not run tracing programs in some contexts, and says nothing of it). It is
 * never silent: a request is a recycled struct, so a start still recorded
 * when the same request starts again is a completion that went unseen
 * (STAT_LOST); user space also compares what is left in `start` at exit
 * with the disks' in-flight counts. A requeued request is not one of those:
 * block_rq_requeue forgets its start, and it starts again when re-issued.
 */
#include "common.bpf.h"
#include "biolatency.h"

const volatile bool targ_queued = false;	/* -Q */
const volatile bool targ_ms = false;		/* -m */
const volatile bool targ_per_disk = false;	/* -D */
const volatile bool targ_per_flag = false;	/* -F */
const volatile bool targ_ext = false;		/* -e */
const volatile bool filter_dev = false;		/* -d */
const volatile __u32 targ_dev = 0;
/* cmd_flags bits that -F shows: the op and the flags user space decodes,
 * computed from the kernel's enum req_op / req_flag_bits in BTF */
const volatile __u32 flags_mask = 0;
/* block_rq_insert/issue took (q, rq) before Linux 5.11: the rq argument's index */
const volatile __u32 rq_arg = 0;

#define MKDEV(ma, mi)	((__u32)(ma) << 20 | (__u32)(mi))

struct start_key {
	__u64 id;	/* struct request *, or dev for classic tracepoints */
	__u64 sector;	/* classic tracepoints only */
};

enum start_state {
	INSERTED = 1,	/* -Q: at block_rq_insert, not issued yet */
	ISSUED = 2,
};

struct start_val {
	__u64 ts;
	__u32 state;	/* enum start_state */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct start_key);
	__type(value, struct start_val);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist_ext);
} ext SEC(".maps");

/* what happened to the requests seen, for -v (enum stat in biolatency.h) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &which);

	if (n)
		*n += 1;
}

/* Before Linux 5.17 (and back to the beginning) the disk hung off the request. */
struct request___rq_disk {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct request___rq_disk *old = (void *)rq;
	struct gendisk *disk;

	if (bpf_core_field_exists(old->rq_disk))
		disk = BPF_CORE_READ(old, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor));
}

/*
 * A request starts: at block_rq_insert (state INSERTED, -Q only) or at
 * block_rq_issue (ISSUED). With -Q an issue keeps the time of the same
 * request's insert. Any other start already recorded for this key is a
 * completion this program never saw: counted, then replaced.
 */
static __always_inline int record_start(struct start_key *key, __u32 dev, __u32 state)
{
	struct start_val val = { .state = state };
	struct start_val *old;

	if (filter_dev && dev != targ_dev)
		return 0;
	val.ts = bpf_ktime_get_ns();
	old = bpf_map_lookup_elem(&start, key);
	if (old) {
		if (state == ISSUED && old->state == INSERTED) {
			old->state = ISSUED; /* -Q: keep the insert time */
			return 0;
		}
		stat_inc(STAT_LOST);
	}
	if (bpf_map_update_elem(&start, key, &val, BPF_ANY)) {
		count_drop(); /* too many requests in flight */
		return 0;
	}
	stat_inc(STAT_STARTED);
	return 0;
}

static __always_inline int record_done(struct start_key *key, __u32 dev, __u32 cmd_flags)
{
	struct hist_key hkey = {};
	struct hist_ext *e;
	struct start_val *sv;
	__u64 *cnt, delta, zero = 0;
	__u32 idx = 0;

	sv = bpf_map_lookup_elem(&start, key);
	if (!sv) {
		stat_inc(STAT_NO_START); /* issued before we started, or filtered out */
		return 0;
	}
	delta = bpf_ktime_get_ns() - sv->ts;
	if ((__s64)delta < 0) {
		count_drop(); /* clock went backwards: never silent */
		goto cleanup;
	}
	if (targ_ms)
		delta /= 1000000U;
	else
		delta /= 1000U;
	hkey.slot = log2l(delta);
	if (hkey.slot >= MAX_SLOTS)
		hkey.slot = MAX_SLOTS - 1;
	if (targ_per_disk)
		hkey.dev = dev;
	if (targ_per_flag)
		hkey.flags = cmd_flags & flags_mask;
	cnt = lookup_or_init(&hists, &hkey, &zero);
	if (!cnt) {
		count_drop(); /* histogram map full */
		goto cleanup;
	}
	/* this CPU's copy; a program does not nest on its own CPU */
	*cnt += 1;
	stat_inc(STAT_TIMED);
	if (targ_ext) {
		e = bpf_map_lookup_elem(&ext, &idx);
		if (e) {
			e->total += delta;
			e->count += 1;
		}
	}
cleanup:
	bpf_map_delete_elem(&start, key);
	return 0;
}

/* tp_btf and raw_tp: keyed by the request */

static __always_inline int rq_start(struct request *rq, __u32 state)
{
	struct start_key key = { .id = (__u64)rq };

	return record_start(&key, filter_dev ? rq_dev(rq) : 0, state);
}

static __always_inline int rq_done(struct request *rq, __u32 nr_bytes)
{
	struct start_key key = { .id = (__u64)rq };

	/* a partial completion: the request goes on */
	if (nr_bytes < BPF_CORE_READ(rq, __data_len)) {
		stat_inc(STAT_PARTIAL);
		return 0;
	}
	return record_done(&key, targ_per_disk ? rq_dev(rq) : 0,
			   targ_per_flag ? BPF_CORE_READ(rq, cmd_flags) : 0);
}

/* a request merged into another one in the scheduler is freed, never
 * completed; a requeued one starts again when it is issued again */
static __always_inline int rq_forget(struct request *rq)
{
	struct start_key key = { .id = (__u64)rq };

	bpf_map_delete_elem(&start, &key);
	return 0;
}

/*
 * sweep: run on demand by user space (BPF_PROG_TEST_RUN) before each print,
 * tp_btf/raw_tp modes only. A start recorded at issue for a request that is
 * now idle (completed and freed, or free for reuse) is a completion this
 * program never saw: counted in STAT_LOST and forgotten. A request that is
 * in flight or completing is left alone, and so is one issued in the last
 * millisecond (its state turns in-flight just after block_rq_issue).
 */
#define SWEEP_MIN_AGE_NS	1000000ULL

struct sweep_ctx {
	__u64 now;
	__u64 lost;
};

static long sweep_one(struct bpf_map *map, struct start_key *key, struct start_val *val,
		      struct sweep_ctx *c)
{
	struct request *rq = (void *)key->id;
	int state;

	if (val->state != ISSUED || c->now - val->ts < SWEEP_MIN_AGE_NS)
		return 0;
	if (!bpf_core_field_exists(rq->state) ||
	    bpf_core_read(&state, sizeof(state), &rq->state) ||
	    state != 0 /* MQ_RQ_IDLE */)
		return 0;
	bpf_map_delete_elem(map, key);
	c->lost++;
	return 0;
}

SEC("raw_tp/block_rq_complete")
int sweep(void *ctx)
{
	struct sweep_ctx c = { .now = bpf_ktime_get_ns() };
	__u32 which = STAT_LOST;
	__u64 *n;

	bpf_for_each_map_elem(&start, sweep_one, &c, 0);
	n = bpf_map_lookup_elem(&stats, &which);
	if (n)
		*n += c.lost;
	return 0;
}

#define RQ_ARG(ctx)	((struct request *)(rq_arg ? (ctx)[1] : (ctx)[0]))

SEC("tp_btf/block_rq_insert")
int btf_insert(u64 *ctx)
{
	return rq_start(RQ_ARG(ctx), INSERTED);
}

SEC("tp_btf/block_rq_issue")
int btf_issue(u64 *ctx)
{
	return rq_start(RQ_ARG(ctx), ISSUED);
}

SEC("tp_btf/block_rq_merge")
int btf_merge(u64 *ctx)
{
	return rq_forget(RQ_ARG(ctx));
}

SEC("tp_btf/block_rq_requeue")
int btf_requeue(u64 *ctx)
{
	return rq_forget(RQ_ARG(ctx));
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return rq_done(rq, nr_bytes);
}

SEC("raw_tp/block_rq_insert")
int raw_insert(struct bpf_raw_tracepoint_args *ctx)
{
	return rq_start(RQ_ARG(ctx->args), INSERTED);
}

SEC("raw_tp/block_rq_issue")
int raw_issue(struct bpf_raw_tracepoint_args *ctx)
{
	return rq_start(RQ_ARG(ctx->args), ISSUED);
}

SEC("raw_tp/block_rq_merge")
int raw_merge(struct bpf_raw_tracepoint_args *ctx)
{
	return rq_forget(RQ_ARG(ctx->args));
}

SEC("raw_tp/block_rq_requeue")
int raw_requeue(struct bpf_raw_tracepoint_args *ctx)
{
	return rq_forget(RQ_ARG(ctx->args));
}

SEC("raw_tp/block_rq_complete")
int raw_complete(struct bpf_raw_tracepoint_args *ctx)
{
	return rq_done((struct request *)ctx->args[0], (__u32)ctx->args[2]);
}

/* classic tracepoints: keyed by (dev, sector); no flags */

SEC("tracepoint/block/block_rq_insert")
int tp_insert(struct trace_event_raw_block_rq *ctx)
{
	struct start_key key = { .id = ctx->dev, .sector = ctx->sector };

	return record_start(&key, ctx->dev, INSERTED);
}

SEC("tracepoint/block/block_rq_issue")
int tp_issue(struct trace_event_raw_block_rq *ctx)
{
	struct start_key key = { .id = ctx->dev, .sector = ctx->sector };

	return record_start(&key, ctx->dev, ISSUED);
}

/* the head every block_rq_* event has had: dev at 8, sector at 16 (the
 * requeue event's own struct name changed over time) */
struct tp_block_rq_head {
	__u64 common;
	__u32 dev;
	__u32 pad;
	__u64 sector;
};

SEC("tracepoint/block/block_rq_requeue")
int tp_requeue(struct tp_block_rq_head *ctx)
{
	struct start_key key = { .id = ctx->dev, .sector = ctx->sector };

	bpf_map_delete_elem(&start, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int tp_complete(struct trace_event_raw_block_rq_completion *ctx)
{
	struct start_key key = { .id = ctx->dev, .sector = ctx->sector };

	return record_done(&key, ctx->dev, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
