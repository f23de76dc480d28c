/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PC's legacy ports that Linux touches while it boots, so that it
 * neither spins nor misdetects: the RTC/CMOS (0x70/0x71: the host's UTC
 * time in BCD, update-in-progress always clear), the i8042 (absent but for
 * its reset command: 0xfe written to 0x64 resets the machine), the POST
 * port 0x80 (I/O delay writes). Every other port reads all ones and
 * ignores writes, and is counted per port.
 */
#ifndef IOFD_VM_LEGACY_H
#define IOFD_VM_LEGACY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LEGACY_MAX_UNKNOWN	32	/* distinct unknown ports remembered */

enum legacy_result {
	LEGACY_DONE = 0,	/* served */
	LEGACY_RESET = 1,	/* the guest asked for a reset */
};

struct legacy_port_count {
	uint16_t port;
	uint64_t reads, writes;
};

struct legacy {
	pthread_mutex_t lock;
	uint8_t cmos_index;
	uint8_t cmos[128];
	uint64_t post_writes;		/* port 0x80 */
	struct legacy_port_count unknown[LEGACY_MAX_UNKNOWN];
	unsigned nunknown;
	uint64_t unknown_other;		/* accesses to ports past the table */
};

/** legacy_init() - power-on state. */
void legacy_init(struct legacy *l);
void legacy_destroy(struct legacy *l);

/**
 * legacy_io() - one port access of @size bytes (1, 2 or 4) at @port.
 * @data: the value written, or receives the value read.
 * Returns LEGACY_RESET for the i8042 reset command, else LEGACY_DONE.
 */
enum legacy_result legacy_io(struct legacy *l, uint16_t port, bool is_write,
			     uint8_t *data, unsigned size);

/** legacy_report() - one line per unknown port to @f, each prefixed. */
void legacy_report(struct legacy *l, FILE *f, const char *prefix);

#endif /* IOFD_VM_LEGACY_H */
