/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scaffolding of the differential tests that compare the kernel with iofd's
 * userspace path (tests/kvm/test_conformance.c,
 * test_post_write_conformance.c): a seeded random sequence, the count of
 * mismatches with the first one described, the same guest script run in
 * both VMs, and the summary lines. Tests only (conformance.c).
 */
#ifndef IOFD_CONFORMANCE_H
#define IOFD_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iofd/iofd.h>

#include "host.h"

/* The two VMs of a differential test: the kernel's and iofd's. */
enum cf_side { KSIDE = 0, USIDE = 1 };

/* The seed in IOFD_CONFORMANCE_SEED if set, else fallback. */
uint64_t cf_seed(uint64_t fallback);

/* The next number of the splitmix64 sequence whose state is *rng. */
uint64_t cf_rnd(uint64_t *rng);

/* A number in [0, n) from the sequence *rng. */
uint64_t cf_pick(uint64_t *rng, uint64_t n);

/* The width of a random guest write: 1, 2 or 4 for port I/O, up to 8 else. */
uint32_t cf_write_len(uint64_t *rng, bool pio);

/* The value of a random guest write: mostly (6 in 10) one of pool[n]. */
uint64_t cf_write_value(uint64_t *rng, const uint64_t *pool, size_t n);

/* Mismatches seen so far; the first one described. */
struct cf_mismatches {
	uint64_t n;
	char first[768];
};

/* Count one mismatch; describe it (printf-style) if it is the first. */
void cf_mismatch(struct cf_mismatches *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A guest_run() handler for the iofd side: opaque is the struct iofd_vcpu
 * of the VM. Served and unclaimed exits go on (unclaimed writes are
 * ignored); anything else is printed and stops the run with -EIO.
 */
int cf_iofd_exit(struct guest_vm *g, struct kvm_run *run, void *opaque);

/*
 * Run the same n ops in both guests: g[KSIDE] on its own, g[USIDE] with
 * its exits dispatched to vcpu. Each run must end without an error (else
 * it is printed and the test fails); each vCPU is reset afterwards.
 */
void cf_run_both(struct guest_vm g[2], struct iofd_vcpu *vcpu,
		 const struct guest_op *ops, size_t n);

/*
 * The summary "<what> conformance: <N> operations, <M> mismatches" as a
 * TAP comment and verbatim on stderr, then the first mismatch, if any,
 * with the seed that replays it.
 */
void cf_report(const char *what, uint64_t ops, const struct cf_mismatches *m,
	       uint64_t seed);

#endif
