/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rows: iofd's doorbell paths. Targets: offloaded paths within 0.95x of the
 * raw KVM_IOEVENTFD row; userspace paths within 1.05x of their raw floor;
 * all at least 1.5x faster than the main-loop hop.
 */
#include "paths.h"

#define IOFD(name_, bus_, what_, path_, floor_, limit_)                         \
	{ .name = name_, .section = "iofd doorbell", .bus = bus_, .what = what_, \
	  .floor = floor_, .floor_limit = limit_, .vs_hop = true,             \
	  .needs_kvm = true, .param = &path_, .measure = bench_measure_path }

/* Rows that need the kernel's POST_WRITE (skipped elsewhere). */
#define IOFD_K(name_, bus_, what_, path_, floor_, limit_)                       \
	{ .name = name_, .section = "iofd doorbell", .bus = bus_, .what = what_, \
	  .floor = floor_, .floor_limit = limit_, .vs_hop = true,             \
	  .needs_kvm = true, .available = bench_kernel_post_write,             \
	  .param = &path_, .measure = bench_measure_path }

static const struct bench_row iofd_rows[] = {
	IOFD("iofd-offload-mmio", BENCH_MMIO,
	     "iofd_ioeventfd(), offloaded to KVM_IOEVENTFD; iofd_vcpu_run()",
	     path_iofd_offload, "raw-kvm-ioeventfd-mmio", BENCH_LIMIT_OFFLOAD),
	IOFD("iofd-offload-pio", BENCH_PIO,
	     "iofd_ioeventfd(), offloaded to KVM_IOEVENTFD; iofd_vcpu_run()",
	     path_iofd_offload, "raw-kvm-ioeventfd-pio", BENCH_LIMIT_OFFLOAD),
	IOFD("iofd-user-mmio-dispatch", BENCH_MMIO,
	     "userspace ioeventfd (NO_OFFLOAD); the VMM's handler calls "
	     "iofd_dispatch_exit()",
	     path_iofd_user_dispatch, "raw-eventfd-mmio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-user-pio-dispatch", BENCH_PIO,
	     "userspace ioeventfd (NO_OFFLOAD); the VMM's handler calls "
	     "iofd_dispatch_exit()",
	     path_iofd_user_dispatch, "raw-eventfd-pio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-user-mmio-run", BENCH_MMIO,
	     "userspace ioeventfd (NO_OFFLOAD) served inside iofd_vcpu_run()",
	     path_iofd_user_run, "raw-eventfd-mmio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-user-pio-run", BENCH_PIO,
	     "userspace ioeventfd (NO_OFFLOAD) served inside iofd_vcpu_run()",
	     path_iofd_user_run, "raw-eventfd-pio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-group-mmio", BENCH_MMIO,
	     "iosignalfd group: wildcard item fires, a trigger item must not",
	     path_iofd_group, "raw-eventfd-mmio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-post-mmio", BENCH_MMIO,
	     "post-write ioeventfd into the VMM's memory, then the eventfd "
	     "(served by iofd: NO_OFFLOAD)",
	     path_iofd_post_addr, "raw-store-eventfd-mmio", BENCH_LIMIT_USERSPACE),
	IOFD("iofd-post-memfd-mmio", BENCH_MMIO,
	     "post-write ioeventfd into a sealed memfd slot, then the eventfd "
	     "(served by iofd: NO_OFFLOAD)",
	     path_iofd_post_memfd, "raw-store-eventfd-mmio", BENCH_LIMIT_USERSPACE),
	IOFD_K("iofd-post-kernel-mmio", BENCH_MMIO,
	       "post-write ioeventfd into the VMM's memory, offloaded to the "
	       "kernel's POST_WRITE",
	       path_iofd_post_kernel, "raw-kvm-post-write-mmio", BENCH_LIMIT_OFFLOAD),
	IOFD_K("iofd-post-kernel-memfd-mmio", BENCH_MMIO,
	       "post-write ioeventfd into a sealed memfd slot (iofd's mapping), "
	       "offloaded to the kernel's POST_WRITE",
	       path_iofd_post_memfd_kernel, "raw-kvm-post-write-mmio",
	       BENCH_LIMIT_OFFLOAD),
};

void bench_rows_iofd(void)
{
	bench_register_rows(iofd_rows, sizeof(iofd_rows) / sizeof(iofd_rows[0]));
}
