// The workload of the opensnoop end-to-end tests, as C source compiled by the
// test: N opens of files named with a marker, a mix of open, openat, creat
// and openat2 (through syscall(2)), absolute names, names relative to a directory
// fd and to the cwd, O_CREAT with modes, and failures with ENOENT, EBADF and
// (after dropping to uid 65534) EACCES. It prints one manifest line per open
// with what the kernel returned, so the test compares the tool against it.
//
//   workload MARKER DIR COUNT [threaded]
//
// DIR holds MARKER_<i> for every i (made by the test, 0644) and the
// subdirectory sub/ with the same files; DIR/secret_<i> are 0600 root files.
// The workload prints "ready PID TID" (TID of the thread that opens), waits
// for a line on stdin, runs, and prints "done". In threaded mode a second
// thread makes the manifest opens, while the main thread opens MARKER_main_<i>
// (left out of the manifest: the -t test expects them filtered out).
export const WORKLOAD_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *mk, *dir;
static int count, dfd;
static pthread_barrier_t go;

static void report(const char *sys, long ret, int flags, int mode, int at, const char *name)
{
	printf("op\t%s\t%d\t%d\t%ld\t%d\t%o\t%o\t%d\t%s\n", sys, (int)gettid(), (int)getuid(), ret < 0 ? -1L : ret,
	       ret < 0 ? errno : 0, flags, mode, at, name);
	if (ret >= 0)
		close((int)ret);
}

static long do_openat(int at, const char *name, int flags, int mode)
{
	long r = openat(at, name, flags, mode);
	report("openat", r, flags, mode, at, name);
	return r;
}

static long do_openat2(int at, const char *name, int flags, int mode)
{
	struct open_how how = { .flags = flags, .mode = mode };
	long r = syscall(SYS_openat2, at, name, &how, sizeof(how));
	report("openat2", r, flags, mode, at, name);
	return r;
}

static long do_open(const char *name, int flags, int mode)
{
#ifdef SYS_open
	long r = syscall(SYS_open, name, flags, mode);
	report("open", r, flags, mode, AT_FDCWD, name);
	return r;
#else
	return do_openat(AT_FDCWD, name, flags, mode);
#endif
}

static long do_creat(const char *name, int mode)
{
#ifdef SYS_creat
	long r = syscall(SYS_creat, name, mode);
	report("creat", r, O_CREAT | O_WRONLY | O_TRUNC, mode, AT_FDCWD, name);
	return r;
#else
	return do_openat(AT_FDCWD, name, O_CREAT | O_WRONLY | O_TRUNC, mode);
#endif
}

static void *worker(void *arg)
{
	char p[4096], rel[512];
	int i, n = count - 20;

	char line[16];

	printf("ready %d %d\n", (int)getpid(), (int)gettid());
	fflush(stdout);
	if (arg)
		pthread_barrier_wait(&go);
	else if (!fgets(line, sizeof(line), stdin))
		exit(1);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s_%d", dir, mk, i);
		switch (i % 10) {
		case 0: do_openat(AT_FDCWD, p, O_RDONLY, 0); break;
		case 1: do_openat2(AT_FDCWD, p, O_RDONLY | O_CLOEXEC, 0); break;
		case 2: snprintf(rel, sizeof(rel), "sub/%s_%d", mk, i);
			do_openat(dfd, rel, O_WRONLY | O_APPEND, 0); break;
		case 3: snprintf(rel, sizeof(rel), "%s_%d", mk, i);
			do_openat2(dfd, rel, O_RDWR, 0); break;
		case 4: snprintf(p, sizeof(p), "%s/%s_new_%d", dir, mk, i);
			do_openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0640); break;
		case 5: snprintf(p, sizeof(p), "%s/%s_missing_%d", dir, mk, i);
			do_openat(AT_FDCWD, p, O_RDONLY, 0); break;
		case 6: if (i % 20 == 16) {
				snprintf(p, sizeof(p), "%s/%s_creat_%d", dir, mk, i);
				do_creat(p, 0604);
			} else {
				do_open(p, O_RDONLY | O_NONBLOCK, 0);
			}
			break;
		case 7: snprintf(rel, sizeof(rel), "sub/%s_new_%d", mk, i);
			do_openat2(dfd, rel, O_RDWR | O_CREAT | O_CLOEXEC, 0600); break;
		case 8: snprintf(rel, sizeof(rel), "%s_%d", mk, i); /* relative to the cwd (DIR/sub) */
			do_openat(AT_FDCWD, rel, O_RDONLY | O_DIRECTORY, 0); break; /* ENOTDIR */
		case 9: snprintf(rel, sizeof(rel), "%s_%d", mk, i);
			if (i % 20 == 9)
				do_openat(9999, rel, O_RDONLY, 0); /* EBADF */
			else
				do_openat(AT_FDCWD, rel, O_RDONLY, 0);
			break;
		}
	}
	/* the rest as nobody: root's 0600 files fail with EACCES, 0644 ones open */
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
		perror("setresuid");
		exit(1);
	}
	for (; i < count; i++) {
		if (i % 2)
			snprintf(p, sizeof(p), "%s/secret_%s_%d", dir, mk, i);
		else
			snprintf(p, sizeof(p), "%s/%s_%d", dir, mk, i);
		do_openat(AT_FDCWD, p, O_RDONLY, 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	char sub[4096], line[16];
	int i;

	if (argc < 4)
		return 2;
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	mk = argv[1];
	dir = argv[2];
	count = atoi(argv[3]);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	if (dfd < 0 || chdir(sub)) {
		perror(dir);
		return 1;
	}
	umask(0);
	pthread_barrier_init(&go, NULL, 2);
	if (argc > 4) {
		pthread_create(&th, NULL, worker, &go);
	} else {
		worker(NULL);
		printf("done\n");
		return 0;
	}
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	pthread_barrier_wait(&go);
	for (i = 0; i < 100; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s_main_%d", dir, mk, i);
		close(open(p, O_RDONLY));
	}
	pthread_join(th, NULL);
	printf("done\n");
	return 0;
}
`;
