/* SPDX-License-Identifier: BSD-3-Clause */
/* ioregionfd registration: regions and the fd pairs ("channels") they
 * talk through. */
#ifndef IOFD_IOREGION_H
#define IOFD_IOREGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fd.h"
#include "iofd/iofd.h"
#include "rcu.h"
#include "space.h"
#include "wire.h"

/*
 * One (write_fd, read_fd) pair. Every region registered with the same
 * write_fd object shares it, so one command is in flight per fd and
 * replies can never be taken by the wrong vCPU. Readers reach a channel
 * only through a region they hold a reference on.
 */
struct iofd_chan {
	struct iofd_wire_end w;		/* our CLOEXEC dup of write_fd */
	struct iofd_wire_end r;		/* of read_fd; fd -1 while only doorbells
					 * use the channel */
	struct iofd_file_id w_id, r_id;
	int wake_fd;			/* eventfd: "the lock was released" */
	atomic_int lock;		/* 1 while a command is in flight */
	atomic_int waiters;		/* threads waiting for the lock */
	atomic_int poison;		/* 0, or -errno of the failure */
	char poison_reason[96];		/* written once, before poison */
	atomic_uint refs;		/* region objects using the channel */
	unsigned int registered;	/* registered regions (writer lock) */
	struct iofd_chan *next;		/* vm->chans (writer lock) */
};

/* A VM's ioregionfd state (vm->ioregion). */
struct iofd_ioregion_vm {
	uint32_t timeout_ms;		/* read and set with __atomic */
	bool kernel;			/* the kernel serves ioregions (probed) */
	struct iofd_chan *chans;	/* fd pairs in use (writer lock) */
};

/* A registered region; immutable once published, except refs and dead. */
struct iofd_region {
	struct iofd_source obj;	/* first: ops, retire link */
	uint64_t start, size;		/* guest_paddr, memory_size */
	uint64_t end;			/* end of the range array entry */
	uint64_t user_data;
	uint32_t flags;			/* IOFD_IOREGION_FLAG_* */
	enum iofd_bus bus;
	struct iofd_chan *chan;
	bool kernel;			/* registered in the kernel, served there */
	bool in_kernel;			/* the kernel still has it (writer lock) */
	atomic_uint refs;		/* registration + accesses in progress */
	atomic_bool dead;		/* deassigned (published) */
	struct rcu_head rcu;
};

/* Drop a reference; the last one frees the region after a grace period. */
void iofd_region_put(struct iofd_region *r);

#endif /* IOFD_IOREGION_H */
