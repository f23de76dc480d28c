/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Physical Region Pages: turn a command's PRP1/PRP2 (and the PRP lists
 * PRP2 may point to) into the guest memory segments of its data, each one
 * checked to lie wholly inside guest RAM.
 */
#ifndef NVME_PRP_H
#define NVME_PRP_H

#include <stdbool.h>
#include <stdint.h>

#include <iofd/device.h>

#include "nvme_ctrl.h"

/* The first page may be partial: one more segment than MDTS pages. */
#define NVME_PRP_MAX_SEGS	((1u << NVME_MDTS) + 1)

struct nvme_prp_seg {
	uint8_t *ptr;		/* the device's mapping of the guest bytes */
	uint32_t len;
};

struct nvme_xfer {
	unsigned n;		/* segments */
	bool used_list;		/* PRP2 pointed to a PRP list */
	struct nvme_prp_seg seg[NVME_PRP_MAX_SEGS];
};

/**
 * nvme_prp_map() - the segments of a @len-byte transfer (1..NVME_MAX_XFER)
 * described by @prp1 and @prp2, into @x. PRP list entries are copied out
 * of guest RAM before use. Returns NVME_SC_SUCCESS, or the NVMe status
 * (with DNR) of the first fault: PRP Offset Invalid (an entry not page
 * aligned, a list not 8-byte aligned, a chained list not page aligned),
 * Data Transfer Error (memory outside guest RAM), Invalid Field (a length
 * above MDTS).
 */
uint16_t nvme_prp_map(const struct iofd_device *dev, uint64_t prp1,
		      uint64_t prp2, uint64_t len, struct nvme_xfer *x);

/**
 * nvme_prp_copy_to_guest() - copy @len bytes of @buf into the segments
 * of @x, zero what the segments hold beyond @len, then a release fence.
 */
void nvme_prp_copy_to_guest(const struct nvme_xfer *x, const void *buf,
			    uint64_t len);

#endif /* NVME_PRP_H */
