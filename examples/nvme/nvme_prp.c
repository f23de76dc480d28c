/* SPDX-License-Identifier: BSD-3-Clause */
/* PRP1, PRP2 and PRP lists walked with bounds checks. */
#include <string.h>

#include "nvme_prp.h"

#define PAGE_MASK	((uint64_t)NVME_PAGE_SIZE - 1)
#define ENTRIES		(NVME_PAGE_SIZE / 8)

static uint16_t add(const struct iofd_device *dev, struct nvme_xfer *x,
		    uint64_t gpa, uint64_t len)
{
	uint8_t *p;

	if (x->n == NVME_PRP_MAX_SEGS)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	p = iofd_device_dma(dev, gpa, len);
	if (!p)
		return NVME_SC_DATA_XFER_ERROR | NVME_DNR;
	x->seg[x->n].ptr = p;
	x->seg[x->n].len = (uint32_t)len;
	x->n++;
	return NVME_SC_SUCCESS;
}

/*
 * Walk the PRP list at @list for @rem bytes. A list page holds up to 512
 * entries; when more pages are needed than its remaining entries, its
 * last entry points to the next list page.
 */
static uint16_t walk_list(const struct iofd_device *dev, struct nvme_xfer *x,
			  uint64_t list, uint64_t rem)
{
	uint64_t e[ENTRIES];

	if (list & 7)
		return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
	/* Each page after the first brings 511 pages of data: bounded. */
	for (unsigned pages = 0; rem; pages++) {
		uint64_t room = (NVME_PAGE_SIZE - (list & PAGE_MASK)) / 8;
		uint64_t need = (rem + PAGE_MASK) / NVME_PAGE_SIZE;
		uint64_t n = need < room ? need : room;
		bool chained = need > room;

		if (pages > NVME_PRP_MAX_SEGS)
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		if (iofd_device_dma_read(dev, list, e, n * 8))
			return NVME_SC_DATA_XFER_ERROR | NVME_DNR;
		for (uint64_t i = 0; i < n - (chained ? 1 : 0); i++) {
			uint64_t len = rem < NVME_PAGE_SIZE ? rem : NVME_PAGE_SIZE;
			uint16_t st;

			if (e[i] & PAGE_MASK)
				return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
			st = add(dev, x, e[i], len);
			if (st)
				return st;
			rem -= len;
		}
		if (chained) {
			list = e[n - 1];
			if (list & PAGE_MASK)
				return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
		}
	}
	return NVME_SC_SUCCESS;
}

uint16_t nvme_prp_map(const struct iofd_device *dev, uint64_t prp1,
		      uint64_t prp2, uint64_t len, struct nvme_xfer *x)
{
	uint64_t first, rem;
	uint16_t st;

	x->n = 0;
	x->used_list = false;
	if (len == 0 || len > NVME_MAX_XFER)
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	if (prp1 & 3)	/* the data offset must be dword aligned */
		return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
	first = NVME_PAGE_SIZE - (prp1 & PAGE_MASK);
	if (first > len)
		first = len;
	st = add(dev, x, prp1, first);
	rem = len - first;
	if (st || rem == 0)
		return st;
	if (rem <= NVME_PAGE_SIZE) {
		if (prp2 & PAGE_MASK)
			return NVME_SC_PRP_OFFSET_INVALID | NVME_DNR;
		return add(dev, x, prp2, rem);
	}
	x->used_list = true;
	return walk_list(dev, x, prp2, rem);
}

void nvme_prp_copy_to_guest(const struct nvme_xfer *x, const void *buf,
			    uint64_t len)
{
	const uint8_t *p = buf;

	for (unsigned i = 0; i < x->n; i++) {
		uint64_t n = x->seg[i].len < len ? x->seg[i].len : len;

		memcpy(x->seg[i].ptr, p, n);
		memset(x->seg[i].ptr + n, 0, x->seg[i].len - n);
		p += n;
		len -= n;
	}
	nvme_fence(__ATOMIC_RELEASE);
}
