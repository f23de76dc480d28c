/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * liburcu thread registration, done for the VMM's threads on their first
 * call into iofd and undone when the thread exits.
 */
#include <pthread.h>

#include "error.h"
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
