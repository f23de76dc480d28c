/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Admin commands: Identify (namespace, controller, active namespace list,
 * namespace identification descriptors, the NVM command set's controller
 * data), Set/Get Features, Create/Delete I/O SQ/CQ, Get Log Page (error
 * information, SMART / health, firmware slot), Abort, and Asynchronous
 * Event Requests (held until an event occurs or the controller resets).
 */
#ifndef NVME_ADMIN_H
#define NVME_ADMIN_H

#include <stdint.h>

#include "nvme_ctrl.h"
#include "nvme_queue.h"

/**
 * nvme_admin_exec() - execute the admin command @e (a copy out of guest
 * RAM) into @r: a status for anything the controller does not support or
 * that breaks a rule; @r->held for an Asynchronous Event Request kept for
 * later.
 */
void nvme_admin_exec(struct nvme_ctrl *c, const struct nvme_sqe *e,
		     struct nvme_result *r);

/**
 * nvme_admin_post_event() - an asynchronous event of @type (bits 2:0),
 * @info and log page @log: completed on a held request when one is held,
 * its type is not masked (a type stays masked from its completion until
 * its log page is read) and the admin CQ has room; kept until then
 * otherwise (up to NVME_MAX_EVENTS distinct events).
 */
void nvme_admin_post_event(struct nvme_ctrl *c, uint8_t type, uint8_t info,
			   uint8_t log);

/** nvme_admin_deliver_events() - complete held requests with the events
 * that can go now. */
void nvme_admin_deliver_events(struct nvme_ctrl *c);

/** nvme_admin_reset() - controller reset: held requests are dropped (never
 * completed) with the events and the masks. */
void nvme_admin_reset(struct nvme_ctrl *c);

#endif /* NVME_ADMIN_H */
