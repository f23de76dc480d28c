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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "paths.h"

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
	const struct bench_path name = {                                         \
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
	const struct bench_path name = {                                         \
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
