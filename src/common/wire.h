/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ioregionfd wire protocol both sides speak: 32-byte commands and
 * replies, and moving them over pipes and sockets without SIGPIPE.
 */
#ifndef IOFD_WIRE_H
#define IOFD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iofd/uapi.h"

#define IOFD_WIRE_MSG_SIZE	32u	/* bytes of a command and of a reply */
#define IOFD_WIRE_SIZE_ANY	UINT64_MAX /* a region of any size */

/* Build the command for one access (data zero-extended by the caller). */
void iofd_wire_cmd(struct iofd_ioregionfd_cmd *cmd, bool is_write,
		   uint32_t len, bool want_resp, uint64_t user_data,
		   uint64_t offset, uint64_t data);
/* Check a complete reply; 0 or -EBADMSG with the reason in why. */
int iofd_wire_check_resp(const struct iofd_ioregionfd_resp *resp, char *why,
			 size_t whylen);
/* One end of a wire: an fd and how bytes move on it. */
struct iofd_wire_end {
	int fd;			/* -1: none */
	bool sock;		/* a socket: per-call MSG_* flags */
	bool msg;		/* keeps message boundaries (seqpacket) */
};

/* Describe fd (not owned) as a wire end; an fd whose kind cannot be told
 * is taken as a pipe. */
void iofd_wire_end_set(struct iofd_wire_end *end, int fd);
/* One attempt to send len bytes without blocking: bytes sent, -EAGAIN,
 * -EPIPE (reader gone; never raises SIGPIPE) or another -errno. */
ssize_t iofd_wire_send(const struct iofd_wire_end *end, const void *buf,
		       size_t len);
/* One attempt to receive at most len bytes without blocking: bytes (> 0),
 * 0 at end of file, -EAGAIN or -errno. On a message socket *msg_len gets
 * the length of the whole message (which is consumed). */
ssize_t iofd_wire_recv(const struct iofd_wire_end *end, void *buf, size_t len,
		       size_t *msg_len);
/* write(2) to a pipe; EPIPE never leaves a SIGPIPE behind (-1, errno). */
ssize_t iofd_wire_pipe_write(int fd, const void *buf, size_t len);
/* Is something waiting on fd already? 1 data, 0 nothing, -EPIPE closed. */
int iofd_wire_pending(const struct iofd_wire_end *end);
/* Discard whatever is waiting on a new channel's read side (bounded). */
void iofd_wire_drain(const struct iofd_wire_end *end);

/* What a command must respect, from the region it arrived on. */
struct iofd_cmd_limits {
	uint64_t size;		/* memory_size, 0 (doorbell) or IOFD_WIRE_SIZE_ANY */
	uint64_t user_data;
	bool check_user_data;
	bool can_reply;		/* the region has a resp fd */
};

/* A command that passed validation. */
struct iofd_cmd {
	bool is_write;
	bool wants_reply;
	uint32_t size;		/* 1, 2, 4 or 8 */
	uint64_t user_data;
	uint64_t offset;
	uint64_t data;
};

/*
 * Validate one 32-byte command; fill *out. Returns 0, or -EPROTO with the
 * reason in iofd_last_error() (recorded, not logged: the caller reports
 * it). Pure: no I/O, no allocation. The device side
 * validates every command with it before a callback sees it.
 */
int iofd_cmd_parse(const void *msg, const struct iofd_cmd_limits *lim,
		   struct iofd_cmd *out);

#endif /* IOFD_WIRE_H */
