/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rows: ioregionfd, posted and synchronous, to a device thread and to a
 * device process. Targets: within 1.05x of the matching raw socket floor;
 * posted writes (doorbells) also 1.5x faster than the main-loop hop.
 */
#include "paths.h"

#define IOR(name_, what_, path_, floor_, hop_, div_)                            \
	{ .name = name_, .section = "ioregionfd", .bus = BENCH_MMIO,           \
	  .what = what_, .floor = floor_, .floor_limit = BENCH_LIMIT_USERSPACE, \
	  .vs_hop = hop_, .ops_div = div_, .needs_kvm = true, .param = &path_, \
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
};

void bench_rows_ioregion(void)
{
	bench_register_rows(ioregion_rows,
			    sizeof(ioregion_rows) / sizeof(ioregion_rows[0]));
}
