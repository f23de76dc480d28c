/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The address spaces (buses) of a VM, as the kernel's kvm_io_bus sees them,
 * without its cap and without its copy per registration:
 *   - exact-address entries (ioeventfds) live in an RCU hash table keyed by
 *     address (liburcu's rculfhash); adding or removing one costs O(1);
 *   - ranges (iosignalfd groups, ioregions; few) live in a sorted array
 *     that writers copy and publish whole, readers binary-search.
 * Readers take no lock. Every change carries a generation number: readers
 * ignore entries born after, or dead at, the generation they loaded, so a
 * batch of changes becomes visible at one store (iofd_publish_now()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fault.h"
#include "space.h"
#include "tsan.h"
#include "vm.h"

unsigned long iofd_addr_hash(uint64_t addr)
{
	/* splitmix64's finaliser: every input bit reaches every output bit. */
	addr ^= addr >> 30;
	addr *= 0xbf58476d1ce4e5b9ull;
	addr ^= addr >> 27;
	addr *= 0x94d049bb133111ebull;
	addr ^= addr >> 31;
	return (unsigned long)addr;
}

int iofd_match_addr(struct cds_lfht_node *node, const void *key)
{
	const struct iofd_ioeventfd_entry *e =
		caa_container_of(node, struct iofd_ioeventfd_entry, node);
	bool same;

	/* Called by rculfhash lookups, readers' included. */
	iofd_tsan_read(e);
	same = e->addr == *(const uint64_t *)key;
	iofd_tsan_read_done(e);
	return same;
}

int iofd_space_init(struct iofd_space *sp)
{
	memset(sp, 0, sizeof(*sp));
	/* Sized by iofd_space_fit(), on the writer's thread, rather than by
	 * liburcu's lazy auto-resize: its resize worker lags behind bulk loads
	 * and leaves long chains on the lookup path for seconds. */
	sp->buckets = IOFD_MIN_BUCKETS;
	sp->exact = cds_lfht_new_flavor(sp->buckets, IOFD_MIN_BUCKETS, 0, 0,
					&urcu_memb_flavor, NULL);
	if (!sp->exact)
		return iofd_fail(-ENOMEM, "cannot create an address hash table");
	return 0;
}

IOFD_RCU_ARRAY_CHECK(struct iofd_range_array, r);

/* Called with every entry and range already removed and released. */
void iofd_space_fini(struct iofd_space *sp)
{
	if (sp->exact)
		cds_lfht_destroy(sp->exact, NULL);
	free(sp->ranges);
	free(sp->pending);
	sp->exact = NULL;
	sp->ranges = sp->pending = NULL;
}

void iofd_space_add_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e)
{
	struct iofd_space *sp = &vm->bus[e->bus];

	struct iofd_ioeventfd_entry *head = iofd_space_head(sp, e->addr);

	e->born = iofd_next_gen(vm);
	e->died = IOFD_GEN_ALIVE;
	cds_lfht_node_init(&e->node);
	if (head) {
		/* Behind the head: readers see it once the generation allows. */
		e->same = head->same;
		iofd_tsan_publish(e);
		rcu_set_pointer(&head->same, e);
		return;
	}
	e->same = NULL;
	iofd_tsan_publish(e);
	cds_lfht_add(sp->exact, iofd_addr_hash(e->addr), &e->node);
	sp->count++;
}

/* Take e out of its address's chain (writer, at publication). */
static void space_unlink_entry(struct iofd_space *sp, struct iofd_ioeventfd_entry *e)
{
	struct iofd_ioeventfd_entry *p = iofd_space_head(sp, e->addr);
	struct cds_lfht_iter it;

	if (p != e) {
		while (p->same != e)
			p = p->same;
		rcu_set_pointer(&p->same, e->same);
		return;
	}
	cds_lfht_lookup(sp->exact, iofd_addr_hash(e->addr), iofd_match_addr,
			&e->addr, &it);
	if (e->same) {
		/* The next entry at the address becomes the head. */
		cds_lfht_node_init(&e->same->node);
		cds_lfht_replace(sp->exact, &it, iofd_addr_hash(e->addr),
				 iofd_match_addr, &e->addr, &e->same->node);
	} else {
		cds_lfht_del(sp->exact, &e->node);
		sp->count--;
	}
}

/* Grow (or shrink) a bus's hash table to about one entry per bucket.
 * Called by a writer outside any RCU read-side section. */
void iofd_space_fit(struct iofd_space *sp)
{
	unsigned long want = sp->buckets;

	while (sp->count > want)
		want <<= 1;
	while (want > IOFD_MIN_BUCKETS && sp->count < want / 8)
		want >>= 1;
	if (want == sp->buckets)
		return;
	cds_lfht_resize(sp->exact, want);
	sp->buckets = want;
}

void iofd_space_remove_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e)
{
	/* Invisible from the next generation on; unlinked at publication. */
	__atomic_store_n(&e->died, iofd_next_gen(vm), __ATOMIC_RELEASE);
	e->obj.retire_next = vm->retired_entries;
	vm->retired_entries = &e->obj;
}

static size_t ranges_bytes(size_t n)
{
	return sizeof(struct iofd_range_array) + n * sizeof(struct iofd_range);
}

struct iofd_range_array *iofd_space_ranges_writable(struct iofd_space *sp)
{
	if (sp->pending)
		return sp->pending;
	sp->pending = iofd_rcu_array_copy(iofd_space_ranges_view(sp),
					  sizeof(struct iofd_range), -1, -1);
	if (sp->pending)
		sp->cleared = false;
	return sp->pending;
}

