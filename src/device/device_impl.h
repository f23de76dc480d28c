/* SPDX-License-Identifier: BSD-3-Clause */
/* The device library inside: regions, doorbells, RAM of one device. */
#ifndef IOFD_DEVICE_IMPL_H
#define IOFD_DEVICE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "iofd/device.h"
#include "source.h"
#include "tsan.h"
#include "wire.h"

/*
 * Fences order the device's accesses to memory a VMM or a guest shares
 * with it. ThreadSanitizer does not model fences (GCC refuses them under
 * -fsanitize=thread), and the other party is another process it cannot see
 * anyway: its build leaves them out.
 */
#ifdef IOFD_TSAN
#define iofd_dev_fence(order) ((void)0)
#else
#define iofd_dev_fence(order) __atomic_thread_fence(order)
#endif

#define IOFD_DEV_BATCH	16u	/* commands read per region per wake-up */

/* A region: a source in the device's epoll set (its cmd fd). */
struct iofd_dev_region {
	struct iofd_source src;	/* first: ops */
	struct iofd_device *dev;
	uint32_t idx;		/* its id */
	/* Our dups (fd -1 once closed). cmd.msg: seqpacket, one recv is one
	 * message; resp.sock: replies sent with MSG_NOSIGNAL. */
	struct iofd_wire_end cmd, resp;
	int status;		/* 0, -ENOTCONN, or the poisoning errno */
	char why[160];		/* the poisoning's reason */
	struct iofd_cmd_limits lim;
	iofd_device_read_fn read;
	iofd_device_write_fn write;
	void *opaque;
	uint32_t have;		/* stream bytes buffered */
	uint8_t buf[IOFD_DEV_BATCH * IOFD_WIRE_MSG_SIZE];
};

/* A shadow doorbell: a source in the device's epoll set (its eventfd). */
struct iofd_dev_doorbell {
	struct iofd_source src;	/* first: ops */
	struct iofd_device *dev;
	uint32_t idx;		/* its id */
	int efd;		/* our dup */
	uint64_t offset;
	uint32_t len;
	iofd_device_doorbell_fn fn;
	void *opaque;
};

struct iofd_dev_ram {
	uint64_t gpa, size;
	uint8_t *host;
};

/* A source the device holds (device.c), from iofd_dev_watch_add() until
 * iofd_dev_watch_remove() or iofd_device_destroy(). */
struct iofd_dev_held {
	struct iofd_source *src;
	int fd;			/* in the epoll set, or -1 once it left */
	unsigned int flags;	/* IOFD_DEV_WATCH_* */
};

struct iofd_device {
	int epfd;
	bool stop;
	/* device.c: every source it holds, in the order they came. */
	struct iofd_dev_held *held;
	uint32_t nr_held;
	uint32_t live;			/* held sources in the epoll set */
	uint32_t peers, live_peers;	/* those with IOFD_DEV_WATCH_PEER */
	/* The mechanisms' own tables (ids), and what they share. */
	struct iofd_dev_region **regions;
	uint32_t nr_regions;
	struct iofd_dev_doorbell **doorbells;
	uint32_t nr_doorbells;
	struct iofd_dev_ram ram[IOFD_DEVICE_MAX_RAM];
	uint32_t nr_ram;
	int shadow_fd;		/* created by us, or -1 */
	uint8_t *shadow;	/* mapping, or NULL */
	size_t shadow_size;
	struct iofd_device_stats stats;
};

/* The fd of a source has a peer (a VMM) that can go away, and the source
 * leaves the set itself then (iofd_dev_watch_del()). iofd_device_run()
 * ends once every such source has left; a source without it (an eventfd
 * nobody closes) keeps the run waiting for as long as it is in the set. */
#define IOFD_DEV_WATCH_PEER	1u

/*
 * device.c: the device holds src from now on and adds fd to its epoll set;
 * when fd is readable, iofd_device_process() calls src's event op (what it
 * served, or -errno with the reason recorded). src needs an event and a
 * release op. The device lets go of it at iofd_device_destroy() (or
 * iofd_dev_watch_remove()): fd leaves the set, then src's unplug op (if
 * any) and its release op run, with the device as owner. 0, -EINVAL (no
 * event or release op, unknown flags), -EEXIST (held already), -ENOMEM,
 * or epoll_ctl's errno, the reason recorded; nothing is held then.
 */
int iofd_dev_watch_add(struct iofd_device *dev, int fd, struct iofd_source *src,
		       unsigned int flags);
/* src's fd leaves the epoll set (its peer left, it failed); the device
 * still holds src and releases it at its destruction. Call it before
 * closing that fd. Nothing if src is not in the set. */
void iofd_dev_watch_del(struct iofd_device *dev, struct iofd_source *src);
/* The device lets go of src now, as at its destruction (out of the set,
 * unplug, release). Not from inside an event op: src may be among the
 * events being served. Nothing if the device does not hold src. */
void iofd_dev_watch_remove(struct iofd_device *dev, struct iofd_source *src);

/*
 * Require a memfd to be sealed against shrinking, adding the seal if it
 * can; 0 or -EINVAL/-EBADF with a reason naming @what.
 */
int iofd_memfd_require_no_shrink(int fd, const char *what);

#endif /* IOFD_DEVICE_IMPL_H */
