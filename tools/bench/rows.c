/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The row registry. Each mechanism's rows live in its own file (with its
 * paths) and are added with bench_register(), section by section (enum
 * bench_phase); adding a mechanism is one line in `families` below.
 */
#include <errno.h>
#include <string.h>

#include "bench.h"

static const struct bench_row *rows[BENCH_MAX_ROWS];
static size_t nrows;

static void (*const families[])(enum bench_phase) = {
	bench_rows_exit,
	bench_rows_raw,
	bench_rows_hop,
	bench_rows_ioeventfd,
	bench_rows_ioregion,
	bench_rows_irqfd,
	NULL,
};

int bench_register(const struct bench_row *row)
{
	if (bench_row_find(row->name))
		return -EEXIST;
	if (nrows == BENCH_MAX_ROWS)
		return -ENOSPC;
	rows[nrows++] = row;
	return 0;
}

int bench_register_rows(const struct bench_row *table, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = bench_register(&table[i]);
	return err;
}

void bench_register_all(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	for (int p = 0; p < BENCH_NR_PHASES; p++)
		for (size_t i = 0; families[i]; i++)
			families[i]((enum bench_phase)p);
}

size_t bench_row_count(void)
{
	return nrows;
}

const struct bench_row *bench_row_at(size_t i)
{
	return i < nrows ? rows[i] : NULL;
}

const struct bench_row *bench_row_find(const char *name)
{
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i]->name, name) == 0)
			return rows[i];
	return NULL;
}
