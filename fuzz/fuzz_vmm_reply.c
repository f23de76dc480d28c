/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the VMM side of ioregionfd, fed by a hostile device.
 *
 * Input: one configuration byte, then what the device sends back.
 *   config bit 0: seqpacket socket (each message prefixed by a length
 *                 byte, 0..63) instead of a byte stream
 *   config bits 1-2: access width 1, 2, 4 or 8
 *   config bit 3: a write instead of a read
 *   config bit 4: the region takes posted writes
 * A region is registered on a VM without KVM, the device's bytes are put on
 * its socket, and one guest access is served with iofd_access(). It must
 * end as SERVED or FAILED (with a reason), quickly, without a crash; a read
 * served from a well-formed first reply must return that reply's value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/iofd.h>

#include "fuzz_wire.h"

#define REGION_GPA	0x10000ull
#define REGION_SIZE	0x1000ull

static struct iofd_vm *vm;

static void init_once(void)
{
	if (vm)
		return;
	if (iofd_vm_create(NULL, &vm) || iofd_vm_set_ioregion_timeout(vm, 2))
		abort();
}

/* The value a well-formed first reply carries, if the input starts with one. */
static bool first_reply(bool packets, const uint8_t *data, size_t size,
			uint64_t *value)
{
	if (packets) {
		if (size < 1 || (data[0] & 63) != 32)
			return false;
		data++;
		size--;
	}
	if (size < 32)
		return false;
	for (int i = 8; i < 32; i++)
		if (data[i])
			return false;
	memcpy(value, data, 8);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iofd_ioregion reg = { .guest_paddr = REGION_GPA,
				     .memory_size = REGION_SIZE };
	struct iofd_exit info;
	uint8_t config;
	bool packets, is_write;
	uint32_t len;
	uint64_t value = 0, expect;
	int sv[2], status;

	if (size < 1)
		return 0;
	init_once();
	config = data[0];
	packets = config & 1;
	len = 1u << ((config >> 1) & 3);
	is_write = config & 8;
	if (config & 16)
		reg.flags |= IOFD_IOREGION_FLAG_POSTED_WRITES;
	fuzz_socketpair(packets, sv);
	reg.read_fd = reg.write_fd = sv[0];
	if (iofd_set_ioregion(vm, &reg))
		abort();
	fuzz_send(sv[1], packets, data + 1, size - 1);
	status = iofd_access(vm, IOFD_BUS_MMIO, REGION_GPA + 8, len, is_write,
			     &value, &info);
	if (status == IOFD_FAILED && (info.err >= 0 || !info.reason[0]))
		abort();
	if (status != IOFD_SERVED && status != IOFD_FAILED)
		abort();
	if (status == IOFD_SERVED && !is_write &&
	    first_reply(packets, data + 1, size - 1, &expect) &&
	    value != (len == 8 ? expect : expect & ((1ull << (8 * len)) - 1)))
		abort();
	reg.flags |= IOFD_IOREGION_FLAG_DEASSIGN;
	if (iofd_set_ioregion(vm, &reg))
		abort();
	close(sv[0]);
	close(sv[1]);
	return 0;
}
