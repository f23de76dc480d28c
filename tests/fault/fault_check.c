/* SPDX-License-Identifier: BSD-3-Clause */
/* The fault-injection programs' common checks (fault_check.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>

#include "fault.h"
#include "fault_check.h"
#include "testutil.h"

unsigned long fc_points, fc_bad;

void fc_inconsistency(const char *cond, const char *fmt, ...)
{
	va_list ap;

	fc_bad++;
	printf("# inconsistency: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (%s)\n", cond);
}

bool fc_judge(const char *name, unsigned long k, int rc)
{
	bool fired = iofd_fault_fired();

	iofd_fault_arm(0);
	if (fired) {
		fc_points++;
		CHECK(rc <= 0, "%s, point %lu: returned %d", name, k, rc);
	} else {
		CHECK(rc >= 0, "%s: %d without a fault", name, rc);
	}
	return fired;
}

void fc_check_fds(const char *name, unsigned long k, int before)
{
	CHECK(tu_open_fds() == before, "%s, point %lu: %d fds before, %d after",
	      name, k, before, tu_open_fds());
}

void fc_path_done(const char *name, unsigned long start)
{
	printf("# %s: %lu failure points\n", name, fc_points - start);
}

int fc_summary(void)
{
	printf("fault injection: %lu failure points, %lu inconsistencies\n",
	       fc_points, fc_bad);
	return fc_bad ? 1 : 0;
}

int fc_ioeventfd(struct iofd_vm *vm, uint64_t addr, int fd, uint32_t flags)
{
	struct iofd_ioeventfd a = { .addr = addr, .len = 4, .fd = fd,
				    .flags = flags };

	return iofd_ioeventfd_ext(vm, &a);
}
