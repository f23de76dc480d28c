/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * liburcu for the VMM side: thread registration, done for the VMM's threads
 * on their first call into iofd and undone when the thread exits; and the
 * one helper for arrays that writers copy and publish whole (the ranges of
 * a bus, the GSI lines, the resamplers of a line).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fault.h"
#include "rcu.h"
#include "tsan.h"

#ifdef IOFD_TSAN
char iofd_tsan_grace_anchor;
#endif

static pthread_key_t rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;
static _Thread_local bool rcu_registered;

static void rcu_thread_exit(void *unused)
{
	(void)unused;
	if (rcu_registered) {
		urcu_memb_unregister_thread();
		rcu_registered = false;
	}
}

static void rcu_key_init(void)
{
	pthread_key_create(&rcu_key, rcu_thread_exit);
}

void iofd_rcu_thread(void)
{
	if (likely(rcu_registered))
		return;
	pthread_once(&rcu_once, rcu_key_init);
	urcu_memb_register_thread();
	rcu_registered = true;
	/* Any non-NULL value makes the destructor run at thread exit. */
	pthread_setspecific(rcu_key, (void *)1);
}

/* ---- arrays published whole ----------------------------------------------- */

void *iofd_rcu_array_copy(const void *old, size_t esz, long ins, long del)
{
	const struct iofd_rcu_array *o = old;
	size_t n = o ? o->n : 0, keep = n - (del >= 0), j = 0;
	const char *src = o ? (const char *)(o + 1) : NULL;
	struct iofd_rcu_array *arr;
	char *dst;

	arr = iofd_malloc(sizeof(*arr) + (keep + (ins >= 0)) * esz);
	if (!arr)
		return NULL;
	dst = (char *)(arr + 1);
	for (size_t i = 0; i < n; i++) {
		if ((long)j == ins)
			j++;		/* the caller fills the slot */
		if ((long)i != del)
			memcpy(dst + j++ * esz, src + i * esz, esz);
	}
	arr->n = keep + (ins >= 0);
	return arr;
}

static void array_free_rcu(struct rcu_head *head)
{
	struct iofd_rcu_array *arr = caa_container_of(head, struct iofd_rcu_array, rcu);

	iofd_tsan_grace(arr);
	free(arr);
}

/* Free arr (may be NULL) after a grace period. Cannot fail. */
static void rcu_array_retire(void *arr)
{
	struct iofd_rcu_array *a = arr;

	if (!a)
		return;
	iofd_tsan_retire(a);
	urcu_memb_call_rcu(&a->rcu, array_free_rcu);
}

void iofd_rcu_array_publish(void *slot, void *arr)
{
	struct iofd_rcu_array **s = slot, *a = arr, *old = *s;

	if (a && !a->n) {
		free(a);
		a = NULL;
	}
	if (a)
		iofd_tsan_publish(a);
	rcu_assign_pointer(*s, a);
	rcu_array_retire(old);
}
