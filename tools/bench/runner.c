/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The runner: pick the rows (and the references they are compared with),
 * then measure every row once per round, in an order shuffled anew each
 * round. A row is always measured next to its raw floor (they share a
 * block), so the ratio the targets judge compares two measurements taken
 * a fraction of a second apart. Rounds are short and many: a slow drift
 * of the machine cancels out in the per-round ratios, and a burst of load
 * that hits one row more than another lands in different places each
 * round, where the medians discard it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Does `name` contain one of the comma-separated substrings of `list`? */
static bool name_selected(const char *name, const char *list)
{
	const char *p = list;

	if (!list || !*list)
		return true;
	while (*p) {
		size_t n = strcspn(p, ",");
		char tok[64];

		if (n && n < sizeof(tok)) {
			memcpy(tok, p, n);
			tok[n] = '\0';
			if (strstr(name, tok))
				return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static struct bench_result *add_result(struct bench_results *res,
				       const struct bench_row *row)
{
	struct bench_result *r;

	for (size_t i = 0; i < res->n; i++)
		if (res->r[i].row == row)
			return &res->r[i];
	r = &res->r[res->n++];
	memset(r, 0, sizeof(*r));
	r->row = row;
	return r;
}

/* Mark the rows compared with `row` as selected too. */
static void select_references(struct bench_results *res, const struct bench_row *row)
{
	const char *refs[3] = {
		row->no_exit_ratio ? NULL :
		row->bus == BENCH_PIO ? BENCH_EXIT_PIO : BENCH_EXIT_MMIO,
		row->floor,
		row->vs_hop ? BENCH_HOP : NULL,
	};

	for (int i = 0; i < 3; i++) {
		const struct bench_row *ref = refs[i] ? bench_row_find(refs[i]) : NULL;

		if (ref)
			add_result(res, ref)->selected = true;
	}
}

/* Fill res with the selected rows, in registration order. */
static void select_rows(const char *list, struct bench_results *res)
{
	struct bench_results picked = { 0 };

	for (size_t i = 0; i < bench_row_count(); i++) {
		const struct bench_row *row = bench_row_at(i);

		if (name_selected(row->name, list)) {
			add_result(&picked, row)->selected = true;
			select_references(&picked, row);
		}
	}
	res->n = 0;
	for (size_t i = 0; i < bench_row_count(); i++)
		for (size_t j = 0; j < picked.n; j++)
			if (picked.r[j].row == bench_row_at(i))
				add_result(res, picked.r[j].row)->selected = true;
}

static bool kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static uint64_t row_ops(const struct bench_row *row, uint64_t ops)
{
	uint64_t n = ops / (row->ops_div ? row->ops_div : 1);

	return n < 100 ? 100 : n;
}

/* Measure one row once (round k) and record what happened. */
static void measure_once(struct bench_result *r, unsigned k, uint64_t ops,
			 unsigned rounds)
{
	struct bench_sample s = { 0 };
	char why[160] = "";
	int err = r->row->measure(r->row, row_ops(r->row, ops), &s, why, sizeof(why));

	if (err) {
		r->failed = true;
		snprintf(r->note, sizeof(r->note), "error %d: %s", err,
			 why[0] ? why : strerror(-err));
		bench_progress("  [%u/%u] %-26s FAILED: %s", k + 1, rounds,
			       r->row->name, r->note);
		return;
	}
	r->samples[k] = s;
	r->sample_ok[k] = true;
	r->nsamples++;
	if (s.observed != s.expected) {
		r->failed = true;
		snprintf(r->note, sizeof(r->note),
			 "device saw %llu doorbells, guest made %llu (round %u)",
			 (unsigned long long)s.observed,
			 (unsigned long long)s.expected, k + 1);
	}
	bench_progress("  [%u/%u] %-26s %9.2f us/op %6.2f exits/op%s", k + 1,
		       rounds, r->row->name, s.ns_per_op / 1000.0, s.exits_per_op,
		       s.observed != s.expected ? "  LOST/INVENTED DOORBELLS" : "");
}

/* Shuffle n indices in place. */
static void shuffle(size_t *v, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(bench_rand(seed) % i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The result a row is measured next to: its floor when that is selected,
 * else the row itself. */
static size_t block_of(struct bench_results *res, size_t i)
{
	struct bench_result *floor = bench_result_find(res, res->r[i].row->floor);

	return floor ? (size_t)(floor - res->r) : i;
}

/*
 * This round's order: rows are grouped in blocks (a raw floor with the
 * rows compared with it), blocks are shuffled, and so are the rows within
 * each block. The same round gets the same order in every run.
 */
static void round_order(struct bench_results *res, unsigned round, size_t *order)
{
	uint64_t seed = 0x5eed0000ull + round;
	size_t blocks[BENCH_MAX_ROWS], nblocks = 0, n = 0;

	for (size_t i = 0; i < res->n; i++)
		if (block_of(res, i) == i)
			blocks[nblocks++] = i;
	shuffle(blocks, nblocks, &seed);
	for (size_t b = 0; b < nblocks; b++) {
		size_t first = n;

		for (size_t i = 0; i < res->n; i++)
			if (block_of(res, i) == blocks[b])
				order[n++] = i;
		shuffle(order + first, n - first, &seed);
	}
}

static bool runnable(const struct bench_result *r)
{
	/* A row that errored is not retried; a miscount keeps being measured. */
	return !r->skipped && !(r->failed && !r->nsamples);
}

int bench_run_rows(const struct bench_options *opt, struct bench_results *res)
{
	char kvm_why[128];
	bool kvm = kvm_usable(kvm_why, sizeof(kvm_why));
	uint64_t t0;

	bench_register_all();
	select_rows(opt->rows, res);
	res->rounds = opt->rounds > BENCH_MAX_ROUNDS ? BENCH_MAX_ROUNDS : opt->rounds;
	res->ops = opt->ops;
	res->emulated = opt->emulated;
	if (!res->n)
		return -ENOENT;
	for (size_t i = 0; i < res->n; i++) {
		struct bench_result *r = &res->r[i];

		char why[128] = "";

		if (r->row->needs_kvm && !kvm) {
			r->skipped = true;
			snprintf(r->note, sizeof(r->note), "SKIP: %s", kvm_why);
		} else if (r->row->available && !r->row->available(why, sizeof(why))) {
			r->skipped = true;
			snprintf(r->note, sizeof(r->note), "SKIP: %s", why);
		}
	}
	if (!kvm)
		bench_progress("SKIP: guest rows (%s)", kvm_why);
	res->load_before = bench_loadavg();
	t0 = bench_now_ns();
	for (unsigned k = 0; k < res->rounds && kvm; k++) {
		size_t order[BENCH_MAX_ROWS];

		bench_progress("round %u of %u", k + 1, res->rounds);
		round_order(res, k, order);
		for (size_t j = 0; j < res->n; j++) {
			struct bench_result *r = &res->r[order[j]];

			if (runnable(r))
				measure_once(r, k, opt->ops, res->rounds);
		}
	}
	res->seconds = (double)(bench_now_ns() - t0) / 1e9;
	res->load_after = bench_loadavg();
	bench_results_finish(res);
	return 0;
}
