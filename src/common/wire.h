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

#define IOFD_WIRE_MSG_SIZE	32

/* Build the command for one access (data zero-extended by the caller). */
void iofd_wire_cmd(struct iofd_ioregionfd_cmd *cmd, bool is_write,
		   uint32_t len, bool want_resp, uint64_t user_data,
		   uint64_t offset, uint64_t data);
/* Check a complete reply; 0 or -EBADMSG with the reason in why. */
int iofd_wire_check_resp(const struct iofd_ioregionfd_resp *resp, char *why,
			 size_t whylen);
/* One attempt to send len bytes without blocking: bytes sent, -EAGAIN,
 * -EPIPE (reader gone; never raises SIGPIPE) or another -errno. */
ssize_t iofd_wire_send(int fd, bool is_sock, const void *buf, size_t len);
/* One attempt to receive at most len bytes without blocking: bytes (> 0),
 * 0 at end of file, -EAGAIN or -errno. On a message socket *msg_len gets
 * the length of the whole message (which is consumed). */
ssize_t iofd_wire_recv(int fd, bool is_sock, bool is_msg, void *buf,
		       size_t len, size_t *msg_len);
/* write(2) to a pipe; EPIPE never leaves a SIGPIPE behind (-1, errno). */
ssize_t iofd_wire_pipe_write(int fd, const void *buf, size_t len);
/* Is something waiting on fd already? 1 data, 0 nothing, -EPIPE closed. */
int iofd_wire_pending(int fd, bool is_sock);
/* Discard whatever is waiting on a new channel's read side (bounded). */
void iofd_wire_drain(int fd, bool is_sock);

#endif /* IOFD_WIRE_H */
