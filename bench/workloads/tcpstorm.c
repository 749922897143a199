/* SPDX-License-Identifier: MIT */
/* TCP connect storm on loopback: a listener on 127.0.0.1:PORT accepts and
 * closes in a thread; NPROC workers connect, and close with an RST (SO_LINGER
 * 0) so no TIME_WAIT piles up.
 * usage: tcpstorm PORT RATE SECS NPROC   (RATE 0: max; SECS 0: until SIGTERM) */
#include "storm.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

static struct sockaddr_in addr;

static void *acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static int op(int worker)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)worker;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		close(fd);
		/* a full accept queue refuses: count only connects that happened */
		return e == ECONNREFUSED || e == EAGAIN || e == ETIMEDOUT ? 0 : -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int one = 1, lfd;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT RATE SECS NPROC\n", argv[0]);
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)arg_num(argv[1], "port"));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 4096) < 0) {
		perror("listen");
		return 1;
	}
	pthread_create(&th, NULL, acceptor, (void *)(intptr_t)lfd);
	return run_storm((int)arg_num(argv[4], "nproc"), arg_num(argv[2], "rate"), arg_num(argv[3], "secs"), op);
}
