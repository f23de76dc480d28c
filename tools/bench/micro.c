/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatch micro-benchmark, without KVM: what iofd_access() costs to
 * find and match a userspace ioeventfd among 1 .. 100,000 registrations at
 * random addresses, beside a linear scan of a plain array and beside the memory
 * floor of the same lookups (micro_floor.c), and what each registration
 * costs in memory.
 *
 * The miss loop writes a value no entry's datamatch equals, so the call
 * runs the whole lookup and match and no syscall. The hit loop matches and
 * therefore signals the eventfd (one write()); a bare eventfd write() is
 * timed alongside so the report can show the hit with it subtracted. Every
 * loop checks what iofd answered, and the hits are counted on the eventfds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <iofd/iofd.h>

#include "bench.h"
#include "micro.h"

#define MICRO_REPS		5
#define MICRO_TARGET_NS		15000000ull	/* ~15 ms per timed loop */
#define MICRO_MISS_VALUE	0xdeadbeefu	/* above every datamatch used */

static const unsigned long micro_sizes[MICRO_SIZES] = { 1, 100, 10000, 100000 };

int micro_eventfds_open(int *efds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efds[i] < 0) {
			int err = -errno;

			micro_eventfds_close(efds, i);
			return err;
		}
	}
	return 0;
}

void micro_eventfds_close(int *efds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(efds[i]);
}

/* Sum (and reset) the counters of the eventfds. */
static uint64_t eventfds_drain(const int *efds, unsigned n)
{
	uint64_t total = 0, v;

	for (unsigned i = 0; i < n; i++)
		if (read(efds[i], &v, sizeof(v)) == sizeof(v))
			total += v;
	return total;
}

int micro_vm_alloc(struct micro_vm *m, unsigned long nreg, char *why,
		   size_t whylen)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->n = nreg;
	m->addr = calloc(nreg, sizeof(*m->addr));
	m->dm = calloc(nreg, sizeof(*m->dm));
	m->scan = calloc(nreg, sizeof(*m->scan));
	if (!m->addr || !m->dm || !m->scan) {
		snprintf(why, whylen, "out of memory for %lu registrations", nreg);
		return -ENOMEM;
	}
	/* Touch the arrays now, so their pages do not count as iofd's. */
	memset(m->addr, 0xff, nreg * sizeof(*m->addr));
	memset(m->dm, 0xff, nreg * sizeof(*m->dm));
	memset(m->scan, 0xff, nreg * sizeof(*m->scan));
	err = iofd_vm_create(NULL, &m->vm);
	if (err)
		snprintf(why, whylen, "iofd_vm_create: %s", iofd_last_error());
	return err;
}

int micro_vm_register(struct micro_vm *m, const int *efds, unsigned nefds,
		      char *why, size_t whylen)
{
	uint64_t seed = 0x10fd0000 + m->n, t0 = bench_now_ns();
	int err = iofd_batch_begin(m->vm);

	for (unsigned long i = 0; i < m->n && !err; i++) {
		struct iofd_ioeventfd a = {
			.datamatch = i, .len = 4, .fd = efds[i % nefds],
			.flags = IOFD_IOEVENTFD_FLAG_DATAMATCH |
				 IOFD_IOEVENTFD_FLAG_NO_OFFLOAD,
		};

		do {
			/* 4-aligned addresses in a 16 TiB space. */
			a.addr = bench_rand(&seed) & ((1ull << 44) - 4);
			err = iofd_ioeventfd_ext(m->vm, &a);
		} while (err == -EEXIST);
		m->addr[i] = a.addr;
		m->dm[i] = (uint32_t)i;
		m->scan[i] = (struct micro_scan_entry){ a.addr, i, 4 };
	}
	if (err)
		snprintf(why, whylen, "registering: %s", iofd_last_error());
	iofd_batch_commit(m->vm);
	m->reg_ns = bench_now_ns() - t0;
	return err;
}

