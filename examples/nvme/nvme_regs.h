/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * BAR0's register file [0, 0x1000), served as an ioregion: CAP, VS,
 * INTMS/INTMC, CC, CSTS, AQA, ASQ, ACQ, and the controller state machine
 * CC drives:
 *   - CC.EN 0 -> 1: check CC (NVM command set, 4 KiB pages, round robin)
 *     and the admin queues, then CSTS.RDY = 1; a bad set-up sets CSTS.CFS
 *     instead (RDY stays 0);
 *   - CC.EN 1 -> 0: controller reset: every queue deleted, held
 *     Asynchronous Event Requests dropped, features back to their
 *     defaults, CSTS = 0;
 *   - CC.SHN 0 -> normal or abrupt: the namespace is flushed, then
 *     CSTS.SHST = complete; CC.SHN back to 0 clears CSTS.SHST.
 * Registers are read in any width up to 8 bytes; writes of 4 bytes (8 for
 * ASQ/ACQ) at their natural alignment take effect, others are ignored.
 */
#ifndef NVME_REGS_H
#define NVME_REGS_H

#include <stdint.h>

#include "nvme_ctrl.h"

/** nvme_regs_cap() - the CAP register's value. */
uint64_t nvme_regs_cap(void);

/** nvme_regs_read() - ioregion read callback; @opaque is the nvme_ctrl. */
void nvme_regs_read(void *opaque, uint64_t user_data, uint64_t offset,
		    uint32_t size, uint64_t *data);

/** nvme_regs_write() - ioregion write callback; @opaque is the nvme_ctrl. */
void nvme_regs_write(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t data);

#endif /* NVME_REGS_H */
