/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe function's I/O queue doorbells, and the device's requests to
 * change what they carry (examples/nvme/nvme_dbmode.h).
 *
 * Every doorbell starts as a post-write ioeventfd into the device's shadow
 * memfd. Once the guest turned shadow doorbells on, the device asks for
 * wake-ups only (NVME_DBMODE_WAKEUPS): the SQ tail and CQ head values of
 * the I/O queues are in guest RAM, and their MMIO doorbells need to carry
 * none. Where iofd serves post-write on the vCPU thread
 * (iofd_ioeventfd_path() says IOFD_PATH_USERSPACE: a kernel without the
 * post-write series) each of those doorbells is then re-registered as a
 * plain ioeventfd on the same eventfd, which the kernel serves without an
 * exit to userspace; where the kernel serves post-write itself nothing
 * changes and the answer says so. At a controller reset the device asks
 * for values back (NVME_DBMODE_VALUES) and gets post-write again.
 *
 * One thread reads the requests from the handoff socket and answers each.
 * A registration is replaced by deassigning the old one and assigning the
 * new one (the same address may hold only one): a doorbell write that
 * lands between the two reaches iofd-vm as an unclaimed MMIO write, and
 * nvme_doorbells_mmio() turns it into a signal of the doorbell's eventfd,
 * which is all a wake-up needs (values are needed only after a reset,
 * before the guest can have created a queue to ring).
 */
#ifndef IOFD_VM_NVME_DOORBELLS_H
#define IOFD_VM_NVME_DOORBELLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <iofd/iofd.h>

struct vmm;

#define NVME_DOORBELLS_MAX	62	/* 2 per I/O queue pair */

struct nvme_doorbells {
	struct iofd_vm *iofd;
	int sock;			/* the handoff socket (not ours) */
	int stop_efd;
	pthread_t thread;
	bool started;
	unsigned nr;			/* I/O queue doorbells */
	uint64_t gpa[NVME_DOORBELLS_MAX];
	uint64_t shadow_offset[NVME_DOORBELLS_MAX];
	int efd[NVME_DOORBELLS_MAX];	/* ours, taken from the vmm */
	int shadow_fd;			/* the device's shadow memfd (a dup) */
	uint32_t mode;			/* NVME_DBMODE_* in effect */
	uint64_t requests, switches, kept, failures;
	uint64_t caught;		/* writes signalled by hand */
};

/**
 * nvme_doorbells_init() - take the I/O queue doorbells (all but the first
 * two, the admin pair) of device 0 in @m, registered as post-write: their
 * eventfds move here (attached with keep_doorbell_fds), the shadow memfd
 * is duplicated. Nothing runs yet. Returns 0, -EINVAL (no shadow, too
 * many, an eventfd already closed), or an errno of dup().
 */
int nvme_doorbells_init(struct nvme_doorbells *d, struct iofd_vm *iofd,
			struct vmm *m);

/**
 * nvme_doorbells_start() - answer the device's requests on @sock from a
 * thread of our own. Returns 0 or an errno of eventfd()/pthread_create().
 */
int nvme_doorbells_start(struct nvme_doorbells *d, int sock);

/**
 * nvme_doorbells_mmio() - a guest MMIO access nothing claimed: a 4-byte
 * write to an I/O queue doorbell (caught between a deassign and an
 * assign) signals the doorbell's eventfd. Returns true if it was one.
 */
bool nvme_doorbells_mmio(struct nvme_doorbells *d, uint64_t addr,
			 bool is_write, unsigned len);

/**
 * nvme_doorbells_destroy() - stop the thread (before the iofd VM goes)
 * and close our dups. Safe on a zeroed or half-built struct.
 */
void nvme_doorbells_destroy(struct nvme_doorbells *d);

#endif /* IOFD_VM_NVME_DOORBELLS_H */
