/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rows: round trips. The guest rings and spins until the device's answer
 * appears in guest RAM (GOP_WRITE_WAIT / GOP_OUT_WAIT); the device is a
 * thread woken by the doorbell, which writes the answer. Targets: iofd's
 * rows against their raw floors only (a round trip includes the device's
 * wake-up, which no doorbell path avoids).
 */
#include "paths.h"

#define RT(name_, bus_, what_, path_, floor_, limit_)                           \
	{ .name = name_, .section = "round trip", .bus = bus_, .what = what_,  \
	  .floor = floor_, .floor_limit = limit_, .ops_div = 2,               \
	  .needs_kvm = true, .param = &path_, .measure = bench_measure_path }

static const struct bench_row rt_rows[] = {
	RT("rt-exit-mmio", BENCH_MMIO,
	   "the exit handler answers itself (an in-VMM device model)",
	   path_exit_rt, NULL, 0),
	RT("rt-raw-eventfd-mmio", BENCH_MMIO,
	   "exit + eventfd write(); a device thread answers",
	   path_raw_eventfd_rt, NULL, 0),
	RT("rt-raw-kvm-ioeventfd-mmio", BENCH_MMIO,
	   "KVM_IOEVENTFD; a device thread answers",
	   path_raw_kvm_ioeventfd_rt, NULL, 0),
	RT("rt-raw-kvm-ioeventfd-pio", BENCH_PIO,
	   "KVM_IOEVENTFD; a device thread answers",
	   path_raw_kvm_ioeventfd_rt, NULL, 0),
	RT("rt-hop-mmio", BENCH_MMIO,
	   "main-loop hop, then the device thread answers from its socket",
	   path_hop_rt, NULL, 0),
	RT("rt-iofd-offload-mmio", BENCH_MMIO,
	   "iofd offloaded ioeventfd; a device thread answers",
	   path_iofd_offload_rt, "rt-raw-kvm-ioeventfd-mmio", BENCH_LIMIT_OFFLOAD),
	RT("rt-iofd-offload-pio", BENCH_PIO,
	   "iofd offloaded ioeventfd; a device thread answers",
	   path_iofd_offload_rt, "rt-raw-kvm-ioeventfd-pio", BENCH_LIMIT_OFFLOAD),
	RT("rt-iofd-user-mmio", BENCH_MMIO,
	   "iofd userspace ioeventfd in iofd_vcpu_run(); a device thread answers",
	   path_iofd_user_run_rt, "rt-raw-eventfd-mmio", BENCH_LIMIT_USERSPACE),
};

void bench_rows_roundtrip(void)
{
	bench_register_rows(rt_rows, sizeof(rt_rows) / sizeof(rt_rows[0]));
}
