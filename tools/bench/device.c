/* SPDX-License-Identifier: BSD-3-Clause */
/* Devices: pollers that count doorbells, and answerers; threads or processes. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iofd/device.h>
#include <iofd/uapi.h>

#include "bench.h"
#include "device.h"

static void poll_pause(void)
{
	struct timespec ts = { 0, BENCH_POLL_US * 1000 };

	nanosleep(&ts, NULL);
}

static void count(struct bench_device *d, bool good)
{
	atomic_fetch_add(good ? &d->counts->seen : &d->counts->bad, 1);
}

/* A command iofd sent for the guest's doorbell or read, as expected? */
static bool command_ok(const struct bench_device *d,
		       const struct iofd_ioregionfd_cmd *c, bool posted)
{
	bool resp = c->info & IOFD_IOREGIONFD_INFO_RESP;

	if (c->user_data != d->user_data || c->offset != 0 ||
	    (c->info & IOFD_IOREGIONFD_INFO_SIZE_MASK) != 2)
		return false;
	if (c->cmd == IOFD_IOREGIONFD_CMD_WRITE)
		return c->data == d->expect && resp == !posted;
	return c->cmd == IOFD_IOREGIONFD_CMD_READ && resp && !posted;
}

/* Non-blocking drain of the eventfd or socket; counts what it read. */
static void drain(struct bench_device *d)
{
	uint64_t buf[512];
	size_t unit = d->kind == DEV_POLL_IOREGION ?
			      sizeof(struct iofd_ioregionfd_cmd) : sizeof(buf[0]);
	ssize_t n;

	if (d->kind == DEV_POLL_EVENTFD) {
		if (read(d->fd, buf, sizeof(buf[0])) == sizeof(buf[0]))
			atomic_fetch_add(&d->counts->seen, buf[0]);
		return;
	}
	while ((n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if ((size_t)n % unit)
			count(d, false);	/* stream cut mid-message */
		for (size_t i = 0; i < (size_t)n / unit; i++) {
			const void *m = (const char *)buf + i * unit;

			count(d, d->kind == DEV_POLL_IOREGION ?
					 command_ok(d, m, true) :
					 *(const uint64_t *)m == d->expect);
		}
	}
}

static void poller(struct bench_device *d)
{
	while (!atomic_load(&d->counts->stop)) {
		poll_pause();
		drain(d);
	}
	drain(d);
}

/* Blocks on the eventfd; each wake-up answers the guest. */
static void eventfd_answerer(struct bench_device *d)
{
	uint64_t c;

	while (read(d->fd, &c, sizeof(c)) == sizeof(c) &&
	       !atomic_load(&d->counts->stop)) {
		uint64_t seen = atomic_fetch_add(&d->counts->seen, c) + c;

		if (c != 1)	/* the guest waits for each answer */
			count(d, false);
		__atomic_store_n(d->answer, seen, __ATOMIC_RELEASE);
	}
}

/* Blocks on the socket; answers in guest RAM or echoes the value back. */
static void socket_answerer(struct bench_device *d)
{
	uint64_t v;

	while (recv(d->fd, &v, sizeof(v), MSG_WAITALL) == sizeof(v)) {
		atomic_fetch_add(&d->counts->seen, 1);
		if (d->kind == DEV_ECHO_SOCKET) {
			if (send(d->fd, &v, sizeof(v), MSG_NOSIGNAL) != sizeof(v))
				count(d, false);
		} else {
			__atomic_store_n(d->answer, v, __ATOMIC_RELEASE);
		}
	}
}

/* Blocks on the socket; replies to every synchronous ioregionfd command. */
static void ioregion_server(struct bench_device *d)
{
	struct iofd_ioregionfd_cmd c;

	while (recv(d->fd, &c, sizeof(c), MSG_WAITALL) == sizeof(c)) {
		struct iofd_ioregionfd_resp r = { 0 };

		count(d, command_ok(d, &c, false));
		if (c.cmd == IOFD_IOREGIONFD_CMD_READ)
			r.data = BENCH_READ_VALUE;
		if ((c.info & IOFD_IOREGIONFD_INFO_RESP) &&
		    send(d->fd, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
			break;
	}
}

/* ---- the same, served by iofd's device library ---- */

static void lib_write(void *opaque, uint64_t user_data, uint64_t offset,
		      uint32_t size, uint64_t data)
{
	struct bench_device *d = opaque;

	count(d, user_data == d->user_data && offset == 0 && size == 4 &&
		 data == d->expect);
}

static void lib_read(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t *data)
{
	struct bench_device *d = opaque;

	count(d, user_data == d->user_data && offset == 0 && size == 4);
	*data = BENCH_READ_VALUE;
}

static void library_device(struct bench_device *d)
{
	struct iofd_device_region r = {
		.cmd_fd = d->fd, .resp_fd = d->fd, .size = IOFD_DEVICE_SIZE_ANY,
		.user_data = d->user_data, .flags = IOFD_DEVICE_REGION_CHECK_USER_DATA,
		.read = lib_read, .write = lib_write, .opaque = d,
	};
	struct iofd_device *dev;

	if (iofd_device_create(&dev) || iofd_device_add_region(dev, &r) < 0) {
		count(d, false);
		iofd_device_destroy(dev);
		return;
	}
	if (d->kind == DEV_LIB_SERVE_IOREGION) {
		if (iofd_device_run(dev) < 0)
			count(d, false);
	} else {
		/* process() serves a bounded batch per region and call: call
		 * it until nothing is left, or the VMM's sends back up. */
		while (!atomic_load(&d->counts->stop)) {
			poll_pause();
			while (iofd_device_process(dev) > 0)
				;
		}
		while (iofd_device_process(dev) > 0)
			;
	}
	iofd_device_destroy(dev);
}

static void *device_main(void *arg)
{
	struct bench_device *d = arg;

	bench_pin_self(BENCH_ROLE_DEVICE);
	switch (d->kind) {
	case DEV_POLL_EVENTFD:
	case DEV_POLL_SOCKET:
	case DEV_POLL_IOREGION:
		poller(d);
		break;
	case DEV_ANSWER_EVENTFD:
		eventfd_answerer(d);
		break;
	case DEV_ANSWER_SOCKET:
	case DEV_ECHO_SOCKET:
		socket_answerer(d);
		break;
	case DEV_SERVE_IOREGION:
		ioregion_server(d);
		break;
	case DEV_LIB_POLL_IOREGION:
	case DEV_LIB_SERVE_IOREGION:
		library_device(d);
		break;
	}
	return NULL;
}

/* The device as a child process: it only reads, writes and counts. */
static int start_process(struct bench_device *d)
{
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		if (d->peer_fd >= 0)
			close(d->peer_fd);	/* end of stream when the VMM stops */
		device_main(d);
		_exit(0);
	}
	return 0;
}

int bench_device_start(struct bench_device *d)
{
	int err;

	d->counts = mmap(NULL, sizeof(*d->counts), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->counts == MAP_FAILED) {
		d->counts = NULL;
		return -errno;
	}
	atomic_init(&d->counts->seen, 0);
	atomic_init(&d->counts->bad, 0);
	atomic_init(&d->counts->stop, false);
	err = d->process ? start_process(d) :
			   -pthread_create(&d->thread, NULL, device_main, d);
	d->running = err == 0;
	return err;
}

/* Wake a blocked device: a signal it ignores, or the end of the stream. */
static void wake(struct bench_device *d)
{
	uint64_t one = 1;

	if (d->kind == DEV_ANSWER_EVENTFD && write(d->fd, &one, sizeof(one)) < 0 &&
	    !d->process)
		pthread_cancel(d->thread);
	if (d->kind == DEV_ANSWER_SOCKET || d->kind == DEV_ECHO_SOCKET ||
	    d->kind == DEV_SERVE_IOREGION || d->kind == DEV_LIB_SERVE_IOREGION)
		shutdown(d->peer_fd, SHUT_WR);
}

void bench_device_stop(struct bench_device *d)
{
	if (d->running) {
		atomic_store(&d->counts->stop, true);
		wake(d);
		if (d->process)
			waitpid(d->pid, NULL, 0);
		else
			pthread_join(d->thread, NULL);
		d->running = false;
	}
	if (d->counts)
		munmap(d->counts, sizeof(*d->counts));
	d->counts = NULL;
}

uint64_t bench_device_observed(struct bench_device *d)
{
	if (!d->counts)
		return 0;
	return atomic_load(&d->counts->seen) + atomic_load(&d->counts->bad);
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
