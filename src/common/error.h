/* SPDX-License-Identifier: BSD-3-Clause */
/* Errors and logging: the per-thread reason of the last failure, the log. */
#ifndef IOFD_COMMON_ERROR_H
#define IOFD_COMMON_ERROR_H

#include <stdbool.h>

#include "iofd/error.h"

#define IOFD_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Are the len bytes at p all zero? (reserved space of the ABI structs) */
static inline bool iofd_zero(const void *p, unsigned long len)
{
	const unsigned char *b = p;

	for (unsigned long i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* A call fails: record the reason on this thread and log it at
 * IOFD_LOG_ERROR; returns err (negative). */
int iofd_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the reason of a failure without logging it: for a step whose
 * caller adds context and reports (logs) the failure itself, or to put
 * back a reason already logged. Returns err. */
int iofd_fail_quiet(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log without failing: iofd_last_error() does not change. err is the
 * errno involved (negative) or 0. */
void iofd_log(enum iofd_log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* IOFD_COMMON_ERROR_H */
