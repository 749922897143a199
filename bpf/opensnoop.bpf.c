// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * opensnoop: file opens (open, openat, openat2, and creat, which BCC misses).
 *
 * Syscall entry keeps the arguments (the file name pointer, dfd, flags, mode,
 * the open_how pointer) per thread after the cheap filters (pid, tid, uid,
 * flags, cgroup); syscall exit reads the file name, which the kernel has just
 * copied in so it is resident, and open_how for openat2, then emits one event.
 * Only the bytes printed travel: the header, the name, and with -F the
 * directory components of the dfd (or cwd) walked up to the task's root.
 *
 * Without tracefs the syscall tracepoints cannot attach: a raw syscall
 * tracepoint pair filtered by syscall number does the same job (slower: it
 * runs for every syscall).
 */
#include "common.bpf.h"
#include "opensnoop.h"

#define AT_FDCWD	-100
/* the same on x86 and arm64 (asm-generic/fcntl.h) */
#define O_WRONLY	01
#define O_CREAT		0100
#define O_TRUNC		01000
#define __O_TMPFILE	020000000

const volatile __u32 targ_pid = 0;
const volatile __u32 targ_tid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile bool targ_failed = false;
const volatile bool full_path = false;
const volatile __u32 targ_nflags = 0;
const volatile struct flag_filter targ_flags[MAX_FLAG_FILTERS] = {};
/* syscall numbers for the raw fallback, set by user space per architecture */
const volatile long nr_open = -1;
const volatile long nr_openat = -1;
const volatile long nr_openat2 = -1;
const volatile long nr_creat = -1;

DEFINE_SCRATCH(scratch, struct open_event)

struct open_args {
	const char *fname;
	const struct open_how *how;	/* openat2: read at exit */
	__u32 flags;
	__u32 mode;
	__s32 dfd;
	__u32 nr;
};

/* Threads inside an open syscall. A full table is counted as a drop. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct open_args);
} starts SEC(".maps");

static __always_inline bool flags_ok(__u32 flags)
{
	int i;

	if (!targ_nflags)
		return true;
	for (i = 0; i < MAX_FLAG_FILTERS; i++) {
		if (i >= targ_nflags)
			break;
		if ((flags & targ_flags[i].mask) == targ_flags[i].value)
			return true;
	}
	return false;
}

static __always_inline int on_enter(__u32 nr, __s32 dfd, const char *fname,
				    __u32 flags, __u32 mode, const struct open_how *how)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args a = {};

	if (targ_pid && (id >> 32) != targ_pid)
		return 0;
	if (targ_tid && tid != targ_tid)
		return 0;
	if (targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return 0;
	if (nr != SYS_OPENAT2 && !flags_ok(flags))
		return 0;
	if (!cgroup_ok())
		return 0;
	a.fname = fname;
	a.how = how;
	a.flags = flags;
	a.mode = mode;
	a.dfd = dfd;
	a.nr = nr;
	if (bpf_map_update_elem(&starts, &tid, &a, BPF_ANY))
		count_drop();
	return 0;
}

/* State of the -F directory walk, one bpf_loop step per component. */
struct walk {
	struct dentry *dentry;
	struct dentry *mnt_root;
	struct dentry *root_dentry;
	struct vfsmount *vfsmnt;
	struct vfsmount *root_mnt;
	struct mount *mnt;
	__u64 mnt_off;
	__u32 base;	/* where the components start in the event's buf */
	__u32 off;	/* bytes written so far */
	__u8 state;
	__u8 done;	/* reached a root */
};

