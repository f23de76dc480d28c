/* SPDX-License-Identifier: BSD-3-Clause */
/* Rows: the raw floors, plain syscalls and ioctls with no iofd in the path. */
#include "paths.h"

#define RAW(name_, bus_, what_, path_, div_)                                    \
	{ .name = name_, .section = "raw floor", .bus = bus_, .what = what_,   \
	  .needs_kvm = true, .param = &path_, .ops_div = div_,                 \
	  .measure = bench_measure_path }

/* KVM_SET_IOREGION (kernel series), no iofd: the kernel serves the region
 * from the vCPU thread, no exit. */
#define RAW_IOR(name_, what_, path_, div_)                                      \
	{ .name = name_, .section = "raw floor", .bus = BENCH_MMIO,            \
	  .what = "KVM_SET_IOREGION (kernel series), " what_,                  \
	  .needs_kvm = true, .available = bench_kernel_ioregionfd,            \
	  .param = &path_, .ops_div = div_, .measure = bench_measure_path }

static const struct bench_row raw_rows[] = {
	RAW("raw-eventfd-mmio", BENCH_MMIO,
	    "MMIO exit + eventfd write() in the handler", path_raw_eventfd, 1),
	RAW("raw-eventfd-pio", BENCH_PIO,
	    "PIO exit + eventfd write() in the handler", path_raw_eventfd, 1),
	RAW("raw-store-eventfd-mmio", BENCH_MMIO,
	    "MMIO exit + store of the value + eventfd write()",
	    path_raw_store_eventfd, 1),
	RAW("raw-socket-write-mmio", BENCH_MMIO,
	    "MMIO exit + one write() of the value on a socket to a device thread",
	    path_raw_socket_write, 1),
	RAW("raw-socket-rt-mmio", BENCH_MMIO,
	    "MMIO exit + socket round trip to a device thread (it echoes)",
	    path_raw_socket_rt, 4),
	RAW("raw-socket-read-mmio", BENCH_MMIO,
	    "MMIO read exit + socket round trip to a device thread for the value",
	    path_raw_socket_read, 4),
	RAW("raw-socket-write-proc-mmio", BENCH_MMIO,
	    "MMIO exit + one write() of the value on a socket to a device process",
	    path_raw_socket_write_proc, 1),
	RAW("raw-socket-rt-proc-mmio", BENCH_MMIO,
	    "MMIO exit + socket round trip to a device process (it echoes)",
	    path_raw_socket_rt_proc, 4),
	RAW("raw-socket-read-proc-mmio", BENCH_MMIO,
	    "MMIO read exit + socket round trip to a device process for the value",
	    path_raw_socket_read_proc, 4),
	RAW("raw-kvm-ioeventfd-mmio", BENCH_MMIO,
	    "KVM_IOEVENTFD on the MMIO doorbell: no userspace exit",
	    path_raw_kvm_ioeventfd, 1),
	RAW("raw-kvm-ioeventfd-pio", BENCH_PIO,
	    "KVM_IOEVENTFD on the PIO doorbell: no userspace exit",
	    path_raw_kvm_ioeventfd, 1),
	{ .name = "raw-kvm-post-write-mmio", .section = "raw floor",
	  .bus = BENCH_MMIO, .needs_kvm = true,
	  .what = "KVM_IOEVENTFD with POST_WRITE (kernel series): the kernel "
		  "stores the value, no exit",
	  .available = bench_kernel_post_write,
	  .param = &path_raw_kvm_post_write, .measure = bench_measure_path },
	RAW_IOR("raw-kvm-ioregion-posted-mmio",
		"posted write: one command on the socket to a device thread",
		path_raw_kvm_ioregion_posted, 1),
	RAW_IOR("raw-kvm-ioregion-posted-proc-mmio",
		"posted write: one command on the socket to a device process",
		path_raw_kvm_ioregion_posted_proc, 1),
	RAW_IOR("raw-kvm-ioregion-write-mmio",
		"synchronous write: command, then the device thread's reply",
		path_raw_kvm_ioregion_write, 4),
	RAW_IOR("raw-kvm-ioregion-write-proc-mmio",
		"synchronous write: command, then the device process's reply",
		path_raw_kvm_ioregion_write_proc, 4),
	RAW_IOR("raw-kvm-ioregion-read-mmio",
		"read: command, then the device thread's reply with the value",
		path_raw_kvm_ioregion_read, 4),
	RAW_IOR("raw-kvm-ioregion-read-proc-mmio",
		"read: command, then the device process's reply with the value",
		path_raw_kvm_ioregion_read_proc, 4),
};

void bench_rows_raw(void)
{
	bench_register_rows(raw_rows, sizeof(raw_rows) / sizeof(raw_rows[0]));
}
