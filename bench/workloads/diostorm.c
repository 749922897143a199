/* SPDX-License-Identifier: MIT */
/* O_DIRECT reads: 4 KiB preads at random aligned offsets of FILE (which must
 * exist, be at least 16 MiB, on a block device: not tmpfs) in NPROC workers.
 * Every read is one block I/O request.
 * usage: diostorm FILE RATE SECS NPROC   (RATE 0: max; SECS 0: until SIGTERM) */
#include "storm.h"
#include <fcntl.h>
#include <sys/stat.h>

#define BS 4096

static const char *path;
static int fd = -1;
static void *buf;
static off_t blocks;
static unsigned int seed;

static int op(int worker)
{
	off_t off;

	if (fd < 0) {
		struct stat st;

		fd = open(path, O_RDONLY | O_DIRECT);
		if (fd < 0 || fstat(fd, &st) < 0 || posix_memalign(&buf, BS, BS)) {
			perror(path);
			return -1;
		}
		blocks = st.st_size / BS;
		seed = (unsigned int)getpid() * 2654435761u + worker;
	}
	off = (off_t)(rand_r(&seed) % blocks) * BS;
	if (pread(fd, buf, BS, off) != BS) {
		perror("pread");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s FILE RATE SECS NPROC\n", argv[0]);
		return 2;
	}
	path = argv[1];
	return run_storm((int)arg_num(argv[4], "nproc"), arg_num(argv[2], "rate"), arg_num(argv[3], "secs"), op);
}
