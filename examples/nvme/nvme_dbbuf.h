/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow doorbells (NVMe 1.3 Doorbell Buffer Config, admin opcode 0x7C):
 * the host gives two pages of its memory, the Shadow Doorbell buffer
 * (PRP1) and the EventIdx buffer (PRP2), laid out as the doorbell
 * registers are (DSTRD 0: SQ y tail at dword 2y, CQ y head at 2y + 1).
 * From then on the host writes each new SQ tail / CQ head there first and
 * rings the MMIO doorbell only when the value passes the EventIdx entry
 * the controller published (Linux's nvme_dbbuf_need_event()). The device
 * takes tails and heads from the shadow buffer whenever it looks at a
 * queue, and publishes its EventIdx entries (the last tail/head it took)
 * before it sleeps.
 *
 * The buffers serve the I/O queues only: Linux (and SPDK) never write the
 * admin queue's entries and ring its MMIO doorbells, so the admin queue
 * keeps its MMIO doorbells as the value source. A controller reset
 * forgets the buffers.
 */
#ifndef NVME_DBBUF_H
#define NVME_DBBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme_ctrl.h"

/**
 * nvme_dbbuf_config() - Doorbell Buffer Config with shadow buffer @prp1
 * and EventIdx buffer @prp2. Both must be page aligned, one page each
 * wholly inside guest RAM and distinct; otherwise Invalid Field in
 * Command (with DNR) and nothing changes. On success the existing I/O
 * queues are taken over: their shadow and EventIdx entries are set to the
 * controller's current tail/head. Returns the NVMe status.
 */
uint16_t nvme_dbbuf_config(struct nvme_ctrl *c, uint64_t prp1, uint64_t prp2);

/**
 * nvme_dbbuf_reset() - controller reset: the buffers are forgotten, and
 * the MMIO doorbells asked to carry values again (nvme_dbmode.h); a
 * request that cannot be sent makes the controller fatal.
 */
void nvme_dbbuf_reset(struct nvme_ctrl *c);

/**
 * nvme_dbbuf_mode_answer() - the VMM's answer to a doorbell mode request
 * (@n bytes at @buf, from the handoff socket). Values asked back and not
 * given make the controller fatal (CSTS.CFS). Returns 0 or -EPROTO.
 */
int nvme_dbbuf_mode_answer(struct nvme_ctrl *c, const void *buf, size_t n);

/** nvme_dbbuf_covers() - whether queue @qid's doorbells live in the
 * shadow buffer (buffers set, an I/O queue). */
bool nvme_dbbuf_covers(const struct nvme_ctrl *c, uint32_t qid);

/** nvme_dbbuf_shadow() - the host's value at doorbell @slot (2 qid for
 * the SQ tail, 2 qid + 1 for the CQ head), with acquire ordering. Only
 * where nvme_dbbuf_covers(). */
uint32_t nvme_dbbuf_shadow(const struct nvme_ctrl *c, unsigned slot);

/** nvme_dbbuf_set_shadow() - store @v at shadow @slot (a queue created
 * or taken over starts from the controller's value). */
void nvme_dbbuf_set_shadow(struct nvme_ctrl *c, unsigned slot, uint32_t v);

/** nvme_dbbuf_publish() - store @v as EventIdx @slot (release), counted
 * when it changes. The caller issues a full barrier before it re-reads the
 * shadow entries. */
void nvme_dbbuf_publish(struct nvme_ctrl *c, unsigned slot, uint32_t v);

#endif /* NVME_DBBUF_H */
