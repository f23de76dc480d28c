/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The handoff messages between a VMM and an out-of-process device: the
 * message object, encoding, and sending with SCM_RIGHTS. Receiving is in
 * handoff_recv.c, starting a device process in handoff_spawn.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "handoff_wire.h"
#include "iofd/iofd.h"

size_t iofd_handoff_msg_length(uint32_t nr_ram, uint32_t nr_regions,
			       uint32_t nr_doorbells)
{
	return sizeof(struct handoff_wire_hdr) +
	       nr_ram * sizeof(struct handoff_wire_ram) +
	       nr_regions * sizeof(struct handoff_wire_region) +
	       nr_doorbells * sizeof(struct handoff_wire_doorbell);
}

/* An empty message of kind, every fd -1. */
static void handoff_reset(struct iofd_handoff *h, uint32_t kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_RAM; i++)
		h->ram[i].fd = -1;
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_REGIONS; i++)
		h->regions[i].cmd_fd = h->regions[i].resp_fd = -1;
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_DOORBELLS; i++)
		h->doorbells[i].efd = -1;
	h->shadow_fd = -1;
}

IOFD_EXPORT int iofd_handoff_init(struct iofd_handoff *h,
				  enum iofd_handoff_kind kind)
{
	if (!h || (kind != IOFD_HANDOFF_HELLO && kind != IOFD_HANDOFF_REPLY))
		return iofd_fail(-EINVAL, "iofd_handoff_init: NULL message or "
				 "kind %d", (int)kind);
	handoff_reset(h, kind);
	return 0;
}

IOFD_EXPORT void iofd_handoff_close(struct iofd_handoff *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_RAM; i++)
		if (h->ram[i].fd >= 0)
			close(h->ram[i].fd);
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_REGIONS; i++) {
		struct iofd_handoff_region *r = &h->regions[i];

		if (r->resp_fd >= 0 && r->resp_fd != r->cmd_fd)
			close(r->resp_fd);
		if (r->cmd_fd >= 0)
			close(r->cmd_fd);
	}
	for (unsigned i = 0; i < IOFD_HANDOFF_MAX_DOORBELLS; i++)
		if (h->doorbells[i].efd >= 0)
			close(h->doorbells[i].efd);
	if (h->shadow_fd >= 0)
		close(h->shadow_fd);
	handoff_reset(h, h->kind);
}

int iofd_handoff_check_socket(int sock)
{
	int type;
	socklen_t len = sizeof(type);

	if (sock < 0 || fcntl(sock, F_GETFD) < 0)
		return iofd_fail(-EBADF, "handoff socket %d is not open", sock);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET)
		return iofd_fail(-EINVAL, "handoff fd %d is not a seqpacket socket",
				 sock);
	return 0;
}

/* ---- sending ------------------------------------------------------------ */

struct fd_table {
	int fds[IOFD_HANDOFF_MAX_FDS];
	uint32_t n;
};

/* Append fd; every fd travels for one descriptor only. */
static int fd_add(struct fd_table *t, int fd, const char *what, uint32_t *idx)
{
	if (fd < 0)
		return iofd_fail(-EINVAL, "handoff: %s has no fd", what);
	for (uint32_t i = 0; i < t->n; i++)
		if (t->fds[i] == fd)
			return iofd_fail(-EINVAL, "handoff: fd %d (%s) appears in "
					 "two descriptors", fd, what);
	t->fds[t->n] = fd;
	*idx = t->n++;
	return 0;
}

static int check_counts(const struct iofd_handoff *h)
{
	if (h->kind != IOFD_HANDOFF_HELLO && h->kind != IOFD_HANDOFF_REPLY)
		return iofd_fail(-EINVAL, "handoff: unknown kind %u", h->kind);
	if (h->nr_ram > IOFD_HANDOFF_MAX_RAM ||
	    h->nr_regions > IOFD_HANDOFF_MAX_REGIONS ||
	    h->nr_doorbells > IOFD_HANDOFF_MAX_DOORBELLS)
		return iofd_fail(-EINVAL, "handoff: %u RAM ranges, %u regions, %u "
				 "doorbells exceed the maxima", h->nr_ram,
				 h->nr_regions, h->nr_doorbells);
	if (h->kind == IOFD_HANDOFF_REPLY &&
	    (h->nr_ram || h->nr_regions || h->nr_doorbells))
		return iofd_fail(-EINVAL, "handoff: a reply carries only a status "
				 "and a shadow");
	if (h->status > 0 || h->status < -4095 ||
	    (h->kind == IOFD_HANDOFF_HELLO && h->status))
		return iofd_fail(-EINVAL, "handoff: bad status %d", h->status);
	return 0;
}

