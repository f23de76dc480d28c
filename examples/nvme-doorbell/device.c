/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe-style device: register file, queues, completions. Everything it
 * touches came through the handoff: it never sees the VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <iofd/device.h>
#include <iofd/handoff.h>

#include "nvme.h"

struct nvme_queue {
	struct nvme *ctrl;
	unsigned id;
	/* set up through the registers */
	uint64_t sq_base, cq_base;
	uint32_t size;
	/* state */
	uint32_t sq_tail_seen;	/* last tail counter the guest rang */
	uint32_t sq_consumed;	/* commands taken from the SQ */
	uint32_t cq_tail, cq_head;
	uint16_t phase;
	uint32_t done;
};

struct nvme {
	struct iofd_device *dev;
	unsigned nqueues;
	uint32_t cc, csts;
	struct nvme_queue q[NVME_MAX_QUEUES];
	struct nvme_device_stats stats;
};

static void fatal(struct nvme *n, const char *why, unsigned q)
{
	if (!(n->csts & NVME_CSTS_CFS))
		fprintf(stderr, "nvme-doorbell: queue %u: %s; controller fatal\n",
			q, why);
	n->csts |= NVME_CSTS_CFS;
	n->stats.fatal = true;
}

/* ---- queues ------------------------------------------------------------------ */

static bool cq_full(const struct nvme_queue *q)
{
	return (q->cq_tail + 1) % q->size == q->cq_head;
}

static void post_completion(struct nvme_queue *q, const struct nvme_sqe *sqe)
{
	struct nvme_cqe cqe = { 0 };
	uint64_t at = q->cq_base + (uint64_t)q->cq_tail * NVME_CQE_SIZE;

	if (sqe->opcode == NVME_OP_ADD)
		cqe.result = sqe->cdw10 + sqe->cdw11;
	else
		cqe.status = NVME_STATUS_INVALID_OPCODE << 1;
	cqe.sq_head = (uint16_t)(q->sq_consumed % q->size);
	cqe.sq_id = (uint16_t)q->id;
	cqe.cid = sqe->cid;
	cqe.status |= q->phase;
	q->done++;
	q->ctrl->stats.commands++;
	/* The second half first: a guest that sees the result sees it all. */
	iofd_device_dma_write(q->ctrl->dev, at + 8, (const uint8_t *)&cqe + 8, 8);
	iofd_device_dma_write(q->ctrl->dev, at, &cqe, 8);
	if (++q->cq_tail == q->size) {
		q->cq_tail = 0;
		q->phase ^= 1;
	}
}

/* Take commands from the SQ while there are some and the CQ has room. */
static void process_queue(struct nvme_queue *q)
{
	struct nvme *n = q->ctrl;

	if (!(n->csts & NVME_CSTS_RDY) || (n->csts & NVME_CSTS_CFS))
		return;
	while (q->sq_consumed != q->sq_tail_seen && !cq_full(q)) {
		uint64_t at = q->sq_base +
			      (uint64_t)(q->sq_consumed % q->size) * NVME_SQE_SIZE;
		struct nvme_sqe sqe;

		if (iofd_device_dma_read(n->dev, at, &sqe, sizeof(sqe))) {
			fatal(n, "submission queue outside guest RAM", q->id);
			return;
		}
		q->sq_consumed++;
		post_completion(q, &sqe);
	}
}

static void on_sq_doorbell(void *opaque, uint64_t value, uint64_t signals)
{
	struct nvme_queue *q = opaque;
	uint32_t tail = (uint32_t)value;

	(void)signals;
	q->ctrl->stats.sq_doorbells++;
	if (!(q->ctrl->csts & NVME_CSTS_RDY))
		return;		/* ignored while disabled, as NVMe does */
	if (tail - q->sq_consumed > q->size - 1) {
		fatal(q->ctrl, "tail doorbell overruns the queue", q->id);
		return;
	}
	q->sq_tail_seen = tail;
	process_queue(q);
}

static void on_cq_doorbell(void *opaque, uint64_t user_data, uint64_t offset,
			   uint32_t size, uint64_t data)
{
	struct nvme_queue *q = opaque;

	(void)user_data;
	(void)offset;
	(void)size;
	q->ctrl->stats.cq_doorbells++;
	if (!(q->ctrl->csts & NVME_CSTS_RDY))
		return;
	if (data >= q->size) {
		fatal(q->ctrl, "CQ head doorbell beyond the queue", q->id);
		return;
	}
	q->cq_head = (uint32_t)data;
	process_queue(q);	/* room again for completions held back */
}

/* ---- registers ---------------------------------------------------------------- */

