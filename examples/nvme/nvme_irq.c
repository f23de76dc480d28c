/* SPDX-License-Identifier: BSD-3-Clause */
/* The vector eventfds: receiving them from the VMM, signalling them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nvme_irq.h"

#define CMSG_ROOM CMSG_SPACE(sizeof(int) * NVME_IRQ_MAX_VECTORS)

int nvme_irq_send(int sock, const int *fds, uint32_t nr)
{
	struct nvme_irq_msg m = { .magic = NVME_IRQ_MAGIC, .nr_vectors = nr };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union { char buf[CMSG_ROOM]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * nr) };
	struct cmsghdr *c;

	if (!fds || nr == 0 || nr > NVME_IRQ_MAX_VECTORS)
		return -EINVAL;
	memset(u.buf, 0, sizeof(u.buf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nr);
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return -errno;
	return 0;
}

static int is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* Close the fds of every SCM_RIGHTS message in @msg. */
static void close_received(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int bad(struct msghdr *msg, const char *why)
{
	fprintf(stderr, "nvme-device: vector packet: %s\n", why);
	close_received(msg);
	return -EPROTO;
}

/* Check the packet and take its fds into @irq. */
static int take(struct msghdr *msg, ssize_t n, const struct nvme_irq_msg *m,
		struct nvme_irq *irq)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);

	if (msg->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		return bad(msg, "truncated (too many fds or bytes)");
	if (n != (ssize_t)sizeof(*m) || m->magic != NVME_IRQ_MAGIC)
		return bad(msg, "not an NVMI header");
	if (m->nr_vectors == 0 || m->nr_vectors > NVME_IRQ_MAX_VECTORS)
		return bad(msg, "vector count out of 1..64");
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    CMSG_NXTHDR(msg, c) ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * m->nr_vectors))
		return bad(msg, "fd count differs from nr_vectors");
	memcpy(irq->fd, CMSG_DATA(c), sizeof(int) * m->nr_vectors);
	for (uint32_t i = 0; i < m->nr_vectors; i++)
		if (!is_eventfd(irq->fd[i]))
			return bad(msg, "a vector fd is not an eventfd");
	for (uint32_t i = 0; i < m->nr_vectors; i++)
		fcntl(irq->fd[i], F_SETFL, fcntl(irq->fd[i], F_GETFL) | O_NONBLOCK);
	irq->nr = m->nr_vectors;
	return 0;
}

int nvme_irq_recv(int sock, struct nvme_irq *irq, int timeout_ms)
{
	struct nvme_irq_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union { char buf[CMSG_ROOM]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int err;

	memset(irq, 0, sizeof(*irq));
	for (unsigned i = 0; i < NVME_IRQ_MAX_VECTORS; i++)
		irq->fd[i] = -1;
	err = wait_readable(sock, timeout_ms);
	if (err)
		return err;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n == 0 && !(msg.msg_flags & MSG_CTRUNC) && !CMSG_FIRSTHDR(&msg))
		return -ECONNRESET;
	err = take(&msg, n, &m, irq);
	if (err) {
		for (unsigned i = 0; i < NVME_IRQ_MAX_VECTORS; i++)
			irq->fd[i] = -1;
		irq->nr = 0;
	}
	return err;
}

void nvme_irq_close(struct nvme_irq *irq)
{
	for (uint32_t i = 0; i < irq->nr; i++)
		if (irq->fd[i] >= 0)
			close(irq->fd[i]);
	irq->nr = 0;
}

static int raise_vector(struct nvme_irq *irq, uint32_t vector)
{
	uint64_t one = 1;

	if (write(irq->fd[vector], &one, sizeof(one)) != sizeof(one)) {
		irq->failures++;
		return -errno;
	}
	irq->signals++;
	return 0;
}

int nvme_irq_signal(struct nvme_irq *irq, uint32_t vector)
{
	if (vector >= irq->nr)
		return -EINVAL;
	if (irq->mask & (UINT64_C(1) << vector)) {
		irq->pending |= UINT64_C(1) << vector;
		return 0;
	}
	return raise_vector(irq, vector);
}

void nvme_irq_set_mask(struct nvme_irq *irq, uint32_t bits)
{
	irq->mask |= bits;
}

void nvme_irq_clear_mask(struct nvme_irq *irq, uint32_t bits)
{
	uint64_t due = irq->pending & bits;

	irq->mask &= ~(uint64_t)bits;
	irq->pending &= ~(uint64_t)bits;
	for (uint32_t v = 0; v < irq->nr && v < 32; v++)
		if (due & (UINT64_C(1) << v))
			raise_vector(irq, v);
}

void nvme_irq_reset(struct nvme_irq *irq)
{
	irq->mask = 0;
	irq->pending = 0;
}
