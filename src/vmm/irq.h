/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupts: irqfds (kernel or iofd-served), the GSI lines iofd drives for
 * a userspace controller, and INTx helpers. Shared by irqfd.c, irqline.c
 * and intx.c.
 *
 * Locks, outermost first: the VM's irq->lock (writers: registrations,
 * controller, teardown), an INTx helper's lock, a line's level_lock (one
 * controller call at a time per GSI). Readers (EOI, process) find lines
 * and irqfds under RCU without the irq->lock.
 */
#ifndef IOFD_IRQ_H
#define IOFD_IRQ_H

#include "internal.h"

/* What an event of the VM's epoll fd points at (first member of the owner). */
enum iofd_irq_watch_kind {
	IOFD_WATCH_TRIGGER = 1,		/* trigger eventfd of an iofd-served irqfd */
	IOFD_WATCH_INTX_ACK = 2,	/* resamplefd of a kernel-served INTx helper */
};

struct iofd_irq_watch {
	enum iofd_irq_watch_kind kind;
};

struct iofd_irq_line;
struct iofd_intx;

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

/* Resample irqfds of one line, published whole (RCU). */
struct iofd_irqfd_list {
	size_t n;
	struct rcu_head rcu;
	struct iofd_irqfd_obj *v[];
};

/* The controller a line reports to (immutable once published). */
struct iofd_irq_ctl {
	struct iofd_irq_controller ops;
	void *opaque;
	struct rcu_head rcu;
};

/* One GSI that iofd drives for the userspace controller. */
struct iofd_irq_line {
	uint32_t gsi;
	unsigned int users;		/* irqfds on it (irq->lock) */
	const struct iofd_irq_ctl *ctl;	/* the controller when it was made */
	pthread_mutex_t level_lock;	/* one controller call at a time */
	bool resample_level;		/* the resample source is asserted */
	struct iofd_irqfd_list *resamplers; /* RCU */
	struct rcu_head rcu;
};

/* The VM's lines, sorted by GSI, published whole (RCU). */
struct iofd_line_array {
	size_t n;
	struct rcu_head rcu;
	struct iofd_irq_line *v[];
};

struct iofd_irq {
	pthread_mutex_t lock;		/* writers */
	int epfd;			/* -1 until needed */
	struct iofd_irq_ctl *ctl;	/* RCU; NULL without a controller */
	enum iofd_irqchip chip;		/* last probe (NONE is probed again) */
	struct iofd_line_array *lines;	/* RCU; NULL when empty */
	struct iofd_irqfd_obj *irqfds;	/* every irqfd of the VM */
	struct iofd_intx *intxs;	/* every live helper of the VM */
	unsigned int served;		/* irqfds served by iofd */
	struct iofd_efd_registry resamplefds; /* dups, shared (lock) */
};

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

/* ---- irqfd.c ---- */

/* Assign an irqfd for a helper (irq->lock held); *out gets the record. */
int iofd_irqfd_assign_locked(struct iofd_vm *vm, const struct kvm_irqfd *args,
			     struct iofd_intx *owner, struct iofd_irqfd_obj **out);
/* Remove one irqfd (irq->lock held): unhook, then free after a grace period. */
void iofd_irqfd_remove_locked(struct iofd_vm *vm, struct iofd_irqfd_obj *obj);
/* Deliver a trigger of an iofd-served irqfd (RCU read side). */
void iofd_irqfd_fire(struct iofd_irqfd_obj *obj);

/* ---- irqline.c ---- */

/* The line of gsi, made if needed (irq->lock held). NULL: -ENOMEM. */
struct iofd_irq_line *iofd_line_get(struct iofd_irq *irq, uint32_t gsi);
/* Drop an irqfd's use of its line (irq->lock held). */
void iofd_line_put(struct iofd_irq *irq, struct iofd_irq_line *line);
/* Add or remove a resample irqfd on its line (irq->lock held). */
int iofd_line_add_resampler(struct iofd_irq_line *line, struct iofd_irqfd_obj *obj);
void iofd_line_del_resampler(struct iofd_irq_line *line, struct iofd_irqfd_obj *obj);
/* Raise the resample source of a line (0 -> 1 reaches the controller). */
void iofd_line_assert(struct iofd_irq_line *line);
/* A plain irqfd's edge: 1, then back to the resample source's level. */
void iofd_line_pulse(struct iofd_irq_line *line);
/* Watch or stop watching an fd in the VM's epoll set (irq->lock held). */
int iofd_irq_watch_add(struct iofd_irq *irq, int fd, struct iofd_irq_watch *w);
void iofd_irq_watch_del(struct iofd_irq *irq, int fd);
/* Read an eventfd's counter without blocking (0 if none). */
uint64_t iofd_efd_take(int fd);

/* ---- intx.c ---- */

/* The guest acknowledged the helper's GSI (RCU read side, no irq->lock). */
void iofd_intx_acked(struct iofd_intx *intx);
/* The helper's kernel resamplefd fired (from iofd_irq_process()). */
void iofd_intx_resample_event(struct iofd_intx *intx);
/* The VM is going away: forget it (irq->lock held). */
void iofd_intx_orphan(struct iofd_intx *intx);
/* The helper's irqfd was deassigned (irq->lock held). */
void iofd_intx_unplug(struct iofd_intx *intx);

#endif /* IOFD_IRQ_H */
