/* SPDX-License-Identifier: BSD-3-Clause */
/* The terminal tables: the rows, and the dispatch micro-benchmark. */
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void fmt_num(char *buf, size_t len, double v, const char *fmt)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
}

static const char *status_of(const struct bench_result *r)
{
	if (r->skipped)
		return "SKIP";
	if (r->failed)
		return "FAIL";
	if (r->has_target && r->target_unknown)
		return "n/a";
	if (r->has_target)
		return r->target_met ? "ok" : "MISS";
	return "";
}

static void print_row(FILE *f, const struct bench_result *r, int width)
{
	char ops[16], us[16], ex[16], vexit[16], vfloor[16], vhop[16], seen[32];

	fmt_num(ops, sizeof(ops), r->ops_per_s, "%.0f");
	fmt_num(us, sizeof(us), r->us_per_op, "%.2f");
	fmt_num(ex, sizeof(ex), r->exits_per_op, "%.2f");
	fmt_num(vexit, sizeof(vexit), r->ratio_vs_exit, "%.2f");
	fmt_num(vfloor, sizeof(vfloor), r->ratio_vs_floor, "%.3f");
	fmt_num(vhop, sizeof(vhop), r->ratio_vs_hop, "%.2f");
	snprintf(seen, sizeof(seen), "%llu/%llu", (unsigned long long)r->observed,
		 (unsigned long long)r->expected);
	fprintf(f, "%c %-*s %9s %8s %6s %6s %7s %6s %17s  %-4s %s\n",
		(r->failed || (r->has_target && !r->target_met && !r->target_unknown &&
			       !r->skipped)) ? '!' : ' ',
		width, r->row->name, ops, us, ex, vexit, vfloor, vhop,
		r->skipped ? "-" : seen, status_of(r), r->skipped ? "" : r->target);
	if (r->note[0])
		fprintf(f, "    %s\n", r->note);
}

/* Every row skipped (no /dev/kvm): one line says so. */
static bool all_skipped(FILE *f, const struct bench_results *res)
{
	for (size_t i = 0; i < res->n; i++)
		if (!res->r[i].skipped)
			return false;
	if (res->n)
		fprintf(f, "\n%s: all %zu guest rows\n", res->r[0].note, res->n);
	return true;
}

/* The row-name column: as wide as the longest name, at least 26. */
static int name_width(const struct bench_results *res)
{
	size_t w = 26;

	for (size_t i = 0; i < res->n; i++)
		if (strlen(res->r[i].row->name) > w)
			w = strlen(res->r[i].row->name);
	return (int)w;
}

void bench_print_table(FILE *f, const struct bench_results *res)
{
	const char *section = NULL;
	int width = name_width(res);

	if (all_skipped(f, res))
		return;
	fprintf(f, "\nDoorbell rows: medians of %u interleaved rounds, %llu ops per "
		"row and round (slow rows fewer); %.0f s,\nload average %.2f "
		"before and %.2f after (this machine has %ld CPUs).\n", res->rounds,
		(unsigned long long)res->ops, res->seconds, res->load_before,
		res->load_after, sysconf(_SC_NPROCESSORS_ONLN));
	if (res->emulated)
		fprintf(f, "TIMES ARE EMULATED: these rows ran in an emulated x86 host "
			"(a software CPU running KVM),\nso us/op and every time ratio "
			"say nothing about hardware and no time target is judged.\nJudged "
			"here: exits/op (each row's must equal its raw floor's) and "
			"doorbells seen/made.\n");
	fprintf(f, "Ratios are time ratios (row us/op over the reference's, median "
		"of per-round ratios): below 1 is faster.\n"
		"'vs exit' compares with the bare exit of the same kind (MMIO or "
		"PIO), 'vs floor' with the row's raw floor,\n'vs hop' with the "
		"synchronous main-loop hop; 'doorbells' is what the device saw "
		"over what the guest made.\n\n");
	fprintf(f, "  %-*s %9s %8s %6s %6s %7s %6s %17s  %-4s %s\n", width, "row", "ops/s",
		"us/op", "exits", "vs", "vs", "vs", "doorbells", "", "target");
	fprintf(f, "  %-*s %9s %8s %6s %6s %7s %6s %17s  %-4s\n", width, "", "", "",
		"/op", "exit", "floor", "hop", "seen/made", "");
	for (size_t i = 0; i < res->n; i++) {
		const struct bench_result *r = &res->r[i];

		if (!section || strcmp(section, r->row->section) != 0) {
			section = r->row->section;
			fprintf(f, "-- %s\n", section);
		}
		print_row(f, r, width);
	}
}

void bench_print_micro(FILE *f, const struct micro_report *m)
{
	if (!m->ran)
		return;
	fprintf(f, "\nDispatch micro-benchmark (no KVM): iofd_access() on userspace "
		"ioeventfds (offload off),\nrandom registered addresses, len 4 with "
		"DATAMATCH, over %u eventfds; medians; loop cost subtracted.\n"
		"  miss  = lookup + match, datamatch miss: no syscall in the loop\n"
		"  hit   = lookup + match + the eventfd write() (a syscall)\n"
		"  hit-w = hit minus a bare write() to the same eventfd (median "
		"%.0f ns), timed alongside: an estimate\n"
		"          (callgrind's 'Ir hit' counts the hit's own instructions, "
		"the syscall as one)\n"
		"  scan  = linear scan of a plain array, same miss (the baseline)\n"
		"  floor = memory floor, same run: per lookup two dependent random "
		"loads in plain memory,\n"
		"          a 16-byte bucket (of max(1024, 2^k >= regs)), then the "
		"128-byte entry it names (of regs);\n"
		"          lookups chained one after another (no overlap): x floor = "
		"miss / floor\n"
		"  flr|| = the same loads, lookups picked at random and free to "
		"overlap (as iofd's are)\n\n",
		m->eventfds, m->efd_write_ns);
	fprintf(f, "  %8s %9s %9s %9s %11s %9s %8s %9s %8s %10s", "regs",
		"miss ns", "hit ns", "hit-w ns", "scan ns", "floor ns", "x floor",
		"flr|| ns", "loop ns", "reg us/ea");
	if (m->callgrind)
		fprintf(f, " %9s %9s", "Ir miss", "Ir hit");
	fprintf(f, "  target\n");
	for (unsigned i = 0; i < m->n; i++) {
		const struct micro_point *p = &m->p[i];
		bool ok = p->miss_ns <= 100.0;

		fprintf(f, "%c %8lu %9.1f %9.1f %9.1f %11.1f %9.1f %8.2f %9.1f %8.1f "
			"%10.2f", ok ? ' ' : '!', p->nreg, p->miss_ns, p->hit_ns,
			p->hit_net_ns, p->linear_ns, p->floor_ns,
			p->miss_ns / p->floor_ns, p->floor_overlap_ns, p->loop_ns,
			p->reg_us);
		if (m->callgrind)
			fprintf(f, " %9.0f %9.0f", p->ir_miss, p->ir_hit);
		fprintf(f, "  miss<=100ns %s\n", ok ? "ok" : "MISS");
	}
	fprintf(f, "%c memory at %lu registrations: %.0f bytes/registration "
		"(mallinfo2 uordblks+hblkhd delta), %.0f bytes (statm RSS delta)  "
		"<=256 %s\n",
		m->heap_bytes_per_reg <= 256.0 ? ' ' : '!', m->mem_nreg,
		m->heap_bytes_per_reg, m->rss_bytes_per_reg,
		m->heap_bytes_per_reg <= 256.0 ? "ok" : "MISS");
	if (m->note[0])
		fprintf(f, "  %s\n", m->note);
}
