/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Faults the controller injects on purpose, to test how a host copes, and
 * the command they leave held.
 *
 * The bad-CID fault (--bad-cid-after N, one per run): after N I/O
 * commands have completed, the next I/O command is executed (its data
 * moved) but its completion is posted with a command id that names none
 * of the host's: bits 11:0 set to 0xfff (0xffe if the command's own id has
 * them so). Linux builds an id from a generation counter (bits 15:12) and
 * the request's tag (bits 11:0), and a tag is below the queue's depth, at
 * most 1024 here (MQES 1023): tag 0xfff never names a request. The real
 * command is held, its completion kept back, until an Abort names it
 * (nvme_fault_abort(): completed with Command Abort Requested), its SQ is
 * deleted or the controller resets (dropped, never completed).
 */
#ifndef NVME_FAULT_H
#define NVME_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "nvme_ctrl.h"
#include "nvme_queue.h"

/**
 * nvme_fault_complete() - I/O command @cid of SQ @sqid has run into @r:
 * if the bad-CID fault picks it, post its completion with a wrong id,
 * hold the command and return true (the caller posts nothing); false
 * otherwise. The CQ must have room (checked before the fetch).
 */
bool nvme_fault_complete(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			 const struct nvme_result *r);

/**
 * nvme_fault_abort() - the Abort of command @cid on SQ @sqid: when that
 * command is held and its CQ has room, post its completion with Command
 * Abort Requested (before the Abort's own) and set @dw0 to 0 (aborted);
 * otherwise set @dw0 to 1 (not aborted). Returns the Abort's status:
 * success either way.
 */
uint16_t nvme_fault_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			  uint32_t *dw0);

/** nvme_fault_sq_deleted() - SQ @sqid was deleted: its held command is
 * dropped. */
void nvme_fault_sq_deleted(struct nvme_ctrl *c, uint16_t sqid);

/** nvme_fault_reset() - controller reset: a held command is dropped (the
 * fault stays spent). */
void nvme_fault_reset(struct nvme_ctrl *c);

#endif /* NVME_FAULT_H */
