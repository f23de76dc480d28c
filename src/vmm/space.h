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

struct iofd_vm;
struct iofd_vcpu;
struct iofd_exit;
struct iofd_ioeventfd_entry;
struct iofd_bus_obj;

/* One guest access, as a bus object sees it. */
struct iofd_bus_access {
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	void *data;			/* the access's bytes (little-endian) */
};

/*
 * What an object on a bus does, as KVM's kvm_io_device_ops: the bus code
 * calls these and never asks what kind of object it holds.
 */
struct iofd_bus_ops {
	/* Serve an access that reached the object, inside the RCU read-side
	 * section: IOFD_SERVED or IOFD_NOT_CLAIMED. An object that must block
	 * takes a reference, sets *defer and returns IOFD_NOT_CLAIMED. */
	int (*access)(struct iofd_bus_obj *obj, struct iofd_bus_access *a,
		      struct iofd_bus_obj **defer);
	/* Serve a deferred access outside the section (may block), consuming
	 * the reference; vcpu may be NULL. Returns an iofd_status. */
	int (*serve)(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     struct iofd_bus_obj *obj, struct iofd_bus_access *a,
		     struct iofd_exit *info);
	/* Optional: the object left the writer's view of the bus (not yet
	 * published); forget writer-side indexes. Cannot fail. */
	void (*unplug)(struct iofd_vm *vm, struct iofd_bus_obj *obj);
	/* The removal is published: release what the object holds, freeing
	 * it after a grace period (writer lock held). Cannot fail. The bus
	 * does not touch the object after this call, so the object may reuse
	 * its bus header's bytes (an exact entry's rcu_head does). */
	void (*release)(struct iofd_vm *vm, struct iofd_bus_obj *obj);
};

/* The head of every object on a bus: its ops and its retire link (as its
 * rcu_head, the link lives in the object, so retiring cannot fail). */
struct iofd_bus_obj {
	const struct iofd_bus_ops *ops;
	struct iofd_bus_obj *retire_next;
};

/* One element of the range array: [start, end) on a bus. */
struct iofd_range {
	uint64_t start, end;		/* end exclusive */
	struct iofd_bus_obj *obj;
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
void iofd_range_retire(struct iofd_vm *vm, struct iofd_bus_obj *obj);
/* Queue obj for release after the next publication. Cannot fail; obj must
 * not be queued already. */
void iofd_retire(struct iofd_vm *vm, struct iofd_bus_obj *obj);
/* Publish all pending changes (unless a batch is open). */
void iofd_publish(struct iofd_vm *vm);
/* Like iofd_publish() but regardless of the batch (used by commit). */
void iofd_publish_now(struct iofd_vm *vm);

#endif /* IOFD_SPACE_H */
