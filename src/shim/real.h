/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The calls the shim wraps, reached underneath it (dlsym RTLD_NEXT), the
 * per-thread guard that lets libiofd's own system calls through untouched,
 * and the shim's only output: debug lines when IOFD_SHIM_DEBUG is set.
 */
#ifndef IOFD_SHIM_REAL_H
#define IOFD_SHIM_REAL_H

#include <stdbool.h>

/** shim_real_ioctl() - ioctl() below the shim; -1 and errno as ioctl(2). */
int shim_real_ioctl(int fd, unsigned long req, unsigned long arg);

/** shim_real_close() - close() below the shim. */
int shim_real_close(int fd);

/** shim_real_dup3() - dup2()/dup3() below the shim (@flags -1: dup2). */
int shim_real_dup3(int oldfd, int newfd, int flags);

/** shim_real_close_range() - close_range() below the shim. */
int shim_real_close_range(unsigned first, unsigned last, int flags);

/**
 * shim_enter() / shim_leave() - bracket calls into libiofd. While a thread
 * is inside, its ioctl() calls go straight to the kernel (iofd offloading
 * an ioeventfd must not be taken for the program's own call).
 */
void shim_enter(void);
void shim_leave(void);

/** shim_inside() - true while this thread is inside libiofd for the shim. */
bool shim_inside(void);

/** shim_debug() - one line on stderr, only when IOFD_SHIM_DEBUG is set. */
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* IOFD_SHIM_REAL_H */
