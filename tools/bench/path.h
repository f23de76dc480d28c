/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One way of carrying the guest's doorbell to a device (a "path"), and the
 * measurement every guest row shares: set up, warm up, time `ops`
 * doorbells (or round trips), wait for the device to see them all, check
 * the count, tear down.
 */
#ifndef IOFD_BENCH_PATH_H
#define IOFD_BENCH_PATH_H

#include "bench.h"
#include "device.h"
#include "guest.h"

/* Per-measurement state every path gets (paths may keep more in `priv`). */
struct bench_path;

struct path_ctx {
	const struct bench_path *path;
	struct bench_guest bg;
	struct bench_device dev;
	int fds[4];			/* closed at teardown when >= 0 */
	void *priv;			/* the path's own state (calloc'ed) */
	uint64_t handled;		/* doorbells an in-VMM handler served */
	uint64_t stray;			/* exits that were not the doorbell */
	uint64_t unclaimed;		/* doorbells iofd handed back unserved */
	uint64_t wrong_reads;		/* reads that returned another value */
	char *why;
	size_t whylen;
};

struct bench_path {
	bool with_iofd;			/* adopt the guest into iofd */
	uint32_t iofd_flags;		/* IOFD_VM_* of that iofd VM */
	bool roundtrip;			/* the guest waits for each answer */
	bool reads;			/* the guest reads the register instead */
	bool process;			/* the device is a child process */
	size_t priv_size;
	/* Register, open fds, start the device. 0 or -errno (+ why). */
	int (*setup)(struct path_ctx *c);
	/* Run the current script to its end; *exits = userspace exits. */
	int (*run)(struct path_ctx *c, uint64_t *exits);
	/* Doorbells observed so far (default: the device's count). */
	uint64_t (*observed)(struct path_ctx *c);
	/* Undo what setup did beyond the device and c->fds (optional). */
	void (*teardown)(struct path_ctx *c);
	const void *arg;		/* the family's own constants */
};

/* bench_measure_fn for rows whose param is a struct bench_path. */
int bench_measure_path(const struct bench_row *row, uint64_t ops,
		       struct bench_sample *out, char *why, size_t whylen);

/* Run with iofd_vcpu_run(); unserved doorbells count in c->unclaimed. */
int path_run_iofd(struct path_ctx *c, uint64_t *exits);
/* Run with guest_run() and an exit handler (opaque = c). */
int path_run_handler(struct path_ctx *c, guest_exit_fn fn, uint64_t *exits);
/* Run where the kernel serves the doorbell: an exit for it counts in
 * c->unclaimed, any other in c->stray (path_raw.c). */
int path_run_offloaded(struct path_ctx *c, uint64_t *exits);
/* Start the device the path needs on fd: a poller for doorbells, an
 * answerer for round trips and reads (answer_kind), with c->bg's answer
 * slot; a thread, or a process when the path says so. */
int path_start_device(struct path_ctx *c, int fd, enum bench_device_kind poll_kind,
		      enum bench_device_kind answer_kind);
/* Keep fd to be closed at teardown; returns fd (or the -errno given). */
int path_keep_fd(struct path_ctx *c, int fd);
int path_fail(struct path_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Row availability: does iofd offload post-write ioeventfds on this host
 * (IOFD_CAP_POST_WRITE_OFFLOAD of a fresh VM)? (ioeventfd.c) */
bool bench_kernel_post_write(char *why, size_t len);
/* Row availability: does iofd offload ioregions (IOFD_CAP_IOREGIONFD_OFFLOAD)?
 * (ioeventfd.c) */
bool bench_kernel_ioregionfd(char *why, size_t len);

#endif /* IOFD_BENCH_PATH_H */
