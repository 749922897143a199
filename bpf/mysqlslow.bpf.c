// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mysqlslow: queries of a MySQL or MariaDB server slower than a threshold.
 *
 * usdt:   mysql:query__start / query__done probes, where the server has them.
 * uprobe: dispatch_command's entry (COM_QUERY only; the query text is copied
 *         there, it is freed by the return) and its return.
 * wire:   the server's socket reads and writes (syscall tracepoints); user
 *         space reassembles the MySQL packets and times a COM_QUERY from its
 *         read to the first response write.
 */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>
#include "mysqlslow.h"
#include "sock_reads.bpf.h"

#define COM_QUERY	3

const volatile __u32 targ_pid = 0;
const volatile __u64 min_ns = 1000000;
/* syscall numbers for the wire mode's raw fallback (tp_btf sys_enter/sys_exit), set by user space */
const volatile long nr_read = -1, nr_recvfrom = -1, nr_write = -1, nr_sendto = -1, nr_writev = -1, nr_close = -1;

struct start {
	__u64 ts_ns;
	__u32 len;
	__u32 pad;
	char query[QUERY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

DEFINE_SCRATCH(start_scratch, struct start)
DEFINE_SCRATCH(query_scratch, struct query_event)
DEFINE_SCRATCH(wire_scratch, struct wire_event)

static __always_inline bool target(void)
{
	return (!targ_pid || (bpf_get_current_pid_tgid() >> 32) == targ_pid) && cgroup_ok();
}

/* Remember when the thread's query started, with its text. */
static __always_inline int query_start(const char *query, __u64 len)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start *s = start_scratch_get();
	__u32 n;

	if (!s || !target())
		return 0;
	s->ts_ns = bpf_ktime_get_ns();
	if (len) {
		/* a packet: not NUL-terminated, as long as len */
		s->len = len > 0xffffffff ? 0xffffffff : len;
		n = len < QUERY_MAX - 1 ? len : QUERY_MAX - 1;
		if (bpf_probe_read_user(s->query, n & (QUERY_MAX - 1), query))
			n = 0;
		s->query[n & (QUERY_MAX - 1)] = 0;
	} else {
		long r = bpf_probe_read_user_str(s->query, QUERY_MAX, query);

		s->len = r > 0 ? r - 1 : 0;
		if (r <= 0)
			s->query[0] = 0;
	}
	bpf_map_update_elem(&starts, &tid, s, BPF_ANY);
	return 0;
}

static __always_inline int query_done(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	struct query_event *e;
	__u64 now, delta;

	if (!s)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - s->ts_ns;
	if (delta >= min_ns && (e = query_scratch_get())) {
		e->ts_ns = now;
		e->delta_ns = delta;
		e->pid = id >> 32;
		e->tid = tid;
		e->len = s->len;
		__builtin_memcpy(e->query, s->query, QUERY_MAX);
		emit(ctx, e, sizeof(*e));
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

/* mysql:query__start(query, connection id, database, user, host) */
SEC("usdt")
int usdt_start(struct pt_regs *ctx)
{
	long query = 0;

	bpf_usdt_arg(ctx, 0, &query);
	return query_start((const char *)query, 0);
}

/* mysql:query__done(status) */
SEC("usdt")
int usdt_done(struct pt_regs *ctx)
{
	return query_done(ctx);
}

/* MariaDB, MySQL <= 5.6: (enum_server_command command, THD *thd, char *packet, uint packet_length, ...) */
SEC("uprobe")
int dispatch_enter_mariadb(struct pt_regs *ctx)
{
	if ((__u32)PT_REGS_PARM1(ctx) != COM_QUERY)
		return 0;
	return query_start((const char *)PT_REGS_PARM3(ctx), (__u32)PT_REGS_PARM4(ctx));
}

/* MySQL 5.7, 8.x: (THD *thd, const COM_DATA *com_data, enum_server_command command); com_query is { const char *query; unsigned int length; } */
SEC("uprobe")
int dispatch_enter_mysql57(struct pt_regs *ctx)
{
	const void *com = (const void *)PT_REGS_PARM2(ctx);
	__u64 query = 0;
	__u32 len = 0;

	if ((__u32)PT_REGS_PARM3(ctx) != COM_QUERY)
		return 0;
	bpf_probe_read_user(&query, sizeof(query), com);
	bpf_probe_read_user(&len, sizeof(len), com + 8);
	return query_start((const char *)query, len);
}

SEC("uretprobe")
int dispatch_exit(struct pt_regs *ctx)
{
	return query_done(ctx);
}

/* ---- wire mode ---- */


static __always_inline int rx_enter(long fd, const void *buf)
{
	if (target())
		read_keep(fd, buf, ~0ULL);
	return 0;
}

static __always_inline void wire_emit(void *ctx, __u8 kind, long fd, long len, const void *buf)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct wire_event *e = wire_scratch_get();
	__u32 n = 0;

	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	e->len = len;
	e->kind = kind;
	if (buf && len > 0) {
		n = len < WIRE_MAX ? len : WIRE_MAX;
		if (n > WIRE_MAX)
			n = WIRE_MAX;
		if (bpf_probe_read_user(e->data, n, buf))
			n = 0;
	}
	if (n > WIRE_MAX)
		n = WIRE_MAX;
	e->captured = n;
	emit(ctx, e, offsetof(struct wire_event, data) + n);
}

static __always_inline int rx_exit(void *ctx, long ret)
{
	struct pending_read r;

	if (read_take(&r) && ret > 0)
		wire_emit(ctx, WIRE_RX, r.fd, ret, (const void *)r.buf);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int tp_recvfrom_enter(struct trace_event_raw_sys_enter *ctx)
{
	return rx_enter(ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_recvfrom_exit(struct trace_event_raw_sys_exit *ctx)
{
	return rx_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_read")
int tp_read_enter(struct trace_event_raw_sys_enter *ctx)
{
	return rx_enter(ctx->args[0], (const void *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_read_exit(struct trace_event_raw_sys_exit *ctx)
{
	return rx_exit(ctx, ctx->ret);
}

/* write(fd, buf, count), sendto(fd, buf, len, ...): the response's first bytes */
SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_sendto(struct trace_event_raw_sys_enter *ctx)
{
	if (target())
		wire_emit(ctx, WIRE_TX, ctx->args[0], ctx->args[2] < 16 ? ctx->args[2] : 16, (const void *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_write(struct trace_event_raw_sys_enter *ctx)
{
	if (target())
		wire_emit(ctx, WIRE_TX, ctx->args[0], ctx->args[2] < 16 ? ctx->args[2] : 16, (const void *)ctx->args[1]);
	return 0;
}

/* writev(fd, iov, iovcnt): the first iovec's first bytes */
SEC("tracepoint/syscalls/sys_enter_writev")
int tp_writev(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec iov;

	if (!target())
		return 0;
	iov = first_iov((const void *)ctx->args[1]);
	wire_emit(ctx, WIRE_TX, ctx->args[0], iov.iov_len < 16 ? iov.iov_len : 16, iov.iov_base);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_close(struct trace_event_raw_sys_enter *ctx)
{
	if (target())
		wire_emit(ctx, WIRE_CLOSE, ctx->args[0], 0, 0);
	return 0;
}

/* Wire mode without tracefs: the raw syscall tracepoints, picked by number. */
SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	long fd;
	__u64 buf, len;

	if (id != nr_read && id != nr_recvfrom && id != nr_write && id != nr_sendto && id != nr_writev && id != nr_close)
		return 0;
	if (!target())
		return 0;
	fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	len = PT_REGS_PARM3_CORE_SYSCALL(regs);
	if (id == nr_read || id == nr_recvfrom)
		return rx_enter(fd, (const void *)buf);
	if (id == nr_close) {
		wire_emit(ctx, WIRE_CLOSE, fd, 0, 0);
		return 0;
	}
	if (id == nr_writev) {
		struct iovec iov = first_iov((const void *)buf);

		buf = (__u64)iov.iov_base;
		len = iov.iov_len;
	}
	wire_emit(ctx, WIRE_TX, fd, len < 16 ? len : 16, (const void *)buf);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	return rx_exit(ctx, ret);
}

char LICENSE[] SEC("license") = "GPL";
