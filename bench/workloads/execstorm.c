/* SPDX-License-Identifier: MIT */
/* Exec storm: fork + exec /bin/true MARKER, waited for, in NPROC workers.
 * MARKER is given in two parts, joined here, so that the exec of execstorm
 * itself does not carry it (a tracer would count it as one of the storm's).
 * usage: execstorm MARKER-HEAD MARKER-TAIL RATE SECS NPROC
 *        (RATE 0: max; SECS 0: until SIGTERM) */
#include "storm.h"

static char marker[256];

static int op(int worker)
{
	pid_t pid = fork();
	int st;

	(void)worker;
	if (pid < 0)
		return errno == EAGAIN ? 0 : -1;
	if (pid == 0) {
		/* argv in memory this child has written, as a shell's would be: a
		 * string literal's page is not mapped in a fresh child yet, and a
		 * tracer that reads argv at execve entry (bpftrace's execsnoop.bt)
		 * would print it empty */
		char a0[16], a1[sizeof(marker)];
		char *av[] = { a0, a1, NULL };

		strcpy(a0, "/bin/true");
		strcpy(a1, marker);
		execv(a0, av);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 6 || strlen(argv[1]) + strlen(argv[2]) >= sizeof(marker) - 1) {
		fprintf(stderr, "usage: %s MARKER-HEAD MARKER-TAIL RATE SECS NPROC\n", argv[0]);
		return 2;
	}
	strcpy(marker, argv[1]);
	strcat(marker, argv[2]);
	return run_storm((int)arg_num(argv[5], "nproc"), arg_num(argv[3], "rate"), arg_num(argv[4], "secs"), op);
}
