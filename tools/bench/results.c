/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * From samples to results: medians over rounds, ratios to the references
 * (the median of the per-round ratios, each taken between two measurements
 * made in the same round), and whether each row meets its target.
 */
#include <string.h>

#include "bench.h"

struct bench_result *bench_result_find(struct bench_results *res, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->r[i].row->name, name) == 0)
			return &res->r[i];
	return NULL;
}

/* Median over rounds of (row time / reference time); NAN if none. */
static double ratio_to(const struct bench_result *r, const struct bench_result *ref,
		       unsigned rounds)
{
	double v[BENCH_MAX_ROUNDS] = { 0 };
	size_t n = 0;

	if (!ref || ref == r)
		return NAN;
	for (unsigned k = 0; k < rounds; k++)
		if (r->sample_ok[k] && ref->sample_ok[k] && ref->samples[k].ns_per_op > 0)
			v[n++] = r->samples[k].ns_per_op / ref->samples[k].ns_per_op;
	return bench_median(v, n);
}

static void medians(struct bench_result *r, unsigned rounds)
{
	double t[BENCH_MAX_ROUNDS] = { 0 }, x[BENCH_MAX_ROUNDS] = { 0 };
	size_t n = 0;

	r->observed = r->expected = 0;
	for (unsigned k = 0; k < rounds; k++) {
		if (!r->sample_ok[k])
			continue;
		t[n] = r->samples[k].ns_per_op;
		x[n++] = r->samples[k].exits_per_op;
		r->observed += r->samples[k].observed;
		r->expected += r->samples[k].expected;
	}
	r->us_per_op = bench_median(t, n) / 1000.0;
	r->ops_per_s = n ? 1e6 / r->us_per_op : NAN;
	r->exits_per_op = bench_median(x, n);
}

/* Append one check to the target text; false when it fails. A check whose
 * reference was not measured cannot be judged: *unknown is set. */
static bool check(struct bench_result *r, const char *label, double ratio,
		  double limit, bool *unknown)
{
	size_t len = strlen(r->target);

	snprintf(r->target + len, sizeof(r->target) - len, "%s%s<=%.2f",
		 len ? " " : "", label, limit);
	*unknown |= isnan(ratio);
	return isnan(ratio) || ratio <= limit;
}

static void targets(struct bench_result *r)
{
	const struct bench_row *row = r->row;
	bool met = true, unknown = !r->nsamples;

	r->target[0] = '\0';
	r->has_target = row->floor_limit > 0 || row->vs_hop;
	if (row->floor_limit > 0)
		met &= check(r, "floor", r->ratio_vs_floor, row->floor_limit, &unknown);
	if (row->vs_hop)
		met &= check(r, "hop", r->ratio_vs_hop, BENCH_LIMIT_HOP, &unknown);
	r->target_unknown = r->has_target && unknown;
	r->target_met = r->has_target && met && !unknown;
}

/*
 * In an emulated host times say nothing about hardware: a row with a raw
 * floor is judged by its exits per op, which must equal the floor's; the
 * time targets are shown as not applicable.
 */
static void emulated_targets(struct bench_result *r, struct bench_results *res)
{
	const struct bench_row *row = r->row;
	const struct bench_result *floor = bench_result_find(res, row->floor);
	bool timed = row->floor_limit > 0 || row->vs_hop;

	r->target[0] = '\0';
	r->has_target = floor != NULL && floor != r;
	r->target_unknown = r->has_target && (!r->nsamples || !floor->nsamples);
	r->target_met = r->has_target && !r->target_unknown &&
			fabs(r->exits_per_op - floor->exits_per_op) <= 0.01;
	if (r->has_target)
		snprintf(r->target, sizeof(r->target), "exits=floor's %.2f%s",
			 floor->exits_per_op, timed ? "; time: n/a (emulated)" : "");
	else if (timed)
		snprintf(r->target, sizeof(r->target), "time: n/a (emulated)");
}

void bench_results_finish(struct bench_results *res)
{
	for (size_t i = 0; i < res->n; i++) {
		struct bench_result *r = &res->r[i];
		const struct bench_row *row = r->row;
		const char *exit_name = row->bus == BENCH_PIO ? BENCH_EXIT_PIO :
								 BENCH_EXIT_MMIO;

		medians(r, res->rounds);
		r->ratio_vs_exit = row->no_exit_ratio ? NAN :
			ratio_to(r, bench_result_find(res, exit_name), res->rounds);
		r->ratio_vs_floor = ratio_to(r, bench_result_find(res, row->floor),
					     res->rounds);
		r->ratio_vs_hop = ratio_to(r, bench_result_find(res, BENCH_HOP),
					   res->rounds);
		if (!res->emulated)
			targets(r);
	}
	for (size_t i = 0; res->emulated && i < res->n; i++)
		emulated_targets(&res->r[i], res);
}
