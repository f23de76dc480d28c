/* SPDX-License-Identifier: BSD-3-Clause */
/* Exact-address registrations: kernel-style and post-write ioeventfds. */
#ifndef IOFD_IOEVENTFD_H
#define IOFD_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/rculfhash.h>

#include "eventfd.h"
#include "iofd/iofd.h"
#include "space.h"

struct iofd_vm;
struct iofd_post_map;

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
		struct iofd_bus_obj obj;	/* ops (release), retire link */
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

/* Does entry e match a guest write of len bytes with value val? */
bool iofd_ioeventfd_matches(const struct iofd_ioeventfd_entry *e,
			    uint32_t len, uint64_t val);
/* Serve a matched write: post the value (if asked), then signal. */
void iofd_ioeventfd_fire(const struct iofd_ioeventfd_entry *e, uint32_t len,
			 const void *data);

/* The bus an ioeventfd's flags name. */
static inline enum iofd_bus iofd_ioeventfd_bus(uint32_t flags)
{
	if (flags & IOFD_IOEVENTFD_FLAG_PIO)
		return IOFD_BUS_PIO;
	if (flags & IOFD_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return IOFD_BUS_CCW;
	return IOFD_BUS_MMIO;
}

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

#endif /* IOFD_IOEVENTFD_H */
