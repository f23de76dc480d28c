/* SPDX-License-Identifier: BSD-3-Clause */
/* Read, Write and Flush. */
#include "nvme_io.h"
#include "nvme_prp.h"

#define NS_ID		1u
#define NSID_ALL	0xffffffffu
#define RW_FUA		(1u << 30)	/* cdw12: Force Unit Access */

/* Move the blocks of a checked range between namespace and guest RAM. */
static uint16_t move_data(struct nvme_ctrl *c, const struct nvme_xfer *x,
			  uint64_t off, bool is_write)
{
	for (unsigned i = 0; i < x->n; i++) {
		const struct nvme_prp_seg *s = &x->seg[i];
		int err = is_write ? nvme_ns_write(&c->ns, s->ptr, s->len, off)
				   : nvme_ns_read(&c->ns, s->ptr, s->len, off);

		if (err)
			return NVME_SC_INTERNAL;
		off += s->len;
	}
	if (!is_write)	/* the data before the completion that tells of it */
		nvme_fence(__ATOMIC_RELEASE);
	return NVME_SC_SUCCESS;
}

static uint16_t read_write(struct nvme_ctrl *c, const struct nvme_sqe *e,
			   bool is_write)
{
	uint64_t slba = (uint64_t)e->cdw11 << 32 | e->cdw10;
	uint64_t nlb = (e->cdw12 & 0xffff) + 1, len;
	struct nvme_xfer x;
	uint16_t st;

	if (e->nsid != NS_ID)
		return NVME_SC_INVALID_NS | NVME_DNR;
	if (slba >= c->ns.nlb || nlb > c->ns.nlb - slba)
		return NVME_SC_LBA_RANGE | NVME_DNR;
	len = nlb << c->ns.lba_shift;
	if (len > NVME_MAX_XFER)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	st = nvme_prp_map(c->dev, e->prp1, e->prp2, len, &x);
	if (x.used_list)
		c->st.prp_list++;
	if (st)
		return st;
	st = move_data(c, &x, slba << c->ns.lba_shift, is_write);
	if (st)
		return st;
	if (is_write && ((e->cdw12 & RW_FUA) || !c->write_cache) &&
	    nvme_ns_flush(&c->ns))
		return NVME_SC_INTERNAL;
	if (is_write)
		c->st.bytes_written += len;
	else
		c->st.bytes_read += len;
	return NVME_SC_SUCCESS;
}

static uint16_t flush(struct nvme_ctrl *c, const struct nvme_sqe *e)
{
	if (e->nsid != NS_ID && e->nsid != NSID_ALL)
		return NVME_SC_INVALID_NS | NVME_DNR;
	return nvme_ns_flush(&c->ns) ? NVME_SC_INTERNAL : NVME_SC_SUCCESS;
}

void nvme_io_exec(struct nvme_ctrl *c, const struct nvme_sqe *e,
		  struct nvme_result *r)
{
	if (e->flags) {		/* fused operations, SGLs: not supported */
		r->status = NVME_SC_INVALID_FIELD | NVME_DNR;
		return;
	}
	switch (e->opcode) {
	case NVME_IO_FLUSH: r->status = flush(c, e); break;
	case NVME_IO_WRITE: r->status = read_write(c, e, true); break;
	case NVME_IO_READ: r->status = read_write(c, e, false); break;
	default: r->status = NVME_SC_INVALID_OPCODE | NVME_DNR;
	}
}
