/* SPDX-License-Identifier: BSD-3-Clause */
/* The reason for the last failure, per thread, and the optional log hook. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "error.h"

static _Thread_local char last_error[256];
static _Atomic(iofd_log_fn) log_fn;
static void *_Atomic log_opaque;
static _Atomic int log_max;

IOFD_EXPORT const char *iofd_last_error(void)
{
	return last_error;
}

IOFD_EXPORT void iofd_clear_error(void)
{
	last_error[0] = '\0';
}

IOFD_EXPORT int iofd_set_log(iofd_log_fn fn, void *opaque,
			     enum iofd_log_level max_level)
{
	if ((unsigned int)max_level > IOFD_LOG_DEBUG)
		return iofd_fail(-EINVAL, "iofd_set_log: unknown level %d",
				 (int)max_level);
	/* The callback last: a logger that sees it sees its argument. */
	atomic_store(&log_fn, NULL);
	atomic_store(&log_opaque, opaque);
	atomic_store(&log_max, (int)max_level);
	atomic_store(&log_fn, fn);
	return 0;
}

/* The callback, if one takes messages of this level. */
static iofd_log_fn hook(enum iofd_log_level level)
{
	iofd_log_fn fn = atomic_load(&log_fn);

	return fn && (int)level <= atomic_load(&log_max) ? fn : NULL;
}

int iofd_fail(int err, const char *fmt, ...)
{
	iofd_log_fn fn;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fn = hook(IOFD_LOG_ERROR);
	if (fn)
		fn(atomic_load(&log_opaque), IOFD_LOG_ERROR, err, last_error);
	return err;
}

int iofd_fail_quiet(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void iofd_log(enum iofd_log_level level, int err, const char *fmt, ...)
{
	iofd_log_fn fn = hook(level);
	char msg[256];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(atomic_load(&log_opaque), level, err, msg);
}
