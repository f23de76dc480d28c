/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The raw floors: what each of iofd's paths costs at least, written with
 * plain syscalls and ioctls on the guest iofd never sees:
 *   - exit + eventfd write()           (floor of a userspace ioeventfd)
 *   - exit + store + eventfd write()   (floor of a post-write ioeventfd)
 *   - exit + one write() on a socket   (floor of a posted ioregionfd write)
 *   - exit + socket round trip         (floor of a synchronous ioregionfd
 *                                        write; a read exit + the same
 *                                        round trip for its reads)
 * each socket floor to a device thread and to a device process;
 *   - KVM_IOEVENTFD                    (floor of an offloaded ioeventfd)
 *   - KVM_IOEVENTFD with POST_WRITE    (floor of an offloaded post-write;
 *                                       a kernel with the series only)
 *
 * Rows: the raw floors, plain syscalls and ioctls with no iofd in the path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <iofd/kvm-unmerged.h>

#include "path.h"

/* What the floors keep between setup and run. */
struct raw_state {
	int efd;			/* eventfd the handler signals */
	int sock;			/* the VMM's socket end */
	uint32_t slot;			/* where the store floor stores */
};

static void signal_eventfd(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;	/* a lost signal shows in the device's count */
}

static int eventfd_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	struct raw_state *s = c->priv;
	uint64_t v;

	(void)g;
	if (!bench_exit_is_doorbell(&c->bg, run, &v)) {
		c->stray++;
		bench_exit_default(run);
		return 0;
	}
	if (c->path->arg)	/* the store floor */
		__atomic_store_n(&s->slot, (uint32_t)v, __ATOMIC_RELEASE);
	signal_eventfd(s->efd);
	return 0;
}

static int eventfd_setup(struct path_ctx *c)
{
	struct raw_state *s = c->priv;
	int fd = path_keep_fd(c, bench_eventfd(!c->path->roundtrip));

	if (fd < 0)
		return path_fail(c, fd, "eventfd: %s", strerror(-fd));
	s->efd = fd;
	return path_start_device(c, fd, DEV_POLL_EVENTFD, DEV_ANSWER_EVENTFD);
}

static int eventfd_run(struct path_ctx *c, uint64_t *exits)
{
	return path_run_handler(c, eventfd_handler, exits);
}

static const int store_too = 1;

static const struct bench_path path_raw_eventfd = {
	.priv_size = sizeof(struct raw_state),
	.setup = eventfd_setup, .run = eventfd_run,
};

static const struct bench_path path_raw_eventfd_rt = {
	.roundtrip = true, .priv_size = sizeof(struct raw_state),
	.setup = eventfd_setup, .run = eventfd_run,
};

static const struct bench_path path_raw_store_eventfd = {
	.priv_size = sizeof(struct raw_state),
	.setup = eventfd_setup, .run = eventfd_run, .arg = &store_too,
};

/* ---- sockets ------------------------------------------------------------ */

/* One value to the device; with `reply`, wait for its echo. */
static int socket_exchange(struct path_ctx *c, uint64_t v, bool reply, uint64_t *back)
{
	struct raw_state *s = c->priv;

	if (write(s->sock, &v, sizeof(v)) != sizeof(v))
		return path_fail(c, 1, "write() on the device socket failed");
	if (reply && (read(s->sock, back, sizeof(*back)) != sizeof(*back) || *back != v))
		return path_fail(c, 1, "the device's reply was lost or wrong");
	return 0;
}

static int socket_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	uint64_t v, back = 0;
	int err;

	(void)g;
	if (c->path->reads && bench_exit_is_read(&c->bg, run)) {
		/* A read: ask the device, hand its answer to the guest. */
		err = socket_exchange(c, BENCH_READ_VALUE, true, &back);
		bench_exit_read_value(run, back);
		return err;
	}
	if (!bench_exit_is_doorbell(&c->bg, run, &v)) {
		c->stray++;
		bench_exit_default(run);
		return 0;
	}
	return socket_exchange(c, v, c->path->arg != NULL, &back);
}

static int socket_setup(struct path_ctx *c)
{
	struct raw_state *s = c->priv;
	bool echo = c->path->arg != NULL;
	int sv[2], err = bench_socketpair(sv);

	if (err)
		return path_fail(c, err, "socketpair: %s", strerror(-err));
	s->sock = path_keep_fd(c, sv[0]);
	path_keep_fd(c, sv[1]);
	c->dev.peer_fd = sv[0];
	return path_start_device(c, sv[1], echo ? DEV_ECHO_SOCKET : DEV_POLL_SOCKET,
				 DEV_ECHO_SOCKET);
}

static int socket_run(struct path_ctx *c, uint64_t *exits)
{
	return path_run_handler(c, socket_handler, exits);
}

static const int echo_reply = 1;

#define SOCKET_PATH(name, reply, reads_, process_)                               	const struct bench_path name = {                                         		.reads = reads_, .process = process_,                            		.priv_size = sizeof(struct raw_state),                           		.setup = socket_setup, .run = socket_run, .arg = reply,          	}

