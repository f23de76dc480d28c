/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the fault-injection programs share (test_fault.c, test_fault_kvm.c):
 * the count of failure points and of inconsistencies, CHECK(), the judging
 * of one failure point and the closing line
 *   fault injection: <N> failure points, <M> inconsistencies
 * Tests only (fault_check.c).
 */
#ifndef IOFD_FAULT_CHECK_H
#define IOFD_FAULT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <iofd/iofd.h>

/* Failure points that fired, and inconsistencies found, so far. */
extern unsigned long fc_points, fc_bad;

/* Count an inconsistency and print it: the printf-style text, then cond. */
void fc_inconsistency(const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Unless cond holds, an inconsistency described by the printf-style rest. */
#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond))                                   \
			fc_inconsistency(#cond, __VA_ARGS__);  \
	} while (0)

/*
 * After path name ran with failure point k armed and returned rc: disarm.
 * If the point fired, count it and check rc is a negative errno or 0 (a
 * failure absorbed); else rc must be no error. Returns whether it fired.
 */
bool fc_judge(const char *name, unsigned long k, int rc);

/* After point k of path name: as many fds open as before it. */
void fc_check_fds(const char *name, unsigned long k, int before);

/* Print the failure points of path name since start was fc_points. */
void fc_path_done(const char *name, unsigned long start);

/* Print the closing line; the exit status: 1 after an inconsistency. */
int fc_summary(void);

/* An ioeventfd of 4 bytes at addr for fd on vm (flags as the ext call's). */
int fc_ioeventfd(struct iofd_vm *vm, uint64_t addr, int fd, uint32_t flags);

#endif
