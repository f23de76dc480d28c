/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bare userspace exit: every doorbell leaves the guest and a trivial
 * handler on the vCPU thread serves it (it counts it; in the round-trip
 * shape it also writes the answer into guest RAM itself, as an in-VMM
 * device model would). This is the 2009 table's "qemu-mmio" path.
 *
 * Rows: the bare userspace exit, MMIO and PIO (every ratio's yardstick).
 */
#include "path.h"

static int trivial_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	uint64_t v;

	(void)g;
	if (!bench_exit_is_doorbell(&c->bg, run, &v)) {
		c->stray++;
		bench_exit_default(run);
		return 0;
	}
	c->handled++;
	if (c->path->roundtrip)
		__atomic_store_n(c->bg.answer, v, __ATOMIC_RELEASE);
	else if (v != BENCH_DOORBELL_VALUE)
		c->stray++;
	return 0;
}

static int exit_setup(struct path_ctx *c)
{
	(void)c;
	return 0;
}

static int exit_run(struct path_ctx *c, uint64_t *exits)
{
	return path_run_handler(c, trivial_handler, exits);
}

static uint64_t exit_observed(struct path_ctx *c)
{
	return c->handled + c->stray;
}

static const struct bench_path path_exit = {
	.setup = exit_setup, .run = exit_run, .observed = exit_observed,
};

static const struct bench_path path_exit_rt = {
	.roundtrip = true,
	.setup = exit_setup, .run = exit_run, .observed = exit_observed,
};

static const struct bench_row exit_rows[] = {
	{ .name = BENCH_EXIT_MMIO, .section = "bare exit", .bus = BENCH_MMIO,
	  .what = "MMIO doorbell exits to userspace; a trivial handler counts it",
	  .no_exit_ratio = true, .needs_kvm = true, .param = &path_exit,
	  .measure = bench_measure_path },
	{ .name = BENCH_EXIT_PIO, .section = "bare exit", .bus = BENCH_PIO,
	  .what = "PIO doorbell exits to userspace; a trivial handler counts it",
	  .no_exit_ratio = true, .needs_kvm = true, .param = &path_exit,
	  .measure = bench_measure_path },
};

static const struct bench_row exit_rt_rows[] = {
	RT("rt-exit-mmio", BENCH_MMIO,
	   "the exit handler answers itself (an in-VMM device model)",
	   path_exit_rt, NULL, 0),
};

void bench_rows_exit(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_EXIT)
		BENCH_REGISTER_ROWS(exit_rows);
	if (phase == BENCH_PHASE_ROUNDTRIP)
		BENCH_REGISTER_ROWS(exit_rt_rows);
}
