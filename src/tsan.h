/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ThreadSanitizer does not see the ordering that liburcu's membarrier-based
 * grace periods and rcu_assign_pointer() provide. In a TSan build these
 * annotations tell it: a writer publishing an object releases it, a reader
 * that found it acquires it, and a reader leaving its critical section
 * releases what it read to whoever frees it after the grace period.
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
/* Writer: obj is fully initialised and about to become reachable. */
#define iofd_tsan_publish(obj) __tsan_release((void *)(obj))
/* Reader: obj was found through an RCU-protected pointer. */
#define iofd_tsan_read(obj) __tsan_acquire((void *)(obj))
/* Reader: done with obj (before rcu_read_unlock). */
#define iofd_tsan_read_done(obj) __tsan_release((void *)(obj))
/* Reclaimer: a grace period has passed; obj is about to be freed. */
#define iofd_tsan_grace(obj) __tsan_acquire((void *)(obj))
/* Writer: done with obj, which goes to call_rcu() (pairs with grace). */
#define iofd_tsan_retire(obj) __tsan_release((void *)(obj))
#else
#define iofd_tsan_publish(obj) ((void)(obj))
#define iofd_tsan_read(obj) ((void)(obj))
#define iofd_tsan_read_done(obj) ((void)(obj))
#define iofd_tsan_grace(obj) ((void)(obj))
#define iofd_tsan_retire(obj) ((void)(obj))
#endif

#endif /* IOFD_TSAN_H */
