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

#define KNOWN_FLAGS	NVME_IRQ_F_DOORBELL_MODES
#define HEADER_NO_FLAGS	(sizeof(struct nvme_irq_msg) - sizeof(uint32_t))

static int send_packet(int sock, uint32_t magic, const int *fds, uint32_t nr,
		       uint32_t flags)
{
	struct nvme_irq_msg m = { .magic = magic, .nr_vectors = nr, .flags = flags };
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

int nvme_irq_send(int sock, const int *fds, uint32_t nr, uint32_t flags)
{
	return send_packet(sock, NVME_IRQ_MAGIC, fds, nr, flags);
}

int nvme_irq_send_intx(int sock, int trigger, int resample, uint32_t flags)
{
	int fds[2] = { trigger, resample };

	return send_packet(sock, NVME_IRQ_MAGIC_INTX, fds, 2, flags);
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

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The fds as vectors (MSI-X), or as trigger and resample fd (INTx). */
static void keep(struct nvme_irq *irq, const int *fds, uint32_t n, bool intx)
{
	for (uint32_t i = 0; i < n; i++)
		set_nonblock(fds[i]);
	if (intx) {
		irq->fd[0] = fds[0];
		irq->resample_fd = fds[1];
		irq->nr = 1;
		irq->intx = true;
		return;
	}
	memcpy(irq->fd, fds, sizeof(int) * n);
	irq->nr = n;
}

/* Check the packet and take its fds into @irq. */
static int take(struct msghdr *msg, ssize_t n, const struct nvme_irq_msg *m,
		struct nvme_irq *irq, bool intx)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);
	int fds[NVME_IRQ_MAX_VECTORS];
	uint32_t flags = n == (ssize_t)HEADER_NO_FLAGS ? 0 : m->flags;

	if (msg->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		return bad(msg, "truncated (too many fds or bytes)");
	if ((n != (ssize_t)sizeof(*m) && n != (ssize_t)HEADER_NO_FLAGS) ||
	    m->magic != (intx ? NVME_IRQ_MAGIC_INTX : NVME_IRQ_MAGIC))
		return bad(msg, intx ? "not an NVIX header (the device runs --intx)"
				     : "not an NVMI header");
	if (flags & ~KNOWN_FLAGS)
		return bad(msg, "unknown flags");
	if (intx ? m->nr_vectors != 2
		 : m->nr_vectors == 0 || m->nr_vectors > NVME_IRQ_MAX_VECTORS)
		return bad(msg, intx ? "INTx needs 2 fds (trigger, resample)"
				     : "vector count out of 1..64");
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    CMSG_NXTHDR(msg, c) ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * m->nr_vectors))
		return bad(msg, "fd count differs from nr_vectors");
	memcpy(fds, CMSG_DATA(c), sizeof(int) * m->nr_vectors);
	for (uint32_t i = 0; i < m->nr_vectors; i++)
		if (!is_eventfd(fds[i]))
			return bad(msg, "a vector fd is not an eventfd");
	keep(irq, fds, m->nr_vectors, intx);
	irq->vmm_flags = flags;
	return 0;
}

int nvme_irq_recv(int sock, struct nvme_irq *irq, bool intx, int timeout_ms)
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
	irq->resample_fd = -1;
	err = wait_readable(sock, timeout_ms);
	if (err)
		return err;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n == 0 && !(msg.msg_flags & MSG_CTRUNC) && !CMSG_FIRSTHDR(&msg))
		return -ECONNRESET;
	err = take(&msg, n, &m, irq, intx);
	if (err) {
		for (unsigned i = 0; i < NVME_IRQ_MAX_VECTORS; i++)
			irq->fd[i] = -1;
		irq->resample_fd = -1;
		irq->nr = 0;
		irq->intx = false;
	}
	return err;
}

void nvme_irq_close(struct nvme_irq *irq)
{
	for (uint32_t i = 0; i < irq->nr; i++)
		if (irq->fd[i] >= 0)
			close(irq->fd[i]);
	irq->nr = 0;
	if (irq->resample_fd >= 0)
		close(irq->resample_fd);
	irq->resample_fd = -1;
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
	if (vector >= irq->nr || irq->intx)
		return -EINVAL;
	if (irq->mask & (UINT64_C(1) << vector)) {
		irq->pending |= UINT64_C(1) << vector;
		return 0;
	}
	return raise_vector(irq, vector);
}

bool nvme_irq_intx_masked(const struct nvme_irq *irq)
{
	return irq->mask & 1;
}

int nvme_irq_intx_assert(struct nvme_irq *irq)
{
	int err;

	if (!irq->intx)
		return -EINVAL;
	if (irq->asserted || nvme_irq_intx_masked(irq))
		return 0;
	err = raise_vector(irq, 0);
	if (err)
		return err;
	irq->asserted = true;
	irq->asserts++;
	return 1;
}

uint64_t nvme_irq_intx_resample(struct nvme_irq *irq)
{
	uint64_t n = 0;

	if (!irq->intx || read(irq->resample_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	irq->resample_reads++;
	irq->eois += n;
	irq->asserted = false;	/* KVM lowered the line before it told us */
	return n;
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
	if (irq->intx)
		return;
	for (uint32_t v = 0; v < irq->nr && v < 32; v++)
		if (due & (UINT64_C(1) << v))
			raise_vector(irq, v);
}

void nvme_irq_reset(struct nvme_irq *irq)
{
	irq->mask = 0;
	irq->pending = 0;
}
