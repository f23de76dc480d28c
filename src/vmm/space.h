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

#include "iofd/iofd.h"
#include "rcu.h"
#include "source.h"
#include "tsan.h"

struct iofd_vm;
struct iofd_vcpu;
struct iofd_exit;
struct iofd_efd;
struct iofd_post_map;

/* One guest access, as a bus object sees it. */
struct iofd_bus_access {
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	void *data;			/* the access's bytes (little-endian) */
};

/* One element of the range array: [start, end) on a bus. */
struct iofd_range {
	uint64_t start, end;		/* end exclusive */
	struct iofd_source *obj;
};

/* Immutable snapshot of the ranges of one bus, sorted by start. */
struct iofd_range_array {
	struct iofd_rcu_array h;	/* n, rcu */
	struct iofd_range r[];
};

#define IOFD_MIN_BUCKETS 1024ul

struct iofd_space {
	struct cds_lfht *exact;			/* ioeventfd entries */
	unsigned long count;			/* addresses linked in `exact` */
	unsigned long buckets;			/* its size, as last fitted */
	struct iofd_range_array *ranges;	/* RCU-published */
	struct iofd_range_array *pending;	/* writer's unpublished copy */
	bool cleared;				/* publish no ranges at all */
};

/* Hash of an address for the exact tables, and the key match. */
unsigned long iofd_addr_hash(uint64_t addr);
int iofd_match_addr(struct cds_lfht_node *node, const void *key);

/* ---- the exact table's entries ---- */

#define IOFD_GEN_ALIVE UINT64_MAX

/*
 * An exact-address registration: a kernel-style (or post-write) ioeventfd.
 * The first 64 bytes hold everything a lookup that does not fire reads.
 * Entries come from plain malloc (128-byte chunks): aligning them to a
 * cache line cost about 110 bytes of RSS each in padding (259 instead of
 * 144 bytes per registration at 100,000) and bought no measurable speed.
 */
struct iofd_ioeventfd_entry {
	struct cds_lfht_node node;	/* keyed by addr */
	uint64_t addr;
	uint64_t datamatch;
	uint32_t len;
	bool wildcard;
	bool offloaded;			/* also registered with KVM_IOEVENTFD */
	uint8_t bus;
	uint64_t born, died;		/* publication generations */
	/* Next entry at the same bus + addr (RCU). Only the first entry of an
	 * address is linked in the hash table. */
	struct iofd_ioeventfd_entry *same;
	struct iofd_efd *efd;		/* -- beyond the first 64 bytes -- */
	void *post_ptr;			/* where POST_WRITE stores (mapped) */
	uint32_t flags;			/* IOFD_IOEVENTFD_FLAG_* as given */
	struct iofd_post_map *post_map;	/* POST_MEMFD mapping, or NULL */
	/* The bus header serves until the entry's release, which queues the
	 * rcu_head: one never outlives the other's first use, so they share
	 * the bytes (the entry stays within a 128-byte malloc chunk). */
	union {
		struct iofd_source obj;	/* ops (release), retire link */
		struct rcu_head rcu;
	};
};

/* Is an exact entry visible to readers at generation g? */
static inline bool iofd_entry_visible(const struct iofd_ioeventfd_entry *e,
				      uint64_t g)
{
	return e->born <= g && g < __atomic_load_n(&e->died, __ATOMIC_ACQUIRE);
}

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

/* Does entry e match a guest write of len bytes with value val?
 * (ioeventfd.c, the kernel's rules) */
bool iofd_ioeventfd_matches(const struct iofd_ioeventfd_entry *e,
			    uint32_t len, uint64_t val);
/* Serve a matched write: post the value (if asked), then signal
 * (ioeventfd.c). */
void iofd_ioeventfd_fire(const struct iofd_ioeventfd_entry *e, uint32_t len,
			 const void *data);

