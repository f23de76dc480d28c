/* SPDX-License-Identifier: BSD-3-Clause */
/* Queues in guest RAM, doorbells, completions and interrupts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nvme_admin.h"
#include "nvme_io.h"
#include "nvme_queue.h"

#define PAGE_MASK	((uint64_t)NVME_PAGE_SIZE - 1)
#define NO_ID		0xffffu

static bool cq_full(const struct nvme_cq *cq)
{
	return (cq->tail + 1) % cq->size == cq->head;
}

/* Entries from @from up to @to in a ring of @size. */
static uint32_t ring_dist(uint32_t from, uint32_t to, uint32_t size)
{
	return (to + size - from) % size;
}

int nvme_queue_enable_admin(struct nvme_ctrl *c, const char **why)
{
	uint32_t asqs = (c->aqa & 0xfff) + 1, acqs = ((c->aqa >> 16) & 0xfff) + 1;
	uint64_t asq = c->asq & ~PAGE_MASK, acq = c->acq & ~PAGE_MASK;

	if (asqs < 2 || acqs < 2) {
		*why = "AQA: an admin queue of fewer than 2 entries";
		return -1;
	}
	if (!iofd_device_dma(c->dev, asq, (uint64_t)asqs * NVME_SQE_SIZE) ||
	    !iofd_device_dma(c->dev, acq, (uint64_t)acqs * NVME_CQE_SIZE)) {
		*why = "ASQ/ACQ: an admin queue outside guest RAM";
		return -1;
	}
	c->sq[0] = (struct nvme_sq){ .live = true, .cqid = 0, .size = asqs,
				     .base = asq };
	c->cq[0] = (struct nvme_cq){ .live = true, .ien = true, .iv = 0,
				     .phase = 1, .size = acqs, .nr_sqs = 1,
				     .base = acq };
	return 0;
}

void nvme_queue_reset(struct nvme_ctrl *c)
{
	memset(c->sq, 0, sizeof(c->sq));
	memset(c->cq, 0, sizeof(c->cq));
	c->io_queue_created = false;
	/* Doorbell registers reset to 0 too: a doorbell write that is still
	 * on its way from before the reset then reads as "nothing new". */
	for (unsigned i = 0; c->shadow && i < c->nr_doorbells; i++)
		__atomic_store_n(&c->shadow[2 * i], 0, __ATOMIC_RELEASE);
}

uint16_t nvme_queue_create_cq(struct nvme_ctrl *c, uint32_t qid, uint32_t size,
			      uint64_t base, bool ien, uint32_t iv)
{
	if (qid == 0 || qid > c->ncq || qid > NVME_MAX_IO_QUEUES || c->cq[qid].live)
		return NVME_SC_QID_INVALID | NVME_DNR;
	if (size < 2 || size > NVME_MQES + 1)
		return NVME_SC_QUEUE_SIZE | NVME_DNR;
	if (NVME_CC_IOCQES(c->cc) != NVME_CQES)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	if (base & PAGE_MASK)
		return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
	if (!iofd_device_dma(c->dev, base, (uint64_t)size * NVME_CQE_SIZE))
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	if (iv >= c->irq.nr)
		return NVME_SC_INVALID_VECTOR | NVME_DNR;
	c->cq[qid] = (struct nvme_cq){ .live = true, .ien = ien,
				       .iv = (uint16_t)iv, .phase = 1,
				       .size = size, .base = base };
	c->io_queue_created = true;
	return NVME_SC_SUCCESS;
}