static int encode_ram(const struct iofd_handoff *h, uint8_t **p, struct fd_table *t)
{
	for (uint32_t i = 0; i < h->nr_ram; i++) {
		struct handoff_wire_ram w = { .gpa = h->ram[i].gpa, .size = h->ram[i].size,
				      .offset = h->ram[i].offset };
		int err = fd_add(t, h->ram[i].fd, "RAM", &w.fd);

		if (err)
			return err;
		memcpy(*p, &w, sizeof(w));
		*p += sizeof(w);
	}
	return 0;
}

static int encode_regions(const struct iofd_handoff *h, uint8_t **p,
			  struct fd_table *t)
{
	for (uint32_t i = 0; i < h->nr_regions; i++) {
		const struct iofd_handoff_region *r = &h->regions[i];
		struct handoff_wire_region w = { .gpa = r->gpa, .size = r->size,
					 .user_data = r->user_data,
					 .flags = r->flags, .resp_fd = IOFD_HANDOFF_FD_NONE };
		int err = fd_add(t, r->cmd_fd, "region", &w.cmd_fd);

		if (!err && r->resp_fd == r->cmd_fd)
			w.resp_fd = w.cmd_fd;
		else if (!err && r->resp_fd >= 0)
			err = fd_add(t, r->resp_fd, "region reply", &w.resp_fd);
		if (err)
			return err;
		memcpy(*p, &w, sizeof(w));
		*p += sizeof(w);
	}
	return 0;
}

static int encode_doorbells(const struct iofd_handoff *h, uint8_t **p,
			    struct fd_table *t)
{
	for (uint32_t i = 0; i < h->nr_doorbells; i++) {
		const struct iofd_handoff_doorbell *d = &h->doorbells[i];
		struct handoff_wire_doorbell w = { .gpa = d->gpa, .datamatch = d->datamatch,
					   .shadow_offset = d->shadow_offset,
					   .len = d->len, .flags = d->flags };
		int err = fd_add(t, d->efd, "doorbell", &w.fd);

		if (err)
			return err;
		memcpy(*p, &w, sizeof(w));
		*p += sizeof(w);
	}
	return 0;
}

static int encode(const struct iofd_handoff *h, uint8_t *buf, size_t *len,
		  struct fd_table *t)
{
	struct handoff_wire_hdr hdr = { .magic = IOFD_HANDOFF_MAGIC,
				.version = IOFD_HANDOFF_VERSION,
				.kind = (uint16_t)h->kind, .status = h->status,
				.nr_ram = (uint16_t)h->nr_ram,
				.nr_regions = (uint16_t)h->nr_regions,
				.nr_doorbells = (uint16_t)h->nr_doorbells,
				.shadow_fd = IOFD_HANDOFF_FD_NONE };
	uint8_t *p = buf + sizeof(hdr);
	int err;

	t->n = 0;
	err = encode_ram(h, &p, t);
	if (!err)
		err = encode_regions(h, &p, t);
	if (!err)
		err = encode_doorbells(h, &p, t);
	if (!err && h->shadow_fd >= 0)
		err = fd_add(t, h->shadow_fd, "shadow", &hdr.shadow_fd);
	if (err)
		return err;
	*len = (size_t)(p - buf);
	hdr.length = (uint32_t)*len;
	hdr.nr_fds = (uint16_t)t->n;
	memcpy(buf, &hdr, sizeof(hdr));
	return 0;
}

IOFD_EXPORT int iofd_handoff_send(int sock, const struct iofd_handoff *h)
{
	uint8_t buf[IOFD_HANDOFF_MAX_MSG];
	union {
		char space[CMSG_SPACE(sizeof(int) * IOFD_HANDOFF_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct fd_table t;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len;
	ssize_t n;
	int err;

	if (!h)
		return iofd_fail(-EINVAL, "iofd_handoff_send: NULL message");
	err = iofd_handoff_check_socket(sock);
	if (!err)
		err = check_counts(h);
	if (!err)
		err = encode(h, buf, &len, &t);
	if (err)
		return err;
	iov.iov_base = buf;
	iov.iov_len = len;
	if (t.n) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.space;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * t.n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * t.n);
		memcpy(CMSG_DATA(c), t.fds, sizeof(int) * t.n);
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return iofd_fail(-errno, "handoff: sendmsg: %s", strerror(errno));
	if ((size_t)n != len)
		return iofd_fail(-EPIPE, "handoff: sent %zd of %zu bytes", n, len);
	return 0;
}
