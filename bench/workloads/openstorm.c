/* SPDX-License-Identifier: MIT */
/* Open/close storm: open(PATH, O_RDONLY) + close in NPROC workers. PATH (which
 * carries the marker) must exist.
 * usage: openstorm PATH RATE SECS NPROC   (RATE 0: max; SECS 0: until SIGTERM) */
#include "storm.h"
#include <fcntl.h>

static const char *path;

static int op(int worker)
{
	int fd = open(path, O_RDONLY);

	(void)worker;
	if (fd < 0) {
		perror(path);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PATH RATE SECS NPROC\n", argv[0]);
		return 2;
	}
	path = argv[1];
	return run_storm((int)arg_num(argv[4], "nproc"), arg_num(argv[2], "rate"), arg_num(argv[3], "secs"), op);
}
