/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the device side of ioregionfd, fed by a hostile VMM.
 *
 * Input: one configuration byte, then bytes on the wire.
 *   config bit 0: the region checks user_data (expects 0)
 *   config bit 1: the region has a reply fd
 *   config bits 2-3: region size 0 (doorbell), 0x100, 4096, or any
 *   config bit 4: seqpacket (each message prefixed by a length byte,
 *                 0..63) instead of a byte stream
 * Every 32-byte chunk also goes through the pure parser, whose accepted
 * commands must satisfy the protocol's invariants. Then the bytes go through
 * a real device over a socketpair; a crash, a hang, an assertion, a leak or
 * a reply the rules forbid are findings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/device.h>

#include "wire.h"
#include "fuzz_wire.h"

static const uint64_t region_sizes[4] = { 0, 0x100, 4096, IOFD_DEVICE_SIZE_ANY };

/* What validation promises every callback; abort() is the finding. */
static void check_access(const struct iofd_cmd_limits *lim, bool is_write,
			 uint64_t user_data, uint64_t offset, uint32_t size,
			 uint64_t data)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		abort();
	if (size < 8 && (data >> (8 * size)))
		abort();
	if (lim->check_user_data && user_data != lim->user_data)
		abort();
	if (lim->size == 0 && (!is_write || offset != 0))
		abort();
	if (lim->size != 0 && lim->size != IOFD_DEVICE_SIZE_ANY &&
	    (offset > lim->size || size > lim->size - offset))
		abort();
}

static void on_read(void *opaque, uint64_t user_data, uint64_t offset,
		    uint32_t size, uint64_t *data)
{
	check_access(opaque, false, user_data, offset, size, 0);
	*data = offset * 0x0101010101010101ull + size;
}

static void on_write(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t data)
{
	check_access(opaque, true, user_data, offset, size, data);
}

static void check_parser(const uint8_t *data, size_t size,
			 const struct iofd_cmd_limits *lim)
{
	for (size_t at = 0; at + IOFD_WIRE_MSG_SIZE <= size; at += IOFD_WIRE_MSG_SIZE) {
		struct iofd_cmd c;

		if (iofd_cmd_parse(data + at, lim, &c) != 0)
			continue;
		if (!c.is_write && !c.wants_reply)
			abort();
		if (c.wants_reply && !lim->can_reply)
			abort();
		/* byte 1 on the wire: the size exponent in bits 0-3, resp in
		 * bit 4, nothing else (the kernel series' info byte) */
		if (data[at + 1] != ((unsigned)__builtin_ctz(c.size) |
				     (c.wants_reply ? 0x10u : 0u)))
			abort();
		check_access(lim, c.is_write, c.user_data, c.offset, c.size,
			     c.is_write ? c.data : 0);
	}
}

/* Every reply must be a whole 32-byte message with zero padding. */
static void drain_replies(int fd, bool packets)
{
	struct iofd_ioregionfd_resp r;
	ssize_t n;

	while ((n = recv(fd, &r, sizeof(r), MSG_DONTWAIT)) > 0) {
		if (packets && n != (ssize_t)sizeof(r))
			abort();
		for (unsigned i = 0; n == sizeof(r) && i < sizeof(r.pad); i++)
			if (r.pad[i])
				abort();
	}
}

static void run_device(uint8_t config, const uint8_t *data, size_t size,
		       struct iofd_cmd_limits *lim)
{
	bool packets = config & 16;
	struct iofd_device *dev;
	struct iofd_device_region reg = {
		.size = lim->size, .user_data = lim->user_data,
		.flags = lim->check_user_data ? IOFD_DEVICE_REGION_CHECK_USER_DATA : 0,
		.read = on_read, .write = on_write, .opaque = lim,
	};
	int sv[2];

	fuzz_socketpair(packets, sv);
	if (iofd_device_create(&dev))
		abort();
	reg.cmd_fd = sv[1];
	reg.resp_fd = lim->can_reply ? sv[1] : -1;
	if (iofd_device_add_region(dev, &reg) != 0)
		abort();
	close(sv[1]);
	fuzz_send(sv[0], packets, data, size);
	shutdown(sv[0], SHUT_WR);
	/* Serve until the region is closed (EOF) or poisoned. */
	for (int rounds = 0; iofd_device_region_status(dev, 0) == 0; rounds++) {
		int r = iofd_device_process(dev);

		if (r < 0 && r != -EPROTO && r != -EPIPE)
			abort();
		drain_replies(sv[0], packets);
		if (rounds > 10000)
			abort();	/* it must end: all input was sent */
	}
	iofd_device_destroy(dev);
	close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iofd_cmd_limits lim = { 0 };
	uint8_t config;

	if (size < 1)
		return 0;
	config = data[0];
	lim.check_user_data = config & 1;
	lim.can_reply = config & 2;
	lim.size = region_sizes[(config >> 2) & 3];
	check_parser(data + 1, size - 1, &lim);
	run_device(config, data + 1, size - 1, &lim);
	return 0;
}
