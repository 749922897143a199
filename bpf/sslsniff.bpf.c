// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sslsniff: the plaintext of TLS libraries' read and write calls.
 *
 * An entry uprobe keeps the buffer pointer (and for the _ex variants where
 * the length goes) per (function kind, thread); the return uretprobe reads
 * the buffer only when the call succeeded, and only as many bytes as it
 * really read or wrote (a read buffer holds nothing before the return).
 */
#include "common.bpf.h"
#include "sslsniff.h"

const volatile __u32 targ_pid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile bool filter_comm = false;
const volatile char targ_comm[16] = {};
const volatile __u32 max_buf = 8192;

struct call {
	__u64 buf;
	__u64 out;		/* _ex: where the length is written */
	__u64 ts_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call);
} calls SEC(".maps");

DEFINE_SCRATCH(scratch, struct ssl_event)

static __always_inline __u64 call_key(__u32 func)
{
	return ((__u64)func << 32) | (__u32)bpf_get_current_pid_tgid();
}

static __always_inline bool wanted(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (targ_pid && (id >> 32) != targ_pid)
		return false;
	if (targ_uid != (__u32)-1 && uid != targ_uid)
		return false;
	if (filter_comm) {
		char comm[16];

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < 16; i++) {
			if (comm[i] != targ_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return cgroup_ok();
}

static __always_inline int enter(__u32 func, const void *buf, const void *out)
{
	struct call c = { .buf = (__u64)buf, .out = (__u64)out };
	__u64 key = call_key(func);

	if (!wanted())
		return 0;
	c.ts_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &key, &c, BPF_ANY);
	return 0;
}

/* The call returned: len bytes (<= 0: nothing) of the buffer were read or written. */
static __always_inline int leave(void *ctx, __u32 func, long ret)
{
	__u64 key = call_key(func), id = bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &key);
	struct ssl_event *e;
	__u64 buf, out, ts;
	long len = ret;
	__u32 n;

	if (!c)
		return 0;
	buf = c->buf;
	out = c->out;
	ts = c->ts_ns;
	bpf_map_delete_elem(&calls, &key);
	if (func == F_SSL_READ_EX || func == F_SSL_WRITE_EX) {
		size_t done = 0;

		if (ret != 1 || bpf_probe_read_user(&done, sizeof(done), (void *)out))
			return 0;
		len = done;
	}
	if (len <= 0 && func != F_HANDSHAKE)
		return 0;
	if (func == F_HANDSHAKE && ret <= 0)
		return 0;	/* failed, or wants to be called again (non-blocking) */
	e = scratch_get();
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->delta_ns = e->ts_ns - ts;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->len = len > 0x7fffffff ? 0x7fffffff : len;
	e->rw = func == F_HANDSHAKE ? RW_HANDSHAKE : (func == F_SSL_WRITE || func == F_SSL_WRITE_EX) ? RW_WRITE : RW_READ;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	n = 0;
	if (func != F_HANDSHAKE) {
		n = len < max_buf ? len : max_buf;
		if (n > MAX_BUF_SIZE)
			n = MAX_BUF_SIZE;
		if (bpf_probe_read_user(e->buf, n, (void *)buf))
			n = 0;	/* not readable (swapped out): the event says so with buf_filled 0 */
	}
	e->buf_filled = n;
	if (n > MAX_BUF_SIZE)
		n = MAX_BUF_SIZE;
	emit(ctx, e, offsetof(struct ssl_event, buf) + n);
	return 0;
}

/* OpenSSL: SSL_read(ssl, buf, num), SSL_write(ssl, buf, num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf)
{
	return enter(F_SSL_READ, buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	return leave(ctx, F_SSL_READ, ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf)
{
	return enter(F_SSL_WRITE, buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	return leave(ctx, F_SSL_WRITE, ret);
}

/* SSL_read_ex(ssl, buf, num, size_t *readbytes), SSL_write_ex(ssl, buf, num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return enter(F_SSL_READ_EX, buf, readbytes);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret)
{
	return leave(ctx, F_SSL_READ_EX, ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	return enter(F_SSL_WRITE_EX, buf, written);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret)
{
	return leave(ctx, F_SSL_WRITE_EX, ret);
}

/* SSL_do_handshake(ssl): latency of the handshake (--handshake) */
SEC("uprobe")
int BPF_KPROBE(handshake_enter, void *ssl)
{
	return enter(F_HANDSHAKE, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(handshake_exit, int ret)
{
	return leave(ctx, F_HANDSHAKE, ret);
}

/*
 * GnuTLS gnutls_record_recv/send(session, data, size) and NSPR
 * PR_Read/PR_Write/PR_Recv/PR_Send(fd, buf, amount, ...) return the byte count
 * as a signed long (ssize_t) or a 32-bit PRInt32.
 */
SEC("uprobe")
int BPF_KPROBE(rw_read_enter, void *session, void *buf)
{
	return enter(F_SSL_READ, buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(gnutls_read_exit, long ret)
{
	return leave(ctx, F_SSL_READ, ret);
}

SEC("uprobe")
int BPF_KPROBE(rw_write_enter, void *session, const void *buf)
{
	return enter(F_SSL_WRITE, buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(gnutls_write_exit, long ret)
{
	return leave(ctx, F_SSL_WRITE, ret);
}

SEC("uretprobe")
int BPF_KRETPROBE(nspr_read_exit, int ret)
{
	return leave(ctx, F_SSL_READ, ret);
}

SEC("uretprobe")
int BPF_KRETPROBE(nspr_write_exit, int ret)
{
	return leave(ctx, F_SSL_WRITE, ret);
}

char LICENSE[] SEC("license") = "GPL";
