/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writers register and deregister (one at a time and in batches) while
 * reader threads dispatch guest writes with iofd_access(). Checked:
 *   - no reader touches freed memory (run it under ASan) and the RCU
 *     publication is race-free (run it under TSan);
 *   - every served write to an exact address signals exactly one eventfd
 *     (total signals == served writes);
 *   - an eventfd that was deassigned, once a quiesce has passed, never
 *     receives another signal; eventfds that reuse the numbers of closed
 *     eventfds and of iofd's released dups never receive any;
 *   - fd and thread counts are back to their start at the end.
 * Each round runs for a fixed wall-clock time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "testutil.h"

#define NR_WRITERS	2
#define NR_READERS	2
#define NR_EXACT	32		/* exact addresses, shared out by writers */
#define NR_GROUPS	8		/* group ranges, shared out by writers */
#define GROUP_ITEMS	3		/* item slots per group */
#define MAX_PARKED	512		/* eventfds waiting for their checks */
#define MAX_DECOYS	64
#define ROUND_SECONDS	1.5

#define EXACT_ADDR(i)	(0x10000ull + 8 * (uint64_t)(i))
#define GROUP_ADDR(j)	(0x20000ull + 16 * (uint64_t)(j))
#define GROUP_LEN	8u

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct shared {
	struct iofd_vm *vm;
	atomic_bool stop;
	bool use_batches;
};

/* A writer's registrations and the eventfds it still has to check. */
struct writer {
	struct shared *sh;
	int id;
	uint64_t seed;
	struct kvm_ioeventfd exact[NR_EXACT];	/* fd -1: not registered */
	int item[NR_GROUPS][GROUP_ITEMS];	/* -1: empty slot */
	int retired[MAX_PARKED];	/* deassigned, may still be signalled */
	int nr_retired;
	int dead[MAX_PARKED];		/* deassigned before a quiesce: silent */
	int nr_dead;
	int decoys[MAX_DECOYS];		/* never registered: always silent */
	int nr_decoys;
	uint64_t exact_signals;		/* drained from exact-address eventfds */
	bool exact_of[1024];		/* fd number -> was used for an exact entry */
	uint64_t ops, batches, quiesces, silence_violations;
	int failed_line;		/* first failed CHECK (cmocka's asserts
					 * must stay on the test's own thread) */
};

/* Record the first failure of a writer thread; checked after the join. */
#define CHECK(w, cond)                                   \
	do {                                             \
		if (!(cond) && !(w)->failed_line)        \
			(w)->failed_line = __LINE__;     \
	} while (0)

struct reader {
	struct shared *sh;
	uint64_t seed;
	uint64_t exact_served, group_served, unclaimed, bad_reads, errors;
};

static bool owns(const struct writer *w, int i)
{
	return i % NR_WRITERS == w->id;
}

static void park(struct writer *w, int fd)
{
	CHECK(w, w->nr_retired < MAX_PARKED);
	if (w->nr_retired < MAX_PARKED)
		w->retired[w->nr_retired++] = fd;
}

static void toggle_exact(struct writer *w, int i)
{
	struct kvm_ioeventfd *a = &w->exact[i];

	if (a->fd >= 0) {
		struct kvm_ioeventfd d = *a;

		d.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		CHECK(w, iofd_ioeventfd(w->sh->vm, &d) == 0);
		park(w, a->fd);
		a->fd = -1;
		return;
	}
	memset(a, 0, sizeof(*a));
	a->addr = EXACT_ADDR(i);
	a->fd = eventfd(0, EFD_CLOEXEC);
	CHECK(w, a->fd >= 0 && a->fd < 1024);
	if (a->fd >= 0 && a->fd < 1024)
		w->exact_of[a->fd] = true;
	switch (rnd(&w->seed) % 3) {
	case 0:
		a->len = 0;
		break;
	case 1:
		a->len = 4;
		break;
	default:
		a->len = 4;
		a->flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
		a->datamatch = rnd(&w->seed) % 4;
		break;
	}
	CHECK(w, iofd_ioeventfd(w->sh->vm, a) == 0);
}

