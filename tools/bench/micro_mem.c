/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory per registration: the growth of the heap in use (mallinfo2():
 * uordblks, chunks in use, plus hblkhd, chunks malloc served by mmap), and,
 * as a cross-check, of the resident set (/proc/self/statm), across the
 * registration of many ioeventfds in one VM. Both include the eventfd
 * records iofd keeps (one per distinct eventfd), not the kernel's memory.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "micro.h"

void micro_mem_snapshot(struct micro_mem *m)
{
	struct mallinfo2 mi = mallinfo2();
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	m->heap = mi.uordblks + mi.hblkhd;
	m->rss = resident * (size_t)sysconf(_SC_PAGESIZE);
}

void micro_mem_settle(struct iofd_vm *vm, struct micro_mem *m)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct micro_mem prev = { 0 };
	int stable = 0;

	/* Retired memory goes after a grace period; the hash table resizes
	 * in liburcu's worker: wait until three snapshots agree (max 1 s). */
	for (int i = 0; i < 50 && stable < 3; i++) {
		if (vm)
			iofd_quiesce(vm);
		micro_mem_snapshot(m);
		stable = m->heap == prev.heap ? stable + 1 : 0;
		prev = *m;
		nanosleep(&pause, NULL);
	}
}

void micro_mem_per_reg(struct micro_report *rep, const struct micro_mem *before,
		       const struct micro_mem *after, unsigned long nreg)
{
	rep->mem_nreg = nreg;
	rep->heap_bytes_per_reg = ((double)after->heap - (double)before->heap) /
				  (double)nreg;
	rep->rss_bytes_per_reg = ((double)after->rss - (double)before->rss) /
				 (double)nreg;
}