/* The 8-byte register word at an 8-aligned offset. */
static uint64_t reg_word(const struct nvme *n, uint64_t off)
{
	if (off == NVME_REG_CAP)
		return NVME_CAP_VALUE;
	if (off == 0x08)
		return NVME_VS_VALUE;
	if (off == 0x10)
		return (uint64_t)n->cc << 32;
	if (off == 0x18)
		return (uint64_t)n->csts << 32;
	if (off == NVME_REG_NQUEUES)
		return n->nqueues;
	if (off >= NVME_REG_Q(0) && off < NVME_REG_Q(n->nqueues)) {
		const struct nvme_queue *q = &n->q[(off - NVME_REG_Q(0)) / 0x20];

		switch ((off - NVME_REG_Q(0)) % 0x20) {
		case NVME_Q_SQ_BASE: return q->sq_base;
		case NVME_Q_CQ_BASE: return q->cq_base;
		case NVME_Q_SIZE: return q->size;
		case NVME_Q_DONE: return q->done;
		}
	}
	return 0;
}

static void on_reg_read(void *opaque, uint64_t user_data, uint64_t offset,
			uint32_t size, uint64_t *data)
{
	struct nvme *n = opaque;
	uint64_t base = offset & ~7ull, lo = reg_word(n, base);
	unsigned shift = (unsigned)(offset & 7) * 8;

	(void)user_data;
	n->stats.reg_reads++;
	*data = lo >> shift;
	if (shift && shift + size * 8 > 64)	/* straddles two words */
		*data |= reg_word(n, base + 8) << (64 - shift);
}

static void enable(struct nvme *n)
{
	for (unsigned i = 0; i < n->nqueues; i++) {
		struct nvme_queue *q = &n->q[i];

		if (q->size < 2 || q->size > NVME_MAX_QSIZE ||
		    !iofd_device_dma(n->dev, q->sq_base, (uint64_t)q->size * NVME_SQE_SIZE) ||
		    !iofd_device_dma(n->dev, q->cq_base, (uint64_t)q->size * NVME_CQE_SIZE)) {
			fatal(n, "queue not set up inside guest RAM", i);
			return;
		}
		q->sq_tail_seen = q->sq_consumed = q->cq_tail = q->cq_head = 0;
		q->phase = 1;
		q->done = 0;
	}
	n->csts |= NVME_CSTS_RDY;
}

/* Store a 4- or 8-byte write into a 64-bit register. */
static void store64(uint64_t *reg, uint64_t offset, uint32_t size, uint64_t data)
{
	if (size == 8 && !(offset & 7))
		*reg = data;
	else if (size == 4 && !(offset & 3))
		*reg = (offset & 4) ? (*reg & 0xffffffffull) | (data << 32)
				    : (*reg & ~0xffffffffull) | data;
}

static void queue_reg_write(struct nvme *n, uint64_t offset, uint32_t size,
			    uint64_t data)
{
	struct nvme_queue *q = &n->q[(offset - NVME_REG_Q(0)) / 0x20];
	uint64_t r = (offset - NVME_REG_Q(0)) % 0x20;

	if (n->cc & 1)
		return;		/* queues change only while disabled */
	if (r < NVME_Q_CQ_BASE)
		store64(&q->sq_base, r, size, data);
	else if (r < NVME_Q_SIZE)
		store64(&q->cq_base, r - NVME_Q_CQ_BASE, size, data);
	else if (r == NVME_Q_SIZE && size == 4)
		q->size = (uint32_t)data;
}

static void on_reg_write(void *opaque, uint64_t user_data, uint64_t offset,
			 uint32_t size, uint64_t data)
{
	struct nvme *n = opaque;

	(void)user_data;
	n->stats.reg_writes++;
	if (offset == NVME_REG_CC && size == 4) {
		bool was = n->cc & 1, now = data & 1;

		n->cc = (uint32_t)data;
		if (!was && now)
			enable(n);
		else if (was && !now)
			n->csts &= ~NVME_CSTS_RDY;
	} else if (offset >= NVME_REG_Q(0) && offset < NVME_REG_Q(n->nqueues)) {
		queue_reg_write(n, offset, size, data);
	}
}

/* ---- handoff ------------------------------------------------------------------ */

/* Queue number of a guest address, or -1. */
static int queue_of(uint64_t gpa, bool tail)
{
	for (unsigned q = 0; q < NVME_MAX_QUEUES; q++)
		if (gpa == (tail ? NVME_SQ_TAIL_DB(q) : NVME_CQ_HEAD_DB(q)))
			return (int)q;
	return -1;
}

