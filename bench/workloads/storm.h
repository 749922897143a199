/* SPDX-License-Identifier: MIT */
/*
 * Shared by the bench workload generators: run op() in NPROC worker
 * processes for SECS seconds (0: until SIGTERM/SIGINT), at RATE ops/s in total
 * (0: as fast as possible), then print one JSON line on stdout:
 *   {"ops":N,"seconds":S,"rate":R,"cpu":C,"failed":false}
 * (C: CPU seconds the workers and their children used).
 * Workers are processes (not threads) so they do not share a file table and
 * spread over the CPUs. Rate control is due-based: a worker that is ahead of
 * schedule sleeps until its next op is due, so the average rate is exact even
 * when sleeps overshoot.
 */
#ifndef BENCH_STORM_H
#define BENCH_STORM_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

static volatile sig_atomic_t storm_stop;

static void storm_on_signal(int sig)
{
	(void)sig;
	storm_stop = 1;
}

static inline double storm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void storm_sleep_until(double t)
{
	struct timespec ts;
	double d = t - storm_now();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* op(worker) does one operation and returns 0, or -1 on a hard failure. */
typedef int (*storm_op)(int worker);

static int run_storm(int nproc, double rate, double secs, storm_op op)
{
	uint64_t *counts;
	pid_t pids[MAX_WORKERS];
	double start, end;
	uint64_t total = 0;
	int i, failed = 0, forwarded = 0;
	struct sigaction sa;
	struct rusage ru;

	if (nproc < 1 || nproc > MAX_WORKERS) {
		fprintf(stderr, "workers: 1..%d\n", MAX_WORKERS);
		return 2;
	}
	counts = mmap(NULL, sizeof(uint64_t) * MAX_WORKERS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = storm_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	start = storm_now();
	end = secs > 0 ? start + secs : 1e300;
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			double per = rate / nproc;
			uint64_t n = 0;

			for (;;) {
				double now;

				if (storm_stop)
					break;
				if (per > 0) {
					now = storm_now();
					if (now >= end)
						break;
					if (n >= (uint64_t)((now - start) * per)) {
						storm_sleep_until(start + (n + 1) / per);
						continue;
					}
				} else if ((n & 63) == 0 && storm_now() >= end) {
					break;
				}
				if (op(i) < 0)
					_exit(1);
				n++;
				counts[i] = n;
			}
			_exit(0);
		}
	}
	for (i = 0; i < nproc; i++) {
		int st;

		for (;;) {
			/* stopped by a signal: pass it on to the workers (the bench
			 * signals the whole process group, which has no such race) */
			if (storm_stop && !forwarded) {
				for (int j = 0; j < nproc; j++)
					kill(pids[j], SIGTERM);
				forwarded = 1;
			}
			if (waitpid(pids[i], &st, 0) >= 0 || errno != EINTR)
				break;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	end = storm_now();
	for (i = 0; i < nproc; i++)
		total += counts[i];
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("{\"ops\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"cpu\":%.3f,\"failed\":%s}\n", (unsigned long long)total,
	       end - start, total / (end - start),
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	       failed ? "true" : "false");
	fflush(stdout);
	return failed;
}

static double arg_num(const char *s, const char *what)
{
	char *e;
	double v = strtod(s, &e);

	if (*s == 0 || *e != 0 || v < 0) {
		fprintf(stderr, "bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

#endif
