/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest side of the NVMe-style example: the script the guest runner
 * executes, and the check of what the device left in guest RAM.
 */
#include <stdio.h>
#include <string.h>

#include "nvme.h"

#define NO_CHECK UINT64_MAX

uint64_t nvme_sq_gpa(const struct nvme_scenario *s, unsigned q)
{
	return NVME_QUEUE_RAM + (uint64_t)q * s->qsize * NVME_SQE_SIZE;
}

uint64_t nvme_cq_gpa(const struct nvme_scenario *s, unsigned q)
{
	uint64_t sq_end = NVME_QUEUE_RAM +
			  (uint64_t)s->queues * s->qsize * NVME_SQE_SIZE;

	return sq_end + (uint64_t)q * s->qsize * NVME_CQE_SIZE;
}

/* Operands of command k (1-based) so that their 32-bit sum is k. */
static uint32_t cdw10_of(uint32_t k)
{
	return 3 * k;
}

static uint32_t cdw11_of(uint32_t k)
{
	return (uint32_t)(0u - 2 * k);
}

struct builder {
	struct guest_op *ops;
	uint64_t *expect;
	size_t n, max;
};

static void add(struct builder *b, uint32_t kind, uint32_t len, uint64_t addr,
		uint64_t value, uint64_t arg, uint64_t expect)
{
	if (b->n < b->max) {
		b->ops[b->n] = (struct guest_op){ .kind = kind, .len = len,
						  .addr = addr, .value = value,
						  .count = 1, .arg = arg };
		b->expect[b->n] = expect;
	}
	b->n++;
}

static void setup_queues(struct builder *b, const struct nvme_scenario *s)
{
	for (unsigned q = 0; q < s->queues; q++) {
		uint64_t regs = NVME_BAR + NVME_REG_Q(q);

		add(b, GOP_WRITE, 8, regs + NVME_Q_SQ_BASE, nvme_sq_gpa(s, q), 0, NO_CHECK);
		add(b, GOP_WRITE, 8, regs + NVME_Q_CQ_BASE, nvme_cq_gpa(s, q), 0, NO_CHECK);
		add(b, GOP_WRITE, 4, regs + NVME_Q_SIZE, s->qsize, 0, NO_CHECK);
		add(b, GOP_READ, 4, regs + NVME_Q_SIZE, 0, 0, s->qsize);
	}
}

/* Write command k into queue q's SQ, ring, wait for it, ring the CQ head. */
static void submit(struct builder *b, const struct nvme_scenario *s,
		   unsigned q, uint32_t k)
{
	uint32_t slot = (k - 1) % s->qsize;
	uint64_t sqe = nvme_sq_gpa(s, q) + (uint64_t)slot * NVME_SQE_SIZE;
	uint64_t cqe = nvme_cq_gpa(s, q) + (uint64_t)slot * NVME_CQE_SIZE;
	uint64_t dw01 = NVME_OP_ADD | ((uint64_t)(k & 0xffff) << 16) | (1ull << 32);
	uint64_t cdw1011 = cdw10_of(k) | ((uint64_t)cdw11_of(k) << 32);

	add(b, GOP_WRITE_MEM, 8, sqe, dw01, 0, NO_CHECK);
	add(b, GOP_WRITE_MEM, 8, sqe + 40, cdw1011, 0, NO_CHECK);
	/* the completion's first 8 bytes (result, reserved) must become k */
	add(b, GOP_WRITE_WAIT, 4, NVME_SQ_TAIL_DB(q), k, cqe, NO_CHECK);
	add(b, GOP_WRITE, 4, NVME_CQ_HEAD_DB(q), k % s->qsize, 0, NO_CHECK);
}

static bool scenario_ok(const struct nvme_scenario *s)
{
	uint64_t end = nvme_cq_gpa(s, s->queues);

	return s->queues >= 1 && s->queues <= NVME_MAX_QUEUES && s->qsize >= 2 &&
	       s->qsize <= NVME_MAX_QSIZE && s->commands >= 1 &&
	       s->commands <= 0xffff && end <= GUEST_RAM_SIZE;
}

size_t nvme_build_script(const struct nvme_scenario *s, struct guest_op *ops,
			 uint64_t *expect, size_t max)
{
	struct builder b = { .ops = ops, .expect = expect, .max = max };

	if (!scenario_ok(s))
		return 0;
	add(&b, GOP_READ, 8, NVME_BAR + NVME_REG_CAP, 0, 0, NVME_CAP_VALUE);
	add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_VS, 0, 0, NVME_VS_VALUE);
	add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_NQUEUES, 0, 0, s->queues);
	add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_CSTS, 0, 0, 0);
	setup_queues(&b, s);
	add(&b, GOP_WRITE, 4, NVME_BAR + NVME_REG_CC, 1, 0, NO_CHECK);
	add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_CSTS, 0, 0, NVME_CSTS_RDY);
	for (uint32_t k = 1; k <= s->commands; k++)
		for (unsigned q = 0; q < s->queues; q++)
			submit(&b, s, q, k);
	for (unsigned q = 0; q < s->queues; q++)
		add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_Q(q) + NVME_Q_DONE, 0, 0,
		    s->commands);
	add(&b, GOP_READ, 4, NVME_BAR + NVME_REG_CSTS, 0, 0, NVME_CSTS_RDY);
	return b.n <= max ? b.n : 0;
}

/* Check the CQE in slot of queue q against the command that last used it. */
static int check_cqe(const struct nvme_scenario *s, const uint8_t *ram,
		     unsigned q, uint32_t slot, char *why, size_t whylen)
{
	/* the last command k in this slot, and how many laps it took */
	uint32_t k = slot + 1 + ((s->commands - slot - 1) / s->qsize) * s->qsize;
	uint16_t phase = (uint16_t)(((k - 1) / s->qsize) % 2 == 0);
	struct nvme_cqe c;

	memcpy(&c, ram + nvme_cq_gpa(s, q) + (uint64_t)slot * NVME_CQE_SIZE,
	       sizeof(c));
	if (c.result != k || c.rsvd || c.cid != (k & 0xffff) || c.sq_id != q ||
	    c.sq_head != k % s->qsize || c.status != phase) {
		snprintf(why, whylen, "queue %u slot %u: result %u cid %u sqid %u "
			 "sqhd %u status 0x%x; expected command %u, phase %u",
			 q, slot, c.result, c.cid, c.sq_id, c.sq_head, c.status,
			 k, phase);
		return -1;
	}
	return 0;
}

long nvme_check_completions(const struct nvme_scenario *s, const uint8_t *ram,
			    char *why, size_t whylen)
{
	long checked = 0;

	if (!scenario_ok(s)) {
		snprintf(why, whylen, "invalid scenario");
		return -1;
	}
	for (unsigned q = 0; q < s->queues; q++) {
		uint32_t used = s->commands < s->qsize ? s->commands : s->qsize;

		for (uint32_t slot = 0; slot < used; slot++) {
			if (check_cqe(s, ram, q, slot, why, whylen))
				return -1;
			checked++;
		}
	}
	return checked;
}
