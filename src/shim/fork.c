/* SPDX-License-Identifier: BSD-3-Clause */
/* fork handlers: liburcu's call_rcu workers and the shim's objects. */
#define _GNU_SOURCE
#include <pthread.h>
#include <urcu/urcu-memb.h>
#include <urcu/call-rcu.h>

#include "fork.h"
#include "obj.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void prepare(void)
{
	shim_objs_fork_prepare();
	urcu_memb_call_rcu_before_fork();
}

static void parent(void)
{
	urcu_memb_call_rcu_after_fork_parent();
	shim_objs_fork_parent();
}

static void child(void)
{
	urcu_memb_call_rcu_after_fork_child();
	shim_objs_fork_child();
}

static void install(void)
{
	pthread_atfork(prepare, parent, child);
}

void shim_fork_init(void)
{
	pthread_once(&once, install);
}
