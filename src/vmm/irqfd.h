/* SPDX-License-Identifier: BSD-3-Clause */
/* irqfds: KVM_IRQFD rules and errors, irqchip probe, kernel or iofd serving. */
#ifndef IOFD_IRQFD_H
#define IOFD_IRQFD_H

#include <stdbool.h>
#include <stdint.h>

#include "irqline.h"

struct iofd_irqfd_obj {
	struct iofd_irq_watch watch;	/* IOFD_WATCH_TRIGGER (served by iofd) */
	uint32_t gsi;
	bool resample;
	bool offloaded;			/* registered with KVM_IRQFD */
	_Atomic bool dead;		/* deassigned: readers skip it */
	struct iofd_efd *trigger;	/* process-wide registry entry (our dup) */
	struct iofd_efd *resamplefd;	/* iofd-served resample: our dup */
	struct iofd_irq_line *line;	/* iofd-served: the GSI it drives */
	struct iofd_intx *intx;		/* owner helper, or NULL (irq->lock) */
	struct iofd_irqfd_obj *next;	/* the VM's list (irq->lock) */
	struct rcu_head rcu;
};

/* Set up and tear down a VM's interrupt state (iofd_vm_create/destroy). */
int iofd_irq_vm_init(struct iofd_vm *vm);
/* Deassign every irqfd, orphan every INTx helper (kernel fd still open). */
void iofd_irq_vm_destroy(struct iofd_vm *vm);
/* Free what is left, after the final grace period. */
void iofd_irq_vm_free(struct iofd_vm *vm);
/* The kernel's irqchip for this VM, as KVM_IRQFD sees it. */
enum iofd_irqchip iofd_irqchip_probe(struct iofd_vm *vm);

/* Assign an irqfd for a helper (irq->lock held); *out gets the record. */
int iofd_irqfd_assign_locked(struct iofd_vm *vm, const struct kvm_irqfd *args,
			     struct iofd_intx *owner, struct iofd_irqfd_obj **out);
/* Remove one irqfd (irq->lock held): unhook, then free after a grace period. */
void iofd_irqfd_remove_locked(struct iofd_vm *vm, struct iofd_irqfd_obj *obj);
/* Deliver a trigger of an iofd-served irqfd (RCU read side). */
void iofd_irqfd_fire(struct iofd_irqfd_obj *obj);

#endif /* IOFD_IRQFD_H */
