/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * I/O commands on the namespace: Read, Write and Flush. Data moves
 * between the namespace and guest RAM through the command's PRPs (PRP1,
 * PRP2, PRP lists), at most MDTS (NVME_MAX_XFER bytes) per command.
 */
#ifndef NVME_IO_H
#define NVME_IO_H

#include "nvme_ctrl.h"
#include "nvme_queue.h"

/**
 * nvme_io_exec() - execute the I/O command @e (a copy out of guest RAM)
 * into @r. Checks: namespace id, LBA range, MDTS, every PRP (alignment,
 * guest RAM). A backing file error completes with Internal Error.
 */
void nvme_io_exec(struct nvme_ctrl *c, const struct nvme_sqe *e,
		  struct nvme_result *r);

#endif /* NVME_IO_H */
