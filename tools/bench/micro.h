/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals of the dispatch micro-benchmark, shared by its files. */
#ifndef IOFD_BENCH_MICRO_H
#define IOFD_BENCH_MICRO_H

#include <iofd/iofd.h>

#include "bench.h"

#define MICRO_EVENTFDS	1000	/* registrations spread over this many */

/* One entry of the linear-scan baseline. */
struct micro_scan_entry {
	uint64_t addr;
	uint64_t datamatch;
	uint32_t len;
};

/* A VM without KVM holding n userspace ioeventfds at random addresses. */
struct micro_vm {
	struct iofd_vm *vm;
	unsigned long n;
	uint64_t *addr;			/* address of registration i */
	uint32_t *dm;			/* its datamatch (= i) */
	struct micro_scan_entry *scan;	/* the same entries, for the scan */
	uint64_t reg_ns;		/* time taken to register them all */
};

/* Open / close n non-blocking eventfds. */
int micro_eventfds_open(int *efds, unsigned n);
void micro_eventfds_close(int *efds, unsigned n);

/* Allocate the harness arrays (touched) and create the VM. */
int micro_vm_alloc(struct micro_vm *m, unsigned long nreg, char *why,
		   size_t whylen);
/* Register m->n entries (len 4, DATAMATCH, NO_OFFLOAD) in one batch, at
 * distinct random addresses, spread over nefds eventfds. */
int micro_vm_register(struct micro_vm *m, const int *efds, unsigned nefds,
		      char *why, size_t whylen);
void micro_vm_free(struct micro_vm *m);

/* iofd_access() (or a stand-in) on `iters` random registrations: hits
 * write the entry's datamatch, misses a value no entry has. Returns the
 * number of SERVED answers. */
uint64_t micro_access_loop(const struct micro_vm *m,
			   int (*fn)(struct iofd_vm *, enum iofd_bus, uint64_t,
				     uint32_t, bool, void *, struct iofd_exit *),
			   bool hit, uint64_t iters);

/* ---- micro_floor.c: the memory floor of a lookup ---- */

/* Plain memory shaped like n registrations' hash table: a bucket array
 * and an entry array, chained into one random cycle of n lookups. */
struct micro_floor {
	struct floor_bucket *buckets;	/* nbuckets x 16 bytes */
	struct floor_entry *entries;	/* n x 128 bytes, 64-aligned */
	uint64_t *order;		/* the bucket lookup k loads */
	unsigned long n, nbuckets;
};

/* Build the floor of nreg registrations; 0 or -errno (with why). */
int micro_floor_init(struct micro_floor *f, unsigned long nreg, char *why,
		     size_t whylen);
/* Bytes of the bucket and entry arrays: the footprint modelled. */
size_t micro_floor_bytes(const struct micro_floor *f);
/* `iters` lookups, two dependent random loads each, one after another;
 * false if the chase did not end where it must. */
bool micro_floor_chained(const struct micro_floor *f, uint64_t iters);
/* `iters` lookups at random, free to overlap; returns how many found the
 * entry they must (all of them, or the floor is wrong). */
uint64_t micro_floor_overlapped(const struct micro_floor *f, uint64_t iters);
void micro_floor_free(struct micro_floor *f);

/* ---- micro_mem.c: memory per registration ---- */

struct micro_mem {
	size_t heap;		/* mallinfo2(): uordblks + hblkhd */
	size_t rss;		/* /proc/self/statm resident, in bytes */
};

void micro_mem_snapshot(struct micro_mem *m);
/* Wait for deferred frees and table resizes to finish, then snapshot. */
void micro_mem_settle(struct iofd_vm *vm, struct micro_mem *m);
/* Record the per-registration deltas in the report. */
void micro_mem_per_reg(struct micro_report *rep, const struct micro_mem *before,
		       const struct micro_mem *after, unsigned long nreg);

#endif /* IOFD_BENCH_MICRO_H */
