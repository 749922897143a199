// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * httptrace: HTTP/1.x messages on sockets, from the syscall tracepoints.
 *
 * Every socket read and write (read, readv, recvfrom, recvmsg; write, writev,
 * sendto, sendmsg) is looked at; only those whose first bytes start an HTTP
 * request (a method) or response ("HTTP/") are sent to user space, with the
 * message's first bytes and the socket's addresses. Closes of descriptors
 * that carried HTTP are sent too. User space pairs requests and responses
 * per (process, descriptor).
 */
#include "common.bpf.h"
#include "httptrace.h"
#include "sock_reads.bpf.h"

#define AF_UNIX		1
#define AF_INET		2
#define AF_INET6	10
#define S_IFMT		00170000
#define S_IFSOCK	0140000

const volatile __u32 targ_pid = 0;
/* syscall numbers for the raw fallback (tp_btf sys_enter/sys_exit), set by user space */
const volatile long nr_read = -1, nr_readv = -1, nr_recvfrom = -1, nr_recvmsg = -1;
const volatile long nr_write = -1, nr_writev = -1, nr_sendto = -1, nr_sendmsg = -1, nr_close = -1;


/* descriptors that carried HTTP, so that their close is reported: (pid << 32 | fd) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} http_fds SEC(".maps");

DEFINE_SCRATCH(scratch, struct http_event)

static __always_inline bool target(void)
{
	return (!targ_pid || (bpf_get_current_pid_tgid() >> 32) == targ_pid) && cgroup_ok();
}

/* Does a message start here? A request method or a status line. */
static __always_inline bool http_start(const char *p)
{
	__u32 w = 0;

	__builtin_memcpy(&w, p, 4);
	switch (w) {
	case 0x20544547: /* "GET " */
	case 0x54534f50: /* "POST" */
	case 0x20545550: /* "PUT " */
	case 0x44414548: /* "HEAD" */
	case 0x454c4544: /* "DELE" */
	case 0x43544150: /* "PATC" */
	case 0x4954504f: /* "OPTI" */
	case 0x4e4e4f43: /* "CONN" */
	case 0x43415254: /* "TRAC" */
		return true;
	case 0x50545448: /* "HTTP" */
		return p[4] == '/';
	}
	return false;
}

