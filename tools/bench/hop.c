/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The synchronous "VMM main-loop hop", the way a VMM without ioeventfd
 * serves a doorbell: the vCPU thread hands the exit to the main-loop
 * thread and waits until it has been handled; the main loop forwards the
 * doorbell value to the device thread over a socket, then releases the
 * vCPU. Two thread wake-ups per doorbell, plus the exit and the socket.
 *
 * Row: the synchronous VMM main-loop hop (what iofd must beat by 1.5x).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

struct hop_state {
	int request;		/* vCPU -> main loop (blocking eventfd) */
	int handled;		/* main loop -> vCPU (blocking eventfd) */
	int sock;		/* main loop's end of the device socket */
	uint64_t value;		/* the doorbell being handed over */
	_Atomic bool stop;
	pthread_t main_loop;
	bool running;
};

static void *main_loop(void *arg)
{
	struct hop_state *h = arg;
	uint64_t n, one = 1;

	bench_pin_self(BENCH_ROLE_DEVICE);
	while (read(h->request, &n, sizeof(n)) == sizeof(n) && !atomic_load(&h->stop)) {
		uint64_t v = __atomic_load_n(&h->value, __ATOMIC_ACQUIRE);

		if (write(h->sock, &v, sizeof(v)) != sizeof(v))
			v = 0;	/* the device count shows the loss */
		if (write(h->handled, &one, sizeof(one)) != sizeof(one))
			break;
	}
	return NULL;
}

static int hop_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct path_ctx *c = opaque;
	struct hop_state *h = c->priv;
	uint64_t v, one = 1, n;

	(void)g;
	if (!bench_exit_is_doorbell(&c->bg, run, &v)) {
		c->stray++;
		bench_exit_default(run);
		return 0;
	}
	__atomic_store_n(&h->value, v, __ATOMIC_RELEASE);
	if (write(h->request, &one, sizeof(one)) != sizeof(one) ||
	    read(h->handled, &n, sizeof(n)) != sizeof(n))
		return path_fail(c, 1, "the main loop did not answer");
	return 0;
}

static int hop_setup(struct path_ctx *c)
{
	struct hop_state *h = c->priv;
	int sv[2], err;

	h->request = path_keep_fd(c, bench_eventfd(false));
	h->handled = path_keep_fd(c, bench_eventfd(false));
	err = h->request < 0 ? h->request : h->handled < 0 ? h->handled :
	      bench_socketpair(sv);
	if (err)
		return path_fail(c, err, "eventfd/socketpair: %s", strerror(-err));
	h->sock = path_keep_fd(c, sv[0]);
	path_keep_fd(c, sv[1]);
	c->dev.peer_fd = sv[0];
	err = -pthread_create(&h->main_loop, NULL, main_loop, h);
	if (err)
		return path_fail(c, err, "main-loop thread: %s", strerror(-err));
	h->running = true;
	return path_start_device(c, sv[1], DEV_POLL_SOCKET, DEV_ANSWER_SOCKET);
}

static int hop_run(struct path_ctx *c, uint64_t *exits)
{
	return path_run_handler(c, hop_handler, exits);
}

static void hop_teardown(struct path_ctx *c)
{
	struct hop_state *h = c->priv;
	uint64_t one = 1;

	if (!h || !h->running)
		return;
	atomic_store(&h->stop, true);
	if (write(h->request, &one, sizeof(one)) != sizeof(one))
		pthread_cancel(h->main_loop);
	pthread_join(h->main_loop, NULL);
	h->running = false;
}

static const struct bench_path path_hop = {
	.priv_size = sizeof(struct hop_state),
	.setup = hop_setup, .run = hop_run, .teardown = hop_teardown,
};

static const struct bench_path path_hop_rt = {
	.roundtrip = true, .priv_size = sizeof(struct hop_state),
	.setup = hop_setup, .run = hop_run, .teardown = hop_teardown,
};

static const struct bench_row hop_rows[] = {
	{ .name = BENCH_HOP, .section = "main-loop hop", .bus = BENCH_MMIO,
	  .what = "MMIO exit handed to a main-loop thread (vCPU waits), which "
		  "writes the value to a device thread's socket",
	  .needs_kvm = true, .param = &path_hop, .ops_div = 4,
	  .measure = bench_measure_path },
};

static const struct bench_row hop_rt_rows[] = {
	RT("rt-hop-mmio", BENCH_MMIO,
	   "main-loop hop, then the device thread answers from its socket",
	   path_hop_rt, NULL, 0),
};

void bench_rows_hop(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_HOP)
		BENCH_REGISTER_ROWS(hop_rows);
	if (phase == BENCH_PHASE_ROUNDTRIP)
		BENCH_REGISTER_ROWS(hop_rt_rows);
}
