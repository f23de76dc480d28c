/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the handoff receiver, fed by a hostile peer.
 *
 * Input: one byte choosing the expected kind (bit 7) and the fds that ride
 * along (bits 0-2: how many, 0..7; bits 3-4: the kind of the first, the
 * others follow in the cycle memfd, socket, eventfd, pipe), then the
 * message bytes, sent as one seqpacket with SCM_RIGHTS.
 * A message the receiver accepts must describe fds it really holds and
 * counts within the maxima; whatever it rejects must leave no fd behind.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/handoff.h>

#include "handoff_wire.h"

static int pair[2] = { -1, -1 };
static int kinds[4];

static void init_once(void)
{
	int sv[2], p[2];

	if (pair[0] >= 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(p, O_CLOEXEC) < 0)
		abort();
	kinds[0] = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (kinds[0] < 0 || ftruncate(kinds[0], 8192) < 0)
		abort();
	kinds[1] = sv[0];
	kinds[2] = eventfd(0, EFD_CLOEXEC);
	kinds[3] = p[0];
}

/* The lowest free fd number: where a leaked fd would have been put. */
static int lowest_free_fd(void)
{
	int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);

	close(fd);
	return fd;
}

static void send_message(const uint8_t *msg, size_t len, uint8_t pick)
{
	char ctl[CMSG_SPACE(sizeof(int) * 7)];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[7], n = pick & 7, first = (pick >> 3) & 3;

	for (int i = 0; i < n; i++)
		fds[i] = kinds[(first + i) & 3];
	if (n) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(pair[0], &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		abort();
}

static void check_accepted(const struct iofd_handoff *h)
{
	if (h->nr_ram > IOFD_HANDOFF_MAX_RAM ||
	    h->nr_regions > IOFD_HANDOFF_MAX_REGIONS ||
	    h->nr_doorbells > IOFD_HANDOFF_MAX_DOORBELLS)
		abort();
	for (uint32_t i = 0; i < h->nr_ram; i++)
		if (fcntl(h->ram[i].fd, F_GET_SEALS) < 0 || h->ram[i].size == 0)
			abort();
	for (uint32_t i = 0; i < h->nr_regions; i++)
		if (fcntl(h->regions[i].cmd_fd, F_GETFD) < 0)
			abort();
	for (uint32_t i = 0; i < h->nr_doorbells; i++)
		if (fcntl(h->doorbells[i].efd, F_GETFD) < 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum iofd_handoff_kind kind;
	struct iofd_handoff h;
	int before;

	if (size < 1 || size - 1 > IOFD_HANDOFF_MAX_MSG + 64)
		return 0;
	init_once();
	kind = data[0] & 0x80 ? IOFD_HANDOFF_REPLY : IOFD_HANDOFF_HELLO;
	before = lowest_free_fd();
	send_message(data + 1, size - 1, data[0] & 0x7f);
	if (iofd_handoff_recv(pair[1], kind, &h, 0) == 0) {
		check_accepted(&h);
		iofd_handoff_close(&h);
	}
	if (lowest_free_fd() != before)
		abort();	/* an fd that arrived was kept */
	return 0;
}
