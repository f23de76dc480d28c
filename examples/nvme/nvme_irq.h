/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupts: the vector eventfds the VMM sends after the iofd handoff, in
 * one packet of its own on the same seqpacket socket:
 *
 *   struct nvme_irq_msg { magic 'NVMI', nr_vectors } + SCM_RIGHTS with
 *   nr_vectors eventfds; fd i is MSI-X vector i.
 *
 * The VMM binds each eventfd to its vector (an irqfd of an MSI route); the
 * device signals a vector by adding 1 to its eventfd.
 */
#ifndef NVME_IRQ_H
#define NVME_IRQ_H

#include <stdint.h>

#define NVME_IRQ_MAGIC		0x4e564d49u	/* 'NVMI' */
#define NVME_IRQ_MAX_VECTORS	64

struct nvme_irq_msg {
	uint32_t magic;		/* NVME_IRQ_MAGIC */
	uint32_t nr_vectors;	/* 1..NVME_IRQ_MAX_VECTORS, = fds attached */
};

struct nvme_irq {
	int fd[NVME_IRQ_MAX_VECTORS];
	uint32_t nr;		/* vectors received */
	uint64_t mask;		/* INTMS: vectors masked (0..31 only) */
	uint64_t pending;	/* masked vectors that have an interrupt due */
	uint64_t signals;	/* eventfd writes done */
	uint64_t failures;	/* eventfd writes that failed */
};

/**
 * nvme_irq_send() - the VMM side: send @nr eventfds (@fds, still the
 * caller's) as vectors 0..nr-1 over the seqpacket socket @sock.
 * Returns 0, -EINVAL (nr 0 or above the maximum), or an errno of sendmsg().
 */
int nvme_irq_send(int sock, const int *fds, uint32_t nr);

/**
 * nvme_irq_recv() - the device side: receive the vector packet within
 * @timeout_ms (-1: no limit) and keep its fds in @irq (close-on-exec).
 * Everything is checked: size, magic, count, that exactly nr_vectors fds
 * came, none cut off, each an eventfd. On failure nothing is kept.
 * Returns 0, -EPROTO (malformed; reason on stderr), -ETIMEDOUT,
 * -ECONNRESET (peer closed), or an errno of recvmsg()/poll().
 */
int nvme_irq_recv(int sock, struct nvme_irq *irq, int timeout_ms);

/** nvme_irq_close() - close every vector fd. */
void nvme_irq_close(struct nvme_irq *irq);

/**
 * nvme_irq_signal() - raise @vector (eventfd += 1), or remember it as
 * pending while INTMS masks it. Never blocks. Returns 0, -EINVAL (no such
 * vector), or the errno of a failed write (counted).
 */
int nvme_irq_signal(struct nvme_irq *irq, uint32_t vector);

/** nvme_irq_set_mask() - INTMS: mask the vectors in @bits. */
void nvme_irq_set_mask(struct nvme_irq *irq, uint32_t bits);

/** nvme_irq_clear_mask() - INTMC: unmask the vectors in @bits and raise
 * those that became due while masked. */
void nvme_irq_clear_mask(struct nvme_irq *irq, uint32_t bits);

/** nvme_irq_reset() - controller reset: no vector masked or pending. */
void nvme_irq_reset(struct nvme_irq *irq);

#endif /* NVME_IRQ_H */
