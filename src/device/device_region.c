/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side of ioregionfd: receive 32-byte commands, validate each one,
 * hand it to the region's callbacks and answer the ones that want a reply.
 *
 * A seqpacket socket carries one command per message; a stream socket or a
 * pipe carries a byte stream that may split a command anywhere, so partial
 * commands are buffered until the rest arrives (the VMM closing in the
 * middle of one is a protocol error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "device_impl.h"
#include "device_mech.h"
#include "error.h"
#include "fault.h"
#include "fd.h"
#include "wire.h"

_Static_assert(IOFD_DEVICE_SIZE_ANY == IOFD_WIRE_SIZE_ANY,
	       "a region of any size is the same on both sides");

/* ---- replies ------------------------------------------------------------- */

static int send_reply(struct iofd_dev_region *r, uint64_t data)
{
	struct iofd_ioregionfd_resp resp;
	ssize_t n;

	memset(&resp, 0, sizeof(resp));
	resp.data = data;
	if (r->resp.sock)
		n = send(r->resp.fd, &resp, sizeof(resp), MSG_NOSIGNAL | MSG_DONTWAIT);
	else
		n = iofd_wire_pipe_write(r->resp.fd, &resp, sizeof(resp));
	if (n == (ssize_t)sizeof(resp))
		return 0;
	if (n < 0)
		return iofd_fail_quiet(-EPIPE, "ioregionfd: cannot send a reply: %s",
				       errno == EAGAIN ? "the VMM does not take replies"
						       : strerror(errno));
	return iofd_fail_quiet(-EPIPE, "ioregionfd: reply cut short (%zd of 32 "
			       "bytes)", n);
}

/* ---- serving ------------------------------------------------------------- */

static uint64_t size_mask(uint32_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

static int handle_cmd(struct iofd_device *dev, struct iofd_dev_region *r,
		      const void *msg)
{
	struct iofd_cmd c;
	uint64_t value = 0;
	int err = iofd_cmd_parse(msg, &r->lim, &c);

	if (err)
		return err;
	if (c.is_write) {
		if (r->write)
			r->write(r->opaque, c.user_data, c.offset, c.size, c.data);
		if (!c.wants_reply) {
			dev->stats.posted_writes++;
			return 0;
		}
		dev->stats.writes++;
		return send_reply(r, 0);
	}
	if (r->read)
		r->read(r->opaque, c.user_data, c.offset, c.size, &value);
	dev->stats.reads++;
	return send_reply(r, value & size_mask(c.size));
}

/* Close a region (the VMM left, or a poisoning). */
static void region_close(struct iofd_device *dev, struct iofd_dev_region *r,
			 int status)
{
	if (r->cmd.fd < 0)
		return;
	iofd_dev_watch_del(dev, &r->src);
	if (r->resp.fd >= 0 && r->resp.fd != r->cmd.fd)
		close(r->resp.fd);
	close(r->cmd.fd);
	r->cmd.fd = r->resp.fd = -1;
	r->status = status;
	r->have = 0;
	if (status != -ENOTCONN)
		dev->stats.failures++;
}

/* recv() returned 0 on a seqpacket socket: the VMM left, or sent nothing. */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

/* Fail the region: close it and report err, whose reason the failing step
 * recorded (iofd_fail_quiet()), with the region's number. */
static int poison(struct iofd_device *dev, struct iofd_dev_region *r,
		  uint32_t idx, int err)
{
	snprintf(r->why, sizeof(r->why), "%s", iofd_last_error());
	region_close(dev, r, err);
	return iofd_fail(err, "region %u: %s", idx, r->why);
}

static int read_error(struct iofd_device *dev, struct iofd_dev_region *r,
		      uint32_t idx, int errnum)
{
	if (errnum == ECONNRESET) {
		region_close(dev, r, -ENOTCONN);
		return 0;
	}
	iofd_fail_quiet(-errnum, "cannot read a command: %s", strerror(errnum));
	return poison(dev, r, idx, -errnum);
}

/* Seqpacket: each message must be exactly one command. */
static int serve_messages(struct iofd_device *dev, struct iofd_dev_region *r,
			  uint32_t idx)
{
	int served = 0;

	for (unsigned i = 0; i < IOFD_DEV_BATCH; i++) {
		ssize_t n = recv(r->cmd.fd, r->buf, IOFD_WIRE_MSG_SIZE,
				 MSG_DONTWAIT | MSG_TRUNC);
		int err;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0)
			return read_error(dev, r, idx, errno);
		if (n == 0 && peer_gone(r->cmd.fd)) {
			region_close(dev, r, -ENOTCONN);
			break;
		}
		if (n != IOFD_WIRE_MSG_SIZE) {
			iofd_fail_quiet(-EPROTO, "ioregionfd: %s message of %zd "
					"bytes (commands are 32)",
					n < IOFD_WIRE_MSG_SIZE ? "short" : "oversized", n);
			return poison(dev, r, idx, -EPROTO);
		}
		err = handle_cmd(dev, r, r->buf);
		if (err)
			return poison(dev, r, idx, err);
		served++;
	}
	return served;
}

/* Stream or pipe: commands may arrive in pieces. One read per call. */
static int serve_stream(struct iofd_device *dev, struct iofd_dev_region *r,
			uint32_t idx)
{
	ssize_t n = read(r->cmd.fd, r->buf + r->have, sizeof(r->buf) - r->have);
	uint32_t done = 0;
	int served = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return read_error(dev, r, idx, errno);
	if (n == 0 && r->have) {
		iofd_fail_quiet(-EPROTO, "ioregionfd: the VMM closed the region "
				"in the middle of a command (%u of 32 bytes)", r->have);
		return poison(dev, r, idx, -EPROTO);
	}
	if (n == 0) {
		region_close(dev, r, -ENOTCONN);
		return 0;
	}
	r->have += (uint32_t)n;
	for (; r->have - done >= IOFD_WIRE_MSG_SIZE; done += IOFD_WIRE_MSG_SIZE) {
		int err = handle_cmd(dev, r, r->buf + done);

		if (err)
			return poison(dev, r, idx, err);
		served++;
	}
	memmove(r->buf, r->buf + done, r->have - done);
	r->have -= done;
	return served;
}

/* Source op: the region's cmd_fd is readable. */
static int region_event(struct iofd_source *src)
{
	struct iofd_dev_region *r = iofd_container_of(src, struct iofd_dev_region, src);

	if (r->cmd.fd < 0)
		return 0;
	return r->cmd.msg ? serve_messages(r->dev, r, r->idx)
			       : serve_stream(r->dev, r, r->idx);
}

/* Source op: the device lets go of the region (it is destroyed). Close
 * our ends if they are open, so the VMM sees the peer go, and forget its
 * id. */
static void region_unplug(union iofd_source_owner owner, struct iofd_source *src)
{
	struct iofd_dev_region *r = iofd_container_of(src, struct iofd_dev_region, src);

	region_close(owner.dev, r, -ENOTCONN);
	owner.dev->regions[r->idx] = NULL;
}

static void region_release(union iofd_source_owner owner, struct iofd_source *src)
{
	(void)owner;
	free(iofd_container_of(src, struct iofd_dev_region, src));
}

static const struct iofd_source_ops region_ops = {
	.event = region_event,
	.unplug = region_unplug,
	.release = region_release,
};

/* Mechanism: the regions are released; their id table goes. */
static void regions_fini(struct iofd_device *dev)
{
	free(dev->regions);
	dev->regions = NULL;
	dev->nr_regions = 0;
}

const struct iofd_dev_mech iofd_dev_region_mech = {
	.name = "ioregion",
	.fini = regions_fini,
};

/* ---- adding ---------------------------------------------------------------- */

/* Is fd a stream/seqpacket socket or a pipe? Sets *message, *socket. */
static int classify_fd(int fd, const char *what, bool *message, bool *is_socket)
{
	struct iofd_fd_kind k;

	if (iofd_fd_kind(fd, &k) < 0)
		return iofd_fail(-EBADF, "%s %d is not an open file descriptor",
				 what, fd);
	*message = k.sock_type == SOCK_SEQPACKET;
	*is_socket = k.sock;
	if (k.fifo)
		return 0;
	if (!k.sock || !k.sock_type)
		return iofd_fail(-EINVAL, "%s %d is neither a socket nor a pipe",
				 what, fd);
	if (k.sock_type != SOCK_SEQPACKET && k.sock_type != SOCK_STREAM)
		return iofd_fail(-EINVAL, "%s %d is a socket of type %d (stream "
				 "or seqpacket needed)", what, fd, k.sock_type);
	return 0;
}

static int check_region(const struct iofd_device_region *reg, bool *message,
			bool *resp_socket)
{
	bool dummy;
	int err;

	if (reg->flags & ~IOFD_DEVICE_REGION_VALID_FLAGS)
		return iofd_fail(-EINVAL, "unknown region flags 0x%x", reg->flags);
	err = classify_fd(reg->cmd_fd, "cmd_fd", message, resp_socket);
	if (err || reg->resp_fd < 0 || reg->resp_fd == reg->cmd_fd)
		return err;
	return classify_fd(reg->resp_fd, "resp_fd", &dummy, resp_socket);
}

static int open_region_fds(struct iofd_dev_region *r,
			   const struct iofd_device_region *reg)
{
	r->resp.fd = -1;
	r->cmd.fd = iofd_fd_dup(reg->cmd_fd, true);
	if (r->cmd.fd < 0)
		return r->cmd.fd;
	if (reg->resp_fd == reg->cmd_fd) {
		r->resp.fd = r->cmd.fd;
	} else if (reg->resp_fd >= 0) {
		r->resp.fd = iofd_fd_dup(reg->resp_fd, true);
		if (r->resp.fd < 0) {
			int err = r->resp.fd;

			close(r->cmd.fd);
			return err;
		}
	}
	return 0;
}

static void drop_region_fds(struct iofd_dev_region *r)
{
	if (r->resp.fd >= 0 && r->resp.fd != r->cmd.fd)
		close(r->resp.fd);
	close(r->cmd.fd);
}

static struct iofd_dev_region *new_region(const struct iofd_device_region *reg)
{
	struct iofd_dev_region *r = iofd_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->lim.size = reg->size;
	r->lim.user_data = reg->user_data;
	r->lim.check_user_data = reg->flags & IOFD_DEVICE_REGION_CHECK_USER_DATA;
	r->lim.can_reply = reg->resp_fd >= 0;
	r->read = reg->read;
	r->write = reg->write;
	r->opaque = reg->opaque;
	return r;
}

/* Register the region with epoll and append it; frees nothing on failure. */
static int attach_region(struct iofd_device *dev, struct iofd_dev_region *r)
{
	struct iofd_dev_region **grown;
	uint32_t idx = dev->nr_regions;
	int err;

	if (idx >= INT32_MAX)
		return iofd_fail(-ENOSPC, "too many regions");
	grown = iofd_realloc(dev->regions, (idx + 1) * sizeof(*grown));
	if (!grown)
		return iofd_fail(-ENOMEM, "out of memory for a region");
	dev->regions = grown;
	r->src.ops = &region_ops;
	r->dev = dev;
	r->idx = idx;
	/* The VMM holds the other end: when it leaves, the region leaves
	 * the set (region_close()). */
	err = iofd_dev_watch_add(dev, r->cmd.fd, &r->src, IOFD_DEV_WATCH_PEER);
	if (err)
		return err;
	dev->regions[idx] = r;
	dev->nr_regions++;
	return (int)idx;
}

IOFD_EXPORT int iofd_device_add_region(struct iofd_device *dev,
				       const struct iofd_device_region *reg)
{
	struct iofd_dev_region *r;
	bool message, resp_socket;
	int err;

	if (!dev || !reg)
		return iofd_fail(-EINVAL, "iofd_device_add_region: NULL argument");
	err = check_region(reg, &message, &resp_socket);
	if (err)
		return err;
	r = new_region(reg);
	if (!r)
		return iofd_fail(-ENOMEM, "out of memory for a region");
	r->cmd.msg = message;
	r->resp.sock = resp_socket;
	err = open_region_fds(r, reg);
	if (err == 0) {
		err = attach_region(dev, r);
		if (err < 0)
			drop_region_fds(r);
	}
	if (err < 0)
		free(r);
	return err;
}

/* A region's state is the answer, but a negative one still says why, as
 * every negative return does. */
IOFD_EXPORT int iofd_device_region_status(const struct iofd_device *dev, int id)
{
	const struct iofd_dev_region *r;

	if (!dev)
		return iofd_fail(-ENOENT, "iofd_device_region_status: NULL device");
	if (id < 0 || (uint32_t)id >= dev->nr_regions)
		return iofd_fail(-ENOENT, "iofd_device_region_status: no region %d "
				 "(the device has %u)", id, dev->nr_regions);
	r = dev->regions[id];
	if (r->status == -ENOTCONN)
		return iofd_fail_quiet(r->status, "iofd_device_region_status: "
				       "region %d was closed by the VMM", id);
	if (r->status)
		return iofd_fail_quiet(r->status, "iofd_device_region_status: "
				       "region %d was poisoned: %s", id, r->why);
	return 0;
}