/* BPF_CORE_READ relocates every access in its first argument: pass locals. */
static long walk_step(__u32 i, struct walk *w)
{
	struct open_event *e = scratch_get();
	struct dentry *dentry = w->dentry, *parent;
	struct mount *mnt = w->mnt, *mnt_parent;
	struct vfsmount *vfsmnt;
	__u32 pos;
	long n;

	if (!e)
		goto unknown;
	if (dentry == w->root_dentry && w->vfsmnt == w->root_mnt)
		goto done; /* the task's root */
	if (dentry == w->mnt_root) {
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (!mnt_parent || mnt_parent == mnt)
			goto done; /* the namespace's root */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		vfsmnt = (struct vfsmount *)((void *)mnt_parent + w->mnt_off);
		w->vfsmnt = vfsmnt;
		w->mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (!parent || parent == dentry)
		goto done; /* root of a file system mounted nowhere we can see */
	pos = w->base + w->off;
	if (w->off > DIR_MAX - NAME_LEN || pos > FNAME_MAX + DIR_MAX - NAME_LEN) {
		w->state = DIR_TRUNCATED;
		return 1;
	}
	n = bpf_probe_read_kernel_str(&e->buf[pos], NAME_LEN, BPF_CORE_READ(dentry, d_name.name));
	if (n <= 0)
		goto unknown;
	w->off += n;
	w->dentry = parent;
	return 0;
done:
	w->done = 1;
	return 1;
unknown:
	w->state = DIR_UNKNOWN;
	w->off = 0;
	return 1;
}

/*
 * -F: the path of the directory a relative name starts from (dfd's file, or
 * the cwd), as NUL-terminated components from the innermost outwards,
 * written at e->buf[base]. Walks dentries up to the task's root, crossing
 * mount points (bpf_loop: Linux 5.17+). Returns the bytes written; sets
 * e->dir_state.
 */
static __always_inline __u32 walk_dir(struct open_event *e, __s32 dfd, __u32 base)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct walk w = {};
	struct fs_struct *fs;

	e->dir_state = DIR_UNKNOWN;
	fs = BPF_CORE_READ(task, fs);
	if (!fs)
		return 0;
	w.root_dentry = BPF_CORE_READ(fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(fs, root.mnt);
	if (dfd == AT_FDCWD) {
		dentry = BPF_CORE_READ(fs, pwd.dentry);
		vfsmnt = BPF_CORE_READ(fs, pwd.mnt);
	} else {
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
		struct file **fds;
		struct file *f = NULL;

		if (!fdt || dfd < 0 || (__u32)dfd >= BPF_CORE_READ(fdt, max_fds))
			return 0;
		fds = BPF_CORE_READ(fdt, fd);
		if (bpf_probe_read_kernel(&f, sizeof(f), &fds[dfd]) || !f)
			return 0;
		dentry = BPF_CORE_READ(f, f_path.dentry);
		vfsmnt = BPF_CORE_READ(f, f_path.mnt);
	}
	if (!dentry || !vfsmnt)
		return 0;
	w.dentry = dentry;
	w.vfsmnt = vfsmnt;
	w.mnt_off = bpf_core_field_offset(struct mount, mnt);
	w.mnt = (struct mount *)((void *)vfsmnt - w.mnt_off);
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.base = base;
	w.state = DIR_OK;
	/* an unhashed dentry that is not a root: the directory was removed */
	if (dentry != w.mnt_root && dentry != BPF_CORE_READ(dentry, d_parent) &&
	    !BPF_CORE_READ(dentry, d_hash.pprev))
		w.state = DIR_DELETED;
	bpf_loop(DIR_DEPTH, walk_step, &w, 0);
	if (!w.done && w.state != DIR_UNKNOWN)
		w.state = DIR_TRUNCATED; /* out of steps or room before a root */
	e->dir_state = w.state;
	return w.off;
}

static __always_inline int on_exit(void *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args *a;
	struct open_event *e;
	__u32 flags, mode, dlen = 0;
	long n;

	a = bpf_map_lookup_elem(&starts, &tid);
	if (!a)
		return 0;
	if (targ_failed && ret >= 0)
		goto out;
	flags = a->flags;
	mode = a->mode;
	if (a->nr == SYS_OPENAT2) {
		struct open_how how = {};

		/* copied in by the kernel during the call: resident now */
		bpf_probe_read_user(&how, sizeof(how), a->how);
		flags = how.flags;
		mode = how.mode;
		if (!flags_ok(flags))
			goto out;
	}
	e = scratch_get();
	if (!e)
		goto out;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = flags;
	e->mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0;
	e->dfd = a->dfd;
	e->nr = a->nr;
	e->dir_state = DIR_NONE;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	n = bpf_probe_read_user_str(e->buf, FNAME_MAX, a->fname);
	if (n < 0)
		n = 0;
	if (n > FNAME_MAX)
		n = FNAME_MAX;
	if (full_path && n > 1 && e->buf[0] != '/')
		dlen = walk_dir(e, a->dfd, n);
	if (dlen > DIR_MAX)
		dlen = DIR_MAX;
	e->fname_len = n;
	e->dir_len = dlen;
	emit(ctx, e, offsetof(struct open_event, buf) + n + dlen);
out:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(SYS_OPEN, AT_FDCWD, (const char *)ctx->args[0],
			ctx->args[1], ctx->args[2], NULL);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(SYS_OPENAT, ctx->args[0], (const char *)ctx->args[1],
			ctx->args[2], ctx->args[3], NULL);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	/* flags and mode come from open_how, read at exit */
	return on_enter(SYS_OPENAT2, ctx->args[0], (const char *)ctx->args[1],
			0, 0, (const struct open_how *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(SYS_CREAT, AT_FDCWD, (const char *)ctx->args[0],
			O_CREAT | O_WRONLY | O_TRUNC, ctx->args[1], NULL);
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

/* Fallback when tracefs is unavailable: raw syscall tracepoints. */
SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	if (id == nr_openat)
		return on_enter(SYS_OPENAT, PT_REGS_PARM1_CORE_SYSCALL(regs),
				(const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
				PT_REGS_PARM3_CORE_SYSCALL(regs),
				PT_REGS_PARM4_CORE_SYSCALL(regs), NULL);
	if (id == nr_open)
		return on_enter(SYS_OPEN, AT_FDCWD, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
				PT_REGS_PARM2_CORE_SYSCALL(regs),
				PT_REGS_PARM3_CORE_SYSCALL(regs), NULL);
	if (id == nr_creat)
		return on_enter(SYS_CREAT, AT_FDCWD, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
				O_CREAT | O_WRONLY | O_TRUNC,
				PT_REGS_PARM2_CORE_SYSCALL(regs), NULL);
	if (id == nr_openat2)
		return on_enter(SYS_OPENAT2, PT_REGS_PARM1_CORE_SYSCALL(regs),
				(const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), 0, 0,
				(const struct open_how *)PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(ctx, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
