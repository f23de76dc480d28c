/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd paths: the doorbell register is an ioregion whose commands go
 * over one socket to a device thread or a device process. Posted writes
 * are counted by a polling device; synchronous writes and reads are served
 * by a device that answers each command. Three servers:
 *   - iofd in userspace (a VM with IOFD_VM_NO_OFFLOAD; iofd_vcpu_run()
 *     serves the exits), with a hand-written device (so a row compares the
 *     VMM side only) or, for the -devlib rows, iofd's device library;
 *   - the kernel's ioregionfd through iofd (iofd_set_ioregion() offloads;
 *     a kernel with the kernel/ioregionfd series only);
 *   - the kernel's ioregionfd with a plain KVM_SET_IOREGION and no iofd:
 *     the raw floor of the offloaded rows.
 * Each setup checks that the region is served where the row says.
 *
 * Rows: ioregionfd, posted and synchronous, to a device thread and to a
 * device process, served by iofd in userspace and (a kernel with the
 * kernel/ioregionfd series only) by the kernel. Targets: userspace rows
 * within 1.05x of the matching raw socket floor (an exit plus the socket
 * I/O), kernel rows within 0.95x of a plain KVM_SET_IOREGION; posted
 * writes (doorbells) also 1.5x faster than the main-loop hop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <iofd/kvm-unmerged.h>

#include "path.h"

#define IOREGION_TOKEN	0x10fd10fdull	/* user_data every command must carry */
#define IOREGION_SIZE	8u

enum ioregion_server { SERVER_IOFD, SERVER_IOFD_KERNEL, SERVER_RAW_KERNEL };

/* Posted or not, whose device code serves it, who serves the exits. */
struct ioregion_arg {
	bool posted;
	bool library;		/* iofd's device library, not hand-written */
	enum ioregion_server server;
};

/* Register through iofd and check the path it chose. */
static int iofd_register(struct path_ctx *c, const struct iofd_ioregion *r,
			 bool kernel)
{
	int want = kernel ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE;
	int err = iofd_set_ioregion(c->bg.iofd, r);

	if (err)
		return path_fail(c, err, "iofd_set_ioregion: %s", iofd_last_error());
	err = iofd_ioregion_path(c->bg.iofd, r);
	if (err != want)
		return path_fail(c, -EPROTO, "iofd serves the region on path %d, "
				 "not %d (%s)", err, want, iofd_last_error());
	return 0;
}

/* Register with the kernel directly (the raw floor). */
static int raw_register(struct path_ctx *c, const struct iofd_ioregion *r)
{
	struct kvm_ioregion k = {
		.guest_paddr = r->guest_paddr, .memory_size = r->memory_size,
		.user_data = r->user_data, .read_fd = r->read_fd,
		.write_fd = r->write_fd,
		.flags = (r->flags & IOFD_IOREGION_FLAG_POSTED_WRITES) ?
			 KVM_IOREGION_POSTED_WRITES : 0,
	};

	if (ioctl(c->bg.g.vm_fd, KVM_SET_IOREGION, &k) < 0)
		return path_fail(c, -errno, "KVM_SET_IOREGION: %s", strerror(errno));
	return 0;
}

static int ioregion_setup(struct path_ctx *c)
{
	const struct ioregion_arg *a = c->path->arg;
	struct iofd_ioregion r = {
		.guest_paddr = BENCH_DOORBELL_MMIO,
		.memory_size = IOREGION_SIZE,
		.user_data = IOREGION_TOKEN,
		.flags = a->posted ? IOFD_IOREGION_FLAG_POSTED_WRITES : 0,
	};
	int sv[2], err = bench_socketpair(sv);

	if (err)
		return path_fail(c, err, "socketpair: %s", strerror(-err));
	path_keep_fd(c, sv[0]);
	path_keep_fd(c, sv[1]);
	r.read_fd = r.write_fd = sv[0];
	err = a->server == SERVER_RAW_KERNEL ?
		      raw_register(c, &r) :
		      iofd_register(c, &r, a->server == SERVER_IOFD_KERNEL);
	if (err)
		return err;
	c->dev.peer_fd = sv[0];
	c->dev.user_data = IOREGION_TOKEN;
	if (a->library)
		return path_start_device(c, sv[1], a->posted ? DEV_LIB_POLL_IOREGION :
						       DEV_LIB_SERVE_IOREGION,
					 DEV_LIB_SERVE_IOREGION);
	return path_start_device(c, sv[1],
				 a->posted ? DEV_POLL_IOREGION : DEV_SERVE_IOREGION,
				 DEV_SERVE_IOREGION);
}

