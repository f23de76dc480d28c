/* SPDX-License-Identifier: BSD-3-Clause */
/* Queues in guest RAM, doorbells, completions and interrupts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nvme_admin.h"
#include "nvme_dbbuf.h"
#include "nvme_fault.h"
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
	nvme_dbbuf_reset(c);	/* NVMe: the buffers end at a reset */
}

/* A queue created while the buffers are set starts at 0 there too. */
static void dbbuf_start(struct nvme_ctrl *c, unsigned slot)
{
	if (!nvme_dbbuf_covers(c, slot / 2))
		return;
	nvme_dbbuf_set_shadow(c, slot, 0);
	nvme_dbbuf_publish(c, slot, 0);
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
	dbbuf_start(c, 2 * qid + 1);
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
	dbbuf_start(c, 2 * qid);
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

/* A new tail may not move back over commands not fetched yet. */
static bool sq_tail_ok(const struct nvme_sq *sq, uint64_t tail)
{
	return tail < sq->size &&
	       ring_dist(sq->head, (uint32_t)tail, sq->size) >=
	       ring_dist(sq->head, sq->tail, sq->size);
}

/* The head may move over posted entries only. */
static bool cq_head_ok(const struct nvme_cq *cq, uint64_t head)
{
	return head < cq->size &&
	       ring_dist(cq->head, (uint32_t)head, cq->size) <=
	       ring_dist(cq->head, cq->tail, cq->size);
}

/* No MMIO doorbell is being handled: what the shadow holds is news. */
#define NOT_ANNOUNCED	UINT64_MAX

/*
 * Take SQ @qid's tail from the shadow buffer: true if it moved. A new
 * tail other than @announced (the value of the MMIO doorbell being
 * handled, or NOT_ANNOUNCED) counts as shadow-only. A bad value is
 * reported once (it stays in the buffer until the host changes it).
 */
static bool sq_from_shadow(struct nvme_ctrl *c, uint32_t qid, uint64_t announced)
{
	struct nvme_sq *sq = &c->sq[qid];
	uint32_t tail = nvme_dbbuf_shadow(c, 2 * qid);

	if (tail == sq->tail)
		return false;
	if (!sq_tail_ok(sq, tail)) {
		if (sq->shadow_bad != tail + 1u)
			invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE,
					 "SQ tail (shadow)", qid, tail);
		sq->shadow_bad = tail + 1u;
		return false;
	}
	sq->shadow_bad = 0;
	sq->tail = tail;
	if (tail != announced)
		c->st.shadow_sq++;
	return true;
}

/* The same for CQ @qid's head. */
static bool cq_from_shadow(struct nvme_ctrl *c, uint32_t qid, uint64_t announced)
{
	struct nvme_cq *cq = &c->cq[qid];
	uint32_t head = nvme_dbbuf_shadow(c, 2 * qid + 1);

	if (head == cq->head)
		return false;
	if (!cq_head_ok(cq, head)) {
		if (cq->shadow_bad != head + 1u)
			invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE,
					 "CQ head (shadow)", qid, head);
		cq->shadow_bad = head + 1u;
		return false;
	}
	cq->shadow_bad = 0;
	cq->head = head;
	if (head != announced)
		c->st.shadow_cq++;
	return true;
}

/*
 * The newest head of CQ @qid the host wrote: from the shadow buffer, or
 * the last MMIO doorbell value even if its eventfd has not been served
 * yet (the VMM stored it before the guest went on). A bad value is left
 * to the doorbell's own callback to report.
 */
static void cq_refresh_head(struct nvme_ctrl *c, uint32_t qid)
{
	struct nvme_cq *cq = &c->cq[qid];
	uint64_t head;

	if (nvme_dbbuf_covers(c, qid)) {
		cq_from_shadow(c, qid, NOT_ANNOUNCED);
		return;
	}
	if (c->db_id[2 * qid + 1] < 0 ||
	    iofd_device_doorbell_value(c->dev, c->db_id[2 * qid + 1], &head))
		return;
	if (head != cq->head && cq_head_ok(cq, head))
		cq->head = (uint32_t)head;
}

/*
 * What an MMIO doorbell at shadow @slot announced: its posted @value, or,
 * when the doorbell may be a plain wake-up (nvme_dbmode.h), whatever the
 * shadow buffer holds now.
 */
static uint64_t announced(struct nvme_ctrl *c, unsigned slot, uint64_t value)
{
	if (!nvme_dbmode_may_lack_values(&c->dbmode))
		return value;
	c->st.wakeup_doorbells++;
	return nvme_dbbuf_shadow(c, slot);
}

void nvme_queue_sq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals)
{
	struct nvme_sq *sq;

	c->st.sq_db += signals;
	c->st.sq_db_wakeups++;
	if (!accepting(c))
		return;		/* doorbells of a disabled controller: ignored */
	sq = qid <= NVME_MAX_IO_QUEUES ? &c->sq[qid] : NULL;
	if (!sq || !sq->live) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_REG, "SQ tail", qid, value);
		return;
	}
	/* With the buffers set the shadow holds the newest tail; the MMIO
	 * value (posted earlier) may be older than what was taken from it. */
	if (nvme_dbbuf_covers(c, qid)) {
		sq_from_shadow(c, qid, announced(c, 2 * qid, value));
		return;
	}
	if (!sq_tail_ok(sq, value)) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE, "SQ tail", qid, value);
		return;
	}
	sq->tail = (uint32_t)value;
}

