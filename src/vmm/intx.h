/* SPDX-License-Identifier: BSD-3-Clause */
/* The INTx helper: a level-triggered source with filtered acknowledgements. */
#ifndef IOFD_INTX_H
#define IOFD_INTX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "irqline.h"

/* A level-triggered INTx source (see iofd_intx_create()): the owner of its
 * irqfd and, with a kernel irqchip, a source in the VM's epoll set (its
 * resamplefd). */
struct iofd_intx {
	struct iofd_source src;		/* first: ops */
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

#endif /* IOFD_INTX_H */
