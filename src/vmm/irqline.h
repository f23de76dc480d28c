/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The GSI lines iofd drives for a userspace controller, the VM's interrupt
 * state and its epoll fd.
 *
 * Locks, outermost first: the VM's irq->lock (writers: registrations,
 * controller, teardown), an INTx helper's lock, a line's level_lock (one
 * controller call at a time per GSI). Readers (EOI, process) find lines
 * and irqfds under RCU without the irq->lock.
 */
#ifndef IOFD_IRQLINE_H
#define IOFD_IRQLINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventfd.h"
#include "iofd/iofd.h"
#include "rcu.h"
#include "source.h"

struct iofd_irqfd_obj;
struct iofd_intx;

/* The resamplers of one line (sources with an ack op), published whole
 * (RCU). A NULL element is one removed when no smaller copy could be
 * made; readers skip it and the next copy drops it. */
struct iofd_resampler_list {
	struct iofd_rcu_array h;	/* n, rcu */
	struct iofd_source *v[];
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
	struct iofd_resampler_list *resamplers; /* RCU */
	struct rcu_head rcu;
};

/* One GSI of the line array. line is NULL once the line went away while
 * no smaller copy could be made: readers treat the GSI as absent, the next
 * copy drops the slot. */
struct iofd_line_slot {
	uint32_t gsi;
	struct iofd_irq_line *line;	/* RCU */
};

/* The VM's lines, sorted by GSI, published whole (RCU). */
struct iofd_line_array {
	struct iofd_rcu_array h;	/* n, rcu */
	struct iofd_line_slot v[];
};

struct iofd_irq {
	pthread_mutex_t lock;		/* writers */
	int epfd;			/* -1 until needed */
	struct iofd_irq_ctl *ctl;	/* RCU; NULL without a controller */
	enum iofd_irqchip chip;		/* last probe (NONE is probed again) */
	struct iofd_line_array *lines;	/* RCU; NULL when empty */
	struct iofd_irqfd_obj *irqfds;	/* every irqfd of the VM (irqfd.c) */
	struct iofd_intx *intxs;	/* every live helper of the VM (intx.c) */
	unsigned int served;		/* irqfds served by iofd */
	struct iofd_efd_registry resamplefds; /* dups, shared (lock) */
};

/* The line of gsi, made if needed (irq->lock held). NULL: -ENOMEM. */
struct iofd_irq_line *iofd_line_get(struct iofd_irq *irq, uint32_t gsi);
/* Drop an irqfd's use of its line (irq->lock held). */
void iofd_line_put(struct iofd_irq *irq, struct iofd_irq_line *line);
/* Add or remove a resampler on a line (irq->lock held): a source whose
 * ack op the guest's acknowledgement of the GSI calls. 0 or -ENOMEM. */
int iofd_line_add_resampler(struct iofd_irq_line *line, struct iofd_source *src);
void iofd_line_del_resampler(struct iofd_irq_line *line, struct iofd_source *src);
/* Raise the resample source of a line (0 -> 1 reaches the controller). */
void iofd_line_assert(struct iofd_irq_line *line);
/* A plain irqfd's edge: 1, then back to the resample source's level. */
void iofd_line_pulse(struct iofd_irq_line *line);
/* Watch or stop watching an fd in the VM's epoll set (irq->lock held):
 * iofd_irq_process() calls src's event op when fd is readable. A source
 * must leave the set before it is freed (and readers may still hold it
 * for a grace period). */
int iofd_irq_watch_add(struct iofd_irq *irq, int fd, struct iofd_source *src);
void iofd_irq_watch_del(struct iofd_irq *irq, int fd);

/* A KVM_EXIT_IOAPIC_EOI for vector: acknowledge the GSIs it names. */
void iofd_irq_ioapic_eoi(struct iofd_vm *vm, uint8_t vector);

#endif /* IOFD_IRQLINE_H */
