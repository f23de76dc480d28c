/* SPDX-License-Identifier: BSD-3-Clause */
/* The INTx helper: a level-triggered source with filtered acknowledgements. */
#ifndef IOFD_INTX_H
#define IOFD_INTX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "irqline.h"

/* A level-triggered INTx source (see iofd_intx_create()). */
struct iofd_intx {
	struct iofd_irq_watch watch;	/* IOFD_WATCH_INTX_ACK (kernel-served) */
	pthread_mutex_t lock;		/* everything below */
	struct iofd_vm *vm;		/* NULL once the VM is destroyed */
	uint32_t gsi;
	int trigger_fd;			/* the irqfd's eventfd (ours) */
	int resample_fd;		/* its resamplefd (ours) */
	int eoi_fd;			/* filtered acknowledgements, for the device */
	struct iofd_irqfd_obj *irqfd;	/* NULL once deassigned */
	bool kernel;			/* acknowledgements come on resample_fd */
	bool watched;			/* resample_fd is in the VM's epoll set */
	bool wanted;			/* the device asks for the line up */
	bool pending;			/* asserted, not yet acknowledged */
	struct iofd_intx *next;		/* the VM's list (irq->lock) */
};

/* The guest acknowledged the helper's GSI (RCU read side, no irq->lock). */
void iofd_intx_acked(struct iofd_intx *intx);
/* The helper's kernel resamplefd fired (from iofd_irq_process()). */
void iofd_intx_resample_event(struct iofd_intx *intx);
/* The VM is going away: forget it (irq->lock held). */
void iofd_intx_orphan(struct iofd_intx *intx);
/* The helper's irqfd was deassigned (irq->lock held). */
void iofd_intx_unplug(struct iofd_intx *intx);

#endif /* IOFD_INTX_H */
