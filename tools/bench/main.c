/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-bench: the doorbell benchmark. A real guest rings doorbells through
 * every path (bare exits, raw kernel and userspace floors, a VMM main-loop
 * hop, iofd's paths); rows are measured in interleaved rounds and reported
 * as medians and ratios, as a table, JSON and a PNG chart. A dispatch
 * micro-benchmark without KVM follows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_OUT_DIR
#define BENCH_OUT_DIR "."
#endif

struct cli {
	struct bench_options run;
	const char *json, *chart, *out_dir, *chart_script;
	bool micro, rows, chart_on, callgrind, list;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iofd-bench [options]\n"
		"  --rows LIST     only rows whose name contains one of the\n"
		"                  comma-separated substrings (their references are\n"
		"                  added: the bare exit, the raw floor, the hop)\n"
		"  --rounds N      interleaved rounds (default 21)\n"
		"  --ops N         doorbells per row and round (default 5000;\n"
		"                  slow rows run a fraction)\n"
		"  --json FILE     write the rows as JSON (default %s/bench-results.json)\n"
		"  --chart FILE    write the PNG chart (default %s/bench-chart.png)\n"
		"  --out-dir DIR   directory for the default JSON and chart files\n"
		"  --no-chart      do not draw the chart\n"
		"  --no-micro      skip the dispatch micro-benchmark\n"
		"  --micro-only    only the dispatch micro-benchmark\n"
		"  --callgrind     also count instructions per dispatch under callgrind\n"
		"  --list          list the rows and what they measure\n"
		"  --pin           run vCPU threads on CPU 0 and device / main-loop\n"
		"                  threads on CPU 1 (default: the scheduler decides)\n"
		"  --quiet         no progress on stderr\n"
		"  --emulated      the host's CPU is emulated: say so everywhere, judge\n"
		"                  exits/op instead of times; default 5 rounds of 1000 ops\n"
		"  --chart-script FILE  write the chart's gnuplot script to FILE\n"
		"                  instead of running gnuplot\n"
		"Exit status: 0, or 1 when a row failed or lost or invented a doorbell\n"
		"(2 for bad usage). A row that misses its target is marked '!'/MISS.\n",
		BENCH_OUT_DIR, BENCH_OUT_DIR);
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse(int argc, char **argv, struct cli *c)
{
	enum { O_NOCHART = 256, O_NOMICRO, O_MICROONLY, O_CALLGRIND, O_LIST,
	       O_OUTDIR, O_PIN, O_EMULATED, O_CHARTSCRIPT };
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "ops", required_argument, NULL, 'o' },
		{ "json", required_argument, NULL, 'j' },
		{ "chart", required_argument, NULL, 'c' },
		{ "out-dir", required_argument, NULL, O_OUTDIR },
		{ "no-chart", no_argument, NULL, O_NOCHART },
		{ "no-micro", no_argument, NULL, O_NOMICRO },
		{ "micro-only", no_argument, NULL, O_MICROONLY },
		{ "callgrind", no_argument, NULL, O_CALLGRIND },
		{ "list", no_argument, NULL, O_LIST },
		{ "pin", no_argument, NULL, O_PIN },
		{ "emulated", no_argument, NULL, O_EMULATED },
		{ "chart-script", required_argument, NULL, O_CHARTSCRIPT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int ch;

	while ((ch = getopt_long(argc, argv, "r:n:o:j:c:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': c->run.rows = optarg; break;
		case 'n':
			if (!parse_u64(optarg, 1, BENCH_MAX_ROUNDS, &v))
				return -EINVAL;
			c->run.rounds = (unsigned)v;
			break;
		case 'o':
			if (!parse_u64(optarg, 100, 100000000, &v))
				return -EINVAL;
			c->run.ops = v;
			break;
		case 'j': c->json = optarg; break;
		case 'c': c->chart = optarg; break;
		case O_OUTDIR: c->out_dir = optarg; break;
		case O_NOCHART: c->chart_on = false; break;
		case O_NOMICRO: c->micro = false; break;
		case O_MICROONLY: c->rows = false; break;
		case O_CALLGRIND: c->callgrind = true; break;
		case O_LIST: c->list = true; break;
		case O_PIN: c->run.pin = true; break;
		case O_EMULATED: c->run.emulated = true; break;
		case O_CHARTSCRIPT: c->chart_script = optarg; break;
		case 'q': c->run.quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static void list_rows(void)
{
	bench_register_all();
	for (size_t i = 0; i < bench_row_count(); i++) {
		const struct bench_row *r = bench_row_at(i);

		printf("%-24s [%s] %s%s%s\n", r->name, r->section, r->what,
		       r->floor ? "; floor: " : "", r->floor ? r->floor : "");
	}
}

/* Default output file: DIR/name, unless the user named one. */
static const char *out_path(const char *given, const char *dir, const char *name,
			    char *buf, size_t len)
{
	if (given)
		return given;
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static bool results_failed(const struct bench_results *res)
{
	for (size_t i = 0; i < res->n; i++)
		if (res->r[i].failed)
			return true;
	return false;
}

static bool any_measured(const struct bench_results *res)
{
	for (size_t i = 0; i < res->n; i++)
		if (res->r[i].nsamples)
			return true;
	return false;
}

static int write_outputs(const struct cli *c, const struct bench_results *res,
			 const struct micro_report *micro)
{
	char jbuf[PATH_MAX], cbuf[PATH_MAX];
	const char *json = out_path(c->json, c->out_dir, "bench-results.json",
				    jbuf, sizeof(jbuf));
	const char *chart = out_path(c->chart, c->out_dir, "bench-chart.png",
				     cbuf, sizeof(cbuf));
	int err = bench_write_json(json, res, micro), rc = 0;

	if (err) {
		fprintf(stderr, "iofd-bench: cannot write %s: %s\n", json, strerror(-err));
		rc = 1;
	} else {
		printf("\nJSON:  %s\n", json);
	}
	if (!c->chart_on || !any_measured(res))
		return rc;
	if (c->chart_script) {
		err = bench_write_chart_script(c->chart_script, chart, res);
		if (err) {
			fprintf(stderr, "iofd-bench: cannot write %s: %s\n",
				c->chart_script, strerror(-err));
			return 1;
		}
		printf("Chart script: %s (draws %s)\n", c->chart_script, chart);
		return rc;
	}
	err = bench_write_chart(chart, res);
	if (err == -ENOENT) {
		/* The chart is the one thing gnuplot adds: say so, keep the figures. */
		fprintf(stderr, "iofd-bench: gnuplot not found: no chart drawn "
			"(make bench installs it)\n");
		return rc;
	}
	if (err) {
		fprintf(stderr, "iofd-bench: cannot draw %s with gnuplot: %s\n", chart,
			strerror(-err));
		return 1;
	}
	printf("Chart: %s\n", chart);
	return rc;
}

/* Callgrind re-executes this program: it needs the real path to it. */
static int run_callgrind(struct micro_report *micro)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(micro->note, sizeof(micro->note), "--callgrind: cannot find "
			 "this program's path");
		return 1;
	}
	self[n] = '\0';
	return bench_callgrind(micro, self) != 0;
}

/* The guest rows and their table; 1 if a row failed. */
static int run_rows(const struct cli *c, struct bench_results *res)
{
	int err = bench_run_rows(&c->run, res);

	if (err == -ENOENT)
		fprintf(stderr, "iofd-bench: no row matches --rows %s\n", c->run.rows);
	else
		bench_print_table(stdout, res);
	return err || results_failed(res);
}

/* The micro-benchmark (and callgrind) and its table; 1 on failure. */
static int run_micro(const struct cli *c, struct micro_report *micro)
{
	int rc = bench_micro(micro) != 0;

	if (c->callgrind && micro->n)
		rc |= run_callgrind(micro);
	bench_print_micro(stdout, micro);
	return rc;
}

/* Rounds and ops the user did not choose (0): fewer under emulation,
 * where every op costs tens of microseconds. */
static void default_sizes(struct cli *c)
{
	if (!c->run.rounds)
		c->run.rounds = c->run.emulated ? 5 : 21;
	if (!c->run.ops)
		c->run.ops = c->run.emulated ? 1000 : 5000;
}

int main(int argc, char **argv)
{
	struct cli c = {
		.out_dir = BENCH_OUT_DIR, .micro = true, .rows = true, .chart_on = true,
	};
	static struct bench_results res;
	static struct micro_report micro;
	char machine[160];
	int rc = 0;

	if (argc == 5 && strcmp(argv[1], "--callgrind-child") == 0)
		return bench_callgrind_child(argv[2], strtoul(argv[3], NULL, 0),
					     strtoul(argv[4], NULL, 0)) ? 1 : 0;
	if (parse(argc, argv, &c)) {
		usage(stderr);
		return 2;
	}
	default_sizes(&c);
	if (c.list) {
		list_rows();
		return 0;
	}
	bench_set_quiet(c.run.quiet);
	if (c.run.pin && bench_pin_enable(0, 1)) {
		fprintf(stderr, "iofd-bench: --pin needs two online CPUs\n");
		return 2;
	}
	bench_machine(machine, sizeof(machine));
	printf("iofd-bench on %s\n", machine);
	fflush(stdout);
	if (c.rows)
		rc |= run_rows(&c, &res);
	if (c.micro)
		rc |= run_micro(&c, &micro);
	rc |= write_outputs(&c, &res, &micro);
	return rc ? 1 : 0;
}
