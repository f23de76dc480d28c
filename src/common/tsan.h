/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ThreadSanitizer does not see the ordering that liburcu provides: its
 * code is not instrumented, rcu_assign_pointer() and the call_rcu queue
 * are invisible to TSan, and membarrier-based grace periods are not
 * synchronisation TSan knows about. In a TSan build these annotations
 * describe the three orderings RCU guarantees:
 *
 *   1. publication: a writer's initialisation of an object happens before
 *      any reader that found it through an RCU-published pointer reads it
 *      (iofd_tsan_publish() / iofd_tsan_read(), per object);
 *   2. grace period: every read-side section that could see an object ends
 *      before the object's reclaim callback runs. A grace period waits for
 *      all readers, whatever they read, so every reader leaving its
 *      section releases one process-wide anchor (iofd_tsan_read_done())
 *      and every reclaimer acquires it (iofd_tsan_grace());
 *   3. call_rcu hand-off: what the writer did before queueing an object for
 *      reclaim happens before the callback (iofd_tsan_retire() before
 *      call_rcu, acquired again by iofd_tsan_grace(), per object).
 *
 * Outside TSan builds every annotation compiles to nothing.
 */
#ifndef IOFD_TSAN_H
#define IOFD_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define IOFD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IOFD_TSAN 1
#endif
#endif

#ifdef IOFD_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* The grace-period anchor (defined in rcu.c). */
extern char iofd_tsan_grace_anchor;
/* Writer: obj is fully initialised and about to become reachable. */
#define iofd_tsan_publish(obj) __tsan_release((void *)(obj))
/* Reader: obj was found through an RCU-protected pointer. */
#define iofd_tsan_read(obj) __tsan_acquire((void *)(obj))
/* Reader: done with obj; and once more just before rcu_read_unlock, so
 * that the last reads of the section (a link followed after the last
 * object) are covered as well. */
#define iofd_tsan_read_done(obj)                            \
	do {                                                \
		(void)(obj);                                \
		__tsan_release(&iofd_tsan_grace_anchor);    \
	} while (0)
/* Writer: obj is about to be queued with call_rcu. */
#define iofd_tsan_retire(obj) __tsan_release((void *)(obj))
/* Reclaimer (call_rcu callback, or after a barrier): a grace period has
 * passed since obj was retired; obj is about to be freed. */
#define iofd_tsan_grace(obj)                                \
	do {                                                \
		__tsan_acquire(&iofd_tsan_grace_anchor);    \
		__tsan_acquire((void *)(obj));              \
	} while (0)
#else
#define iofd_tsan_publish(obj) ((void)(obj))
#define iofd_tsan_read(obj) ((void)(obj))
#define iofd_tsan_read_done(obj) ((void)(obj))
#define iofd_tsan_retire(obj) ((void)(obj))
#define iofd_tsan_grace(obj) ((void)(obj))
#endif

#endif /* IOFD_TSAN_H */
