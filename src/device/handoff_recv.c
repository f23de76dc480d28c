/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiving a handoff message: a receiver that trusts nothing it is sent
 * (magic, version, kind, exact length, counts, every fd declared and
 * received, each used once and of the right kind).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "fd.h"
#include "handoff_wire.h"
#include "iofd/iofd.h"

/* ---- receiving ------------------------------------------------------------- */

struct received {
	uint8_t buf[IOFD_HANDOFF_MAX_MSG];
	size_t len;
	int fds[IOFD_HANDOFF_MAX_FDS];
	uint32_t nfds;
	bool used[IOFD_HANDOFF_MAX_FDS];
};

static void close_received(struct received *rx)
{
	for (uint32_t i = 0; i < rx->nfds; i++)
		close(rx->fds[i]);
	rx->nfds = 0;
}

/* Take every fd of every SCM_RIGHTS message; ignore other ancillary data. */
static void collect_fds(struct msghdr *msg, struct received *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		int *data = (int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, data + i, sizeof(fd));
			if (rx->nfds < IOFD_HANDOFF_MAX_FDS)
				rx->fds[rx->nfds++] = fd;
			else
				close(fd);	/* cannot happen: the buffer fits IOFD_HANDOFF_MAX_FDS */
		}
	}
}

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return iofd_fail(-errno, "handoff: poll: %s", strerror(errno));
	if (r == 0)
		return iofd_fail(-ETIMEDOUT, "handoff: no message within %d ms",
				 timeout_ms);
	return 0;
}

static int receive_packet(int sock, struct received *rx)
{
	union {
		char space[CMSG_SPACE(sizeof(int) * IOFD_HANDOFF_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = rx->buf, .iov_len = sizeof(rx->buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	ssize_t n;

	rx->nfds = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET)
		return iofd_fail(-ECONNRESET, "handoff: the peer closed the socket");
	if (n < 0)
		return iofd_fail(-errno, "handoff: recvmsg: %s", strerror(errno));
	collect_fds(&msg, rx);
	if (msg.msg_flags & MSG_CTRUNC)
		return iofd_fail(-EPROTO, "handoff: ancillary data cut off (more "
				 "fds than any message may carry)");
	if (msg.msg_flags & MSG_TRUNC)
		return iofd_fail(-EPROTO, "handoff: message longer than %zu bytes",
				 sizeof(rx->buf));
	if (n == 0 && rx->nfds == 0)
		return iofd_fail(-ECONNRESET, "handoff: the peer closed the socket");
	rx->len = (size_t)n;
	return 0;
}

static int check_header(const struct handoff_wire_hdr *hdr, size_t len,
			enum iofd_handoff_kind kind, uint32_t nfds)
{
	size_t need;

	if (len < sizeof(*hdr))
		return iofd_fail(-EPROTO, "handoff: %zu-byte message is shorter "
				 "than its header", len);
	if (hdr->magic != IOFD_HANDOFF_MAGIC)
		return iofd_fail(-EPROTO, "handoff: bad magic 0x%08x", hdr->magic);
	if (hdr->version != IOFD_HANDOFF_VERSION)
		return iofd_fail(-EPROTONOSUPPORT, "handoff: version %u (this end "
				 "speaks %u)", hdr->version, IOFD_HANDOFF_VERSION);
	if (hdr->kind != kind)
		return iofd_fail(-EPROTO, "handoff: kind %u where %u was expected",
				 hdr->kind, kind);
	if (hdr->reserved)
		return iofd_fail(-EPROTO, "handoff: reserved header field set");
	if (hdr->nr_ram > IOFD_HANDOFF_MAX_RAM ||
	    hdr->nr_regions > IOFD_HANDOFF_MAX_REGIONS ||
	    hdr->nr_doorbells > IOFD_HANDOFF_MAX_DOORBELLS ||
	    hdr->nr_fds > IOFD_HANDOFF_MAX_FDS)
		return iofd_fail(-EPROTO, "handoff: counts %u/%u/%u/%u exceed the "
				 "maxima", hdr->nr_ram, hdr->nr_regions,
				 hdr->nr_doorbells, hdr->nr_fds);
	if (kind == IOFD_HANDOFF_REPLY &&
	    (hdr->nr_ram || hdr->nr_regions || hdr->nr_doorbells))
		return iofd_fail(-EPROTO, "handoff: a reply with descriptors");
	if (hdr->status > 0 || hdr->status < -4095 ||
	    (kind == IOFD_HANDOFF_HELLO && hdr->status))
		return iofd_fail(-EPROTO, "handoff: bad status %d", hdr->status);
	need = iofd_handoff_msg_length(hdr->nr_ram, hdr->nr_regions,
				       hdr->nr_doorbells);
	if (hdr->length != len || len != need)
		return iofd_fail(-EPROTO, "handoff: %zu bytes received, header "
				 "says %u, counts need %zu", len, hdr->length,
				 need);
	if (hdr->nr_fds != nfds)
		return iofd_fail(-EPROTO, "handoff: %u fds declared, %u received",
				 hdr->nr_fds, nfds);
	return 0;
}

/* Resolve an fd index, marking it used; NONE allowed only if optional. */
static int take_fd(struct received *rx, uint32_t idx, bool optional,
		   const char *what, int *out)
{
	*out = -1;
	if (idx == IOFD_HANDOFF_FD_NONE && optional)
		return 0;
	if (idx >= rx->nfds)
		return iofd_fail(-EPROTO, "handoff: %s names fd %u of %u", what,
				 idx, rx->nfds);
	if (rx->used[idx])
		return iofd_fail(-EPROTO, "handoff: fd %u used twice (%s)", idx, what);
	rx->used[idx] = true;
	*out = rx->fds[idx];
	return 0;
}

static bool is_memfd(int fd)
{
	return fcntl(fd, F_GET_SEALS) >= 0;
}

static bool is_stream_or_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode));
}