static int attach_regions(struct nvme *n, const struct iofd_handoff *h)
{
	bool regs = false;

	for (uint32_t i = 0; i < h->nr_regions; i++) {
		const struct iofd_handoff_region *r = &h->regions[i];
		struct iofd_device_region reg = {
			.cmd_fd = r->cmd_fd, .resp_fd = r->resp_fd, .size = r->size,
			.user_data = r->user_data,
			.flags = IOFD_DEVICE_REGION_CHECK_USER_DATA,
		};
		int q = queue_of(r->gpa, false);

		if (r->gpa == NVME_BAR && r->size == NVME_REGS_SIZE) {
			reg.read = on_reg_read;
			reg.write = on_reg_write;
			reg.opaque = n;
			regs = true;
		} else if (q >= 0 && (unsigned)q < n->nqueues && r->size == 0) {
			reg.write = on_cq_doorbell;
			reg.opaque = &n->q[q];
		} else {
			fprintf(stderr, "nvme-doorbell: unexpected region at 0x%llx\n",
				(unsigned long long)r->gpa);
			return -EINVAL;
		}
		if (iofd_device_add_region(n->dev, &reg) < 0) {
			fprintf(stderr, "nvme-doorbell: %s\n", iofd_last_error());
			return -EINVAL;
		}
	}
	if (regs && h->nr_regions == n->nqueues + 1)
		return 0;
	fprintf(stderr, "nvme-doorbell: need the register file and one CQ head "
		"doorbell region per queue (%u queues, %u regions)\n",
		n->nqueues, h->nr_regions);
	return -EINVAL;
}

static int attach_doorbells(struct nvme *n, const struct iofd_handoff *h)
{
	uint64_t shadow_size = 8;

	for (uint32_t i = 0; i < h->nr_doorbells; i++)
		if (h->doorbells[i].shadow_offset + h->doorbells[i].len > shadow_size)
			shadow_size = h->doorbells[i].shadow_offset + h->doorbells[i].len;
	if (shadow_size > 4096 || iofd_device_create_shadow(n->dev, shadow_size)) {
		fprintf(stderr, "nvme-doorbell: no shadow of %llu bytes\n",
			(unsigned long long)shadow_size);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_doorbells; i++) {
		const struct iofd_handoff_doorbell *d = &h->doorbells[i];
		int q = queue_of(d->gpa, true);
		struct iofd_device_doorbell db = {
			.efd = d->efd, .shadow_offset = d->shadow_offset,
			.len = d->len, .fn = on_sq_doorbell,
		};

		if (q < 0 || (unsigned)q >= n->nqueues || d->len != 4) {
			fprintf(stderr, "nvme-doorbell: unexpected doorbell at 0x%llx "
				"len %u\n", (unsigned long long)d->gpa, d->len);
			return -EINVAL;
		}
		db.opaque = &n->q[q];
		if (iofd_device_add_doorbell(n->dev, &db) < 0) {
			fprintf(stderr, "nvme-doorbell: %s\n", iofd_last_error());
			return -EINVAL;
		}
	}
	return 0;
}

static int attach(struct nvme *n, const struct iofd_handoff *h)
{
	int err;

	if (h->nr_doorbells == 0 || h->nr_doorbells > NVME_MAX_QUEUES ||
	    h->nr_ram == 0) {
		fprintf(stderr, "nvme-doorbell: need guest RAM and 1..%d SQ tail "
			"doorbells\n", NVME_MAX_QUEUES);
		return -EINVAL;
	}
	n->nqueues = h->nr_doorbells;
	for (unsigned q = 0; q < n->nqueues; q++) {
		n->q[q].ctrl = n;
		n->q[q].id = q;
	}
	for (uint32_t i = 0; i < h->nr_ram; i++) {
		err = iofd_device_add_ram(n->dev, h->ram[i].fd, h->ram[i].gpa,
					  h->ram[i].size, h->ram[i].offset);
		if (err) {
			fprintf(stderr, "nvme-doorbell: %s\n", iofd_last_error());
			return err;
		}
	}
	err = attach_regions(n, h);
	return err ? err : attach_doorbells(n, h);
}

int nvme_device_serve(int sock, struct nvme_device_stats *stats)
{
	struct iofd_handoff hello, reply;
	struct nvme n = { 0 };
	int err;

	err = iofd_handoff_recv(sock, IOFD_HANDOFF_HELLO, &hello, 10000);
	if (err) {
		fprintf(stderr, "nvme-doorbell: handoff: %s\n", iofd_last_error());
		return err;
	}
	err = iofd_device_create(&n.dev);
	if (!err)
		err = attach(&n, &hello);
	iofd_handoff_close(&hello);	/* the device keeps what it needs */
	iofd_handoff_init(&reply, IOFD_HANDOFF_REPLY);
	reply.status = err;
	reply.shadow_fd = err ? -1 : iofd_device_shadow_fd(n.dev);
	if (iofd_handoff_send(sock, &reply) && !err)
		err = -EPIPE;
	if (!err) {
		err = iofd_device_run(n.dev);
		if (err)
			fprintf(stderr, "nvme-doorbell: %s\n", iofd_last_error());
	}
	n.stats.queues = n.nqueues;
	if (stats)
		*stats = n.stats;
	iofd_device_destroy(n.dev);
	return err;
}
