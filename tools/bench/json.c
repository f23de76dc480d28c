/* SPDX-License-Identifier: BSD-3-Clause */
/* The results as JSON: one object per row, and the micro-benchmark. */
#include <errno.h>
#include <string.h>

#include "bench.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A number, or null when it is not one. */
static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

/* `, "key": number` (null when not a number). */
static void json_field(FILE *f, const char *key, double v)
{
	fprintf(f, ", \"%s\": ", key);
	json_num(f, v);
}

static const char *status_of(const struct bench_result *r)
{
	if (r->skipped)
		return "skip";
	if (r->failed)
		return "fail";
	if (r->has_target && r->target_unknown)
		return "n/a";
	if (r->has_target)
		return r->target_met ? "ok" : "miss";
	return "ok";
}

static void json_row(FILE *f, const struct bench_result *r, bool last)
{
	fputs("    {\"name\": ", f);
	json_str(f, r->row->name);
	fputs(", \"section\": ", f);
	json_str(f, r->row->section);
	fputs(", \"what\": ", f);
	json_str(f, r->row->what);
	fprintf(f, ", \"bus\": \"%s\",\n     \"ops_per_s\": ",
		r->row->bus == BENCH_PIO ? "pio" : "mmio");
	json_num(f, r->ops_per_s);
	json_field(f, "us_per_op", r->us_per_op);
	json_field(f, "exits_per_op", r->exits_per_op);
	json_field(f, "ratio_vs_exit", r->ratio_vs_exit);
	json_field(f, "ratio_vs_floor", r->ratio_vs_floor);
	json_field(f, "ratio_vs_hop", r->ratio_vs_hop);
	fprintf(f, ",\n     \"observed\": %llu, \"expected\": %llu, \"samples\": %u, "
		"\"floor\": ", (unsigned long long)r->observed,
		(unsigned long long)r->expected, r->nsamples);
	if (r->row->floor)
		json_str(f, r->row->floor);
	else
		fputs("null", f);
	fputs(", \"samples_us\": [", f);
	for (unsigned k = 0, first = 1; k < BENCH_MAX_ROUNDS; k++)
		if (r->sample_ok[k]) {
			fprintf(f, "%s%.3f", first ? "" : ", ",
				r->samples[k].ns_per_op / 1000.0);
			first = 0;
		}
	fputs("],\n     \"target\": ", f);
	json_str(f, r->target);
	fprintf(f, ", \"status\": \"%s\", \"note\": ", status_of(r));
	json_str(f, r->note);
	fprintf(f, "}%s\n", last ? "" : ",");
}

static void json_micro(FILE *f, const struct micro_report *m)
{
	fputs("  \"micro\": {\"eventfds\": ", f);
	fprintf(f, "%u, \"eventfd_write_ns\": ", m->eventfds);
	json_num(f, m->efd_write_ns);
	fprintf(f, ", \"memory_registrations\": %lu, \"heap_bytes_per_registration\": ",
		m->mem_nreg);
	json_num(f, m->heap_bytes_per_reg);
	json_field(f, "rss_bytes_per_registration", m->rss_bytes_per_reg);
	fputs(", \"note\": ", f);
	json_str(f, m->note);
	fputs(",\n    \"points\": [\n", f);
	for (unsigned i = 0; i < m->n; i++) {
		const struct micro_point *p = &m->p[i];

		fprintf(f, "      {\"registrations\": %lu, \"miss_ns\": ", p->nreg);
		json_num(f, p->miss_ns);
		json_field(f, "hit_ns", p->hit_ns);
		json_field(f, "hit_minus_write_ns", p->hit_net_ns);
		json_field(f, "linear_scan_ns", p->linear_ns);
		json_field(f, "loop_ns", p->loop_ns);
		json_field(f, "memory_floor_ns", p->floor_ns);
		json_field(f, "miss_over_memory_floor", p->miss_ns / p->floor_ns);
		json_field(f, "memory_floor_overlapped_ns", p->floor_overlap_ns);
		fprintf(f, ", \"memory_floor_buckets\": %lu, \"memory_floor_bytes\": %zu",
			p->floor_buckets, p->floor_bytes);
		json_field(f, "register_us", p->reg_us);
		json_field(f, "callgrind_ir_miss", m->callgrind ? p->ir_miss : NAN);
		json_field(f, "callgrind_ir_hit", m->callgrind ? p->ir_hit : NAN);
		fprintf(f, "}%s\n", i + 1 == m->n ? "" : ",");
	}
	fputs("    ]}\n", f);
}

int bench_write_json(const char *path, const struct bench_results *res,
		     const struct micro_report *m)
{
	char machine[160];
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	bench_machine(machine, sizeof(machine));
	fputs("{\n  \"machine\": ", f);
	json_str(f, machine);
	fputs(",\n  \"cpu\": ", f);
	json_str(f, res->emulated ? "emulated" : "native");
	fprintf(f, ",\n  \"rounds\": %u, \"ops\": %llu, \"seconds\": ", res->rounds,
		(unsigned long long)res->ops);
	json_num(f, res->seconds);
	json_field(f, "load_before", res->load_before);
	json_field(f, "load_after", res->load_after);
	fputs(",\n  \"rows\": [\n", f);
	for (size_t i = 0; i < res->n; i++)
		json_row(f, &res->r[i], i + 1 == res->n);
	fputs("  ]", f);
	if (m && m->ran) {
		fputs(",\n", f);
		json_micro(f, m);
	} else {
		fputs("\n", f);
	}
	fputs("}\n", f);
	return fclose(f) ? -errno : 0;
}
