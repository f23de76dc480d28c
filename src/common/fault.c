/* SPDX-License-Identifier: BSD-3-Clause */
/* The failure point counter of a fault-injection build (see fault.h). */
#include "fault.h"

#ifdef IOFD_FAULT_INJECTION
#include <stdatomic.h>

static atomic_ulong armed, passed;
static atomic_bool fired;

bool iofd_fault_now(void)
{
	unsigned long k = atomic_load(&armed);
	unsigned long n = atomic_fetch_add(&passed, 1) + 1;

	if (!k || n != k)
		return false;
	atomic_store(&fired, true);
	return true;
}

void iofd_fault_arm(unsigned long k)
{
	atomic_store(&passed, 0);
	atomic_store(&fired, false);
	atomic_store(&armed, k);
}

unsigned long iofd_fault_points(void)
{
	return atomic_load(&passed);
}

bool iofd_fault_fired(void)
{
	return atomic_load(&fired);
}
#else
/* ISO C wants something in a translation unit. */
typedef int iofd_fault_unused;
#endif
