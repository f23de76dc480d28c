/* SPDX-License-Identifier: BSD-3-Clause */
/* Row: the synchronous VMM main-loop hop (what iofd must beat by 1.5x). */
#include "paths.h"

static const struct bench_row hop_rows[] = {
	{ .name = BENCH_HOP, .section = "main-loop hop", .bus = BENCH_MMIO,
	  .what = "MMIO exit handed to a main-loop thread (vCPU waits), which "
		  "writes the value to a device thread's socket",
	  .needs_kvm = true, .param = &path_hop, .ops_div = 4,
	  .measure = bench_measure_path },
};

void bench_rows_hop(void)
{
	bench_register_rows(hop_rows, sizeof(hop_rows) / sizeof(hop_rows[0]));
}
