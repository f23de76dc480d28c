/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal declarations shared by the library's source files. */
#ifndef IOFD_INTERNAL_H
#define IOFD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "iofd/iofd.h"

#define IOFD_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- error.c ---- */

/* Record the reason for a failure on this thread; returns err (negative). */
int iofd_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- rcu.c ---- */

/* Register the calling thread with liburcu once (unregistered at exit). */
void iofd_rcu_thread(void);

/* ---- eventfd.c: one CLOEXEC dup per distinct eventfd object ---- */

struct iofd_efd {
	int fd;			/* our CLOEXEC dup */
	unsigned int refs;	/* registrations using it (writer lock) */
	uint64_t id;		/* eventfd-id, when kcmp is unavailable */
	struct rcu_head rcu;
};

struct iofd_efd_registry {
	void *root;		/* tsearch tree of struct iofd_efd * */
	unsigned long count;
};

/* Check that fd is an open eventfd: 0, -EBADF or -EINVAL (kernel's order). */
int iofd_efd_check(int fd);
/* Find the registry's dup of fd's eventfd object, or NULL. fd is checked. */
struct iofd_efd *iofd_efd_find(struct iofd_efd_registry *reg, int fd);
/* Take a reference on fd's eventfd (dup'ing it if new). */
int iofd_efd_get(struct iofd_efd_registry *reg, int fd, struct iofd_efd **out);
/* Drop a reference; the last one closes the dup after a grace period. */
void iofd_efd_put(struct iofd_efd_registry *reg, struct iofd_efd *efd);
/* Signal an eventfd (adds 1). Lock-free; safe in an RCU reader. */
void iofd_efd_signal(const struct iofd_efd *efd);

/* ---- space.c: the address spaces (buses) ---- */

/* Kinds of entries living on a bus. */
enum iofd_kind {
	IOFD_KIND_IOEVENTFD = 1,	/* exact address, in the hash table */
	IOFD_KIND_GROUP = 2,		/* range, in the range array */
	IOFD_KIND_IOREGION = 3,		/* range, in the range array */
};

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
	struct iofd_ioeventfd_entry *retire_next;
	struct rcu_head rcu;
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

struct iofd_vm {
	int kvm_fd;			/* -1 without KVM */
	bool own_kvm_fd;
	uint32_t flags;			/* IOFD_VM_* */
	uint32_t ioregion_timeout_ms;	/* read and set with __atomic */
	pthread_mutex_t lock;		/* serializes every writer */
	bool in_batch;			/* writer view (lock held) */
	_Atomic bool batch_active;	/* same, readable without the lock */
	_Atomic pthread_t batch_owner;	/* read without the lock */
	_Atomic uint64_t gen;		/* last published generation */
	struct iofd_space bus[IOFD_NR_BUSES];
	struct iofd_efd_registry efds;
	struct iofd_ioeventfd_entry *retired_entries; /* unlink at publish */
	struct iofd_retired *retired;	/* release at publish */
	struct iofd_chan *chans;	/* ioregion fd pairs in use (writer) */
	int kvm_run_size;
	struct iofd_irq *irq;		/* interrupts (irq.h) */
};

/* Hash of an address for the exact tables, and the key match. */
unsigned long iofd_addr_hash(uint64_t addr);
int iofd_match_addr(struct cds_lfht_node *node, const void *key);

int iofd_space_init(struct iofd_space *sp);
void iofd_space_fit(struct iofd_space *sp);
void iofd_space_fini(struct iofd_vm *vm, struct iofd_space *sp);

/* Generation a writer's change will be published under. */
static inline uint64_t iofd_next_gen(struct iofd_vm *vm)
{
	return atomic_load_explicit(&vm->gen, memory_order_relaxed) + 1;
}

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

/* Writer side (vm->lock held). */
void iofd_space_add_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
void iofd_space_remove_entry(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e);
/* The writer's view of the ranges (a private copy made on first use). */
struct iofd_range_array *iofd_space_ranges_writable(struct iofd_vm *vm,
						    struct iofd_space *sp);
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
bool iofd_space_exact_overlap(struct iofd_vm *vm, struct iofd_space *sp,
			      uint64_t start, uint64_t end);
/* After the next publication, drop what a removed range holds. */
int iofd_range_retire(struct iofd_vm *vm, const struct iofd_range *r);
/* Queue obj for release after the next publication. */
int iofd_retire(struct iofd_vm *vm, void (*release)(struct iofd_vm *, void *),
		void *obj);
/* Publish all pending changes (unless a batch is open). */
void iofd_publish(struct iofd_vm *vm);
/* Like iofd_publish() but regardless of the batch (used by commit). */
void iofd_publish_now(struct iofd_vm *vm);

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

/* ---- interrupts (the rest is in irq.h) ---- */

/* Set up and tear down a VM's interrupt state (iofd_vm_create/destroy). */
int iofd_irq_vm_init(struct iofd_vm *vm);
/* Deassign every irqfd, orphan every INTx helper (kernel fd still open). */
void iofd_irq_vm_destroy(struct iofd_vm *vm);
/* Free what is left, after the final grace period. */
void iofd_irq_vm_free(struct iofd_vm *vm);
/* The kernel's irqchip for this VM, as KVM_IRQFD sees it. */
enum iofd_irqchip iofd_irqchip_probe(struct iofd_vm *vm);
/* A KVM_EXIT_IOAPIC_EOI for vector: acknowledge the GSIs it names. */
void iofd_irq_ioapic_eoi(struct iofd_vm *vm, uint8_t vector);

/* ---- ioeventfd.c ---- */

/* Does entry e match a guest write of len bytes with value val? */
bool iofd_ioeventfd_matches(const struct iofd_ioeventfd_entry *e,
			    uint32_t len, uint64_t val);
/* Serve a matched write: post the value (if asked), then signal. */
void iofd_ioeventfd_fire(const struct iofd_ioeventfd_entry *e, uint32_t len,
			 const void *data);
/* Drop what an unlinked entry holds (eventfd ref, post mapping); writer. */
void iofd_ioeventfd_entry_release(struct iofd_vm *vm,
				  struct iofd_ioeventfd_entry *e);

/* ---- group.c ---- */

struct iofd_group_item {
	struct iofd_efd *efd;
	bool has_trigger;
	uint64_t trigger;		/* len bytes, little end first */
};

struct iofd_group {
	uint64_t addr;
	uint32_t len;
	struct rcu_head rcu;
	size_t n;
	struct iofd_group_item items[];
};

/* Release a group and every item's eventfd reference (retire callback). */
void iofd_group_release(struct iofd_vm *vm, void *group);
/* Serve an access reaching the group g. */
void iofd_group_access(const struct iofd_group *g, uint32_t len, bool is_write,
		       void *data);

/* ---- bus helpers ---- */

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

/* The current thread holds vm->lock and may change registrations? */
int iofd_writer_lock(struct iofd_vm *vm);
void iofd_writer_unlock(struct iofd_vm *vm);

#endif /* IOFD_INTERNAL_H */
