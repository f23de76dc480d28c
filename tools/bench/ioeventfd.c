/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd's paths, on the same guest adopted into iofd (iofd_vm_create with
 * the guest's VM fd, iofd_vcpu_adopt with its vCPU):
 *   - offloaded ioeventfd (iofd_ioeventfd; the kernel serves it);
 *   - userspace ioeventfd (NO_OFFLOAD), served by iofd_dispatch_exit() in
 *     the VMM's exit handler, or inside iofd_vcpu_run();
 *   - iosignalfd group mode (a wildcard item that fires and a trigger item
 *     that must not);
 *   - post-write ioeventfd, into the VMM's memory and into a sealed memfd,
 *     served by iofd (NO_OFFLOAD) or offloaded to a kernel with POST_WRITE.
 * Each setup checks that iofd really chose the path the row is named for.
 *
 * Rows: iofd's doorbell paths. Targets: offloaded paths within 0.95x of the
 * raw KVM_IOEVENTFD row; userspace paths within 1.05x of their raw floor;
 * all at least 1.5x faster than the main-loop hop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "path.h"

#define GROUP_OTHER_TRIGGER	0x42u	/* never written by the guest */
#define MEMFD_SLOT_OFFSET	64u

struct iofd_state {
	int efd;
	int other_efd;			/* group: the trigger item's eventfd */
	uint64_t other_seen;
	uint32_t slot;			/* post-write target in our memory */
	volatile uint32_t *memfd_slot;	/* device's view of the memfd slot */
	void *memfd_map;
};

/* How a path registers its doorbell. */
enum iofd_shape { SHAPE_OFFLOAD, SHAPE_USER, SHAPE_GROUP, SHAPE_POST, SHAPE_MEMFD };

struct iofd_arg {
	enum iofd_shape shape;
	bool dispatch_in_handler;	/* iofd_dispatch_exit() vs iofd_vcpu_run() */
	bool kernel;			/* post-write: offloaded, not NO_OFFLOAD */
};

static const struct iofd_arg *arg_of(const struct path_ctx *c)
{
	return c->path->arg;
}

static struct iofd_ioeventfd doorbell_args(const struct path_ctx *c, int fd)
{
	struct iofd_ioeventfd a = {
		.addr = c->bg.bus == BENCH_PIO ? BENCH_DOORBELL_PORT : BENCH_DOORBELL_MMIO,
		.len = BENCH_DOORBELL_LEN,
		.fd = fd,
		.flags = c->bg.bus == BENCH_PIO ? IOFD_IOEVENTFD_FLAG_PIO : 0,
	};

	return a;
}

/* Register, then make sure iofd serves it on the expected path. */
static int register_ioeventfd(struct path_ctx *c, struct iofd_ioeventfd *a,
			      bool kernel_api, int want_path)
{
	struct kvm_ioeventfd k = { .addr = a->addr, .len = a->len, .fd = a->fd,
				   .flags = a->flags };
	int err = kernel_api ? iofd_ioeventfd(c->bg.iofd, &k) :
			       iofd_ioeventfd_ext(c->bg.iofd, a);

	if (err)
		return path_fail(c, err, "registering the doorbell: %s",
				 iofd_last_error());
	err = iofd_ioeventfd_path(c->bg.iofd, a);
	if (err != want_path)
		return path_fail(c, -EPROTO, "iofd serves the doorbell on path %d, "
				 "not %d (%s)", err, want_path, iofd_last_error());
	return 0;
}

static int register_group(struct path_ctx *c, struct iofd_state *s)
{
	uint32_t trigger = GROUP_OTHER_TRIGGER;
	struct iofd_iosignalfd wild = {
		.addr = BENCH_DOORBELL_MMIO, .len = BENCH_DOORBELL_LEN, .fd = s->efd,
	};
	struct iofd_iosignalfd trig = wild;
	int err;

	s->other_efd = path_keep_fd(c, bench_eventfd(true));
	if (s->other_efd < 0)
		return path_fail(c, s->other_efd, "eventfd failed");
	trig.fd = s->other_efd;
	trig.flags = IOFD_IOSIGNALFD_FLAG_TRIGGER;
	trig.trigger = (uint64_t)(uintptr_t)&trigger;
	err = iofd_iosignalfd(c->bg.iofd, &wild);
	if (!err)
		err = iofd_iosignalfd(c->bg.iofd, &trig);
	return err ? path_fail(c, err, "iofd_iosignalfd: %s", iofd_last_error()) : 0;
}

