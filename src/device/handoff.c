/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The handoff messages between a VMM and an out-of-process device: encoding,
 * sending with SCM_RIGHTS, and a receiver that trusts nothing it is sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "iofd/iofd.h"
#include "fd.h"
#include "handoff.h"

static size_t msg_length(uint32_t nr_ram, uint32_t nr_regions, uint32_t nr_doorbells)
{
	return sizeof(struct handoff_wire_hdr) + nr_ram * sizeof(struct handoff_wire_ram) +
	       nr_regions * sizeof(struct handoff_wire_region) +
	       nr_doorbells * sizeof(struct handoff_wire_doorbell);
}

IOFD_EXPORT void iofd_handoff_init(struct iofd_handoff *h,
				   enum iofd_handoff_kind kind)
{
	if (!h)
		return;
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
	iofd_handoff_init(h, h->kind);
}

static int check_seqpacket(int sock)
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
	err = check_seqpacket(sock);
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
	if (hdr->length != len ||
	    len != msg_length(hdr->nr_ram, hdr->nr_regions, hdr->nr_doorbells))
		return iofd_fail(-EPROTO, "handoff: %zu bytes received, header "
				 "says %u, counts need %zu", len, hdr->length,
				 msg_length(hdr->nr_ram, hdr->nr_regions,
					    hdr->nr_doorbells));
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
	err = check_seqpacket(sock);
	if (err)
		return err;
	rx = calloc(1, sizeof(*rx));
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

/* ---- spawning ---------------------------------------------------------------- */

/* environ without IOFD_HANDOFF_ENV, plus IOFD_HANDOFF_ENV=<child fd>. */
static char **child_environment(char *entry)
{
	extern char **environ;
	size_t n = 0, k = 0, name_len = strlen(IOFD_HANDOFF_ENV);
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], IOFD_HANDOFF_ENV, name_len) != 0 ||
		    environ[i][name_len] != '=')
			env[k++] = environ[i];
	env[k++] = entry;
	env[k] = NULL;
	return env;
}

static int spawn_child(char *const argv[], int child_end, pid_t *pid)
{
	char entry[64];
	posix_spawn_file_actions_t fa;
	char **env;
	int err;

	snprintf(entry, sizeof(entry), "%s=%d", IOFD_HANDOFF_ENV,
		 IOFD_HANDOFF_CHILD_FD);
	env = child_environment(entry);
	if (!env)
		return iofd_fail(-ENOMEM, "out of memory for the environment");
	posix_spawn_file_actions_init(&fa);
	/* child_end is above IOFD_HANDOFF_CHILD_FD: dup2 clears close-on-exec. */
	posix_spawn_file_actions_adddup2(&fa, child_end, IOFD_HANDOFF_CHILD_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, IOFD_HANDOFF_CHILD_FD + 1);
	err = posix_spawnp(pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (err)
		return iofd_fail(-err, "cannot start %s: %s", argv[0], strerror(err));
	return 0;
}

IOFD_EXPORT int iofd_handoff_spawn(char *const argv[], int *sock, pid_t *pid)
{
	int sv[2], child_end, err;

	if (!argv || !argv[0] || !sock || !pid)
		return iofd_fail(-EINVAL, "iofd_handoff_spawn: bad arguments");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return iofd_fail(-errno, "socketpair: %s", strerror(errno));
	/* Keep the child's end clear of the number it must end up with. */
	child_end = fcntl(sv[1], F_DUPFD_CLOEXEC, IOFD_HANDOFF_CHILD_FD + 1);
	close(sv[1]);
	if (child_end < 0) {
		err = iofd_fail(-errno, "cannot place the child's socket: %s",
				strerror(errno));
		close(sv[0]);
		return err;
	}
	err = spawn_child(argv, child_end, pid);
	close(child_end);
	if (err) {
		close(sv[0]);
		return err;
	}
	*sock = sv[0];
	return 0;
}

IOFD_EXPORT int iofd_handoff_inherited(void)
{
	const char *val = getenv(IOFD_HANDOFF_ENV);
	char *end;
	long fd;
	int err;

	if (!val)
		return iofd_fail(-ENOENT, "%s is not set", IOFD_HANDOFF_ENV);
	errno = 0;
	fd = strtol(val, &end, 10);
	if (errno || end == val || *end || fd < 0 || fd > INT_MAX)
		return iofd_fail(-EINVAL, "%s=%s is not an fd number",
				 IOFD_HANDOFF_ENV, val);
	err = check_seqpacket((int)fd);
	if (err)
		return err;
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return iofd_fail(-errno, "cannot make fd %ld close-on-exec", fd);
	return (int)fd;
}
