/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wire layout of the handoff messages (host-endian: both ends run on one
 * host). Internal: peers use iofd_handoff_send()/iofd_handoff_recv().
 */
#ifndef IOFD_HANDOFF_WIRE_H
#define IOFD_HANDOFF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "iofd/handoff.h"

#define IOFD_HANDOFF_MAGIC	0x44464f49u	/* "IOFD" */
#define IOFD_HANDOFF_FD_NONE	UINT32_MAX	/* "no fd" as an index */
/* Every descriptor's fds: RAM, two per region, doorbells, the shadow. */
#define IOFD_HANDOFF_MAX_FDS                                              \
	(IOFD_HANDOFF_MAX_RAM + 2 * IOFD_HANDOFF_MAX_REGIONS +            \
	 IOFD_HANDOFF_MAX_DOORBELLS + 1)

struct handoff_wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	uint32_t length;	/* bytes of the whole message */
	int32_t status;
	uint16_t nr_ram, nr_regions, nr_doorbells, nr_fds;
	uint32_t shadow_fd;	/* index, or IOFD_HANDOFF_FD_NONE */
	uint32_t reserved;	/* 0 */
};

struct handoff_wire_ram {
	uint64_t gpa, size, offset;
	uint32_t fd;
	uint32_t reserved;
};

struct handoff_wire_region {
	uint64_t gpa, size, user_data;
	uint32_t flags;
	uint32_t cmd_fd;	/* fd index */
	uint32_t resp_fd;	/* fd index, or IOFD_HANDOFF_FD_NONE */
	uint32_t reserved;
};

struct handoff_wire_doorbell {
	uint64_t gpa, datamatch, shadow_offset;
	uint32_t len, flags;
	uint32_t fd;
	uint32_t reserved;
};

_Static_assert(sizeof(struct handoff_wire_hdr) == 32, "header: 32 bytes");
_Static_assert(sizeof(struct handoff_wire_ram) == 32, "RAM: 32 bytes");
_Static_assert(sizeof(struct handoff_wire_region) == 40, "region: 40 bytes");
_Static_assert(sizeof(struct handoff_wire_doorbell) == 40, "doorbell: 40 bytes");

#define IOFD_HANDOFF_MAX_MSG                                                \
	(sizeof(struct handoff_wire_hdr) +                                  \
	 IOFD_HANDOFF_MAX_RAM * sizeof(struct handoff_wire_ram) +           \
	 IOFD_HANDOFF_MAX_REGIONS * sizeof(struct handoff_wire_region) +    \
	 IOFD_HANDOFF_MAX_DOORBELLS * sizeof(struct handoff_wire_doorbell))

/* Bytes of a message with these counts of descriptors. */
size_t iofd_handoff_msg_length(uint32_t nr_ram, uint32_t nr_regions,
			       uint32_t nr_doorbells);
/* Check that sock is an open seqpacket socket: 0, -EBADF or -EINVAL. */
int iofd_handoff_check_socket(int sock);

#endif /* IOFD_HANDOFF_WIRE_H */
