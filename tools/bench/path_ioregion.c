/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd paths: the doorbell register is an ioregion whose commands go
 * over one socket to a device thread or a device process. Posted writes
 * are counted by a polling device; synchronous writes and reads are served
 * by a device that answers each command. iofd_vcpu_run() serves the exits.
 * The devices are hand-written, like the raw floors' (so a row compares
 * the VMM side only), or, for the -devlib rows, iofd's device library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

#define IOREGION_TOKEN	0x10fd10fdull	/* user_data every command must carry */
#define IOREGION_SIZE	8u

/* Posted or not, and whose device code serves it. */
struct ioregion_arg {
	bool posted;
	bool library;		/* iofd's device library, not hand-written */
};

static int ioregion_setup(struct path_ctx *c)
{
	const struct ioregion_arg *a = c->path->arg;
	const bool *posted = &a->posted;
	struct iofd_ioregion r = {
		.guest_paddr = BENCH_DOORBELL_MMIO,
		.memory_size = IOREGION_SIZE,
		.user_data = IOREGION_TOKEN,
		.flags = *posted ? IOFD_IOREGION_FLAG_POSTED_WRITES : 0,
	};
	int sv[2], err = bench_socketpair(sv);

	if (err)
		return path_fail(c, err, "socketpair: %s", strerror(-err));
	path_keep_fd(c, sv[0]);
	path_keep_fd(c, sv[1]);
	r.read_fd = r.write_fd = sv[0];
	err = iofd_set_ioregion(c->bg.iofd, &r);
	if (err)
		return path_fail(c, err, "iofd_set_ioregion: %s", iofd_last_error());
	c->dev.peer_fd = sv[0];
	c->dev.user_data = IOREGION_TOKEN;
	if (a->library)
		return path_start_device(c, sv[1], *posted ? DEV_LIB_POLL_IOREGION :
						     DEV_LIB_SERVE_IOREGION,
					 DEV_LIB_SERVE_IOREGION);
	return path_start_device(c, sv[1],
				 *posted ? DEV_POLL_IOREGION : DEV_SERVE_IOREGION,
				 DEV_SERVE_IOREGION);
}

static int ioregion_run(struct path_ctx *c, uint64_t *exits)
{
	return path_run_iofd(c, exits);
}

static const struct ioregion_arg posted = { true, false }, waited = { false, false },
				 lib_posted = { true, true }, lib_waited = { false, true };

#define IOREGION_PATH(name, arg_, reads_, process_)                              \
	const struct bench_path name = {                                         \
		.with_iofd = true, .reads = reads_, .process = process_,         \
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