/* A memfd sealed against shrinking, mapped for the device's view. */
static int open_memfd(struct path_ctx *c, struct iofd_state *s)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = path_keep_fd(c, memfd_create("doorbell-shadow",
					      MFD_CLOEXEC | MFD_ALLOW_SEALING));

	if (fd < 0 || ftruncate(fd, page) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return path_fail(c, -errno, "sealed memfd: %s", strerror(errno));
	s->memfd_map = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (s->memfd_map == MAP_FAILED) {
		s->memfd_map = NULL;
		return path_fail(c, -errno, "mmap of the memfd: %s", strerror(errno));
	}
	s->memfd_slot = (volatile uint32_t *)((char *)s->memfd_map + MEMFD_SLOT_OFFSET);
	return fd;
}

/* Post-write rows: iofd's own path (NO_OFFLOAD) or the kernel's. */
static uint32_t post_flags(const struct path_ctx *c)
{
	return IOFD_IOEVENTFD_FLAG_POST_WRITE |
	       (arg_of(c)->kernel ? 0 : IOFD_IOEVENTFD_FLAG_NO_OFFLOAD);
}

static int post_path(const struct path_ctx *c)
{
	return arg_of(c)->kernel ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE;
}

static int register_shape(struct path_ctx *c, struct iofd_state *s)
{
	struct iofd_ioeventfd a = doorbell_args(c, s->efd);
	int memfd;

	switch (arg_of(c)->shape) {
	case SHAPE_OFFLOAD:
		return register_ioeventfd(c, &a, true, IOFD_PATH_KERNEL);
	case SHAPE_USER:
		a.flags |= IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
		return register_ioeventfd(c, &a, false, IOFD_PATH_USERSPACE);
	case SHAPE_GROUP:
		return register_group(c, s);
	case SHAPE_POST:
		a.flags |= post_flags(c);
		a.post_addr = (uint64_t)(uintptr_t)&s->slot;
		return register_ioeventfd(c, &a, false, post_path(c));
	case SHAPE_MEMFD:
		memfd = open_memfd(c, s);
		if (memfd < 0)
			return memfd;
		a.flags |= post_flags(c) | IOFD_IOEVENTFD_FLAG_POST_MEMFD;
		a.post_fd = memfd;
		a.post_addr = MEMFD_SLOT_OFFSET;
		return register_ioeventfd(c, &a, false, post_path(c));
	}
	return -EINVAL;
}

static int iofd_setup(struct path_ctx *c)
{
	struct iofd_state *s = c->priv;
	int err;

	s->efd = path_keep_fd(c, bench_eventfd(!c->path->roundtrip));
	if (s->efd < 0)
		return path_fail(c, s->efd, "eventfd: %s", strerror(-s->efd));
	err = register_shape(c, s);
	if (err)
		return err;
	return path_start_device(c, s->efd, DEV_POLL_EVENTFD, DEV_ANSWER_EVENTFD);
}

/* The VMM's exit handler hands each exit to iofd_dispatch_exit(). */
static int dispatch_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	int st = iofd_dispatch_exit(c->bg.vcpu, NULL);

	(void)g;
	if (st == IOFD_SERVED)
		return 0;
	if (st == IOFD_NOT_CLAIMED) {
		c->unclaimed++;
		bench_exit_default(run);
		return 0;
	}
	return path_fail(c, 1, "iofd_dispatch_exit: status %d: %s", st,
			 iofd_last_error());
}

static int iofd_run(struct path_ctx *c, uint64_t *exits)
{
	if (arg_of(c)->dispatch_in_handler)
		return path_run_handler(c, dispatch_handler, exits);
	return path_run_iofd(c, exits);
}

/* Doorbells seen, plus anything that should not have happened: signals
 * on the group's other item, a posted value that is not the doorbell's,
 * doorbells iofd handed back. */