uint16_t nvme_queue_create_sq(struct nvme_ctrl *c, uint32_t qid, uint32_t size,
			      uint64_t base, uint32_t cqid)
{
	if (qid == 0 || qid > c->nsq || qid > NVME_MAX_IO_QUEUES || c->sq[qid].live)
		return NVME_SC_QID_INVALID | NVME_DNR;
	if (cqid == 0 || cqid > NVME_MAX_IO_QUEUES || !c->cq[cqid].live)
		return NVME_SC_CQ_INVALID | NVME_DNR;
	if (size < 2 || size > NVME_MQES + 1)
		return NVME_SC_QUEUE_SIZE | NVME_DNR;
	if (NVME_CC_IOSQES(c->cc) != NVME_SQES)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	if (base & PAGE_MASK)
		return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
	if (!iofd_device_dma(c->dev, base, (uint64_t)size * NVME_SQE_SIZE))
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	c->sq[qid] = (struct nvme_sq){ .live = true, .cqid = (uint16_t)cqid,
				       .size = size, .base = base };
	c->cq[cqid].nr_sqs++;
	c->io_queue_created = true;
	return NVME_SC_SUCCESS;
}

uint16_t nvme_queue_delete_sq(struct nvme_ctrl *c, uint32_t qid)
{
	if (qid == 0 || qid > NVME_MAX_IO_QUEUES || !c->sq[qid].live)
		return NVME_SC_QID_INVALID | NVME_DNR;
	c->cq[c->sq[qid].cqid].nr_sqs--;
	memset(&c->sq[qid], 0, sizeof(c->sq[qid]));
	return NVME_SC_SUCCESS;
}

uint16_t nvme_queue_delete_cq(struct nvme_ctrl *c, uint32_t qid)
{
	if (qid == 0 || qid > NVME_MAX_IO_QUEUES || !c->cq[qid].live)
		return NVME_SC_QID_INVALID | NVME_DNR;
	if (c->cq[qid].nr_sqs)
		return NVME_SC_INVALID_QUEUE_DELETION | NVME_DNR;
	memset(&c->cq[qid], 0, sizeof(c->cq[qid]));
	return NVME_SC_SUCCESS;
}

int nvme_queue_post(struct nvme_ctrl *c, uint16_t cqid, uint16_t sqid,
		    uint16_t cid, uint32_t dw0, uint16_t status)
{
	struct nvme_cq *cq = &c->cq[cqid];
	struct nvme_cqe e;
	uint8_t *p;

	if (!cq->live)
		return -EINVAL;
	if (cq_full(cq))
		return -ENOSPC;
	p = iofd_device_dma(c->dev, cq->base + (uint64_t)cq->tail * NVME_CQE_SIZE,
			    NVME_CQE_SIZE);
	if (!p) {	/* checked at creation: guest RAM does not move */
		nvme_ctrl_fatal(c, "completion queue outside guest RAM");
		return -EFAULT;
	}
	e = (struct nvme_cqe){ .dw0 = dw0, .sq_head = (uint16_t)c->sq[sqid].head,
			       .sq_id = sqid, .cid = cid,
			       .status = (uint16_t)(status << 1 | cq->phase) };
	memcpy(p, &e, 12);
	/* The dword with the phase tag last: a driver that sees the new
	 * phase sees the whole entry and the data before it. */
	__atomic_store_n((uint32_t *)(p + 12),
			 (uint32_t)e.cid | (uint32_t)e.status << 16, __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	cq->irq_due = true;
	return 0;
}

/* Ignore a bad doorbell write and report it as an asynchronous event. */
static void invalid_doorbell(struct nvme_ctrl *c, uint8_t info, const char *kind,
			     uint32_t qid, uint64_t value)
{
	if (c->st.invalid_db++ < 8)
		fprintf(stderr, "nvme-device: %s doorbell of queue %u: %llu "
			"ignored (%s)\n", kind, qid, (unsigned long long)value,
			info == NVME_AER_INFO_INVALID_DB_REG ? "no such queue"
							     : "invalid value");
	nvme_ctrl_log_error(c, NO_ID, NO_ID, NVME_SC_INVALID_FIELD, NO_ID);
	nvme_admin_post_event(c, NVME_AER_TYPE_ERROR, info, NVME_LOG_ERROR);
}

static bool accepting(const struct nvme_ctrl *c)
{
	return (c->csts & NVME_CSTS_RDY) && !(c->csts & NVME_CSTS_CFS);
}

void nvme_queue_sq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals)
{
	struct nvme_sq *sq;
	uint32_t tail = (uint32_t)value;

	c->st.sq_db += signals;
	c->st.sq_db_wakeups++;
	if (!accepting(c))
		return;		/* doorbells of a disabled controller: ignored */
	sq = qid <= NVME_MAX_IO_QUEUES ? &c->sq[qid] : NULL;
	if (!sq || !sq->live) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_REG, "SQ tail", qid, value);
		return;
	}
	if (value >= sq->size ||
	    ring_dist(sq->head, tail, sq->size) < ring_dist(sq->head, sq->tail, sq->size)) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE, "SQ tail", qid, value);
		return;
	}
	sq->tail = tail;
}

