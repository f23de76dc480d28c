/* SPDX-License-Identifier: BSD-3-Clause */
/* The wrapped calls below the shim, the libiofd guard, debug output. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*close_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*close_range_fn)(unsigned, unsigned, int);

static ioctl_fn next_ioctl;
static close_fn next_close;
static dup2_fn next_dup2;
static dup3_fn next_dup3;
static close_range_fn next_close_range;
static bool debug_on;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
/* initial-exec: no __tls_get_addr call on every ioctl (a preloaded
 * library gets static TLS) */
static __thread int inside __attribute__((tls_model("initial-exec")));

/* Look the next definitions up once; raw system calls stand in if absent. */
static void resolve(void)
{
	next_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	next_close = (close_fn)dlsym(RTLD_NEXT, "close");
	next_dup2 = (dup2_fn)dlsym(RTLD_NEXT, "dup2");
	next_dup3 = (dup3_fn)dlsym(RTLD_NEXT, "dup3");
	next_close_range = (close_range_fn)dlsym(RTLD_NEXT, "close_range");
	debug_on = getenv("IOFD_SHIM_DEBUG") != NULL;
}

static void resolve_now(void)
{
	pthread_once(&resolve_once, resolve);
}

int shim_real_ioctl(int fd, unsigned long req, unsigned long arg)
{
	resolve_now();
	if (next_ioctl)
		return next_ioctl(fd, req, arg);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

int shim_real_close(int fd)
{
	resolve_now();
	if (next_close)
		return next_close(fd);
	return (int)syscall(SYS_close, fd);
}

int shim_real_dup3(int oldfd, int newfd, int flags)
{
	resolve_now();
	if (flags < 0)
		return next_dup2 ? next_dup2(oldfd, newfd) :
				   (int)syscall(SYS_dup2, oldfd, newfd);
	return next_dup3 ? next_dup3(oldfd, newfd, flags) :
			   (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

int shim_real_close_range(unsigned first, unsigned last, int flags)
{
	resolve_now();
	if (next_close_range)
		return next_close_range(first, last, flags);
	return (int)syscall(SYS_close_range, first, last, flags);
}

void shim_enter(void)
{
	inside++;
}

void shim_leave(void)
{
	inside--;
}

bool shim_inside(void)
{
	return inside > 0;
}

void shim_debug(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n, saved = errno;

	resolve_now();
	if (!debug_on)
		return;
	n = snprintf(line, sizeof(line), "iofd-shim[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		errno = saved;
	errno = saved;
}
