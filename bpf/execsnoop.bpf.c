// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execsnoop: new processes.
 *
 * Successful execs come from sched_process_exec (tp_btf), where the new mm is
 * in place and argv is always resident between mm->arg_start and arg_end.
 * Failed execs (-x) come from execve/execveat syscall exit with ret < 0; the
 * argv pointer saved at entry is read at exit, after the kernel has faulted
 * the strings in. Without tracefs the syscall tracepoints cannot attach, so a
 * raw syscall tracepoint pair filtered by syscall number does the same job.
 */
#include "common.bpf.h"
#include "execsnoop.h"

const volatile __u32 targ_uid = (__u32)-1;
const volatile __u32 targ_ppid = 0;
const volatile __u32 max_args = 20;
/* syscall numbers for the raw fallback, set by user space per architecture */
const volatile long nr_execve = -1;
const volatile long nr_execveat = -1;

DEFINE_SCRATCH(scratch, struct exec_event)

struct exec_start {
	const char *filename;
	const char *const *argv;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_start);
} starts SEC(".maps");

static __always_inline struct exec_event *
new_event(struct task_struct *task, __s32 ret)
{
	struct exec_event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 uid = bpf_get_current_uid_gid();
	__u32 ppid;

	if (targ_uid != (__u32)-1 && uid != targ_uid)
		return NULL;
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (targ_ppid && ppid != targ_ppid)
		return NULL;
	if (!cgroup_ok())
		return NULL;
	e = scratch_get();
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = ppid;
	e->uid = uid;
	e->ret = ret;
	e->args_size = 0;
	e->args_truncated = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_success, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_event *e;
	unsigned long start, end;
	__u64 len;

	e = new_event(p, 0);
	if (!e)
		return 0;
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > ARGS_MAX) {
		len = ARGS_MAX;
		e->args_truncated = 1;
	}
	if (len && bpf_probe_read_user(e->args, len, (void *)start))
		len = 0;
	e->args_size = len;
	emit(ctx, e, offsetof(struct exec_event, args) + (len & (ARGS_MAX * 2 - 1)));
	return 0;
}

static __always_inline int on_enter(const char *filename, const char *const *argv)
{
	struct exec_start s = { .filename = filename, .argv = argv };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_start *s;
	struct exec_event *e;
	const char *argp;
	__u32 off = 0;
	long n;
	int i;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	if (ret >= 0) /* success is reported by sched_process_exec */
		goto out;
	e = new_event((struct task_struct *)bpf_get_current_task_btf(), ret);
	if (!e)
		goto out;
	for (i = 0; i < MAX_ARGS_LIMIT; i++) {
		argp = NULL;
		if (s->argv)
			bpf_probe_read_user(&argp, sizeof(argp), &s->argv[i]);
		if (!argp) {
			/* argv empty or unreadable: show the path at least */
			if (i == 0 && s->filename)
				argp = s->filename;
			else
				break;
		}
		if (i >= max_args || off > ARGS_MAX - ARG_SIZE) {
			e->args_truncated = 1;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[off], ARG_SIZE, argp);
		if (n <= 0)
			break;
		off += n;
		if (!s->argv)
			break;
	}
	e->args_size = off;
	emit(ctx, e, offsetof(struct exec_event, args) + (off & (ARGS_MAX * 2 - 1)));
out:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx, ctx->ret);
}

/* Fallback when tracefs is unavailable: raw syscall tracepoints. */
SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	if (id == nr_execve)
		return on_enter((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
				(const char *const *)PT_REGS_PARM2_CORE_SYSCALL(regs));
	if (id == nr_execveat)
		return on_enter((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
				(const char *const *)PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(ctx, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
