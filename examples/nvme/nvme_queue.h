/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Submission and completion queues in guest RAM: creating and deleting
 * them, the doorbells (tail and head are indices modulo the queue size),
 * fetching commands, posting completions with the phase tag, interrupts.
 *
 * With shadow doorbells set (nvme_dbbuf.h), an I/O queue's MMIO doorbell
 * is a wake-up: the value is read from the shadow buffer, which the host
 * writes first and which may already hold a newer one.
 *
 * An invalid doorbell write (a queue that does not exist, an index beyond
 * the queue, a CQ head past the entries posted, an SQ tail that moves
 * back over commands not fetched yet) is ignored and reported as NVMe 1.4
 * describes it: an asynchronous event of type Error status ("Write to
 * Invalid Doorbell Register" or "Invalid Doorbell Write Value") on the
 * next Asynchronous Event Request. CSTS.CFS is kept for faults the device
 * cannot report in a queue (an admin queue outside guest RAM).
 */
#ifndef NVME_QUEUE_H
#define NVME_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "nvme_ctrl.h"

/* What a command ends with; held: no completion now (a held AER). */
struct nvme_result {
	uint32_t dw0;
	uint16_t status;	/* NVME_SC_*, with NVME_DNR */
	bool held;
};

/**
 * nvme_queue_enable_admin() - set up the admin pair from AQA/ASQ/ACQ (at
 * CC.EN 0 -> 1). Returns 0, or -EINVAL with the reason in @why (sizes
 * below 2, queues outside guest RAM).
 */
int nvme_queue_enable_admin(struct nvme_ctrl *c, const char **why);

/** nvme_queue_reset() - delete every queue (controller reset). */
void nvme_queue_reset(struct nvme_ctrl *c);

/**
 * nvme_queue_create_cq() - Create I/O Completion Queue @qid of @size
 * entries at @base (physically contiguous), interrupts @ien on vector @iv.
 * Returns the NVMe status (checks: queue id, size, alignment, guest RAM,
 * vector, CC.IOCQES).
 */
uint16_t nvme_queue_create_cq(struct nvme_ctrl *c, uint32_t qid, uint32_t size,
			      uint64_t base, bool ien, uint32_t iv);

/** nvme_queue_create_sq() - Create I/O Submission Queue @qid on CQ @cqid;
 * as above (checks also the CQ). */
uint16_t nvme_queue_create_sq(struct nvme_ctrl *c, uint32_t qid, uint32_t size,
			      uint64_t base, uint32_t cqid);

/** nvme_queue_delete_sq() - Delete I/O Submission Queue @qid: commands
 * not fetched yet are dropped. Returns the NVMe status. */
uint16_t nvme_queue_delete_sq(struct nvme_ctrl *c, uint32_t qid);

/** nvme_queue_delete_cq() - Delete I/O Completion Queue @qid (no SQ may
 * still use it). Returns the NVMe status. */
uint16_t nvme_queue_delete_cq(struct nvme_ctrl *c, uint32_t qid);

/**
 * nvme_queue_post() - post a completion to CQ @cqid for command @cid of SQ
 * @sqid. Returns 0, or -ENOSPC when the CQ is full (nothing posted).
 */
int nvme_queue_post(struct nvme_ctrl *c, uint16_t cqid, uint16_t sqid,
		    uint16_t cid, uint32_t dw0, uint16_t status);

/**
 * nvme_queue_sq_doorbell() - the guest wrote @value to SQ @qid's tail
 * doorbell (@signals writes coalesced). Commands are fetched by
 * nvme_queue_run().
 */
void nvme_queue_sq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals);

/** nvme_queue_cq_doorbell() - the guest wrote @value to CQ @qid's head
 * doorbell. */
void nvme_queue_cq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals);

/**
 * nvme_queue_run() - fetch and execute up to @budget commands from each
 * submission queue (admin first), post their completions, then signal the
 * vectors of the CQs that got entries. Returns true if commands are left
 * that could run now (call again), false when idle or stalled on full CQs.
 */
bool nvme_queue_run(struct nvme_ctrl *c, unsigned budget);

/**
 * nvme_queue_before_sleep() - with shadow doorbells set, publish each I/O
 * queue's EventIdx (the last tail / head taken), issue a full barrier and
 * read the shadow entries again. Returns true if commands came that can
 * run now (do not sleep), false otherwise (also without buffers).
 */
bool nvme_queue_before_sleep(struct nvme_ctrl *c);

/**
 * nvme_queue_raise_irqs() - MSI-X: signal each interrupt-enabled CQ that
 * got completions since the last call. INTx: assert the line if an
 * interrupt-enabled CQ holds completions the host has not consumed (CQ
 * tail != the host's newest head, read from the doorbell's shadow slot or
 * the shadow buffer), unless it is asserted (no EOI yet) or INTMS masks it.
 */
void nvme_queue_raise_irqs(struct nvme_ctrl *c);

#endif /* NVME_QUEUE_H */