/* The socket behind fd, or NULL when fd is not a socket. */
static __always_inline struct sock *fd_sock(int fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	struct socket *sock;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

static __always_inline void message(void *ctx, __u8 dir, int fd, __u64 len, const void *buf, __u64 cap)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct http_event *e;
	struct sock *sk;
	__u32 n;

	if (!buf || !len)
		return;
	e = scratch_get();
	if (!e)
		return;
	n = len < cap ? len : cap;
	n = n < HTTP_MAX ? n : HTTP_MAX;
	/* keep the bound where the verifier sees it */
	asm volatile("" : "+r"(n));
	if (n < 5 || n > HTTP_MAX)
		return;
	if (bpf_probe_read_user(e->data, n, buf) || !http_start(e->data))
		return;
	sk = fd_sock(fd);
	if (!sk)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->family != AF_INET && e->family != AF_INET6 && e->family != AF_UNIX)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	e->len = len > 0xffffffff ? 0xffffffff : len;
	e->captured = n;
	e->dir = dir;
	e->lport = 0;
	e->rport = 0;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	if (e->family == AF_INET) {
		e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(e->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (e->family == AF_INET6) {
		e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(e->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	{
		__u64 key = (id & 0xffffffff00000000ULL) | (__u32)fd;
		__u8 yes = 1;

		bpf_map_update_elem(&http_fds, &key, &yes, BPF_ANY);
	}
	emit(ctx, e, offsetof(struct http_event, data) + n);
}

static __always_inline int read_enter(long fd, const void *buf, __u64 cap)
{
	if (target())
		read_keep(fd, buf, cap);
	return 0;
}

static __always_inline int read_exit(void *ctx, long ret)
{
	struct pending_read r;

	if (read_take(&r) && ret > 0)
		message(ctx, DIR_READ, r.fd, ret, (const void *)r.buf, r.cap);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int tp_read_enter(struct trace_event_raw_sys_enter *ctx)
{
	return read_enter(ctx->args[0], (const void *)ctx->args[1], ~0ULL);
}

#define MSG_PEEK	2

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int tp_recvfrom_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* a peek leaves the bytes for the real read: not a message of its own */
	if (ctx->args[3] & MSG_PEEK)
		return 0;
	return read_enter(ctx->args[0], (const void *)ctx->args[1], ~0ULL);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int tp_readv_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec v;

	if (!target())
		return 0;
	v = first_iov((const void *)ctx->args[1]);
	return read_enter(ctx->args[0], v.iov_base, v.iov_len);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int tp_recvmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec v;

	if (!target())
		return 0;
	v = msg_iov((const struct user_msghdr *)ctx->args[1]);
	return read_enter(ctx->args[0], v.iov_base, v.iov_len);
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_read_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_recvfrom_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int tp_readv_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_recvmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_exit(ctx, ctx->ret);
}

/* writes: the message's start is in the buffer (or the first iovec) at the call */
SEC("tracepoint/syscalls/sys_enter_write")
int tp_write(struct trace_event_raw_sys_enter *ctx)
{
	if (target())
		message(ctx, DIR_WRITE, ctx->args[0], ctx->args[2], (const void *)ctx->args[1], ~0ULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_sendto(struct trace_event_raw_sys_enter *ctx)
{
	if (target())
		message(ctx, DIR_WRITE, ctx->args[0], ctx->args[2], (const void *)ctx->args[1], ~0ULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_writev")
int tp_writev(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec v;

	if (!target())
		return 0;
	v = first_iov((const void *)ctx->args[1]);
	message(ctx, DIR_WRITE, ctx->args[0], v.iov_len, v.iov_base, ~0ULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec v;

	if (!target())
		return 0;
	v = msg_iov((const struct user_msghdr *)ctx->args[1]);
	message(ctx, DIR_WRITE, ctx->args[0], v.iov_len, v.iov_base, ~0ULL);
	return 0;
}

static __always_inline int on_close(void *ctx, long fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 key = (id & 0xffffffff00000000ULL) | (__u32)fd;
	struct http_event *e;

	if (!bpf_map_lookup_elem(&http_fds, &key))
		return 0;
	bpf_map_delete_elem(&http_fds, &key);
	e = scratch_get();
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->fd = fd;
	e->len = 0;
	e->captured = 0;
	e->dir = DIR_CLOSE;
	emit(ctx, e, offsetof(struct http_event, data));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_close(struct trace_event_raw_sys_enter *ctx)
{
	return on_close(ctx, ctx->args[0]);
}

/*
 * Fallback when tracefs is unavailable: the raw syscall tracepoints (BTF
 * typed), every syscall, picked by number. A thread's next sys_exit after a
 * read's entry is that read's.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	long fd;
	__u64 a2, a3, a4;
	struct iovec v;

	if (id != nr_read && id != nr_recvfrom && id != nr_readv && id != nr_recvmsg && id != nr_write && id != nr_sendto &&
	    id != nr_writev && id != nr_sendmsg && id != nr_close)
		return 0;
	if (!target())
		return 0;
	fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	a2 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	a3 = PT_REGS_PARM3_CORE_SYSCALL(regs);
	if (id == nr_close)
		return on_close(ctx, fd);
	if (id == nr_read)
		return read_enter(fd, (const void *)a2, ~0ULL);
	if (id == nr_recvfrom) {
		a4 = PT_REGS_PARM4_CORE_SYSCALL(regs);
		if (a4 & MSG_PEEK)
			return 0;
		return read_enter(fd, (const void *)a2, ~0ULL);
	}
	if (id == nr_readv) {
		v = first_iov((const void *)a2);
		return read_enter(fd, v.iov_base, v.iov_len);
	}
	if (id == nr_recvmsg) {
		v = msg_iov((const struct user_msghdr *)a2);
		return read_enter(fd, v.iov_base, v.iov_len);
	}
	if (id == nr_write || id == nr_sendto) {
		message(ctx, DIR_WRITE, fd, a3, (const void *)a2, ~0ULL);
		return 0;
	}
	v = id == nr_writev ? first_iov((const void *)a2) : msg_iov((const struct user_msghdr *)a2);
	message(ctx, DIR_WRITE, fd, v.iov_len, v.iov_base, ~0ULL);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	return read_exit(ctx, ret);
}

char LICENSE[] SEC("license") = "GPL";
