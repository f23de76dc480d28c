/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device object and its event loop: one epoll fd over every source
 * (regions, doorbells), each served by its event op on the device's own
 * thread. No thread of our own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "device_impl.h"
#include "error.h"
#include "fault.h"

/* Ready sources served per call. With IOFD_DEV_BATCH commands per region,
 * this bounds one iofd_device_process(); what is left stays ready in the
 * (level-triggered) epoll set for the next call. */
#define EVENTS_PER_CALL 32

int iofd_memfd_require_no_shrink(int fd, const char *what)
{
	int seals;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return iofd_fail(-EBADF, "%s: fd %d is not open", what, fd);
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return iofd_fail(-EINVAL, "%s: fd %d is not a memfd", what, fd);
	if (seals & F_SEAL_SHRINK)
		return 0;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return iofd_fail(-EINVAL, "%s: memfd %d is not sealed against "
				 "shrinking and cannot be: %s", what, fd,
				 strerror(errno));
	return 0;
}

/* The ABI: new counters go into the reserved space. */
_Static_assert(sizeof(struct iofd_device_stats) == 128, "iofd_device_stats ABI");

IOFD_EXPORT int iofd_device_create(struct iofd_device **out)
{
	struct iofd_device *dev;

	if (!out)
		return iofd_fail(-EINVAL, "iofd_device_create: NULL out");
	dev = iofd_calloc(1, sizeof(*dev));
	if (!dev)
		return iofd_fail(-ENOMEM, "out of memory for a device");
	dev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dev->epfd < 0) {
		int err = -errno;

		free(dev);
		return iofd_fail(err, "epoll_create1: %s", strerror(-err));
	}
	dev->shadow_fd = -1;
	*out = dev;
	return 0;
}

IOFD_EXPORT void iofd_device_destroy(struct iofd_device *dev)
{
	if (!dev)
		return;
	iofd_dev_regions_fini(dev);
	iofd_dev_doorbells_fini(dev);
	iofd_dev_shadow_fini(dev);
	iofd_dev_ram_fini(dev);
	close(dev->epfd);
	free(dev);
}

IOFD_EXPORT int iofd_device_fd(const struct iofd_device *dev)
{
	return dev ? dev->epfd : iofd_fail(-EINVAL, "iofd_device_fd: NULL device");
}

int iofd_dev_watch_add(struct iofd_device *dev, int fd, struct iofd_source *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	if (epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return iofd_fail(-errno, "cannot watch fd %d: %s", fd, strerror(errno));
	return 0;
}

void iofd_dev_watch_del(struct iofd_device *dev, int fd)
{
	epoll_ctl(dev->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Serve the sources epoll reports within timeout_ms (each by its event op). */
static int serve_ready(struct iofd_device *dev, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_CALL];
	int n, served = 0, first_err = 0;
	char reason[256] = "";

	n = epoll_wait(dev->epfd, ev, EVENTS_PER_CALL, timeout_ms);
	if (n < 0)
		return iofd_fail(-errno, "epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		struct iofd_source *src = ev[i].data.ptr;
		int r = src->ops->event(src);

		if (r >= 0) {
			served += r;
		} else if (!first_err) {
			first_err = r;
			snprintf(reason, sizeof(reason), "%s", iofd_last_error());
		}
	}
	/* A later source may have overwritten the first failure's reason
	 * (each was logged already): the call reports the first one. */
	if (first_err && strcmp(reason, iofd_last_error()) != 0)
		return iofd_fail_quiet(first_err, "%s", reason);
	if (first_err)
		return first_err;
	return served;
}

IOFD_EXPORT int iofd_device_process(struct iofd_device *dev)
{
	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_process: NULL device");
	return serve_ready(dev, 0);
}

IOFD_EXPORT int iofd_device_wait(struct iofd_device *dev, int timeout_ms)
{
	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_wait: NULL device");
	return serve_ready(dev, timeout_ms < 0 ? -1 : timeout_ms);
}

IOFD_EXPORT int iofd_device_run(struct iofd_device *dev)
{
	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_run: NULL device");
	dev->stop = false;
	while (!dev->stop) {
		int r;

		if (dev->nr_regions && !dev->live_regions)
			return 0;	/* the VMM closed every region */
		if (!dev->nr_regions && !dev->nr_doorbells)
			return 0;	/* nothing to wait for */
		r = serve_ready(dev, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

IOFD_EXPORT int iofd_device_stop(struct iofd_device *dev)
{
	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_stop: NULL device");
	dev->stop = true;
	return 0;
}

IOFD_EXPORT int iofd_device_get_stats(const struct iofd_device *dev,
				      struct iofd_device_stats *stats)
{
	if (!dev || !stats)
		return iofd_fail(-EINVAL, "iofd_device_get_stats: NULL device or stats");
	*stats = dev->stats;
	return 0;
}