void nvme_queue_cq_doorbell(struct nvme_ctrl *c, uint32_t qid, uint64_t value,
			    uint64_t signals)
{
	struct nvme_cq *cq;

	c->st.cq_db += signals;
	c->st.cq_db_wakeups++;
	if (!accepting(c))
		return;
	cq = qid <= NVME_MAX_IO_QUEUES ? &c->cq[qid] : NULL;
	if (!cq || !cq->live) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_REG, "CQ head", qid, value);
		return;
	}
	if (nvme_dbbuf_covers(c, qid)) {
		cq_from_shadow(c, qid, announced(c, 2 * qid + 1, value));
		return;
	}
	if (!cq_head_ok(cq, value)) {
		invalid_doorbell(c, NVME_AER_INFO_INVALID_DB_VALUE, "CQ head", qid, value);
		return;
	}
	cq->head = (uint32_t)value;
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
	if (qid && nvme_fault_complete(c, qid, e->cid, &r))
		return;		/* posted with a wrong id, the command held */
	/* The CQ had room (checked before the fetch); a command cannot
	 * delete the queue pair it came on. */
	nvme_queue_post(c, c->sq[qid].cqid, qid, e->cid, r.dw0, r.status);
}

/* Room in CQ @qid, looking at the shadow head when it seems full. */
static bool cq_has_room(struct nvme_ctrl *c, uint32_t qid)
{
	if (!cq_full(&c->cq[qid]))
		return true;
	if (nvme_dbbuf_covers(c, qid))
		cq_from_shadow(c, qid, NOT_ANNOUNCED);
	return !cq_full(&c->cq[qid]);
}

/* Commands waiting in SQ @qid, looking at the shadow tail when none seem
 * to be. */
static bool sq_has_work(struct nvme_ctrl *c, uint16_t qid)
{
	struct nvme_sq *sq = &c->sq[qid];

	if (sq->head != sq->tail)
		return true;
	return nvme_dbbuf_covers(c, qid) && sq_from_shadow(c, qid, NOT_ANNOUNCED);
}

/* Up to @budget commands of SQ @qid; true if more could run now. */
static bool run_sq(struct nvme_ctrl *c, uint16_t qid, unsigned budget)
{
	struct nvme_sq *sq = &c->sq[qid];

	/* After a reset the I/O queues' doorbells must carry values before
	 * an admin command may create one. */
	if (qid == 0 && nvme_dbmode_holding(&c->dbmode))
		return false;	/* resumed by the VMM's answer */
	if (nvme_dbbuf_covers(c, qid))
		sq_from_shadow(c, qid, NOT_ANNOUNCED);
	for (unsigned n = 0; sq->live && accepting(c) && sq_has_work(c, qid); n++) {
		struct nvme_sqe e;

		if (n == budget)
			return true;
		if (!cq_has_room(c, sq->cqid))
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

bool nvme_queue_before_sleep(struct nvme_ctrl *c)
{
	bool work = false;

	if (!c->dbbuf.on || !accepting(c))
		return false;
	for (unsigned q = 1; q <= NVME_MAX_IO_QUEUES; q++) {
		if (c->sq[q].live)
			nvme_dbbuf_publish(c, 2 * q, c->sq[q].tail);
		if (c->cq[q].live)
			nvme_dbbuf_publish(c, 2 * q + 1, c->cq[q].head);
	}
	/* Publish, then look again: a host that wrote a shadow entry after
	 * our last look either sees the new EventIdx (and rings) or we see
	 * its entry here. */
	nvme_fence(__ATOMIC_SEQ_CST);
	for (unsigned q = 1; q <= NVME_MAX_IO_QUEUES; q++)
		if (c->cq[q].live && cq_from_shadow(c, q, NOT_ANNOUNCED))
			work = true;	/* room, and an EventIdx to move */
	for (uint16_t q = 1; q <= NVME_MAX_IO_QUEUES; q++) {
		struct nvme_sq *sq = &c->sq[q];

		if (!sq->live)
			continue;
		if (sq_from_shadow(c, q, NOT_ANNOUNCED) ||
		    (sq->head != sq->tail && !cq_full(&c->cq[sq->cqid])))
			work = true;
	}
	return work;
}

/* INTx: assert the line while an interrupt-enabled CQ holds entries the
 * host has not consumed (its newest head), unless asserted or masked. */
static void intx_update(struct nvme_ctrl *c)
{
	for (unsigned q = 0; q <= NVME_MAX_IO_QUEUES; q++)
		c->cq[q].irq_due = false;
	if (c->irq.asserted || nvme_irq_intx_masked(&c->irq))
		return;
	for (unsigned q = 0; q <= NVME_MAX_IO_QUEUES; q++) {
		struct nvme_cq *cq = &c->cq[q];

		if (!cq->live || !cq->ien)
			continue;
		cq_refresh_head(c, q);
		if (cq->tail != cq->head) {
			nvme_irq_intx_assert(&c->irq);
			return;
		}
	}
}

void nvme_queue_raise_irqs(struct nvme_ctrl *c)
{
	if (c->irq.intx) {
		intx_update(c);
		return;
	}
	for (unsigned q = 0; q <= NVME_MAX_IO_QUEUES; q++) {
		struct nvme_cq *cq = &c->cq[q];

		if (!cq->live || !cq->irq_due)
			continue;
		cq->irq_due = false;
		if (cq->ien)
			nvme_irq_signal(&c->irq, cq->iv);
	}
}