void iofd_space_ranges_clear(struct iofd_vm *vm, struct iofd_space *sp)
{
	struct iofd_range_array *view = iofd_space_ranges_view(sp);

	for (size_t i = 0; view && i < view->h.n; i++)
		iofd_range_retire(vm, view->r[i].obj);
	free(sp->pending);
	sp->pending = NULL;
	sp->cleared = true;
}

/* Index of the first range whose end is above addr (may not contain it). */
static size_t ranges_lower_bound(const struct iofd_range_array *arr,
				 uint64_t addr)
{
	size_t lo = 0, hi = arr->h.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (arr->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long iofd_ranges_find(const struct iofd_range_array *arr, uint64_t addr)
{
	size_t i;

	if (!arr || !arr->h.n)
		return -1;
	i = ranges_lower_bound(arr, addr);
	if (i < arr->h.n && arr->r[i].start <= addr)
		return (long)i;
	return -1;
}

long iofd_ranges_find_start(const struct iofd_range_array *arr, uint64_t start)
{
	size_t lo = 0, hi = arr ? arr->h.n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (arr->r[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!arr || lo >= arr->h.n || arr->r[lo].start != start)
		return -1;
	return (long)lo;
}

long iofd_ranges_overlap(const struct iofd_range_array *arr, uint64_t start,
			 uint64_t end)
{
	size_t i;

	if (!arr || !arr->h.n)
		return -1;
	i = ranges_lower_bound(arr, start);
	if (i < arr->h.n && arr->r[i].start < end)
		return (long)i;
	return -1;
}

int iofd_ranges_insert(struct iofd_range_array **parr, const struct iofd_range *r)
{
	struct iofd_range_array *arr = *parr, *grown;
	size_t i;

	grown = iofd_realloc(arr, ranges_bytes(arr->h.n + 1));
	if (!grown)
		return iofd_fail(-ENOMEM, "out of memory for a range");
	arr = *parr = grown;
	i = ranges_lower_bound(arr, r->start);
	memmove(&arr->r[i + 1], &arr->r[i], (arr->h.n - i) * sizeof(*r));
	arr->r[i] = *r;
	arr->h.n++;
	return 0;
}

void iofd_ranges_delete(struct iofd_range_array *arr, size_t idx)
{
	memmove(&arr->r[idx], &arr->r[idx + 1],
		(arr->h.n - idx - 1) * sizeof(arr->r[0]));
	arr->h.n--;
}

bool iofd_space_exact_overlap(struct iofd_space *sp, uint64_t start,
			      uint64_t end)
{
	struct cds_lfht_iter it;
	struct iofd_ioeventfd_entry *e, *head;
	uint64_t lo = start >= 7 ? start - 7 : 0;

	/* An exact entry covers at most 8 bytes: probe [start-7, end) when that
	 * is cheaper than walking the whole table. */
	if (end - lo <= 4096) {
		for (uint64_t a = lo; a < end; a++)
			iofd_for_each_same(e, iofd_space_head(sp, a))
				if (e->died == IOFD_GEN_ALIVE &&
				    iofd_exact_end(a, e->len) > start)
					return true;
		return false;
	}
	iofd_for_each_head(sp, it, head) {
		iofd_for_each_same(e, head)
			if (e->died == IOFD_GEN_ALIVE && e->addr < end &&
			    iofd_exact_end(e->addr, e->len) > start)
				return true;
	}
	return false;
}

void iofd_retire(struct iofd_vm *vm, struct iofd_source *obj)
{
	obj->retire_next = vm->retired;
	vm->retired = obj;
}

void iofd_range_retire(struct iofd_vm *vm, struct iofd_source *obj)
{
	if (obj->ops->unplug)
		obj->ops->unplug(vm, obj);
	iofd_retire(vm, obj);
}

/* Release every object of a retired list (after the publication). */
static void release_all(struct iofd_vm *vm, struct iofd_source *obj)
{
	struct iofd_source *next;

	for (; obj; obj = next) {
		next = obj->retire_next;
		obj->retire_next = NULL;
		obj->ops->release(vm, obj);
	}
}

void iofd_publish_now(struct iofd_vm *vm)
{
	struct iofd_source *retired = vm->retired;
	struct iofd_source *obj;

	for (int b = 0; b < IOFD_NR_BUSES; b++) {
		struct iofd_space *sp = &vm->bus[b];

		if (!sp->pending && !sp->cleared)
			continue;
		iofd_rcu_array_publish(&sp->ranges, sp->pending);
		sp->pending = NULL;
		sp->cleared = false;
	}
	atomic_store_explicit(&vm->gen, iofd_next_gen(vm), memory_order_release);

	/* Exact entries leave their chains first, then everything goes. */
	for (obj = vm->retired_entries; obj; obj = obj->retire_next) {
		struct iofd_ioeventfd_entry *e =
			caa_container_of(obj, struct iofd_ioeventfd_entry, obj);

		space_unlink_entry(&vm->bus[e->bus], e);
	}
	obj = vm->retired_entries;
	vm->retired_entries = NULL;
	vm->retired = NULL;
	release_all(vm, obj);
	release_all(vm, retired);
}

void iofd_publish(struct iofd_vm *vm)
{
	if (!vm->in_batch)
		iofd_publish_now(vm);
}
