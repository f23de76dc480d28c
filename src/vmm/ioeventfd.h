/* SPDX-License-Identifier: BSD-3-Clause */
/* Exact-address registrations: kernel-style and post-write ioeventfds
 * (their entries are the bus's exact table, space.h). */
#ifndef IOFD_IOEVENTFD_H
#define IOFD_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include "eventfd.h"
#include "iofd/iofd.h"
#include "space.h"

struct iofd_vm;

/* The bus an ioeventfd's flags name. */
static inline enum iofd_bus iofd_ioeventfd_bus(uint32_t flags)
{
	if (flags & IOFD_IOEVENTFD_FLAG_PIO)
		return IOFD_BUS_PIO;
	if (flags & IOFD_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return IOFD_BUS_CCW;
	return IOFD_BUS_MMIO;
}

#endif /* IOFD_IOEVENTFD_H */
