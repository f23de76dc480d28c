/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupts: the eventfds the VMM sends after the iofd handoff, in one
 * packet of its own on the same seqpacket socket. Two kinds:
 *
 *   MSI-X:  struct nvme_irq_msg { magic 'NVMI', nr_vectors } + SCM_RIGHTS
 *           with nr_vectors eventfds; fd i is MSI-X vector i. The VMM binds
 *           each as an irqfd of an MSI route; the device signals a vector
 *           by adding 1 to its eventfd (an edge per batch of completions).
 *
 *   INTx:   struct nvme_irq_msg { magic 'NVIX', nr_vectors = 2 } +
 *           SCM_RIGHTS with 2 eventfds: fd 0 the trigger, fd 1 the
 *           resample fd of one irqfd bound with KVM_IRQFD_FLAG_RESAMPLE
 *           (a level-triggered line). Writing the trigger asserts the
 *           line; the guest's EOI de-asserts it and KVM signals the
 *           resample fd. The device keeps the line "asserted" from its
 *           write until it reads that EOI, then asserts again if
 *           completions are still waiting (nvme_queue decides what is
 *           waiting). One vector (0) for every queue.
 *
 * The header may carry a third word, flags: NVME_IRQ_F_DOORBELL_MODES says
 * the VMM answers doorbell mode requests (nvme_dbmode.h). A header of two
 * words has no flags.
 */
#ifndef NVME_IRQ_H
#define NVME_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define NVME_IRQ_MAGIC		0x4e564d49u	/* 'NVMI' */
#define NVME_IRQ_MAGIC_INTX	0x4e564958u	/* 'NVIX' */
#define NVME_IRQ_MAX_VECTORS	64
#define NVME_IRQ_F_DOORBELL_MODES	(1u << 0)

struct nvme_irq_msg {
	uint32_t magic;		/* NVME_IRQ_MAGIC */
	uint32_t nr_vectors;	/* 1..NVME_IRQ_MAX_VECTORS, = fds attached */
	uint32_t flags;		/* NVME_IRQ_F_*; absent in a 2-word header */
};

struct nvme_irq {
	int fd[NVME_IRQ_MAX_VECTORS];	/* INTx: fd[0] is the trigger */
	uint32_t nr;		/* vectors received (INTx: 1) */
	uint64_t mask;		/* INTMS: vectors masked (0..31 only) */
	uint64_t pending;	/* masked vectors that have an interrupt due */
	uint64_t signals;	/* eventfd writes done */
	uint64_t failures;	/* eventfd writes that failed */

	bool intx;		/* pin-based: trigger + resample fd */
	bool asserted;		/* INTx: asserted, its EOI not seen yet */
	int resample_fd;	/* INTx: signalled by KVM at the EOI, or -1 */
	uint64_t asserts;	/* INTx: trigger writes */
	uint64_t eois;		/* INTx: EOIs (resample counts summed) */
	uint64_t resample_reads;	/* INTx: resample fd reads */
	uint32_t vmm_flags;	/* NVME_IRQ_F_* the VMM sent */
};

/**
 * nvme_irq_send() - the VMM side: send @nr eventfds (@fds, still the
 * caller's) as vectors 0..nr-1 over the seqpacket socket @sock, with
 * @flags (NVME_IRQ_F_*).
 * Returns 0, -EINVAL (nr 0 or above the maximum), or an errno of sendmsg().
 */
int nvme_irq_send(int sock, const int *fds, uint32_t nr, uint32_t flags);

/**
 * nvme_irq_send_intx() - the VMM side: send the INTx packet ('NVIX') with
 * @trigger and @resample (eventfds, still the caller's) and @flags over
 * @sock. Returns 0 or an errno of sendmsg().
 */
int nvme_irq_send_intx(int sock, int trigger, int resample, uint32_t flags);

/**
 * nvme_irq_recv() - the device side: receive the interrupt packet within
 * @timeout_ms (-1: no limit) and keep its fds in @irq (close-on-exec,
 * non-blocking). @intx: expect the INTx packet ('NVIX', 2 fds), else the
 * MSI-X one ('NVMI'). Everything is checked: size (2 or 3 words), magic,
 * flags (known bits only), count, that
 * exactly nr_vectors fds came, none cut off, each an eventfd. On failure
 * nothing is kept. Returns 0, -EPROTO (malformed or the other kind; reason
 * on stderr), -ETIMEDOUT, -ECONNRESET (peer closed), or an errno of
 * recvmsg()/poll().
 */
int nvme_irq_recv(int sock, struct nvme_irq *irq, bool intx, int timeout_ms);

/** nvme_irq_close() - close every vector fd (and the resample fd). */
void nvme_irq_close(struct nvme_irq *irq);

/**
 * nvme_irq_signal() - raise @vector (eventfd += 1), or remember it as
 * pending while INTMS masks it. Never blocks. Returns 0, -EINVAL (no such
 * vector), or the errno of a failed write (counted).
 */
int nvme_irq_signal(struct nvme_irq *irq, uint32_t vector);

/**
 * nvme_irq_intx_assert() - INTx: assert the line (trigger += 1) unless it
 * is asserted already or INTMS bit 0 masks it. Never blocks. Returns 1
 * when written, 0 when nothing was to do, or the errno of a failed write
 * (counted); -EINVAL in MSI-X mode.
 */
int nvme_irq_intx_assert(struct nvme_irq *irq);

/**
 * nvme_irq_intx_resample() - INTx: take the EOIs the resample fd counted
 * (non-blocking); the line is then de-asserted. Returns the count (0 when
 * none was waiting).
 */
uint64_t nvme_irq_intx_resample(struct nvme_irq *irq);

/** nvme_irq_intx_masked() - INTx: whether INTMS bit 0 masks the line. */
bool nvme_irq_intx_masked(const struct nvme_irq *irq);

/** nvme_irq_set_mask() - INTMS: mask the vectors in @bits. */
void nvme_irq_set_mask(struct nvme_irq *irq, uint32_t bits);

/** nvme_irq_clear_mask() - INTMC: unmask the vectors in @bits and raise
 * those that became due while masked (MSI-X; for INTx the caller checks
 * what is waiting, nvme_queue_raise_irqs()). */
void nvme_irq_clear_mask(struct nvme_irq *irq, uint32_t bits);

/** nvme_irq_reset() - controller reset: no vector masked or pending. An
 * asserted INTx line stays asserted until its EOI (only KVM lowers it). */
void nvme_irq_reset(struct nvme_irq *irq);

#endif /* NVME_IRQ_H */
