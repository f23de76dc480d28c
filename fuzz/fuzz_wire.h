/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the ioregionfd fuzz targets share: a socketpair of either kind and
 * the input's bytes put on it, as one stream or as length-prefixed packets.
 */
#ifndef IOFD_FUZZ_WIRE_H
#define IOFD_FUZZ_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

/* A CLOEXEC socketpair, seqpacket if packets else stream; aborts on failure. */
static inline void fuzz_socketpair(bool packets, int sv[2])
{
	if (socketpair(AF_UNIX, (packets ? SOCK_SEQPACKET : SOCK_STREAM) |
		       SOCK_CLOEXEC, 0, sv) < 0)
		abort();
}

/*
 * Send data without blocking: all of it as a stream, or as packets each
 * prefixed in data by a length byte (0..63, cut to what is left).
 */
static inline void fuzz_send(int fd, bool packets, const uint8_t *data, size_t size)
{
	if (!packets) {
		if (size)
			(void)!send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	while (size) {
		size_t len = data[0] & 63;

		data++;
		size--;
		if (len > size)
			len = size;
		(void)!send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		data += len;
		size -= len;
	}
}

#endif /* IOFD_FUZZ_WIRE_H */