void micro_vm_free(struct micro_vm *m)
{
	iofd_vm_destroy(m->vm);
	free(m->addr);
	free(m->dm);
	free(m->scan);
	memset(m, 0, sizeof(*m));
}

/* Index of a random registration: a multiply, not a division. */
static inline size_t pick(uint64_t *seed, unsigned long n)
{
	return (size_t)(((bench_rand(seed) & 0xffffffffull) * n) >> 32);
}

static int noop_access(struct iofd_vm *vm, enum iofd_bus bus, uint64_t addr,
		       uint32_t len, bool is_write, void *data, struct iofd_exit *info)
{
	(void)vm; (void)bus; (void)addr; (void)len; (void)is_write; (void)info;
	return *(volatile uint32_t *)data == 0;
}

typedef int (*access_fn)(struct iofd_vm *, enum iofd_bus, uint64_t, uint32_t,
			 bool, void *, struct iofd_exit *);

/* Call `fn` on `iters` random registrations; returns how many were SERVED. */
uint64_t micro_access_loop(const struct micro_vm *m, access_fn fn, bool hit,
			   uint64_t iters)
{
	uint64_t seed = 42, served = 0;

	for (uint64_t i = 0; i < iters; i++) {
		size_t idx = pick(&seed, m->n);
		uint32_t v = hit ? m->dm[idx] : MICRO_MISS_VALUE;

		served += fn(m->vm, IOFD_BUS_MMIO, m->addr[idx], 4, true, &v,
			     NULL) == IOFD_SERVED;
	}
	return served;
}

/* The baseline: find the entry by a linear scan, then match. */
static __attribute__((noinline)) int scan_access(const struct micro_scan_entry *t,
						 unsigned long n, uint64_t addr,
						 uint32_t len, uint64_t val)
{
	for (unsigned long i = 0; i < n; i++)
		if (t[i].addr == addr && t[i].len == len)
			return t[i].datamatch == val ? IOFD_SERVED : IOFD_NOT_CLAIMED;
	return IOFD_NOT_CLAIMED;
}

static uint64_t scan_loop(const struct micro_vm *m, uint64_t iters)
{
	uint64_t seed = 42, served = 0;

	for (uint64_t i = 0; i < iters; i++) {
		size_t idx = pick(&seed, m->n);

		served += scan_access(m->scan, m->n, m->addr[idx], 4,
				      MICRO_MISS_VALUE) == IOFD_SERVED;
	}
	return served;
}

/* The hit's eventfd write() alone: the same eventfd a hit on the same
 * random registration would signal, so the kernel side is as warm or as
 * cold as in the hit loop. */
static uint64_t efd_write_loop(const struct micro_vm *m, const int *efds,
			       unsigned nefds, uint64_t iters)
{
	uint64_t one = 1, ok = 0, seed = 42;

	for (uint64_t i = 0; i < iters; i++) {
		size_t idx = pick(&seed, m->n);

		ok += write(efds[idx % nefds], &one, sizeof(one)) == sizeof(one);
	}
	return ok;
}

enum micro_kind {
	K_MISS, K_HIT, K_LOOP, K_SCAN, K_WRITE, K_FLOOR, K_FLOOR_OVERLAP, K_NKINDS
};

struct micro_ctx {
	const struct micro_vm *m;
	const struct micro_floor *floor;
	const int *efds;
	unsigned nefds;
	uint64_t iters[K_NKINDS];
	uint64_t served[K_NKINDS];	/* SERVED answers (or writes done,
					 * or floor chases ended right) */
	uint64_t calls[K_NKINDS];
};