static void toggle_item(struct writer *w, int j, int slot)
{
	struct iofd_iosignalfd a = { .addr = GROUP_ADDR(j), .len = GROUP_LEN };
	int *fd = &w->item[j][slot];

	if (*fd >= 0) {
		a.fd = *fd;
		a.flags = IOFD_IOSIGNALFD_FLAG_DEASSIGN;
		CHECK(w, iofd_iosignalfd(w->sh->vm, &a) == 0);
		park(w, *fd);
		*fd = -1;
		return;
	}
	*fd = eventfd(0, EFD_CLOEXEC);
	CHECK(w, *fd >= 0 && *fd < 1024);
	if (*fd >= 0 && *fd < 1024)
		w->exact_of[*fd] = false;
	a.fd = *fd;
	CHECK(w, iofd_iosignalfd(w->sh->vm, &a) == 0);
}

/* One random change among the writer's own addresses. */
static void random_change(struct writer *w)
{
	uint64_t r = rnd(&w->seed);

	if (r % 4) {
		int i = (int)((r >> 8) % NR_EXACT);

		if (owns(w, i))
			toggle_exact(w, i);
	} else {
		int j = (int)((r >> 8) % NR_GROUPS);

		if (owns(w, j))
			toggle_item(w, j, (int)((r >> 16) % GROUP_ITEMS));
	}
	w->ops++;
}

static void drain(struct writer *w, int fd)
{
	uint64_t n = tu_efd_count(fd);

	if (fd >= 0 && fd < 1024 && w->exact_of[fd])
		w->exact_signals += n;
}

/*
 * After a quiesce: what was retired before it can no longer be signalled
 * (drain it and make it "dead"); what was dead must have stayed silent;
 * close it and let a few decoys take the freed numbers.
 */
