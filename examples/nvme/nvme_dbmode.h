/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Doorbell modes: what the MMIO doorbells of the I/O queues must carry.
 *
 * Without shadow doorbells an SQ tail or CQ head doorbell carries its
 * value: the VMM registers it as a post-write ioeventfd that stores the
 * value in the device's shadow memfd before it signals the eventfd. Once
 * the host set the Doorbell Buffer Config buffers, the I/O queues' values
 * live in guest RAM and their MMIO doorbells are only wake-ups: a plain
 * ioeventfd is enough. That matters where iofd serves post-write on the
 * vCPU thread (a kernel without the post-write series): a plain ioeventfd
 * is the kernel's own fast path there, with no exit to userspace.
 *
 * A VMM that can switch (NVME_IRQ_F_DOORBELL_MODES in the interrupt
 * packet) answers the device's requests on the handoff socket:
 *
 *   device -> VMM: struct nvme_dbmode_msg { 'NVDM', mode asked for, 0 }
 *   VMM -> device: struct nvme_dbmode_msg { 'NVDM', mode now in effect,
 *                                            0 or a negative errno }
 *
 * one answer per request, in order. NVME_DBMODE_WAKEUPS is asked for when
 * the buffers are set, NVME_DBMODE_VALUES when a reset forgets them. The
 * VMM may keep post-write (answer VALUES to a WAKEUPS request: the kernel
 * serves post-write itself, or the switch failed); the device's shadow
 * doorbell path works either way. Values back are needed before the next
 * I/O queue can be created: until that answer the controller holds its
 * admin queue.
 */
#ifndef NVME_DBMODE_H
#define NVME_DBMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVME_DBMODE_MAGIC	0x4e56444du	/* 'NVDM' */
#define NVME_DBMODE_VALUES	0u	/* post-write: each doorbell's value */
#define NVME_DBMODE_WAKEUPS	1u	/* plain: the I/O queues' wake-ups only */

struct nvme_dbmode_msg {
	uint32_t magic;		/* NVME_DBMODE_MAGIC */
	uint32_t mode;		/* NVME_DBMODE_* */
	int32_t status;		/* answer: 0 or a negative errno */
	uint32_t pad;		/* 0 */
};

struct nvme_dbmode {
	int sock;		/* the handoff socket, or -1: not offered */
	uint32_t asked;		/* the mode of the last request */
	uint32_t pending;	/* requests not answered yet */
	uint32_t mode;		/* in effect, as the last answer said */
	uint64_t requests, answers, refusals;	/* refusals: mode != asked */
};

/**
 * nvme_dbmode_init() - doorbells carry values; @sock (still the caller's)
 * is where requests go, or -1 when the VMM did not offer the switch.
 */
void nvme_dbmode_init(struct nvme_dbmode *m, int sock);

/**
 * nvme_dbmode_ask() - ask the VMM for @mode unless it is the mode last
 * asked for (or the switch was not offered). Returns 0, or a negative
 * errno of send() (nothing is then counted as pending).
 */
int nvme_dbmode_ask(struct nvme_dbmode *m, uint32_t mode);

/**
 * nvme_dbmode_answer() - take the VMM's answer, @n bytes at @buf.
 * Returns 0, or -EPROTO (not an answer, or none was pending; reason on
 * stderr).
 */
int nvme_dbmode_answer(struct nvme_dbmode *m, const void *buf, size_t n);

/**
 * nvme_dbmode_holding() - values were asked back and the answer has not
 * come: no new I/O queue may start yet.
 */
bool nvme_dbmode_holding(const struct nvme_dbmode *m);

/**
 * nvme_dbmode_lost_values() - every request is answered and the I/O
 * queues' doorbells still carry no values although values were asked for.
 */
bool nvme_dbmode_lost_values(const struct nvme_dbmode *m);

/**
 * nvme_dbmode_may_lack_values() - an MMIO doorbell of an I/O queue may
 * carry no value now (wake-ups in effect, or asked for and not answered).
 */
bool nvme_dbmode_may_lack_values(const struct nvme_dbmode *m);

#endif /* NVME_DBMODE_H */
