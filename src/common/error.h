/* SPDX-License-Identifier: BSD-3-Clause */
/* Errors: the per-thread reason of the last failure and the log hook. */
#ifndef IOFD_ERROR_H
#define IOFD_ERROR_H

#define IOFD_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Record the reason for a failure on this thread; returns err (negative). */
int iofd_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* IOFD_ERROR_H */
