/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory floor of a dispatch lookup: what the random loads that
 * iofd's lookup cannot avoid cost on this machine, with nothing else done.
 *
 * The model. iofd finds an ioeventfd in a hash table with one bucket per
 * address or more (a power of two, at least 1,024), 16 bytes per bucket,
 * and the entry it finds is a 128-byte malloc chunk, with the bucket
 * pointing at it. A lookup therefore makes at least two random loads, the
 * second one's address coming from the first one's value: the bucket, then
 * the first 64 bytes of the entry (key, datamatch, generations). Here,
 * modelled as one cache line (the floor can only be lower for it):
 *   - a bucket array of the same size (max(1024, next power of two >= n)
 *     buckets of 16 bytes) and an entry array of n x 128 bytes, 64-aligned;
 *   - n used buckets, chosen at random, each naming one entry; the entries
 *     in a random order, each naming the bucket of the next lookup;
 *   - a lookup = load the bucket, then load the entry it names, so the
 *     two loads of one lookup cannot overlap. Two loops:
 *   - chained: the next lookup's bucket comes from that entry, so lookups
 *     cannot overlap either: the latency of two dependent random loads,
 *     which is what one lookup alone pays (a VMM's lookups come one per
 *     exit, microseconds apart);
 *   - overlapped: the next lookup is picked at random as iofd's loop picks
 *     its registration (a random index into an array of n keys, whose load
 *     is included), independent of the last one, so the processor may run
 *     as many lookups at once as it can track misses: the least the memory
 *     can cost per lookup in a loop like iofd's.
 * iofd's lookups are independent like the overlapped loop's, but each runs
 * about 360 instructions, which limits how many fit in the processor's
 * window at once; its time falls between the two.
 * Not modelled (iofd's lookup can only cost more): a bucket's chain walking
 * past other entries before the one looked up, and the table's small index
 * of bucket arrays. Each loop's own few instructions are included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "micro.h"

#define FLOOR_MIN_BUCKETS	1024ul	/* the smallest table iofd makes */
#define FLOOR_NONE		UINT64_MAX

/* A bucket: what it points at, and padding to a table bucket's size. */
struct floor_bucket {
	uint64_t entry;
	uint64_t pad;
};

/* An entry: which bucket the next lookup loads; the size of iofd's. */
struct floor_entry {
	uint64_t next_bucket;
	uint8_t pad[120];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct floor_bucket) == 16, "a bucket is 16 bytes");
_Static_assert(sizeof(struct floor_entry) == 128, "an entry is 128 bytes");

static unsigned long floor_bucket_count(unsigned long nreg)
{
	unsigned long nb = FLOOR_MIN_BUCKETS;

	while (nb < nreg)
		nb <<= 1;
	return nb;
}

/* n distinct random buckets, in the order the lookups visit them. */
static void pick_buckets(struct floor_bucket *b, unsigned long nb,
			 uint64_t *order, unsigned long n, uint64_t *seed)
{
	for (unsigned long k = 0; k < n; k++) {
		uint64_t i;

		do
			i = bench_rand(seed) & (nb - 1);
		while (b[i].entry != FLOOR_NONE);
		b[i].entry = 0;		/* taken; set by link_chain() */
		order[k] = i;
	}
}

/* Lookup k loads bucket order[k], which names entry perm[k], which names
 * the bucket of lookup k + 1 (the last one the first's): one cycle. */
static void link_chain(struct micro_floor *f, const uint64_t *perm)
{
	for (unsigned long k = 0; k < f->n; k++) {
		f->buckets[f->order[k]].entry = perm[k];
		f->entries[perm[k]].next_bucket = f->order[(k + 1) % f->n];
	}
}

/* Does the chase come back to its start after exactly n lookups? */
static bool chain_is_one_cycle(const struct micro_floor *f)
{
	uint64_t b = f->order[0];

	for (unsigned long k = 1; k <= f->n; k++) {
		b = f->entries[f->buckets[b].entry].next_bucket;
		if (b != f->order[k % f->n])
			return false;
	}
	return true;
}

static void shuffle(uint64_t *v, unsigned long n, uint64_t *seed)
{
	for (unsigned long i = 0; i < n; i++)
		v[i] = i;
	for (unsigned long i = n; i > 1; i--) {
		unsigned long j = bench_rand(seed) % i;
		uint64_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

int micro_floor_init(struct micro_floor *f, unsigned long nreg, char *why,
		     size_t whylen)
{
	uint64_t seed = 0xf1005000 + nreg, *perm;
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->n = nreg;
	f->nbuckets = floor_bucket_count(nreg);
	f->buckets = aligned_alloc(64, f->nbuckets * sizeof(*f->buckets));
	f->entries = aligned_alloc(64, nreg * sizeof(*f->entries));
	f->order = calloc(nreg, sizeof(*f->order));
	perm = calloc(nreg, sizeof(*perm));
	if (!f->buckets || !f->entries || !f->order || !perm) {
		snprintf(why, whylen, "out of memory for a floor of %lu", nreg);
		err = -ENOMEM;
	} else {
		/* Every byte written, so every page is there before timing. */
		memset(f->buckets, 0xff, f->nbuckets * sizeof(*f->buckets));
		memset(f->entries, 0, nreg * sizeof(*f->entries));
		pick_buckets(f->buckets, f->nbuckets, f->order, nreg, &seed);
		shuffle(perm, nreg, &seed);
		link_chain(f, perm);
		if (!chain_is_one_cycle(f)) {
			snprintf(why, whylen, "the floor's chain of %lu is not "
				 "one cycle", nreg);
			err = -EPROTO;
		}
	}
	free(perm);
	if (err)
		micro_floor_free(f);
	return err;
}

size_t micro_floor_bytes(const struct micro_floor *f)
{
	return f->nbuckets * sizeof(*f->buckets) + f->n * sizeof(*f->entries);
}

bool micro_floor_chained(const struct micro_floor *f, uint64_t iters)
{
	const struct floor_bucket *buckets = f->buckets;
	const struct floor_entry *entries = f->entries;
	uint64_t b = f->order[0];

	for (uint64_t i = 0; i < iters; i++)
		b = entries[buckets[b].entry].next_bucket;
	/* Where the chase must be: the loads were done, and done right. */
	return b == f->order[iters % f->n];
}

void micro_floor_free(struct micro_floor *f)
{
	free(f->buckets);
	free(f->entries);
	free(f->order);
	memset(f, 0, sizeof(*f));
}

uint64_t micro_floor_overlapped(const struct micro_floor *f, uint64_t iters)
{
	const struct floor_bucket *buckets = f->buckets;
	const struct floor_entry *entries = f->entries;
	const uint64_t *order = f->order;
	unsigned long n = f->n;
	uint64_t seed = 42, right = 0;

	for (uint64_t i = 0; i < iters; i++) {
		/* A multiply, not a division, as in iofd's loop. */
		size_t k = (size_t)(((bench_rand(&seed) & 0xffffffffull) * n) >> 32);
		size_t next = k + 1 == n ? 0 : k + 1;	/* same cache line, mostly */

		right += entries[buckets[order[k]].entry].next_bucket == order[next];
	}
	return right;
}
