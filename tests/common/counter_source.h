/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test-only event source: a counter that is at once a bus object (an
 * 8-byte range that counts writes and reads back the count), an interrupt
 * source (an eventfd in the VM's irq set that raises a GSI, and a
 * resampler of that GSI), a device-side source (an eventfd in a device's
 * epoll set) and an occupant of a vCPU's pending slot (a write it is told
 * to keep pending). It plugs in through the contract of source.h alone.
 */
#ifndef IOFD_TEST_COUNTER_SOURCE_H
#define IOFD_TEST_COUNTER_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <iofd/device.h>
#include <iofd/iofd.h>

#include "source.h"

struct iofd_irq_line;

struct counter_source {
	struct iofd_source src;		/* first: ops */
	uint64_t base;			/* the range [base, base + 8) on MMIO */
	uint32_t gsi;
	int irq_efd, dev_efd;		/* its fds in the irq and device sets */
	struct iofd_irq_line *line;	/* the GSI it raises */
	bool pend_next;			/* keep the next write pending */
	struct iofd_device *dev;	/* the device whose set it is in */
	/* Device set: until dev_events reaches dev_chain, each event
	 * signals dev_efd again; the one that reaches it stops dev's run.
	 * 0: neither. */
	uint64_t dev_chain;
	/* What happened to it, for the test to check. */
	uint64_t writes, last, served_outside, resumed, cancelled;
	uint64_t irq_events, dev_events, acks, unplugged, released;
	const void *unplugged_by, *released_by;	/* the last owners */
	bool released_before_unplug;	/* release came before any unplug */
};

/* Make a counter at base (MMIO) for gsi with two fresh eventfds; 0 or
 * -errno. Nothing is plugged yet. */
int counter_init(struct counter_source *c, uint64_t base, uint32_t gsi);
/* Plug it into vm's MMIO bus; 0 or -errno (-EEXIST: overlap). */
int counter_plug_bus(struct iofd_vm *vm, struct counter_source *c);
/* Unplug it from the bus (unplug now, release at the publication). */
int counter_unplug_bus(struct iofd_vm *vm, struct counter_source *c);
/* Join vm's irq set and its GSI's resamplers (a controller must be set). */
int counter_plug_irq(struct iofd_vm *vm, struct counter_source *c);
void counter_unplug_irq(struct iofd_vm *vm, struct counter_source *c);
/* Join a device's epoll set: the device holds it until
 * counter_unplug_device() or iofd_device_destroy(), which unplug and
 * release it through its ops. */
int counter_plug_device(struct iofd_device *dev, struct counter_source *c);
void counter_unplug_device(struct iofd_device *dev, struct counter_source *c);
/* Close its fds (everything unplugged, and a grace period past). */
void counter_fini(struct counter_source *c);

#endif /* IOFD_TEST_COUNTER_SOURCE_H */
