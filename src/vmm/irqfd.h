/* SPDX-License-Identifier: BSD-3-Clause */
/* irqfds: KVM_IRQFD rules and errors, irqchip probe, kernel or iofd serving. */
#ifndef IOFD_IRQFD_H
#define IOFD_IRQFD_H

#include <stdbool.h>
#include <stdint.h>

#include "irqline.h"

/* An irqfd: a source in the VM's epoll set (its trigger, when iofd serves
 * it) and on its line's resamplers (resample irqfds). */
struct iofd_irqfd_obj {
	struct iofd_source src;		/* first: ops */
	uint32_t gsi;
	bool resample;
	bool offloaded;			/* registered with KVM_IRQFD */
	_Atomic bool dead;		/* deassigned: readers skip it */
	struct iofd_efd *trigger;	/* process-wide registry entry (our dup) */
	struct iofd_efd *resamplefd;	/* iofd-served resample: our dup */
	struct iofd_irq_line *line;	/* iofd-served: the GSI it drives */
	/* A source built on the irqfd (an INTx helper), or NULL: it gets
	 * the acknowledgements (ack op) and hears of the removal (unplug). */
	struct iofd_source *owner;
	struct iofd_irqfd_obj *next;	/* the VM's list (irq->lock) */
	struct rcu_head rcu;
};

/* Assign an irqfd for an owner source (irq->lock held); *out gets the
 * record. The owner's ack op gets the GSI's acknowledgements (resample),
 * its unplug op the irqfd's removal. */
int iofd_irqfd_assign_locked(struct iofd_vm *vm, const struct kvm_irqfd *args,
			     struct iofd_source *owner, struct iofd_irqfd_obj **out);
/* Remove one irqfd (irq->lock held): unhook, then free after a grace period. */
void iofd_irqfd_remove_locked(struct iofd_vm *vm, struct iofd_irqfd_obj *obj);

#endif /* IOFD_IRQFD_H */
