/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test device for ioregionfd: reads 32-byte commands, keeps a 4 KiB
 * register file (writes store, reads return it), and can misbehave on
 * purpose. Runs as a thread or as a forked process. Tests only
 * (tdev.c).
 */
#ifndef IOFD_TDEV_H
#define IOFD_TDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <iofd/uapi.h>

enum tdev_mode {
	TDEV_NORMAL = 0,	/* serve every command */
	TDEV_CLOSE,		/* close its fds on the first command */
	TDEV_DIE,		/* process: _exit() on the first command */
	TDEV_SHORT,		/* reply 7 bytes, then nothing */
	TDEV_GARBAGE,		/* reply 32 bytes of 0xa5 */
	TDEV_SILENT,		/* never reply */
	TDEV_LATE,		/* first reply after delay_ms, then normal */
	TDEV_UNSOLICITED,	/* send a reply before any command, then normal */
};

#define TDEV_LOG_MAX	4096

struct tdev {
	int fd_cmd;		/* commands arrive here */
	int fd_resp;		/* replies go here (may equal fd_cmd) */
	int stop_efd;		/* written by tdev_stop() */
	enum tdev_mode mode;
	unsigned int delay_ms;
	uint8_t mem[4096];
	struct iofd_ioregionfd_cmd log[TDEV_LOG_MAX];
	size_t nlog;
	uint64_t malformed;	/* commands with bad fields */
	uint64_t replies;
	pthread_t thread;
	pid_t pid;
};

/* Sleep ms milliseconds (resumed after a signal). */
void tdev_sleep_ms(unsigned int ms);

/* Commands a thread device has received so far. */
size_t tdev_count(const struct tdev *d);

/* Start d (fds and mode filled in) as a thread, or as a child process.
 * The device owns fd_cmd/fd_resp from now on (the parent's copies are
 * closed when it is a process). 0, or -1 if it could not start. */
int tdev_start(struct tdev *d, bool process);

/* A joined thread can linger in /proc/self/task for a moment after
 * pthread_join() returns: wait (up to 2 s) for the count to settle at n. */
void tdev_wait_threads(int n);

/* Stop the device and wait for it; returns the process's exit status. */
int tdev_stop(struct tdev *d);

#endif /* IOFD_TDEV_H */