/* Run kind k for n iterations; returns the elapsed ns. */
static uint64_t run_kind(struct micro_ctx *c, enum micro_kind k, uint64_t n)
{
	static access_fn volatile noop = noop_access;
	uint64_t t0 = bench_now_ns(), s = 0;

	switch (k) {
	case K_MISS: s = micro_access_loop(c->m, iofd_access, false, n); break;
	case K_HIT: s = micro_access_loop(c->m, iofd_access, true, n); break;
	case K_LOOP: s = micro_access_loop(c->m, noop, false, n); break;
	case K_SCAN: s = scan_loop(c->m, n); break;
	case K_WRITE: s = efd_write_loop(c->m, c->efds, c->nefds, n); break;
	case K_FLOOR:	/* served and calls count chases, not lookups */
		s = micro_floor_chained(c->floor, n);
		n = 1;
		break;
	case K_FLOOR_OVERLAP: s = micro_floor_overlapped(c->floor, n); break;
	default: break;
	}
	c->served[k] += s;
	c->calls[k] += n;
	return bench_now_ns() - t0;
}

/* Pick an iteration count that takes about MICRO_TARGET_NS. */
static void calibrate(struct micro_ctx *c)
{
	for (int k = 0; k < K_NKINDS; k++) {
		uint64_t n = 64, t;

		do {
			t = run_kind(c, k, n);
			if (t < 2000000)
				n *= 4;
		} while (t < 2000000 && n < (1ull << 24));
		c->iters[k] = n * MICRO_TARGET_NS / (t ? t : 1);
		if (c->iters[k] < 16)
			c->iters[k] = 16;
	}
}

/* Did every loop get the answers it must? */
static bool answers_right(const struct micro_ctx *c, char *why, size_t len)
{
	if (c->served[K_MISS] || c->served[K_SCAN]) {
		snprintf(why, len, "a datamatch miss was served (%llu iofd, %llu scan)",
			 (unsigned long long)c->served[K_MISS],
			 (unsigned long long)c->served[K_SCAN]);
		return false;
	}
	for (int k = K_FLOOR; k <= K_FLOOR_OVERLAP; k++)
		if (c->served[k] != c->calls[k]) {
			snprintf(why, len, "%llu of %llu memory-floor %s went astray",
				 (unsigned long long)(c->calls[k] - c->served[k]),
				 (unsigned long long)c->calls[k],
				 k == K_FLOOR ? "chases" : "lookups");
			return false;
		}
	if (c->served[K_HIT] != c->calls[K_HIT]) {
		snprintf(why, len, "only %llu of %llu hits were served",
			 (unsigned long long)c->served[K_HIT],
			 (unsigned long long)c->calls[K_HIT]);
		return false;
	}
	return true;
}

/* Untimed calls before a timed loop: enough to touch every entry twice. */
static uint64_t warm_up_iters(const struct micro_ctx *c, enum micro_kind k)
{
	uint64_t n = c->iters[k] / 2;

	if ((k == K_MISS || k == K_HIT || k == K_LOOP || k == K_FLOOR ||
	     k == K_FLOOR_OVERLAP) && n < 2 * c->m->n)
		n = 2 * c->m->n;
	return n;
}

/*
 * Time every kind MICRO_REPS times, interleaved; fill p with medians. Each
 * timed loop follows an untimed one of the same kind, so it measures the
 * steady state of that loop rather than the cache the previous kind left
 * (the linear scan of 100,000 entries sweeps megabytes); the iofd loops
 * touch every registration about twice first. At 100,000 entries the
 * table is far larger than L2, so the steady state is still memory-bound.
 */
static void time_point(struct micro_ctx *c, struct micro_point *p)
{
	double v[K_NKINDS][MICRO_REPS], med[K_NKINDS];

	calibrate(c);
	for (int r = 0; r < MICRO_REPS; r++)
		for (int k = 0; k < K_NKINDS; k++) {
			run_kind(c, k, warm_up_iters(c, k));
			v[k][r] = (double)run_kind(c, k, c->iters[k]) / (double)c->iters[k];
		}
	for (int k = 0; k < K_NKINDS; k++)
		med[k] = bench_median(v[k], MICRO_REPS);
	p->loop_ns = med[K_LOOP];
	p->miss_ns = med[K_MISS] - med[K_LOOP];
	p->hit_ns = med[K_HIT] - med[K_LOOP];
	p->write_ns = med[K_WRITE];
	p->hit_net_ns = p->hit_ns - med[K_WRITE];
	p->linear_ns = med[K_SCAN] - med[K_LOOP];
	/* Nothing subtracted: the floors' loops are their loads and a few
	 * instructions, with no call to take away. */
	p->floor_ns = med[K_FLOOR];
	p->floor_overlap_ns = med[K_FLOOR_OVERLAP];
}

