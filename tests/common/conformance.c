/* SPDX-License-Identifier: BSD-3-Clause */
/* The differential tests' scaffolding (conformance.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "conformance.h"
#include "testutil.h"

uint64_t cf_seed(uint64_t fallback)
{
	const char *s = getenv("IOFD_CONFORMANCE_SEED");

	return s && *s ? strtoull(s, NULL, 0) : fallback;
}

uint64_t cf_rnd(uint64_t *rng)
{
	uint64_t z = (*rng += 0x9e3779b97f4a7c15ull);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t cf_pick(uint64_t *rng, uint64_t n)
{
	return cf_rnd(rng) % n;
}

uint32_t cf_write_len(uint64_t *rng, bool pio)
{
	return pio ? (uint32_t[]){ 1, 2, 4 }[cf_pick(rng, 3)]
		   : (uint32_t[]){ 1, 2, 4, 8 }[cf_pick(rng, 4)];
}

uint64_t cf_write_value(uint64_t *rng, const uint64_t *pool, size_t n)
{
	return cf_pick(rng, 10) < 6 ? pool[cf_pick(rng, n)] : cf_rnd(rng);
}

void cf_mismatch(struct cf_mismatches *m, const char *fmt, ...)
{
	va_list ap;

	if (m->n++ == 0) {
		va_start(ap, fmt);
		vsnprintf(m->first, sizeof(m->first), fmt, ap);
		va_end(ap);
	}
}

int cf_iofd_exit(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct iofd_exit info;
	int st;

	(void)g;
	(void)run;
	st = iofd_dispatch_exit(opaque, &info);
	if (st == IOFD_SERVED || st == IOFD_NOT_CLAIMED)
		return 0;
	print_message("# iofd_dispatch_exit: status %d: %s\n", st, info.reason);
	return -EIO;
}

void cf_run_both(struct guest_vm g[2], struct iofd_vcpu *vcpu,
		 const struct guest_op *ops, size_t n)
{
	for (int side = 0; side < 2; side++) {
		int err;

		assert_int_equal(guest_script_set(&g[side], ops, n), 0);
		err = guest_run(&g[side], side == USIDE ? cf_iofd_exit : NULL, vcpu,
				NULL);
		if (err)
			print_message("# guest_run (%s side): %d %s\n",
				      side == USIDE ? "iofd" : "kernel", err,
				      guest_last_error());
		assert_int_equal(err, 0);
		assert_int_equal(guest_vm_reset_cpu(&g[side]), 0);
	}
}

void cf_report(const char *what, uint64_t ops, const struct cf_mismatches *m,
	       uint64_t seed)
{
	print_message("# %s conformance: %llu operations, %llu mismatches\n", what,
		      (unsigned long long)ops, (unsigned long long)m->n);
	/* The summary line, verbatim; on stderr so the TAP stream stays clean. */
	fprintf(stderr, "%s conformance: %llu operations, %llu mismatches\n", what,
		(unsigned long long)ops, (unsigned long long)m->n);
	if (m->n) {
		print_message("# first mismatch (seed 0x%llx): %s\n",
			      (unsigned long long)seed, m->first);
		fprintf(stderr, "first mismatch (seed 0x%llx): %s\n",
			(unsigned long long)seed, m->first);
	}
}
