// Syscall numbers, for the raw syscall tracepoints (tp_btf sys_enter /
// sys_exit) that tools fall back to where tracefs cannot be mounted: those
// fire for every syscall, and the BPF side picks its own by number from
// `nr_<name>` globals.
import { s64 } from './tracer.js';

const NUMBERS: Record<string, Record<string, number>> = {
	x64: {
		read: 0, write: 1, open: 2, close: 3, readv: 19, writev: 20, sendto: 44, recvfrom: 45, sendmsg: 46, recvmsg: 47,
		execve: 59, creat: 85, openat: 257, execveat: 322, openat2: 437,
	},
	arm64: {
		openat: 56, close: 57, read: 63, write: 64, readv: 65, writev: 66, sendto: 206, recvfrom: 207, sendmsg: 211, recvmsg: 212,
		execve: 221, execveat: 281, openat2: 437,
	},
};

/**
 * The `nr_<name>` globals for these syscalls (-1 where the architecture has
 * no such syscall, as arm64 has no open or creat); undefined when the
 * architecture's numbers are not known here.
 */
export function rawSyscallGlobals(names: string[], arch: string = process.arch): Record<string, Buffer> | undefined {
	const nr = NUMBERS[arch];
	if (!nr) return undefined;
	return Object.fromEntries(names.map((n) => [`nr_${n}`, s64(nr[n] ?? -1)]));
}