static void settle(struct writer *w)
{
	for (int k = 0; k < w->nr_dead; k++) {
		if (tu_efd_count(w->dead[k]))
			w->silence_violations++;
		close(w->dead[k]);
	}
	w->nr_dead = 0;
	iofd_quiesce(w->sh->vm);
	for (int k = 0; k < w->nr_retired; k++) {
		drain(w, w->retired[k]);
		w->dead[w->nr_dead++] = w->retired[k];
	}
	w->nr_retired = 0;
	for (int k = 0; k < 2 && w->nr_decoys < MAX_DECOYS; k++)
		w->decoys[w->nr_decoys++] = eventfd(0, EFD_CLOEXEC);
	w->quiesces++;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct shared *sh = w->sh;

	while (!atomic_load(&sh->stop)) {
		if (sh->use_batches && rnd(&w->seed) % 2) {
			int n = 1 + (int)(rnd(&w->seed) % 16);

			CHECK(w, iofd_batch_begin(sh->vm) == 0);
			for (int k = 0; k < n; k++)
				random_change(w);
			CHECK(w, iofd_batch_commit(sh->vm) == 0);
			w->batches++;
		} else {
			random_change(w);
		}
		if (rnd(&w->seed) % 32 == 0 || w->nr_retired > MAX_PARKED - 40)
			settle(w);
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	static const uint32_t widths[4] = { 1, 2, 4, 8 };
	struct reader *r = arg;
	struct iofd_vm *vm = r->sh->vm;

	while (!atomic_load(&r->sh->stop)) {
		uint64_t x = rnd(&r->seed), v = x % 4;
		uint32_t width = widths[(x >> 4) % 4];
		bool to_group = (x >> 8) % 4 == 0;
		uint64_t addr = to_group ? GROUP_ADDR((x >> 12) % NR_GROUPS) + (x >> 20) % 8
					 : EXACT_ADDR((x >> 12) % NR_EXACT);
		bool is_write = !to_group || (x >> 24) % 4;
		int st = iofd_access(vm, IOFD_BUS_MMIO, addr, width, is_write, &v, NULL);

		if (st == IOFD_SERVED && to_group) {
			r->group_served++;
			if (!is_write && v != 0)
				r->bad_reads++;
		} else if (st == IOFD_SERVED) {
			r->exact_served++;
		} else if (st == IOFD_NOT_CLAIMED) {
			r->unclaimed++;
		} else {
			r->errors++;
		}
	}
	return NULL;
}

/* Deregister what is left and make every parked eventfd dead. */
static void writer_finish(struct writer *w)
{
	for (int i = 0; i < NR_EXACT; i++)
		if (owns(w, i) && w->exact[i].fd >= 0)
			toggle_exact(w, i);
	for (int j = 0; j < NR_GROUPS; j++)
		for (int s = 0; s < GROUP_ITEMS; s++)
			if (owns(w, j) && w->item[j][s] >= 0)
				toggle_item(w, j, s);
	settle(w);
	settle(w);
	for (int k = 0; k < w->nr_decoys; k++) {
		if (tu_efd_count(w->decoys[k]))
			w->silence_violations++;
		close(w->decoys[k]);
	}
}

static void race(bool use_batches, uint64_t seed)
{
	struct tu_resources before = tu_snapshot();
	struct shared sh = { .use_batches = use_batches };
	static struct writer w[NR_WRITERS];
	struct reader r[NR_READERS];
	pthread_t wt[NR_WRITERS], rt[NR_READERS];
	uint64_t served = 0, signals = 0, ops = 0, batches = 0, quiesces = 0;
	uint64_t group_served = 0, unclaimed = 0;
	double t0;

	assert_int_equal(iofd_vm_create(NULL, &sh.vm), 0);
	for (int k = 0; k < NR_WRITERS; k++) {
		memset(&w[k], 0, sizeof(w[k]));
		w[k].sh = &sh;
		w[k].id = k;
		w[k].seed = seed * 2654435761u + (uint64_t)k + 1;
		for (int i = 0; i < NR_EXACT; i++)
			w[k].exact[i].fd = -1;
		memset(w[k].item, -1, sizeof(w[k].item));
	}
	for (int k = 0; k < NR_READERS; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].sh = &sh;
		r[k].seed = seed * 40503u + 1000 + (uint64_t)k;
		assert_int_equal(pthread_create(&rt[k], NULL, reader_main, &r[k]), 0);
	}
	for (int k = 0; k < NR_WRITERS; k++)
		assert_int_equal(pthread_create(&wt[k], NULL, writer_main, &w[k]), 0);
	t0 = now_s();
	while (now_s() - t0 < ROUND_SECONDS)
		usleep(20000);
	atomic_store(&sh.stop, true);
	for (int k = 0; k < NR_WRITERS; k++)
		pthread_join(wt[k], NULL);
	for (int k = 0; k < NR_READERS; k++) {
		pthread_join(rt[k], NULL);
		served += r[k].exact_served;
		group_served += r[k].group_served;
		unclaimed += r[k].unclaimed;
		assert_int_equal(r[k].bad_reads, 0);
		assert_int_equal(r[k].errors, 0);
	}
	for (int k = 0; k < NR_WRITERS; k++) {
		writer_finish(&w[k]);
		assert_int_equal(w[k].failed_line, 0);
		assert_int_equal(w[k].silence_violations, 0);
		signals += w[k].exact_signals;
		ops += w[k].ops;
		batches += w[k].batches;
		quiesces += w[k].quiesces;
	}
	printf("# %s: %llu changes (%llu batches, %llu quiesces), %llu exact hits, "
	       "%llu group accesses, %llu unclaimed\n",
	       use_batches ? "batched" : "single", (unsigned long long)ops,
	       (unsigned long long)batches, (unsigned long long)quiesces,
	       (unsigned long long)served, (unsigned long long)group_served,
	       (unsigned long long)unclaimed);
	/* every served exact write signalled exactly one eventfd */
	assert_int_equal(signals, served);
	/* the race really happened */
	assert_true(ops > 100 && served > 100 && group_served > 10 && unclaimed > 100);
	iofd_vm_destroy(sh.vm);
	TU_ASSERT_NO_LEAK(before);
}

static uint64_t seed_from_env(void)
{
	const char *s = getenv("IOFD_CONCURRENCY_SEED");

	return s ? strtoull(s, NULL, 0) : 0x5eed;
}

static void single_changes_race_lookups(void **state)
{
	(void)state;
	race(false, seed_from_env());
}

static void batched_changes_race_lookups(void **state)
{
	(void)state;
	race(true, seed_from_env() + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_changes_race_lookups),
		cmocka_unit_test(batched_changes_race_lookups),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("concurrency", tests, NULL, NULL);
}
