/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The devices at the far end of a row, each a thread of its own:
 *   - doorbell devices poll their eventfd or socket every BENCH_POLL_US and
 *     count what arrived, so a doorbell never has to wake anyone (like the
 *     2009 doorbell counter, which ran in the kernel);
 *   - round-trip devices block on their fd, are woken by each doorbell,
 *     and answer: into guest RAM, or back over the socket.
 * Every device counts what it saw and what was malformed.
 */
#ifndef IOFD_BENCH_DEVICE_H
#define IOFD_BENCH_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BENCH_POLL_US	500

enum bench_device_kind {
	DEV_POLL_EVENTFD,	/* add up the eventfd's counter */
	DEV_POLL_SOCKET,	/* count 8-byte messages equal to `expect` */
	DEV_ANSWER_EVENTFD,	/* woken per doorbell: answer = doorbells seen */
	DEV_ANSWER_SOCKET,	/* read an 8-byte value, answer it in guest RAM */
	DEV_ECHO_SOCKET,	/* read an 8-byte value, send it back */
};

struct bench_device {
	enum bench_device_kind kind;
	int fd;				/* eventfd or the device's socket end */
	int peer_fd;			/* the VMM's socket end (to stop echo) */
	uint64_t expect;		/* value every message must carry */
	volatile uint64_t *answer;	/* guest RAM slot for answers */
	_Atomic uint64_t seen;		/* doorbells (messages, signals) seen */
	_Atomic uint64_t bad;		/* malformed or unexpected ones */
	_Atomic bool stop;
	pthread_t thread;
	bool running;
};

/* Start the device thread; d's fields above `seen` must be set. 0/-errno. */
int bench_device_start(struct bench_device *d);
/* Stop and join it (safe if it never started). */
void bench_device_stop(struct bench_device *d);
/* Doorbells seen so far, with malformed ones counted as extra. */
uint64_t bench_device_observed(struct bench_device *d);

/* An eventfd (non-blocking for pollers) or a connected AF_UNIX stream
 * pair, close-on-exec; the fd(s) or -errno. */
int bench_eventfd(bool nonblock);
int bench_socketpair(int sv[2]);

#endif /* IOFD_BENCH_DEVICE_H */
