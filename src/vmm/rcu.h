/* SPDX-License-Identifier: BSD-3-Clause */
/* liburcu thread registration for the VMM's threads. */
#ifndef IOFD_RCU_H
#define IOFD_RCU_H

#include <urcu/urcu-memb.h>

/* Register the calling thread with liburcu once (unregistered at exit). */
void iofd_rcu_thread(void);

#endif /* IOFD_RCU_H */
