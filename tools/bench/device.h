/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The devices at the far end of a row, each a thread of its own or, with
 * `process` set, a child process:
 *   - doorbell devices poll their eventfd or socket every BENCH_POLL_US and
 *     count what arrived, so a doorbell never has to wake anyone (like the
 *     2009 doorbell counter, which ran in the kernel);
 *   - synchronous devices block on their fd, are woken by each access, and
 *     answer: into guest RAM, back over the socket, or with an ioregionfd
 *     reply.
 * Every device counts what it saw and what was malformed, in memory shared
 * with the VMM (a child process counts there too).
 */
#ifndef IOFD_BENCH_DEVICE_H
#define IOFD_BENCH_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_POLL_US		500
#define BENCH_READ_VALUE	0x5a5a1234u	/* what devices answer to reads */

enum bench_device_kind {
	DEV_POLL_EVENTFD,	/* add up the eventfd's counter */
	DEV_POLL_SOCKET,	/* count 8-byte messages equal to `expect` */
	DEV_POLL_IOREGION,	/* count posted ioregionfd write commands */
	DEV_ANSWER_EVENTFD,	/* woken per doorbell: answer = doorbells seen */
	DEV_ANSWER_SOCKET,	/* read an 8-byte value, answer it in guest RAM */
	DEV_ECHO_SOCKET,	/* read an 8-byte value, send it back */
	DEV_SERVE_IOREGION,	/* read a command, send the ioregionfd reply */
	/* The same two with iofd's device library (<iofd/device.h>): */
	DEV_LIB_POLL_IOREGION,	/* iofd_device_process() every BENCH_POLL_US */
	DEV_LIB_SERVE_IOREGION,	/* iofd_device_run(): blocks, answers */
};

/* Counters shared with a device process. */
struct bench_device_counts {
	_Atomic uint64_t seen;		/* doorbells (messages, commands) seen */
	_Atomic uint64_t bad;		/* malformed or unexpected ones */
	_Atomic bool stop;
};

struct bench_device {
	enum bench_device_kind kind;
	bool process;			/* a child process instead of a thread */
	int fd;				/* eventfd or the device's socket end */
	int peer_fd;			/* the VMM's socket end (to stop it) */
	uint64_t expect;		/* value every doorbell must carry */
	uint64_t user_data;		/* ioregionfd token every command carries */
	volatile uint64_t *answer;	/* guest RAM slot for answers */
	struct bench_device_counts *counts; /* shared mapping, made by start */
	pthread_t thread;
	pid_t pid;
	bool running;
};

/* Start the device; the fields above `counts` must be set. 0 or -errno. */
int bench_device_start(struct bench_device *d);
/* Stop it (join the thread or reap the process); safe if never started. */
void bench_device_stop(struct bench_device *d);
/* Doorbells seen so far, with malformed ones counted as extra. */
uint64_t bench_device_observed(struct bench_device *d);

/* An eventfd (non-blocking for pollers) or a connected AF_UNIX stream
 * pair, close-on-exec; the fd(s) or -errno. */
int bench_eventfd(bool nonblock);
int bench_socketpair(int sv[2]);

#endif /* IOFD_BENCH_DEVICE_H */
