/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ioregionfd wire protocol both sides speak. The VMM side builds the
 * 32-byte command, moves bytes over the fds without ever blocking (the
 * caller waits, with a timeout and signals, in ppoll), and checks the
 * 32-byte reply; the device side validates each command it receives.
 *
 * No write here ever leaves a SIGPIPE behind (MSG_NOSIGNAL on sockets;
 * on pipes SIGPIPE blocked and taken back): docs/ARCHITECTURE.md says why
 * and how, under "ioregionfd".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "fd.h"
#include "wire.h"

static unsigned int size_exponent(uint32_t len)
{
	return len == 8 ? 3 : len == 4 ? 2 : len == 2 ? 1 : 0;
}

void iofd_wire_cmd(struct iofd_ioregionfd_cmd *cmd, bool is_write,
		   uint32_t len, bool want_resp, uint64_t user_data,
		   uint64_t offset, uint64_t data)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->cmd = is_write ? IOFD_IOREGIONFD_CMD_WRITE : IOFD_IOREGIONFD_CMD_READ;
	cmd->info = IOFD_IOREGIONFD_INFO(size_exponent(len), want_resp);
	cmd->user_data = user_data;
	cmd->offset = offset;
	cmd->data = is_write ? data : 0;
}

int iofd_wire_check_resp(const struct iofd_ioregionfd_resp *resp, char *why,
			 size_t whylen)
{
	for (size_t i = 0; i < sizeof(resp->pad); i++) {
		if (resp->pad[i]) {
			snprintf(why, whylen, "malformed reply: padding byte %zu "
				 "is 0x%02x, not 0", i, resp->pad[i]);
			return -EBADMSG;
		}
	}
	return 0;
}

