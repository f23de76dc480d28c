/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest side of a row: a real guest (the runner of guest/), optionally
 * adopted into iofd, ringing a doorbell with a script, and the two ways of
 * running it: a plain KVM_RUN loop with an exit handler (guest_run), or
 * iofd_vcpu_run().
 */
#ifndef IOFD_BENCH_GUEST_H
#define IOFD_BENCH_GUEST_H

#include <iofd/iofd.h>

#include "bench.h"
#include "host.h"

/* Where the guest rings, and what. */
#define BENCH_DOORBELL_MMIO	(GUEST_MMIO_BASE + 0x1000)
#define BENCH_DOORBELL_PORT	0x0500u
#define BENCH_DOORBELL_LEN	4u
#define BENCH_DOORBELL_VALUE	0x1u	/* a queue index */
/* Round trips: the device answers here (a u64 in guest RAM). */
#define BENCH_ANSWER_GPA	GUEST_DATA_GPA

struct bench_guest {
	struct guest_vm g;
	enum bench_bus bus;
	struct iofd_vm *iofd;		/* NULL for rows without iofd */
	struct iofd_vcpu *vcpu;
	volatile uint64_t *answer;	/* host view of BENCH_ANSWER_GPA */
};

/* Create the guest (guest_flags: GUEST_VM_*), and adopt it into iofd
 * when with_iofd, with iofd_flags (IOFD_VM_*) for its iofd VM. */
int bench_guest_open(struct bench_guest *bg, enum bench_bus bus, bool with_iofd,
		     unsigned guest_flags, uint32_t iofd_flags, char *why,
		     size_t len);
void bench_guest_close(struct bench_guest *bg);

/* Script: n doorbells (a write of BENCH_DOORBELL_VALUE each). */
int bench_guest_doorbells(struct bench_guest *bg, uint64_t n);
/* Script: n round trips, values first, first+1, ...; clears the answer. */
int bench_guest_roundtrips(struct bench_guest *bg, uint64_t n, uint64_t first);

/* Script: n reads of the doorbell register (len BENCH_DOORBELL_LEN). */
int bench_guest_reads(struct bench_guest *bg, uint64_t n);
/* After a read script: how many of its n reads did not return `want`. */
uint64_t bench_guest_wrong_reads(const struct bench_guest *bg, uint64_t n,
				 uint64_t want);

/* Is this exit a read of the doorbell register? */
bool bench_exit_is_read(const struct bench_guest *bg, const struct kvm_run *run);
/* Complete a read exit with `value`. */
void bench_exit_read_value(struct kvm_run *run, uint64_t value);

/* Is this exit a write to the doorbell? Gives the value written. */
bool bench_exit_is_doorbell(const struct bench_guest *bg, const struct kvm_run *run,
			    uint64_t *value);
/* Complete an exit nobody claimed: reads return 0, writes are dropped. */
void bench_exit_default(struct kvm_run *run);

/* Run the script with guest_run() and `fn`; *exits = MMIO/PIO exits. */
int bench_guest_run(struct bench_guest *bg, guest_exit_fn fn, void *opaque,
		    uint64_t *exits, char *why, size_t len);
/* Run the script with iofd_vcpu_run(); exits iofd did not serve are
 * completed by default and counted in *unclaimed. */
int bench_guest_run_iofd(struct bench_guest *bg, uint64_t *exits,
			 uint64_t *unclaimed, char *why, size_t len);

/* A watchdog that interrupts KVM_RUN after `seconds` (0 disarms it). */
int bench_watchdog_arm(struct bench_guest *bg, double seconds);
bool bench_watchdog_fired(void);

#endif /* IOFD_BENCH_GUEST_H */