SOCKET_PATH(path_raw_socket_write, NULL, false, false);
SOCKET_PATH(path_raw_socket_write_proc, NULL, false, true);
SOCKET_PATH(path_raw_socket_rt, &echo_reply, false, false);
SOCKET_PATH(path_raw_socket_rt_proc, &echo_reply, false, true);
SOCKET_PATH(path_raw_socket_read, &echo_reply, true, false);
SOCKET_PATH(path_raw_socket_read_proc, &echo_reply, true, true);

/* ---- KVM_IOEVENTFD ------------------------------------------------------ */

/* Exits that should not happen: a doorbell here was not offloaded. */
static int offload_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	uint64_t v;

	(void)g;
	if (bench_exit_is_doorbell(&c->bg, run, &v))
		c->unclaimed++;
	else
		c->stray++;
	bench_exit_default(run);
	return 0;
}

static int kvm_setup(struct path_ctx *c)
{
	struct raw_state *s = c->priv;
	struct kvm_ioeventfd k = {
		.addr = c->bg.bus == BENCH_PIO ? BENCH_DOORBELL_PORT : BENCH_DOORBELL_MMIO,
		.len = BENCH_DOORBELL_LEN,
		.flags = c->bg.bus == BENCH_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0,
	};
	int fd = path_keep_fd(c, bench_eventfd(!c->path->roundtrip));

	if (fd < 0)
		return path_fail(c, fd, "eventfd: %s", strerror(-fd));
	s->efd = k.fd = fd;
	if (ioctl(c->bg.g.vm_fd, KVM_IOEVENTFD, &k) < 0)
		return path_fail(c, -errno, "KVM_IOEVENTFD: %s", strerror(errno));
	return path_start_device(c, fd, DEV_POLL_EVENTFD, DEV_ANSWER_EVENTFD);
}

int path_run_offloaded(struct path_ctx *c, uint64_t *exits)
{
	return path_run_handler(c, offload_handler, exits);
}

/* The same doorbell as a POST_WRITE ioeventfd into s->slot. */
static int kvm_post_setup(struct path_ctx *c)
{
	struct raw_state *s = c->priv;
	struct kvm_ioeventfd_post k = {
		.addr = c->bg.bus == BENCH_PIO ? BENCH_DOORBELL_PORT : BENCH_DOORBELL_MMIO,
		.len = BENCH_DOORBELL_LEN,
		.flags = KVM_IOEVENTFD_FLAG_POST_WRITE |
			 (c->bg.bus == BENCH_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0),
		.post_addr = (uint64_t)(uintptr_t)&s->slot,
	};
	int fd = path_keep_fd(c, bench_eventfd(!c->path->roundtrip));

	if (fd < 0)
		return path_fail(c, fd, "eventfd: %s", strerror(-fd));
	s->efd = k.fd = fd;
	if (ioctl(c->bg.g.vm_fd, KVM_IOEVENTFD, &k) < 0)
		return path_fail(c, -errno, "KVM_IOEVENTFD with POST_WRITE: %s",
				 strerror(errno));
	return path_start_device(c, fd, DEV_POLL_EVENTFD, DEV_ANSWER_EVENTFD);
}

/* Doorbells seen, plus one if the posted value is not the doorbell's. */
static uint64_t kvm_post_observed(struct path_ctx *c)
{
	struct raw_state *s = c->priv;
	uint64_t n = bench_device_observed(&c->dev);

	if (n && __atomic_load_n(&s->slot, __ATOMIC_ACQUIRE) != BENCH_DOORBELL_VALUE)
		n++;
	return n + c->stray;
}

static const struct bench_path path_raw_kvm_post_write = {
	.priv_size = sizeof(struct raw_state),
	.setup = kvm_post_setup, .run = path_run_offloaded,
	.observed = kvm_post_observed,
};

static const struct bench_path path_raw_kvm_ioeventfd = {
	.priv_size = sizeof(struct raw_state),
	.setup = kvm_setup, .run = path_run_offloaded,
};

static const struct bench_path path_raw_kvm_ioeventfd_rt = {
	.roundtrip = true, .priv_size = sizeof(struct raw_state),
	.setup = kvm_setup, .run = path_run_offloaded,
};

#define RAW(name_, bus_, what_, path_, div_)                                    \
	{ .name = name_, .section = "raw floor", .bus = bus_, .what = what_,   \
	  .needs_kvm = true, .param = &path_, .ops_div = div_,                 \
	  .measure = bench_measure_path }

/* KVM_SET_IOREGION (kernel series), no iofd: the kernel serves the region
 * from the vCPU thread, no exit. */

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
};

static const struct bench_row raw_rt_rows[] = {
	RT("rt-raw-eventfd-mmio", BENCH_MMIO,
	   "exit + eventfd write(); a device thread answers",
	   path_raw_eventfd_rt, NULL, 0),
	RT("rt-raw-kvm-ioeventfd-mmio", BENCH_MMIO,
	   "KVM_IOEVENTFD; a device thread answers",
	   path_raw_kvm_ioeventfd_rt, NULL, 0),
	RT("rt-raw-kvm-ioeventfd-pio", BENCH_PIO,
	   "KVM_IOEVENTFD; a device thread answers",
	   path_raw_kvm_ioeventfd_rt, NULL, 0),
};

void bench_rows_raw(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_RAW)
		BENCH_REGISTER_ROWS(raw_rows);
	if (phase == BENCH_PHASE_ROUNDTRIP)
		BENCH_REGISTER_ROWS(raw_rt_rows);
}
