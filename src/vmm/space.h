/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The address spaces (buses): exact-address entries in an RCU hash table,
 * ranges in a copy-on-write sorted array, and their publication.
 */
#ifndef IOFD_SPACE_H
#define IOFD_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/rculfhash.h>

#include "ioeventfd.h"

struct iofd_vm;

/* Kinds of entries living on a bus. */
enum iofd_kind {
	IOFD_KIND_IOEVENTFD = 1,	/* exact address, in the hash table */
	IOFD_KIND_GROUP = 2,		/* range, in the range array */
	IOFD_KIND_IOREGION = 3,		/* range, in the range array */
};

/* One element of the range array: [start, end) on a bus. */
struct iofd_range {
	uint64_t start, end;		/* end exclusive */
	enum iofd_kind kind;
	void *obj;			/* struct iofd_group * or iofd_region * */
};

/* Immutable snapshot of the ranges of one bus, sorted by start. */
struct iofd_range_array {
	size_t n;
	struct rcu_head rcu;
	struct iofd_range r[];
};

#define IOFD_MIN_BUCKETS 1024ul

struct iofd_space {
	struct cds_lfht *exact;			/* ioeventfd entries */
	unsigned long count;			/* addresses linked in `exact` */
	unsigned long buckets;			/* its size, as last fitted */
	struct iofd_range_array *ranges;	/* RCU-published */
	struct iofd_range_array *pending;	/* writer's unpublished copy */
};

/* Objects waiting for the next publication before they are released. */
struct iofd_retired {
	void (*release)(struct iofd_vm *vm, void *obj);
	void *obj;
	struct iofd_retired *next;
};

/* Hash of an address for the exact tables, and the key match. */
unsigned long iofd_addr_hash(uint64_t addr);
int iofd_match_addr(struct cds_lfht_node *node, const void *key);

int iofd_space_init(struct iofd_space *sp);
void iofd_space_fit(struct iofd_space *sp);
void iofd_space_fini(struct iofd_space *sp);

/* First entry at addr (RCU read-side section held), or NULL. */
static inline struct iofd_ioeventfd_entry *iofd_space_head(struct iofd_space *sp,
							   uint64_t addr)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	cds_lfht_lookup(sp->exact, iofd_addr_hash(addr), iofd_match_addr, &addr, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? caa_container_of(n, struct iofd_ioeventfd_entry, node) : NULL;
}

/* Walk the head entry of every address of a bus (RCU read-side held).
 * liburcu's cds_lfht_for_each_entry() would form a container pointer from
 * NULL at the end of the walk, which UBSan rightly reports. */
#define iofd_for_each_head(sp, it, head)                                    \
	for (cds_lfht_first((sp)->exact, &(it));                            \
	     ((head) = cds_lfht_iter_get_node(&(it)) ?                       \
			caa_container_of(cds_lfht_iter_get_node(&(it)),      \
					 struct iofd_ioeventfd_entry, node) : \
			NULL) != NULL;                                       \
	     cds_lfht_next((sp)->exact, &(it)))

/* Walk every entry at one address, starting from its head. */
#define iofd_for_each_same(e, head) \
	for ((e) = (head); (e); (e) = rcu_dereference((e)->same))

/* Writer side (vm->lock held). */
void iofd_space_add_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
void iofd_space_remove_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
/* The writer's view of the ranges (a private copy made on first use). */
struct iofd_range_array *iofd_space_ranges_writable(struct iofd_space *sp);
/* The writer's view of the ranges, read-only (pending copy or published). */
static inline struct iofd_range_array *iofd_space_ranges_view(struct iofd_space *sp)
{
	return sp->pending ? sp->pending : sp->ranges;
}
int iofd_ranges_insert(struct iofd_range_array **arr, const struct iofd_range *r);
void iofd_ranges_delete(struct iofd_range_array *arr, size_t idx);
/* Index of the range containing addr in arr, or -1. */
long iofd_ranges_find(const struct iofd_range_array *arr, uint64_t addr);
/* Does [start, end) overlap any range? Returns the index or -1. */
long iofd_ranges_overlap(const struct iofd_range_array *arr, uint64_t start,
			 uint64_t end);
/* Does [start, end) hold a live exact entry (which covers max(len, 8)...)? */
bool iofd_space_exact_overlap(struct iofd_space *sp, uint64_t start,
			      uint64_t end);
/* After the next publication, drop what a removed range holds. */
int iofd_range_retire(struct iofd_vm *vm, const struct iofd_range *r);
/* Queue obj for release after the next publication. */
int iofd_retire(struct iofd_vm *vm, void (*release)(struct iofd_vm *, void *),
		void *obj);
/* Publish all pending changes (unless a batch is open). */
void iofd_publish(struct iofd_vm *vm);
/* Like iofd_publish() but regardless of the batch (used by commit). */
void iofd_publish_now(struct iofd_vm *vm);

#endif /* IOFD_SPACE_H */
