/* SPDX-License-Identifier: BSD-3-Clause */
/* Rows: the bare userspace exit, MMIO and PIO (every ratio's yardstick). */
#include "paths.h"

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

void bench_rows_exit(void)
{
	bench_register_rows(exit_rows, sizeof(exit_rows) / sizeof(exit_rows[0]));
}
