/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The measurement shared by every guest row: the guest rings `warm`
 * doorbells untimed, then `ops` timed ones; the device must have seen
 * exactly warm + ops of them (or answered as many round trips).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "path.h"

#define SETTLE_NS	(2ull * 1000 * 1000 * 1000)	/* device catch-up limit */

int path_fail(struct path_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return err;
}

int path_run_iofd(struct path_ctx *c, uint64_t *exits)
{
	uint64_t unclaimed = 0;
	int err = bench_guest_run_iofd(&c->bg, exits, &unclaimed, c->why, c->whylen);

	/* An unclaimed doorbell reached nobody: the device count shows it. */
	c->unclaimed += unclaimed;
	return err;
}

int path_run_handler(struct path_ctx *c, guest_exit_fn fn, uint64_t *exits)
{
	return bench_guest_run(&c->bg, fn, c, exits, c->why, c->whylen);
}

int path_start_device(struct path_ctx *c, int fd, enum bench_device_kind poll_kind,
		      enum bench_device_kind answer_kind)
{
	int err;

	c->dev.kind = c->path->roundtrip || c->path->reads ? answer_kind : poll_kind;
	c->dev.process = c->path->process;
	c->dev.fd = fd;
	c->dev.expect = BENCH_DOORBELL_VALUE;
	c->dev.answer = c->bg.answer;
	err = bench_device_start(&c->dev);
	return err ? path_fail(c, err, "device thread: %s", strerror(-err)) : 0;
}

int path_keep_fd(struct path_ctx *c, int fd)
{
	if (fd < 0)
		return fd;
	for (int i = 0; i < 4; i++)
		if (c->fds[i] < 0) {
			c->fds[i] = fd;
			return fd;
		}
	close(fd);
	return -EMFILE;
}

static uint64_t observed(const struct bench_path *p, struct path_ctx *c)
{
	return (p->observed ? p->observed(c) : bench_device_observed(&c->dev)) +
	       c->wrong_reads;
}

/* Wait until the device has seen `target` doorbells (or SETTLE_NS passed). */
static void settle(const struct bench_path *p, struct path_ctx *c, uint64_t target)
{
	struct timespec ts = { 0, 50 * 1000 };
	uint64_t start = bench_now_ns();

	while (observed(p, c) < target && bench_now_ns() - start < SETTLE_NS)
		nanosleep(&ts, NULL);
	/* Give an extra (invented) signal the time to show up as well. */
	ts.tv_nsec = 3 * BENCH_POLL_US * 1000;
	nanosleep(&ts, NULL);
}

/* Script n doorbells (round trips numbered from `first`), run, time. */
static int one_pass(const struct bench_path *p, struct path_ctx *c, uint64_t n,
		    uint64_t first, uint64_t *exits, uint64_t *elapsed)
{
	int err = p->roundtrip ? bench_guest_roundtrips(&c->bg, n, first) :
		  p->reads ? bench_guest_reads(&c->bg, n) :
			     bench_guest_doorbells(&c->bg, n);
	uint64_t t0;

	if (err)
		return path_fail(c, err, "guest script: %s", guest_last_error());
	err = bench_watchdog_arm(&c->bg, 10.0 + (double)n * 0.002);
	if (err)
		return path_fail(c, err, "watchdog: %s", strerror(-err));
	t0 = bench_now_ns();
	err = p->run(c, exits);
	*elapsed = bench_now_ns() - t0;
	bench_watchdog_arm(&c->bg, 0);
	if (!err && p->reads)
		c->wrong_reads += bench_guest_wrong_reads(&c->bg, n, BENCH_READ_VALUE);
	return err;
}

static void teardown(const struct bench_path *p, struct path_ctx *c)
{
	bench_device_stop(&c->dev);
	if (p->teardown)
		p->teardown(c);
	/* iofd may point into priv (a post-write slot): release it first. */
	bench_guest_close(&c->bg);
	for (int i = 0; i < 4; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->priv);
}

int bench_measure_path(const struct bench_row *row, uint64_t ops,
		       struct bench_sample *out, char *why, size_t whylen)
{
	const struct bench_path *p = row->param;
	struct path_ctx c = { .path = p, .fds = { -1, -1, -1, -1 }, .why = why,
			      .whylen = whylen };
	uint64_t warm = ops / 10 < 50 ? 50 : ops / 10, exits = 0, ns = 0;
	int err;

	c.dev.fd = c.dev.peer_fd = -1;
	err = bench_guest_open(&c.bg, row->bus, p->with_iofd, 0, p->iofd_flags,
			       why, whylen);
	if (err)
		return err;
	if (p->priv_size && !(c.priv = calloc(1, p->priv_size)))
		err = path_fail(&c, -ENOMEM, "out of memory");
	if (!err)
		err = p->setup(&c);
	if (!err)
		err = one_pass(p, &c, warm, 1, &exits, &ns);
	if (!err) {
		settle(p, &c, warm);
		err = one_pass(p, &c, ops, warm + 1, &exits, &ns);
	}
	if (!err) {
		settle(p, &c, warm + ops);
		out->ns_per_op = (double)ns / (double)ops;
		out->exits_per_op = (double)exits / (double)ops;
		out->observed = observed(p, &c);
		out->expected = warm + ops;
	}
	teardown(p, &c);
	return err;
}
