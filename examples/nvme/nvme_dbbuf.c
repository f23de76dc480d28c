/* SPDX-License-Identifier: BSD-3-Clause */
/* The shadow doorbell and EventIdx buffers of Doorbell Buffer Config. */
#include <string.h>

#include "nvme_dbbuf.h"

#define PAGE_MASK	((uint64_t)NVME_PAGE_SIZE - 1)

/* The device's pointer to one page of guest RAM at @gpa, or NULL. */
static uint32_t *map_page(const struct nvme_ctrl *c, uint64_t gpa)
{
	if (gpa & PAGE_MASK)
		return NULL;
	return iofd_device_dma(c->dev, gpa, NVME_PAGE_SIZE);
}

/* Take over the I/O queues that exist: the buffers start at our values. */
static void take_over_queues(struct nvme_ctrl *c)
{
	for (unsigned q = 1; q <= NVME_MAX_IO_QUEUES; q++) {
		if (c->sq[q].live) {
			nvme_dbbuf_set_shadow(c, 2 * q, c->sq[q].tail);
			nvme_dbbuf_publish(c, 2 * q, c->sq[q].tail);
		}
		if (c->cq[q].live) {
			nvme_dbbuf_set_shadow(c, 2 * q + 1, c->cq[q].head);
			nvme_dbbuf_publish(c, 2 * q + 1, c->cq[q].head);
		}
	}
}

uint16_t nvme_dbbuf_config(struct nvme_ctrl *c, uint64_t prp1, uint64_t prp2)
{
	uint32_t *dbs = map_page(c, prp1), *eis = map_page(c, prp2);

	/* Guest RAM does not move: the mappings stay valid until reset. */
	if (!dbs || !eis || prp1 == prp2)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	c->dbbuf = (struct nvme_dbbuf){ .on = true, .dbs_gpa = prp1,
					.eis_gpa = prp2, .dbs = dbs, .eis = eis };
	take_over_queues(c);
	nvme_fence(__ATOMIC_SEQ_CST);
	c->st.dbbuf_configs++;
	/* The values are in the buffer now: the MMIO doorbells may be plain
	 * wake-ups. A refusal or a failed request keeps them post-write,
	 * which this path reads past anyway. */
	nvme_dbmode_ask(&c->dbmode, NVME_DBMODE_WAKEUPS);
	return NVME_SC_SUCCESS;
}

void nvme_dbbuf_reset(struct nvme_ctrl *c)
{
	memset(&c->dbbuf, 0, sizeof(c->dbbuf));
	if (nvme_dbmode_ask(&c->dbmode, NVME_DBMODE_VALUES))
		nvme_ctrl_fatal(c, "cannot ask the VMM for doorbell values back");
}

int nvme_dbbuf_mode_answer(struct nvme_ctrl *c, const void *buf, size_t n)
{
	int err = nvme_dbmode_answer(&c->dbmode, buf, n);

	if (!err && nvme_dbmode_lost_values(&c->dbmode))
		nvme_ctrl_fatal(c, "the VMM could not give the doorbells their "
			       "values back");
	return err;
}

bool nvme_dbbuf_covers(const struct nvme_ctrl *c, uint32_t qid)
{
	return c->dbbuf.on && qid >= 1 && qid <= NVME_MAX_IO_QUEUES;
}

uint32_t nvme_dbbuf_shadow(const struct nvme_ctrl *c, unsigned slot)
{
	return __atomic_load_n(&c->dbbuf.dbs[slot], __ATOMIC_ACQUIRE);
}

void nvme_dbbuf_set_shadow(struct nvme_ctrl *c, unsigned slot, uint32_t v)
{
	__atomic_store_n(&c->dbbuf.dbs[slot], v, __ATOMIC_RELEASE);
}

void nvme_dbbuf_publish(struct nvme_ctrl *c, unsigned slot, uint32_t v)
{
	if (__atomic_load_n(&c->dbbuf.eis[slot], __ATOMIC_RELAXED) == v)
		return;
	__atomic_store_n(&c->dbbuf.eis[slot], v, __ATOMIC_RELEASE);
	c->st.event_idx_writes++;
}