void nvme_queue_cq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals)
{
	struct nvme_cq *cq;
	uint32_t head = (uint32_t)value;

	c->st.cq_db += signals;
	c->st.cq_db_wakeups++;
	if (!accepting(c))
		return;
	cq = qid <= NVME_MAX_IO_QUEUES ? &c->cq[qid] : NULL;
	if (!cq || !cq->live) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_REG, "CQ head", qid, value);
		return;
	}
	/* The head may move over posted entries only. */
	if (value >= cq->size ||
	    ring_dist(cq->head, head, cq->size) > ring_dist(cq->head, cq->tail, cq->size)) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE, "CQ head", qid, value);
		return;
	}
	cq->head = head;
}

static void execute(struct nvme_ctrl *c, uint16_t qid, const struct nvme_sqe *e)
{
	struct nvme_result r = { 0 };

	if (qid == 0) {
		c->st.admin[e->opcode]++;
		nvme_admin_exec(c, e, &r);
	} else {
		c->st.io[e->opcode]++;
		nvme_io_exec(c, e, &r);
	}
	if (r.held)
		return;
	if (r.status) {
		c->st.failed++;
		nvme_ctrl_log_error(c, qid, e->cid, r.status, NO_ID);
	}
	/* The CQ had room (checked before the fetch); a command cannot
	 * delete the queue pair it came on. */
	nvme_queue_post(c, c->sq[qid].cqid, qid, e->cid, r.dw0, r.status);
}

/* Up to @budget commands of SQ @qid; true if more could run now. */
static bool run_sq(struct nvme_ctrl *c, uint16_t qid, unsigned budget)
{
	struct nvme_sq *sq = &c->sq[qid];

	for (unsigned n = 0; sq->live && sq->head != sq->tail && accepting(c); n++) {
		struct nvme_sqe e;

		if (n == budget)
			return true;
		if (cq_full(&c->cq[sq->cqid]))
			return false;	/* resumed by the CQ head doorbell */
		if (iofd_device_dma_read(c->dev, sq->base + (uint64_t)sq->head * NVME_SQE_SIZE,
					 &e, sizeof(e))) {
			nvme_ctrl_fatal(c, "submission queue outside guest RAM");
			return false;
		}
		sq->head = (sq->head + 1) % sq->size;
		execute(c, qid, &e);
		if (qid == 0)
			nvme_admin_deliver_events(c);
	}
	return false;
}

bool nvme_queue_run(struct nvme_ctrl *c, unsigned budget)
{
	bool more = false;

	if (accepting(c)) {
		nvme_admin_deliver_events(c);
		for (uint16_t qid = 0; qid <= NVME_MAX_IO_QUEUES; qid++)
			if (c->sq[qid].live && run_sq(c, qid, budget))
				more = true;
	}
	nvme_queue_raise_irqs(c);
	return more && accepting(c);
}

void nvme_queue_raise_irqs(struct nvme_ctrl *c)
{
	for (unsigned q = 0; q <= NVME_MAX_IO_QUEUES; q++) {
		struct nvme_cq *cq = &c->cq[q];

		if (!cq->live || !cq->irq_due)
			continue;
		cq->irq_due = false;
		if (cq->ien)
			nvme_irq_signal(&c->irq, cq->iv);
	}
}
