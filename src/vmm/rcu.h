/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * liburcu for the VMM side: thread registration for the VMM's threads, and
 * the arrays that writers copy and publish whole.
 */
#ifndef IOFD_RCU_H
#define IOFD_RCU_H

#include <stddef.h>

#include <urcu/urcu-memb.h>

/* Register the calling thread with liburcu once (unregistered at exit). */
void iofd_rcu_thread(void);

/*
 * The head of an array that writers copy and publish whole (RCU): readers
 * see one array whole or not at all. A typed array embeds it first and its
 * n elements of one size follow it directly:
 *	struct x_array { struct iofd_rcu_array h; struct x v[]; };
 */
struct iofd_rcu_array {
	size_t n;
	struct rcu_head rcu;
};

#define IOFD_RCU_ARRAY_CHECK(type, member)                                    \
	_Static_assert(offsetof(type, member) == sizeof(struct iofd_rcu_array), \
		       #type ": elements right after the head")

/*
 * A writer's copy of old (NULL: an empty array) of elements of esz bytes,
 * without element del (-1: none) and with an uninitialised slot at ins
 * (-1: none; ins counts in the copy). NULL when out of memory; old is not
 * touched. The copy is the caller's until published.
 */
void *iofd_rcu_array_copy(const void *old, size_t esz, long ins, long del);
/* Publish arr in *slot (NULL instead of an empty arr, which is freed) and
 * free the array it replaces after a grace period. Cannot fail. */
void iofd_rcu_array_publish(void *slot, void *arr);
#endif /* IOFD_RCU_H */
