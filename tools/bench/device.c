/* SPDX-License-Identifier: BSD-3-Clause */
/* Device threads: pollers that count doorbells, and answerers. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "device.h"

static void poll_pause(void)
{
	struct timespec ts = { 0, BENCH_POLL_US * 1000 };

	nanosleep(&ts, NULL);
}

/* Non-blocking drain of the eventfd or socket; counts what it read. */
static void drain(struct bench_device *d)
{
	uint64_t buf[512];
	ssize_t n;

	if (d->kind == DEV_POLL_EVENTFD) {
		if (read(d->fd, buf, sizeof(buf[0])) == sizeof(buf[0]))
			atomic_fetch_add(&d->seen, buf[0]);
		return;
	}
	while ((n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (n % sizeof(buf[0]))
			atomic_fetch_add(&d->bad, 1);	/* stream cut mid-message */
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(buf[0]); i++)
			atomic_fetch_add(buf[i] == d->expect ? &d->seen : &d->bad, 1);
	}
}

static void poller(struct bench_device *d)
{
	while (!atomic_load(&d->stop)) {
		poll_pause();
		drain(d);
	}
	drain(d);
}

/* Blocks on the eventfd; each wake-up answers the guest. */
static void eventfd_answerer(struct bench_device *d)
{
	uint64_t c;

	while (read(d->fd, &c, sizeof(c)) == sizeof(c) && !atomic_load(&d->stop)) {
		uint64_t seen = atomic_fetch_add(&d->seen, c) + c;

		if (c != 1)	/* the guest waits for each answer */
			atomic_fetch_add(&d->bad, 1);
		__atomic_store_n(d->answer, seen, __ATOMIC_RELEASE);
	}
}

/* Blocks on the socket; answers in guest RAM or echoes the value back. */
static void socket_answerer(struct bench_device *d)
{
	uint64_t v;

	while (recv(d->fd, &v, sizeof(v), MSG_WAITALL) == sizeof(v)) {
		atomic_fetch_add(&d->seen, 1);
		if (d->kind == DEV_ECHO_SOCKET) {
			if (send(d->fd, &v, sizeof(v), MSG_NOSIGNAL) != sizeof(v))
				atomic_fetch_add(&d->bad, 1);
		} else {
			__atomic_store_n(d->answer, v, __ATOMIC_RELEASE);
		}
	}
}

static void *device_main(void *arg)
{
	struct bench_device *d = arg;

	bench_pin_self(BENCH_ROLE_DEVICE);
	switch (d->kind) {
	case DEV_POLL_EVENTFD:
	case DEV_POLL_SOCKET:
		poller(d);
		break;
	case DEV_ANSWER_EVENTFD:
		eventfd_answerer(d);
		break;
	case DEV_ANSWER_SOCKET:
	case DEV_ECHO_SOCKET:
		socket_answerer(d);
		break;
	}
	return NULL;
}

int bench_device_start(struct bench_device *d)
{
	int err;

	atomic_store(&d->seen, 0);
	atomic_store(&d->bad, 0);
	atomic_store(&d->stop, false);
	err = pthread_create(&d->thread, NULL, device_main, d);
	d->running = err == 0;
	return -err;
}

void bench_device_stop(struct bench_device *d)
{
	uint64_t one = 1;

	if (!d->running)
		return;
	atomic_store(&d->stop, true);
	/* Wake a blocked device: a signal it ignores, or end of stream. */
	if (d->kind == DEV_ANSWER_EVENTFD && write(d->fd, &one, sizeof(one)) < 0)
		pthread_cancel(d->thread);
	if (d->kind == DEV_ANSWER_SOCKET || d->kind == DEV_ECHO_SOCKET)
		shutdown(d->peer_fd, SHUT_WR);
	pthread_join(d->thread, NULL);
	d->running = false;
}

uint64_t bench_device_observed(struct bench_device *d)
{
	return atomic_load(&d->seen) + atomic_load(&d->bad);
}

int bench_eventfd(bool nonblock)
{
	int fd = eventfd(0, EFD_CLOEXEC | (nonblock ? EFD_NONBLOCK : 0));

	return fd < 0 ? -errno : fd;
}

int bench_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
}
