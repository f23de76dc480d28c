/* SPDX-License-Identifier: BSD-3-Clause */
/* The reason for the last failure, per thread, and the optional log hook. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "error.h"
#include "iofd/iofd.h"

static _Thread_local char last_error[256];
static _Atomic(iofd_log_fn) log_fn;
static void *_Atomic log_opaque;

IOFD_EXPORT const char *iofd_last_error(void)
{
	return last_error;
}

IOFD_EXPORT void iofd_set_log(iofd_log_fn fn, void *opaque)
{
	atomic_store(&log_opaque, opaque);
	atomic_store(&log_fn, fn);
}

int iofd_fail(int err, const char *fmt, ...)
{
	va_list ap;
	iofd_log_fn fn;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fn = atomic_load(&log_fn);
	if (fn)
		fn(atomic_load(&log_opaque), err, last_error);
	return err;
}
