/* SPDX-License-Identifier: BSD-3-Clause */
/* The symbols LD_PRELOAD interposes: libc's signatures, the shim's logic. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "preload.h"
#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return shim_ioctl(fd, req, arg);
}

EXPORT int close(int fd)
{
	return shim_close(fd);
}

EXPORT int dup2(int oldfd, int newfd)
{
	return shim_dup3(oldfd, newfd, -1);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return shim_dup3(oldfd, newfd, flags);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return shim_close_range(first, last, flags);
}

EXPORT int iofd_shim_counters(int vcpu_fd, unsigned long long *runs,
			      unsigned long long *served)
{
	return shim_counters(vcpu_fd, runs, served);
}