ssize_t iofd_wire_pipe_write(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	bool was_pending;
	ssize_t n;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	n = write(fd, buf, len);
	err = errno;
	if (n < 0 && err == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return n;
}

void iofd_wire_end_set(struct iofd_wire_end *end, int fd)
{
	struct iofd_fd_kind k;

	memset(&k, 0, sizeof(k));
	iofd_fd_kind(fd, &k);
	end->fd = fd;
	end->sock = k.sock;
	end->msg = k.msg;
}

ssize_t iofd_wire_send(const struct iofd_wire_end *end, const void *buf,
		       size_t len)
{
	int fd = end->fd;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	if (end->sock) {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		/* No per-call non-blocking write on a pipe: write only when
		 * poll says there is room (then a write of up to PIPE_BUF
		 * bytes does not block). POLLERR: no reader any more. */
		if (poll(&p, 1, 0) < 0)
			return -errno;
		if (p.revents & POLLERR)
			return -EPIPE;
		if (!(p.revents & POLLOUT))
			return -EAGAIN;
		n = iofd_wire_pipe_write(fd, buf, len);
	}
	if (n >= 0)
		return n;
	if (errno == EWOULDBLOCK || errno == EINTR)
		return -EAGAIN;
	if (errno == ECONNRESET || errno == ENOTCONN)
		return -EPIPE;
	return -errno;
}

ssize_t iofd_wire_recv(const struct iofd_wire_end *end, void *buf, size_t len,
		       size_t *msg_len)
{
	int fd = end->fd;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (end->sock) {
		n = recv(fd, buf, len, MSG_DONTWAIT | (end->msg ? MSG_TRUNC : 0));
		if (n >= 0 && end->msg) {
			*msg_len = (size_t)n;	/* MSG_TRUNC: the real length */
			if ((size_t)n > len)
				n = (ssize_t)len;
		}
	} else {
		if (poll(&p, 1, 0) < 0)
			return -errno;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			return -EAGAIN;
		n = read(fd, buf, len);	/* data or EOF waiting: no block */
	}
	if (n >= 0)
		return n;
	if (errno == EWOULDBLOCK || errno == EINTR)
		return -EAGAIN;
	if (errno == ECONNRESET)
		return 0;		/* the peer is gone: as end of file */
	return -errno;
}

int iofd_wire_pending(const struct iofd_wire_end *end)
{
	int fd = end->fd;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte;
	ssize_t n;

	if (poll(&p, 1, 0) < 0)
		return 0;
	if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (end->sock) {
		n = recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
		if (n > 0)
			return 1;
		return n == 0 || errno == ECONNRESET ? -EPIPE : 0;
	}
	return p.revents & POLLIN ? 1 : -EPIPE;
}

void iofd_wire_drain(const struct iofd_wire_end *end)
{
	struct iofd_wire_end stream = { end->fd, end->sock, false };
	char scratch[512];
	size_t total = 0, msg_len;

	/* Bounded, so a peer that keeps writing cannot keep us here. */
	while (total < (1u << 20) && iofd_wire_pending(end) == 1) {
		ssize_t n = iofd_wire_recv(&stream, scratch, sizeof(scratch),
					   &msg_len);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

_Static_assert(sizeof(struct iofd_ioregionfd_cmd) == IOFD_WIRE_MSG_SIZE,
	       "ioregionfd command is 32 bytes");
_Static_assert(sizeof(struct iofd_ioregionfd_resp) == IOFD_WIRE_MSG_SIZE,
	       "ioregionfd reply is 32 bytes");

/* ---- the device side: validating a command ---------------------------- */

static int check_shape(const struct iofd_ioregionfd_cmd *c)
{
	if (c->cmd > IOFD_IOREGIONFD_CMD_WRITE)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: command %u is neither "
				 "READ (0) nor WRITE (1)", c->cmd);
	if ((c->info & IOFD_IOREGIONFD_INFO_SIZE_MASK) > 3)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: size exponent %u (only "
				 "0..3, for 1, 2, 4 or 8 bytes)",
				 c->info & IOFD_IOREGIONFD_INFO_SIZE_MASK);
	if (c->info & IOFD_IOREGIONFD_INFO_RESERVED)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: reserved bits 0x%02x "
				 "of the info byte set",
				 c->info & IOFD_IOREGIONFD_INFO_RESERVED);
	for (unsigned i = 0; i < sizeof(c->padding); i++)
		if (c->padding[i])
			return iofd_fail_quiet(-EPROTO, "ioregionfd: padding byte %u "
					 "is 0x%02x, not 0", i, c->padding[i]);
	return 0;
}

static int check_against_region(const struct iofd_ioregionfd_cmd *c,
				const struct iofd_cmd_limits *lim, uint32_t size)
{
	bool is_write = c->cmd == IOFD_IOREGIONFD_CMD_WRITE;
	bool resp = c->info & IOFD_IOREGIONFD_INFO_RESP;

	if (!is_write && !resp)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: read without the resp bit "
				 "(nobody would take the value)");
	if (resp && !lim->can_reply)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: command wants a reply but "
				 "the region has no reply fd");
	if (is_write && size < 8 && (c->data >> (8 * size)))
		return iofd_fail_quiet(-EPROTO, "ioregionfd: %u-byte write carries "
				 "0x%llx, wider than its size", size,
				 (unsigned long long)c->data);
	if (lim->check_user_data && c->user_data != lim->user_data)
		return iofd_fail_quiet(-EPROTO, "ioregionfd: user_data 0x%llx is not "
				 "the region's 0x%llx",
				 (unsigned long long)c->user_data,
				 (unsigned long long)lim->user_data);
	if (lim->size == 0 && (!is_write || c->offset != 0))
		return iofd_fail_quiet(-EPROTO, "ioregionfd: a doorbell region takes "
				 "only writes at offset 0 (got a %s at 0x%llx)",
				 is_write ? "write" : "read",
				 (unsigned long long)c->offset);
	if (lim->size != 0 && lim->size != IOFD_WIRE_SIZE_ANY &&
	    (c->offset > lim->size || size > lim->size - c->offset))
		return iofd_fail_quiet(-EPROTO, "ioregionfd: %u bytes at offset 0x%llx "
				 "lie outside the region's %llu bytes", size,
				 (unsigned long long)c->offset,
				 (unsigned long long)lim->size);
	return 0;
}

int iofd_cmd_parse(const void *msg, const struct iofd_cmd_limits *lim,
		   struct iofd_cmd *out)
{
	struct iofd_ioregionfd_cmd c;
	uint32_t size;
	int err;

	memcpy(&c, msg, sizeof(c));
	err = check_shape(&c);
	if (err)
		return err;
	size = 1u << (c.info & IOFD_IOREGIONFD_INFO_SIZE_MASK);
	err = check_against_region(&c, lim, size);
	if (err)
		return err;
	out->is_write = c.cmd == IOFD_IOREGIONFD_CMD_WRITE;
	out->wants_reply = c.info & IOFD_IOREGIONFD_INFO_RESP;
	out->size = size;
	out->user_data = c.user_data;
	out->offset = c.offset;
	out->data = c.data;
	return 0;
}