static int ioregion_run(struct path_ctx *c, uint64_t *exits)
{
	const struct ioregion_arg *a = c->path->arg;

	if (a->server == SERVER_RAW_KERNEL)
		return path_run_offloaded(c, exits);
	return path_run_iofd(c, exits);
}

static const struct ioregion_arg
	posted = { true, false, SERVER_IOFD },
	waited = { false, false, SERVER_IOFD },
	lib_posted = { true, true, SERVER_IOFD },
	lib_waited = { false, true, SERVER_IOFD },
	kernel_posted = { true, false, SERVER_IOFD_KERNEL },
	kernel_waited = { false, false, SERVER_IOFD_KERNEL },
	raw_posted = { true, false, SERVER_RAW_KERNEL },
	raw_waited = { false, false, SERVER_RAW_KERNEL };

/* iofd in userspace: the VM is created with NO_OFFLOAD, so the rows stay
 * userspace ones on a kernel that has ioregionfd. */
#define IOREGION_PATH(name, arg_, reads_, process_)                              \
	static const struct bench_path name = {                                         \
		.with_iofd = true, .iofd_flags = IOFD_VM_NO_OFFLOAD,             \
		.reads = reads_, .process = process_,                            \
		.setup = ioregion_setup, .run = ioregion_run, .arg = &arg_,      \
	}

IOREGION_PATH(path_ioregion_posted, posted, false, false);
IOREGION_PATH(path_ioregion_posted_proc, posted, false, true);
IOREGION_PATH(path_ioregion_write, waited, false, false);
IOREGION_PATH(path_ioregion_write_proc, waited, false, true);
IOREGION_PATH(path_ioregion_read, waited, true, false);
IOREGION_PATH(path_ioregion_read_proc, waited, true, true);
IOREGION_PATH(path_ioregion_posted_lib, lib_posted, false, false);
IOREGION_PATH(path_ioregion_read_lib, lib_waited, true, false);

/* The kernel's ioregionfd, through iofd or directly. */
#define IOREGION_KERNEL_PATH(name, arg_, reads_, process_, iofd_)                \
	static const struct bench_path name = {                                         \
		.with_iofd = iofd_, .reads = reads_, .process = process_,        \
		.setup = ioregion_setup, .run = ioregion_run, .arg = &arg_,      \
	}

IOREGION_KERNEL_PATH(path_ioregion_kernel_posted, kernel_posted,
		     false, false, true);
IOREGION_KERNEL_PATH(path_ioregion_kernel_posted_proc, kernel_posted,
		     false, true, true);
IOREGION_KERNEL_PATH(path_ioregion_kernel_write, kernel_waited,
		     false, false, true);
IOREGION_KERNEL_PATH(path_ioregion_kernel_write_proc, kernel_waited,
		     false, true, true);
IOREGION_KERNEL_PATH(path_ioregion_kernel_read, kernel_waited,
		     true, false, true);
IOREGION_KERNEL_PATH(path_ioregion_kernel_read_proc, kernel_waited,
		     true, true, true);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_posted, raw_posted,
		     false, false, false);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_posted_proc, raw_posted,
		     false, true, false);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_write, raw_waited,
		     false, false, false);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_write_proc, raw_waited,
		     false, true, false);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_read, raw_waited,
		     true, false, false);
IOREGION_KERNEL_PATH(path_raw_kvm_ioregion_read_proc, raw_waited,
		     true, true, false);

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

/* Raw floors: the kernel's ioregionfd without iofd. */
#define RAW_IOR(name_, what_, path_, div_)                                      \
	{ .name = name_, .section = "raw floor", .bus = BENCH_MMIO,            \
	  .what = "KVM_SET_IOREGION (kernel series), " what_,                  \
	  .needs_kvm = true, .available = bench_kernel_ioregionfd,            \
	  .param = &path_, .ops_div = div_, .measure = bench_measure_path }

static const struct bench_row ioregion_raw_rows[] = {
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

void bench_rows_ioregion(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_RAW)
		BENCH_REGISTER_ROWS(ioregion_raw_rows);
	if (phase == BENCH_PHASE_IOREGION)
		BENCH_REGISTER_ROWS(ioregion_rows);
}