/* Little-endian value of len bytes at p. */
static inline uint64_t iofd_load_le(const void *p, uint32_t len)
{
	uint64_t v = 0;

	__builtin_memcpy(&v, p, len <= 8 ? len : 8);
	return v;
}

/* Bytes an exact entry covers for overlap with ranges (len 0 covers 8). */
static inline uint64_t iofd_exact_span(uint32_t len)
{
	return len ? len : 8;
}

/* End of what an exact entry at addr covers, saturated at the top of the
 * address space instead of wrapping to a small number. */
static inline uint64_t iofd_exact_end(uint64_t addr, uint32_t len)
{
	uint64_t end = addr + iofd_exact_span(len);

	return end < addr ? UINT64_MAX : end;
}


/* Serve a guest write through the bus's exact table (RCU read-side section
 * held); true if an entry claimed it. Inline: it is the hot path. */
static inline bool iofd_space_exact_write(struct iofd_space *sp, uint64_t gen,
					  uint64_t addr, uint32_t len,
					  const void *data)
{
	struct iofd_ioeventfd_entry *e;
	uint64_t val = iofd_load_le(data, len);

	iofd_for_each_same(e, iofd_space_head(sp, addr)) {
		bool hit;

		iofd_tsan_read(e);
		hit = iofd_entry_visible(e, gen) && iofd_ioeventfd_matches(e, len, val);
		if (hit)
			iofd_ioeventfd_fire(e, len, data);
		iofd_tsan_read_done(e);
		if (hit)
			return true;	/* the kernel's rules allow one match */
	}
	return false;
}

int iofd_space_init(struct iofd_space *sp);
void iofd_space_fit(struct iofd_space *sp);
void iofd_space_fini(struct iofd_space *sp);

/* Writer side (vm->lock held). */
void iofd_space_add_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
void iofd_space_remove_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
/* The writer's view of the ranges (a private copy made on first use). */
struct iofd_range_array *iofd_space_ranges_writable(struct iofd_space *sp);
/* The writer's view of the ranges, read-only (pending copy or published). */
static inline struct iofd_range_array *iofd_space_ranges_view(struct iofd_space *sp)
{
	if (sp->pending)
		return sp->pending;
	return sp->cleared ? NULL : sp->ranges;
}
/* Retire every range of the bus (cannot fail): the next publication
 * leaves the bus without ranges. */
void iofd_space_ranges_clear(struct iofd_vm *vm, struct iofd_space *sp);
int iofd_ranges_insert(struct iofd_range_array **arr, const struct iofd_range *r);
void iofd_ranges_delete(struct iofd_range_array *arr, size_t idx);
/* Index of the range containing addr in arr, or -1. */
long iofd_ranges_find(const struct iofd_range_array *arr, uint64_t addr);
/* Index of the range that starts at start, or -1. Unlike iofd_ranges_find()
 * it also finds a doorbell at the top of the address space, whose end
 * saturates to its start. */
long iofd_ranges_find_start(const struct iofd_range_array *arr, uint64_t start);
/* Does [start, end) overlap any range? Returns the index or -1. */
long iofd_ranges_overlap(const struct iofd_range_array *arr, uint64_t start,
			 uint64_t end);
/* Does [start, end) hold a live exact entry (which covers max(len, 8)...)? */
bool iofd_space_exact_overlap(struct iofd_space *sp, uint64_t start,
			      uint64_t end);
/* A range's object leaves the writer's view: unplug it now, release it
 * after the next publication. Cannot fail. */
void iofd_range_retire(struct iofd_vm *vm, struct iofd_source *obj);
/* Queue obj for release after the next publication. Cannot fail; obj must
 * not be queued already. */
void iofd_retire(struct iofd_vm *vm, struct iofd_source *obj);
/* Publish all pending changes (unless a batch is open). */
void iofd_publish(struct iofd_vm *vm);
/* Like iofd_publish() but regardless of the batch (used by commit). */
void iofd_publish_now(struct iofd_vm *vm);

#endif /* IOFD_SPACE_H */
