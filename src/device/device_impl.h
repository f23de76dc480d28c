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

struct iofd_device {
	int epfd;
	bool stop;
	struct iofd_dev_region **regions;
	uint32_t nr_regions, live_regions;
	struct iofd_dev_doorbell **doorbells;
	uint32_t nr_doorbells;
	struct iofd_dev_ram ram[IOFD_DEVICE_MAX_RAM];
	uint32_t nr_ram;
	int shadow_fd;		/* created by us, or -1 */
	uint8_t *shadow;	/* mapping, or NULL */
	size_t shadow_size;
	struct iofd_device_stats stats;
};

/*
 * device.c: add fd to the device's epoll set; when it is readable,
 * iofd_device_process() calls src's event op (what it served, or -errno
 * with the reason recorded). 0 or -errno. A source leaves the set
 * (iofd_dev_watch_del()) before it is freed.
 */
int iofd_dev_watch_add(struct iofd_device *dev, int fd, struct iofd_source *src);
void iofd_dev_watch_del(struct iofd_device *dev, int fd);

/* device_region.c: close and free every region (device destroyed). */
void iofd_dev_regions_fini(struct iofd_device *dev);

/* device_doorbell.c: free every doorbell, then the shadow. */
void iofd_dev_doorbells_fini(struct iofd_device *dev);
void iofd_dev_shadow_fini(struct iofd_device *dev);

/* device_dma.c */
void iofd_dev_ram_fini(struct iofd_device *dev);

/*
 * Require a memfd to be sealed against shrinking, adding the seal if it
 * can; 0 or -EINVAL/-EBADF with a reason naming @what.
 */
int iofd_memfd_require_no_shrink(int fd, const char *what);

#endif /* IOFD_DEVICE_IMPL_H */