static uint64_t iofd_observed(struct path_ctx *c)
{
	struct iofd_state *s = c->priv;
	uint64_t n = bench_device_observed(&c->dev), v;
	enum iofd_shape shape = arg_of(c)->shape;

	if (shape == SHAPE_GROUP && read(s->other_efd, &v, sizeof(v)) == sizeof(v))
		s->other_seen += v;
	if (n && shape == SHAPE_POST &&
	    __atomic_load_n(&s->slot, __ATOMIC_ACQUIRE) != BENCH_DOORBELL_VALUE)
		n++;
	if (n && shape == SHAPE_MEMFD && *s->memfd_slot != BENCH_DOORBELL_VALUE)
		n++;
	return n + s->other_seen + c->stray;
}

static void iofd_teardown(struct path_ctx *c)
{
	struct iofd_state *s = c->priv;

	if (s && s->memfd_map)
		munmap(s->memfd_map, (size_t)sysconf(_SC_PAGESIZE));
}

#define IOFD_PATH_K(name, shape_, in_handler, rt, kernel_)                      \
	static const struct iofd_arg name##_arg = { shape_, in_handler, kernel_ }; \
	static const struct bench_path name = {                                         \
		.with_iofd = true, .roundtrip = rt,                              \
		.priv_size = sizeof(struct iofd_state),                          \
		.setup = iofd_setup, .run = iofd_run, .observed = iofd_observed, \
		.teardown = iofd_teardown, .arg = &name##_arg,                   \
	}
#define IOFD_PATH(name, shape_, in_handler, rt) \
	IOFD_PATH_K(name, shape_, in_handler, rt, false)

IOFD_PATH(path_iofd_offload, SHAPE_OFFLOAD, false, false);
IOFD_PATH(path_iofd_offload_rt, SHAPE_OFFLOAD, false, true);
IOFD_PATH(path_iofd_user_dispatch, SHAPE_USER, true, false);
IOFD_PATH(path_iofd_user_run, SHAPE_USER, false, false);
IOFD_PATH(path_iofd_user_run_rt, SHAPE_USER, false, true);
IOFD_PATH(path_iofd_group, SHAPE_GROUP, false, false);
IOFD_PATH(path_iofd_post_addr, SHAPE_POST, false, false);
IOFD_PATH(path_iofd_post_memfd, SHAPE_MEMFD, false, false);
IOFD_PATH_K(path_iofd_post_kernel, SHAPE_POST, false, false, true);
IOFD_PATH_K(path_iofd_post_memfd_kernel, SHAPE_MEMFD, false, false, true);

/* Does a fresh iofd VM report cap (IOFD_CAP_*)? If not, why says so,
 * naming the kernel feature (what). */
static bool kernel_offers(uint32_t cap, const char *what, char *why, size_t len)
{
	struct iofd_vm_options opts = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct iofd_caps caps = { 0 };
	struct iofd_vm *vm;
	int err = iofd_vm_create(&opts, &vm);

	if (err) {
		snprintf(why, len, "cannot create a VM: %s", iofd_last_error());
		return false;
	}
	err = iofd_query_caps(vm, &caps);
	iofd_vm_destroy(vm);
	if (!err && (caps.flags & cap))
		return true;
	snprintf(why, len, "the kernel does not serve %s", what);
	return false;
}

bool bench_kernel_post_write(char *why, size_t len)
{
	return kernel_offers(IOFD_CAP_POST_WRITE_OFFLOAD, "POST_WRITE ioeventfds "
			     "(needs the kernel/post-write series)", why, len);
}

bool bench_kernel_ioregionfd(char *why, size_t len)
{
	return kernel_offers(IOFD_CAP_IOREGIONFD_OFFLOAD, "ioregionfd (needs "
			     "the kernel/ioregionfd series)", why, len);
}

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

static const struct bench_row ioeventfd_rt_rows[] = {
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

void bench_rows_ioeventfd(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_DOORBELL)
		BENCH_REGISTER_ROWS(iofd_rows);
	if (phase == BENCH_PHASE_ROUNDTRIP)
		BENCH_REGISTER_ROWS(ioeventfd_rt_rows);
}