static int decode_ram(struct received *rx, const uint8_t **p, uint32_t n,
		      struct iofd_handoff *h)
{
	for (uint32_t i = 0; i < n; i++) {
		struct handoff_wire_ram w;
		struct iofd_handoff_ram *ram = &h->ram[i];
		int err;

		memcpy(&w, *p, sizeof(w));
		*p += sizeof(w);
		if (w.reserved || w.size == 0 || w.gpa + w.size < w.gpa ||
		    w.offset + w.size < w.offset)
			return iofd_fail(-EPROTO, "handoff: RAM range %u (0x%llx, "
					 "%llu bytes) is invalid", i,
					 (unsigned long long)w.gpa,
					 (unsigned long long)w.size);
		err = take_fd(rx, w.fd, false, "RAM", &ram->fd);
		if (err)
			return err;
		if (!is_memfd(ram->fd))
			return iofd_fail(-EPROTO, "handoff: RAM fd is not a memfd");
		ram->gpa = w.gpa;
		ram->size = w.size;
		ram->offset = w.offset;
	}
	h->nr_ram = n;
	return 0;
}

static int check_region_desc(const struct handoff_wire_region *w, uint32_t i)
{
	const uint32_t posted = IOFD_IOREGION_FLAG_POSTED_WRITES;

	if (w->reserved || (w->flags & ~(IOFD_IOREGION_FLAG_PIO | posted)))
		return iofd_fail(-EPROTO, "handoff: region %u has flags 0x%x or "
				 "reserved bits", i, w->flags);
	if (w->gpa + w->size < w->gpa)
		return iofd_fail(-EPROTO, "handoff: region %u wraps", i);
	if (w->size == 0 && !(w->flags & posted))
		return iofd_fail(-EPROTO, "handoff: doorbell region %u without "
				 "POSTED_WRITES", i);
	return 0;
}

static int decode_regions(struct received *rx, const uint8_t **p, uint32_t n,
			  struct iofd_handoff *h)
{
	for (uint32_t i = 0; i < n; i++) {
		struct iofd_handoff_region *r = &h->regions[i];
		struct handoff_wire_region w;
		int err;

		memcpy(&w, *p, sizeof(w));
		*p += sizeof(w);
		err = check_region_desc(&w, i);
		if (!err)
			err = take_fd(rx, w.cmd_fd, false, "region", &r->cmd_fd);
		if (!err && w.resp_fd == w.cmd_fd)
			r->resp_fd = r->cmd_fd;
		else if (!err)
			err = take_fd(rx, w.resp_fd, true, "region reply", &r->resp_fd);
		if (err)
			return err;
		if (!is_stream_or_pipe(r->cmd_fd) ||
		    (r->resp_fd >= 0 && !is_stream_or_pipe(r->resp_fd)))
			return iofd_fail(-EPROTO, "handoff: region %u fd is neither "
					 "a socket nor a pipe", i);
		r->gpa = w.gpa;
		r->size = w.size;
		r->user_data = w.user_data;
		r->flags = w.flags;
	}
	h->nr_regions = n;
	return 0;
}

