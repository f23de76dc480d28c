/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection: every allocation, kernel call (ioctl) and fd dup inside
 * the libraries goes through these wrappers. In a build with the
 * fault_injection option, the k-th of them from iofd_fault_arm(k) on
 * fails (ENOMEM, or EMFILE for a dup), so a test can walk every failure
 * point of a path. In every other build they are the plain calls.
 */
#ifndef IOFD_COMMON_FAULT_H
#define IOFD_COMMON_FAULT_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#ifdef IOFD_FAULT_INJECTION
/* Count one failure point; true if this one is to fail. */
bool iofd_fault_now(void);
/* Make the k-th failure point from now fail (0: none); resets the count. */
void iofd_fault_arm(unsigned long k);
/* Failure points passed since the last iofd_fault_arm(). */
unsigned long iofd_fault_points(void);
/* Did the armed point fail? */
bool iofd_fault_fired(void);
#else
static inline bool iofd_fault_now(void)
{
	return false;
}
#endif

static inline void *iofd_malloc(size_t n)
{
	if (iofd_fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

static inline void *iofd_calloc(size_t n, size_t size)
{
	if (iofd_fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(n, size);
}

static inline void *iofd_realloc(void *p, size_t n)
{
	if (iofd_fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/* ioctl(2) and a close-on-exec dup at or above min (fcntl F_DUPFD_CLOEXEC). */
#define iofd_ioctl(fd, req, arg) \
	(iofd_fault_now() ? (errno = ENOMEM, -1) : ioctl(fd, req, arg))
#define iofd_dupfd(fd, min) \
	(iofd_fault_now() ? (errno = EMFILE, -1) : fcntl(fd, F_DUPFD_CLOEXEC, min))

#endif /* IOFD_COMMON_FAULT_H */
