/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PNG bar chart: us/op of every measured row (log scale), coloured by
 * section, beside the 2009 iosignalfd doorbell numbers. Drawn by gnuplot
 * (pngcairo terminal, plain png as a fallback) from a script we write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const unsigned palette[] = {
	0x4477aa, 0xcc6677, 0x228833, 0xccbb44, 0x66ccee, 0xaa3377, 0xee7733,
	0x009988,
};
#define SEED_COLOUR 0x999999

/* The 2009 doorbell table (iosignalfd v5 cover letter), for scale. */
static const struct { const char *name; double us; } seed_rows[] = {
	{ "2009 qemu-mmio", 9.09 },
	{ "2009 iosignalfd-mmio", 5.00 },
	{ "2009 iosignalfd-pio", 2.72 },
};

/* Colour of a section: the order in which sections first appear. */
static unsigned section_colour(const struct bench_results *res, const char *section)
{
	const char *seen[BENCH_MAX_ROWS];
	size_t n = 0;

	for (size_t i = 0; i < res->n; i++) {
		const char *s = res->r[i].row->section;
		bool known = false;

		for (size_t j = 0; j < n; j++)
			known |= strcmp(seen[j], s) == 0;
		if (!known)
			seen[n++] = s;
		if (strcmp(s, section) == 0)
			for (size_t j = 0; j < n; j++)
				if (strcmp(seen[j], s) == 0)
					return palette[j % (sizeof(palette) / sizeof(palette[0]))];
	}
	return palette[0];
}

static void write_data(FILE *f, const struct bench_results *res)
{
	int x = 0;

	fputs("$rows << EOD\n", f);
	for (size_t i = 0; i < res->n; i++) {
		const struct bench_result *r = &res->r[i];

		if (r->nsamples && !isnan(r->us_per_op))
			fprintf(f, "%d \"%s%s\" %.4f %u\n", x++, r->row->name,
				r->failed ? " (FAIL)" : "", r->us_per_op,
				section_colour(res, r->row->section));
	}
	for (size_t i = 0; i < sizeof(seed_rows) / sizeof(seed_rows[0]); i++)
		fprintf(f, "%d \"%s\" %.4f %u\n", x++, seed_rows[i].name,
			seed_rows[i].us, SEED_COLOUR);
	fputs("EOD\n", f);
}

static void write_legend(FILE *f, const struct bench_results *res)
{
	const char *done[BENCH_MAX_ROWS];
	size_t n = 0;

	for (size_t i = 0; i < res->n; i++) {
		const char *s = res->r[i].row->section;
		bool known = false;

		for (size_t j = 0; j < n; j++)
			known |= strcmp(done[j], s) == 0;
		if (known || !res->r[i].nsamples)
			continue;
		done[n++] = s;
		fprintf(f, ", keyentry with boxes lc rgb %u title \"%s\"",
			section_colour(res, s), s);
	}
	fprintf(f, ", keyentry with boxes lc rgb %u title \"2009 seed (other machine)\"",
		SEED_COLOUR);
}

static int write_script(const char *script, const char *png, const char *terminal,
			const struct bench_results *res)
{
	char machine[160];
	FILE *f = fopen(script, "we");

	if (!f)
		return -errno;
	bench_machine(machine, sizeof(machine));
	fprintf(f, "set terminal %s size 1600,850\nset output \"%s\"\n"
		"set termoption noenhanced\n", terminal, png);
	write_data(f, res);
	fprintf(f, "set title \"iofd doorbell benchmark: microseconds per operation "
		"(median of %u rounds; lower is faster)%s\\n%s\"\n", res->rounds,
		res->emulated ? " - EMULATED CPU: times are not hardware's, "
				"compare exits/op" : "", machine);
	fputs("set style fill solid 0.85 border -1\nset boxwidth 0.75\n"
	      "set logscale y\nset ylabel \"us per op (log scale)\"\n"
	      "set grid ytics\nset xtics rotate by -50 scale 0\n"
	      "set bmargin 14\nset rmargin 10\nset key above horizontal\n"
	      "set yrange [0.5:*]\n", f);
	fputs("plot $rows using 1:3:4:xtic(2) with boxes lc rgb variable notitle, "
	      "$rows using 1:3:(sprintf(\"%.1f\", $3)) with labels offset 0,0.7 "
	      "font \",8\" notitle", f);
	write_legend(f, res);
	fputs("\n", f);
	return fclose(f) ? -errno : 0;
}

static int run_gnuplot(const char *script)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -EIO;
	return WEXITSTATUS(status) == 127 ? -ENOENT :
	       WEXITSTATUS(status) ? -EIO : 0;
}

int bench_write_chart(const char *path, const struct bench_results *res)
{
	static const char *terminals[] = { "pngcairo font \"sans,10\"", "png" };
	char script[] = "/tmp/iofd-bench-chart-XXXXXX";
	int fd = mkstemp(script), err = -EIO;

	if (fd < 0)
		return -errno;
	close(fd);
	for (size_t t = 0; t < 2 && err && err != -ENOENT; t++) {
		err = write_script(script, path, terminals[t], res);
		if (!err)
			err = run_gnuplot(script);
	}
	unlink(script);
	return err;
}

int bench_write_chart_script(const char *script, const char *png,
			     const struct bench_results *res)
{
	return write_script(script, png, "pngcairo font \"sans,10\"", res);
}