static int check_doorbell_desc(const struct handoff_wire_doorbell *w, uint32_t i)
{
	if (w->reserved || (w->flags & ~(IOFD_IOEVENTFD_FLAG_PIO |
					 IOFD_IOEVENTFD_FLAG_DATAMATCH)))
		return iofd_fail(-EPROTO, "handoff: doorbell %u has flags 0x%x or "
				 "reserved bits", i, w->flags);
	if (w->len != 1 && w->len != 2 && w->len != 4 && w->len != 8)
		return iofd_fail(-EPROTO, "handoff: doorbell %u len %u", i, w->len);
	if (w->shadow_offset + w->len < w->shadow_offset)
		return iofd_fail(-EPROTO, "handoff: doorbell %u shadow offset wraps", i);
	return 0;
}

static int decode_doorbells(struct received *rx, const uint8_t **p, uint32_t n,
			    struct iofd_handoff *h)
{
	for (uint32_t i = 0; i < n; i++) {
		struct iofd_handoff_doorbell *d = &h->doorbells[i];
		struct handoff_wire_doorbell w;
		int err;

		memcpy(&w, *p, sizeof(w));
		*p += sizeof(w);
		err = check_doorbell_desc(&w, i);
		if (!err)
			err = take_fd(rx, w.fd, false, "doorbell", &d->efd);
		if (err)
			return err;
		if (iofd_efd_check(d->efd))
			return iofd_fail(-EPROTO, "handoff: doorbell %u fd is not "
					 "an eventfd", i);
		d->gpa = w.gpa;
		d->datamatch = w.datamatch;
		d->shadow_offset = w.shadow_offset;
		d->len = w.len;
		d->flags = w.flags;
	}
	h->nr_doorbells = n;
	return 0;
}

static int decode(struct received *rx, enum iofd_handoff_kind kind,
		  struct iofd_handoff *h)
{
	struct handoff_wire_hdr hdr;
	const uint8_t *p = rx->buf + sizeof(hdr);
	int err;

	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, rx->buf, rx->len < sizeof(hdr) ? rx->len : sizeof(hdr));
	err = check_header(&hdr, rx->len, kind, rx->nfds);
	if (!err)
		err = decode_ram(rx, &p, hdr.nr_ram, h);
	if (!err)
		err = decode_regions(rx, &p, hdr.nr_regions, h);
	if (!err)
		err = decode_doorbells(rx, &p, hdr.nr_doorbells, h);
	if (!err)
		err = take_fd(rx, hdr.shadow_fd, true, "shadow", &h->shadow_fd);
	if (!err && h->shadow_fd >= 0 && !is_memfd(h->shadow_fd))
		err = iofd_fail(-EPROTO, "handoff: shadow fd is not a memfd");
	for (uint32_t i = 0; !err && i < rx->nfds; i++)
		if (!rx->used[i])
			err = iofd_fail(-EPROTO, "handoff: fd %u of %u is not "
					"used by any descriptor", i, rx->nfds);
	h->status = hdr.status;
	return err;
}

IOFD_EXPORT int iofd_handoff_recv(int sock, enum iofd_handoff_kind kind,
				  struct iofd_handoff *h, int timeout_ms)
{
	struct received *rx;
	int err;

	if (!h || (kind != IOFD_HANDOFF_HELLO && kind != IOFD_HANDOFF_REPLY))
		return iofd_fail(-EINVAL, "iofd_handoff_recv: bad arguments");
	iofd_handoff_init(h, kind);
	err = iofd_handoff_check_socket(sock);
	if (err)
		return err;
	rx = iofd_calloc(1, sizeof(*rx));
	if (!rx)
		return iofd_fail(-ENOMEM, "out of memory for a handoff message");
	err = wait_readable(sock, timeout_ms);
	if (!err)
		err = receive_packet(sock, rx);
	if (!err)
		err = decode(rx, kind, h);
	if (err) {
		close_received(rx);	/* h's fds are among them */
		iofd_handoff_init(h, kind);
	}
	free(rx);
	return err;
}
