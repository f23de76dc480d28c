/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rows: ioregionfd, posted and synchronous, to a device thread and to a
 * device process, served by iofd in userspace and (a kernel with the
 * kernel/ioregionfd series only) by the kernel. Targets: userspace rows
 * within 1.05x of the matching raw socket floor (an exit plus the socket
 * I/O), kernel rows within 0.95x of a plain KVM_SET_IOREGION; posted
 * writes (doorbells) also 1.5x faster than the main-loop hop.
 */
#include "paths.h"

#define IOR(name_, what_, path_, floor_, hop_, div_)                            \
	{ .name = name_, .section = "ioregionfd", .bus = BENCH_MMIO,           \
	  .what = what_, .floor = floor_, .floor_limit = BENCH_LIMIT_USERSPACE, \
	  .vs_hop = hop_, .ops_div = div_, .needs_kvm = true, .param = &path_, \
	  .measure = bench_measure_path }

/* Offloaded to the kernel's ioregionfd (skipped on other kernels). */
#define IOR_K(name_, what_, path_, floor_, hop_, div_)                          \
	{ .name = name_, .section = "ioregionfd", .bus = BENCH_MMIO,           \
	  .what = what_, .floor = floor_, .floor_limit = BENCH_LIMIT_OFFLOAD,   \
	  .vs_hop = hop_, .ops_div = div_, .needs_kvm = true,                  \
	  .available = bench_kernel_ioregionfd, .param = &path_,               \
	  .measure = bench_measure_path }

static const struct bench_row ioregion_rows[] = {
	IOR("ioregion-posted-mmio",
	    "posted write: one command on the socket to a device thread",
	    path_ioregion_posted, "raw-socket-write-mmio", true, 1),
	IOR("ioregion-posted-proc-mmio",
	    "posted write: one command on the socket to a device process",
	    path_ioregion_posted_proc, "raw-socket-write-proc-mmio", true, 1),
	IOR("ioregion-write-mmio",
	    "synchronous write: command, then the device thread's reply",
	    path_ioregion_write, "raw-socket-rt-mmio", false, 4),
	IOR("ioregion-write-proc-mmio",
	    "synchronous write: command, then the device process's reply",
	    path_ioregion_write_proc, "raw-socket-rt-proc-mmio", false, 4),
	IOR("ioregion-read-mmio",
	    "read: command, then the device thread's reply with the value",
	    path_ioregion_read, "raw-socket-read-mmio", false, 4),
	IOR("ioregion-read-proc-mmio",
	    "read: command, then the device process's reply with the value",
	    path_ioregion_read_proc, "raw-socket-read-proc-mmio", false, 4),
	IOR("ioregion-posted-devlib-mmio",
	    "posted write to a device thread served by iofd's device library",
	    path_ioregion_posted_lib, "raw-socket-write-mmio", true, 1),
	IOR("ioregion-read-devlib-mmio",
	    "read served by iofd's device library (iofd_device_run) in a thread",
	    path_ioregion_read_lib, "raw-socket-read-mmio", false, 4),
	IOR_K("ioregion-kernel-posted-mmio",
	      "posted write, offloaded to the kernel: one command to a device "
	      "thread, no exit",
	      path_ioregion_kernel_posted, "raw-kvm-ioregion-posted-mmio", true, 1),
	IOR_K("ioregion-kernel-posted-proc-mmio",
	      "posted write, offloaded to the kernel: one command to a device "
	      "process, no exit",
	      path_ioregion_kernel_posted_proc,
	      "raw-kvm-ioregion-posted-proc-mmio", true, 1),
	IOR_K("ioregion-kernel-write-mmio",
	      "synchronous write, offloaded to the kernel: the vCPU thread waits "
	      "for the device thread's reply",
	      path_ioregion_kernel_write, "raw-kvm-ioregion-write-mmio", false, 4),
	IOR_K("ioregion-kernel-write-proc-mmio",
	      "synchronous write, offloaded to the kernel: the vCPU thread waits "
	      "for the device process's reply",
	      path_ioregion_kernel_write_proc,
	      "raw-kvm-ioregion-write-proc-mmio", false, 4),
	IOR_K("ioregion-kernel-read-mmio",
	      "read, offloaded to the kernel: the device thread's reply is the "
	      "value",
	      path_ioregion_kernel_read, "raw-kvm-ioregion-read-mmio", false, 4),
	IOR_K("ioregion-kernel-read-proc-mmio",
	      "read, offloaded to the kernel: the device process's reply is the "
	      "value",
	      path_ioregion_kernel_read_proc, "raw-kvm-ioregion-read-proc-mmio",
	      false, 4),
};

void bench_rows_ioregion(void)
{
	bench_register_rows(ioregion_rows,
			    sizeof(ioregion_rows) / sizeof(ioregion_rows[0]));
}
