/* SPDX-License-Identifier: BSD-3-Clause */
/* Injected faults: the bad-CID completion and its held command. */
#include <stdio.h>

#include "nvme_fault.h"

#define TAG_MASK	0x0fffu

/* An id that names no request of the host's (nvme_fault.h). */
static uint16_t bad_cid_of(uint16_t cid)
{
	uint16_t bad = (uint16_t)((cid & ~TAG_MASK) | TAG_MASK);

	return bad != cid ? bad : (uint16_t)(bad - 1);
}

bool nvme_fault_complete(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			 const struct nvme_result *r)
{
	struct nvme_fault *f = &c->fault;
	uint16_t bad;

	if (!c->cfg.bad_cid || f->bad_cid_done || f->io_seen++ < c->cfg.bad_cid_after)
		return false;
	bad = bad_cid_of(cid);
	if (nvme_queue_post(c, c->sq[sqid].cqid, sqid, bad, r->dw0, r->status))
		return false;	/* not posted: complete it as usual */
	f->bad_cid_done = true;
	f->held = (struct nvme_held){ .live = true, .sqid = sqid, .cid = cid };
	c->st.bad_cid_completions++;
	fprintf(stderr, "nvme-device: fault: command %u of SQ %u completed as "
		"command %u; held until an Abort names it\n", cid, sqid, bad);
	return true;
}

uint16_t nvme_fault_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			  uint32_t *dw0)
{
	struct nvme_held *h = &c->fault.held;

	*dw0 = 1;	/* dword 0 bit 0: not aborted */
	if (!h->live || h->sqid != sqid || h->cid != cid)
		return NVME_SC_SUCCESS;
	/* A full CQ: not aborted, still held (the host may reset). */
	if (nvme_queue_post(c, c->sq[sqid].cqid, sqid, cid, 0, NVME_SC_ABORT_REQ))
		return NVME_SC_SUCCESS;
	h->live = false;
	c->st.failed++;
	c->st.aborted++;
	nvme_ctrl_log_error(c, sqid, cid, NVME_SC_ABORT_REQ, 0xffff);
	fprintf(stderr, "nvme-device: fault: command %u of SQ %u aborted\n",
		cid, sqid);
	*dw0 = 0;
	return NVME_SC_SUCCESS;
}

void nvme_fault_sq_deleted(struct nvme_ctrl *c, uint16_t sqid)
{
	if (c->fault.held.sqid == sqid)
		c->fault.held.live = false;
}

void nvme_fault_reset(struct nvme_ctrl *c)
{
	c->fault.held.live = false;
}
