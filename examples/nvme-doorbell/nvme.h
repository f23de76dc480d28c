/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An NVMe-style device, emulated out of process, and its guest scenario.
 *
 * What is NVMe-like: submission queues (64-byte entries) and completion
 * queues (16-byte entries with a phase bit) in guest RAM; a submission
 * queue tail doorbell and a completion queue head doorbell per queue pair,
 * doorbell stride 8 (CAP.DSTRD = 1); registers CAP, VS, CC, CSTS.
 * What is simplified: queues are set up through per-queue registers instead
 * of admin commands, there is one vendor-style command (ADD), and a tail
 * doorbell carries a free-running 32-bit counter (the guest runner writes
 * increasing values) instead of an index modulo the queue size.
 *
 * How each piece travels:
 *   - register file: an ioregion (reads answered by the device);
 *   - SQ tail doorbells: post-write ioeventfds, one eventfd per queue; the
 *     VMM stores each doorbell value into the device's shadow memfd, the
 *     device reads it when the eventfd fires (no reply, no round trip);
 *   - CQ head doorbells: posted-write ioregion doorbells (memory_size 0),
 *     one fd per queue;
 *   - commands and completions: DMA through the guest RAM memfd.
 */
#ifndef NVME_EXAMPLE_H
#define NVME_EXAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script.h"

/* ---- layout ---------------------------------------------------------------- */

#define NVME_BAR		GUEST_MMIO_BASE		/* 0xd0000000 */
#define NVME_REGS_SIZE		0x1000ull		/* the register file */
#define NVME_DB_BASE		(NVME_BAR + 0x1000)
#define NVME_DB_STRIDE		8ull			/* CAP.DSTRD = 1 */
#define NVME_SQ_TAIL_DB(q)	(NVME_DB_BASE + (2ull * (q)) * NVME_DB_STRIDE)
#define NVME_CQ_HEAD_DB(q)	(NVME_DB_BASE + (2ull * (q) + 1) * NVME_DB_STRIDE)
#define NVME_MAX_QUEUES		16
#define NVME_MAX_QSIZE		256

/* Registers (offsets in the register file). */
#define NVME_REG_CAP		0x00	/* 8, RO: MQES, DSTRD */
#define NVME_REG_VS		0x08	/* 4, RO */
#define NVME_REG_CC		0x14	/* 4: bit 0 EN */
#define NVME_REG_CSTS		0x1c	/* 4, RO: bit 0 RDY, bit 1 CFS */
#define NVME_REG_NQUEUES	0x40	/* 4, RO: queue pairs the device has */
/* Per-queue registers, written while CC.EN = 0. */
#define NVME_REG_Q(q)		(0x100 + 0x20 * (q))
#define NVME_Q_SQ_BASE		0x00	/* 8: GPA of the submission queue */
#define NVME_Q_CQ_BASE		0x08	/* 8: GPA of the completion queue */
#define NVME_Q_SIZE		0x10	/* 4: entries in each (2..256) */
#define NVME_Q_DONE		0x18	/* 4, RO: commands completed */

#define NVME_CAP_VALUE		((uint64_t)(NVME_MAX_QSIZE - 1) | (1ull << 32))
#define NVME_VS_VALUE		0x00010400u	/* 1.4.0 */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)	/* fatal: a guest broke the rules */

/* ---- queue entries ------------------------------------------------------- */

#define NVME_SQE_SIZE		64
#define NVME_CQE_SIZE		16
#define NVME_OP_ADD		0x80	/* result = cdw10 + cdw11 (32-bit) */

struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd2, mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t result;	/* dw0 */
	uint32_t rsvd;		/* dw1 */
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* bit 0 phase, bits 15:1 status (0 = success) */
};

#define NVME_STATUS_INVALID_OPCODE	0x01

/* ---- the device ------------------------------------------------------------ */

struct nvme_device_stats {
	uint32_t queues;
	uint64_t commands;	/* completions posted */
	uint64_t sq_doorbells;	/* doorbell wake-ups (may coalesce) */
	uint64_t cq_doorbells;	/* CQ head updates */
	uint64_t reg_reads, reg_writes;
	bool fatal;		/* CSTS.CFS was set */
};

/*
 * Serve the device whose fds arrive on the handoff socket @sock: receive
 * the HELLO, answer with the shadow memfd, serve until the VMM closes the
 * regions. Returns 0, or a negative errno (a bad handoff, a VMM that broke
 * the protocol). *stats (optional) receives the device's counters.
 */
int nvme_device_serve(int sock, struct nvme_device_stats *stats);

/* ---- the scenario (VMM side) ---------------------------------------------- */

struct nvme_scenario {
	unsigned queues;	/* 1..NVME_MAX_QUEUES */
	unsigned qsize;		/* entries per queue, 2..NVME_MAX_QSIZE */
	unsigned commands;	/* per queue */
};

#define NVME_SCENARIO_DEFAULT { .queues = 4, .qsize = 8, .commands = 16 }

/* Guest RAM used by the scenario. */
#define NVME_QUEUE_RAM		GUEST_DATA_GPA	/* SQs then CQs */

/* Guest address of queue q's SQ and CQ. */
uint64_t nvme_sq_gpa(const struct nvme_scenario *s, unsigned q);
uint64_t nvme_cq_gpa(const struct nvme_scenario *s, unsigned q);

/*
 * Build the guest script: read and check the identity registers, set up
 * the queues, enable, then for each round and each queue write an ADD
 * command into the SQ, ring the tail doorbell and wait until the
 * completion in the CQ holds the expected sum, then ring the CQ head
 * doorbell; finally read every queue's DONE counter. @expect[i] receives
 * the value op i must read (or UINT64_MAX when op i reads nothing
 * checkable). Returns the number of ops, or 0 if @max is too small or the
 * scenario is invalid.
 */
size_t nvme_build_script(const struct nvme_scenario *s, struct guest_op *ops,
			 uint64_t *expect, size_t max);

/*
 * After the guest reached END: check every completion left in each CQ
 * (command id, queue id, SQ head, phase, status, result). Returns the
 * number of completion entries checked, or -1 with a reason in @why.
 */
long nvme_check_completions(const struct nvme_scenario *s, const uint8_t *ram,
			    char *why, size_t whylen);

#endif /* NVME_EXAMPLE_H */
