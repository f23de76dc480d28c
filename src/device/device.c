/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device object and its event loop: one epoll fd over every source it
 * holds, each served by its event op on the device's own thread, and let
 * go of through its unplug and release ops. It names no mechanism: the
 * sources say what they are by their ops, the table of device_mech.c
 * frees what the mechanisms keep besides. No thread of our own.
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
#include "device_mech.h"
#include "error.h"
#include "fault.h"

/* Ready sources served per call. As each source serves a bounded batch per
 * event, this bounds one iofd_device_process(); what is left stays ready
 * in the (level-triggered) epoll set for the next call. */
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
	iofd_dev_mechs_init(dev);
	*out = dev;
	return 0;
}

/* The held entry of src, or NULL. */
static struct iofd_dev_held *held_of(struct iofd_device *dev,
				     const struct iofd_source *src)
{
	for (uint32_t i = 0; i < dev->nr_held; i++)
		if (dev->held[i].src == src)
			return &dev->held[i];
	return NULL;
}

/* The held source's fd leaves the set (if it is still there). */
static void unwatch(struct iofd_device *dev, struct iofd_dev_held *h)
{
	if (h->fd < 0)
		return;
	epoll_ctl(dev->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->fd = -1;
	dev->live--;
	if (h->flags & IOFD_DEV_WATCH_PEER)
		dev->live_peers--;
}

/* Let go of the i-th held source: out of the set and the table (the rest
 * keep their order), then its unplug and release ops. */
static void let_go(struct iofd_device *dev, uint32_t i)
{
	struct iofd_source *src = dev->held[i].src;

	unwatch(dev, &dev->held[i]);
	if (dev->held[i].flags & IOFD_DEV_WATCH_PEER)
		dev->peers--;
	memmove(&dev->held[i], &dev->held[i + 1],
		(dev->nr_held - i - 1) * sizeof(dev->held[0]));
	dev->nr_held--;
	if (src->ops->unplug)
		src->ops->unplug(dev, src);
	src->ops->release(dev, src);
}

IOFD_EXPORT void iofd_device_destroy(struct iofd_device *dev)
{
	if (!dev)
		return;
	/* The newest first: a source may lean on one that came before. */
	while (dev->nr_held)
		let_go(dev, dev->nr_held - 1);
	free(dev->held);
	iofd_dev_mechs_fini(dev);
	close(dev->epfd);
	free(dev);
}

IOFD_EXPORT int iofd_device_fd(const struct iofd_device *dev)
{
	return dev ? dev->epfd : iofd_fail(-EINVAL, "iofd_device_fd: NULL device");
}

int iofd_dev_watch_add(struct iofd_device *dev, int fd, struct iofd_source *src,
		       unsigned int flags)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	struct iofd_dev_held *grown;

	if (!src->ops->event || !src->ops->release || (flags & ~IOFD_DEV_WATCH_PEER))
		return iofd_fail(-EINVAL, "a device source needs an event and a "
				 "release op, and known flags (0x%x)", flags);
	if (held_of(dev, src))
		return iofd_fail(-EEXIST, "the device holds that source already");
	grown = iofd_realloc(dev->held, (dev->nr_held + 1) * sizeof(*grown));
	if (!grown)
		return iofd_fail(-ENOMEM, "out of memory for a device source");
	dev->held = grown;
	if (epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return iofd_fail(-errno, "cannot watch fd %d: %s", fd, strerror(errno));
	dev->held[dev->nr_held++] = (struct iofd_dev_held){ src, fd, flags };
	dev->live++;
	if (flags & IOFD_DEV_WATCH_PEER) {
		dev->peers++;
		dev->live_peers++;
	}
	return 0;
}

void iofd_dev_watch_del(struct iofd_device *dev, struct iofd_source *src)
{
	struct iofd_dev_held *h = held_of(dev, src);

	if (h)
		unwatch(dev, h);
}

void iofd_dev_watch_remove(struct iofd_device *dev, struct iofd_source *src)
{
	struct iofd_dev_held *h = held_of(dev, src);

	if (h)
		let_go(dev, (uint32_t)(h - dev->held));
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

		if (!dev->live)
			return 0;	/* nothing to wait for */
		if (dev->peers && !dev->live_peers)
			return 0;	/* the VMM left every source it served */
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
