/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The row registry. A family of rows lives in its own file and adds its
 * descriptors with bench_register(); adding a family is one line in
 * `families` below.
 */
#include <errno.h>
#include <string.h>

#include "bench.h"

static const struct bench_row *rows[BENCH_MAX_ROWS];
static size_t nrows;

static void (*const families[])(void) = {
	bench_rows_exit,
	bench_rows_raw,
	bench_rows_hop,
	bench_rows_iofd,
	bench_rows_ioregion,
	bench_rows_roundtrip,
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
	for (size_t i = 0; families[i]; i++)
		families[i]();
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