static int measure_size(struct micro_report *rep, struct micro_point *p,
			const int *efds)
{
	struct micro_mem before, after;
	struct micro_ctx c = { .efds = efds, .nefds = rep->eventfds };
	struct micro_floor floor;
	struct micro_vm m;
	bool at_mem_size = p->nreg == micro_sizes[MICRO_SIZES - 1];
	int err;

	err = micro_vm_alloc(&m, p->nreg, rep->note, sizeof(rep->note));
	if (!err) {
		micro_mem_settle(m.vm, &before);
		err = micro_vm_register(&m, efds, rep->eventfds, rep->note,
					sizeof(rep->note));
	}
	if (err) {
		micro_vm_free(&m);
		return err;
	}
	p->reg_us = (double)m.reg_ns / 1000.0 / (double)p->nreg;
	if (at_mem_size) {
		micro_mem_settle(m.vm, &after);
		micro_mem_per_reg(rep, &before, &after, p->nreg);
	}
	/* After the memory snapshot: the floor's arrays are not iofd's. */
	err = micro_floor_init(&floor, p->nreg, rep->note, sizeof(rep->note));
	if (err) {
		micro_vm_free(&m);
		return err;
	}
	p->floor_buckets = floor.nbuckets;
	p->floor_bytes = micro_floor_bytes(&floor);
	c.m = &m;
	c.floor = &floor;
	eventfds_drain(efds, rep->eventfds);
	time_point(&c, p);
	micro_floor_free(&floor);
	/* The eventfds count every hit, and every bare write() too. */
	p->hits_expected = c.calls[K_HIT] + c.served[K_WRITE];
	p->hits_observed = eventfds_drain(efds, rep->eventfds);
	micro_vm_free(&m);
	if (!answers_right(&c, rep->note, sizeof(rep->note)))
		return -EPROTO;
	if (p->hits_observed != p->hits_expected) {
		snprintf(rep->note, sizeof(rep->note), "eventfds counted %llu hits, "
			 "iofd served %llu", (unsigned long long)p->hits_observed,
			 (unsigned long long)p->hits_expected);
		return -EPROTO;
	}
	return 0;
}

static double micro_median_write(const struct micro_report *rep)
{
	double v[MICRO_SIZES];

	for (unsigned i = 0; i < rep->n; i++)
		v[i] = rep->p[i].write_ns;
	return bench_median(v, rep->n);
}

int bench_micro(struct micro_report *rep)
{
	int efds[MICRO_EVENTFDS], err = 0;

	memset(rep, 0, sizeof(*rep));
	rep->eventfds = MICRO_EVENTFDS;
	err = micro_eventfds_open(efds, MICRO_EVENTFDS);
	if (err) {
		snprintf(rep->note, sizeof(rep->note), "cannot open %u eventfds: %s",
			 MICRO_EVENTFDS, strerror(-err));
		rep->failed = true;
		return err;
	}
	rep->ran = true;
	for (unsigned i = 0; i < MICRO_SIZES && !err; i++) {
		struct micro_point *p = &rep->p[i];

		p->nreg = micro_sizes[i];
		bench_progress("micro: %lu registrations", p->nreg);
		err = measure_size(rep, p, efds);
		if (!err)
			rep->n = i + 1;
	}
	rep->efd_write_ns = micro_median_write(rep);
	rep->failed = err != 0;
	micro_eventfds_close(efds, MICRO_EVENTFDS);
	return err;
}
