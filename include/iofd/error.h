/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd errors and logging, shared by both libraries (libiofd and
 * libiofd-device).
 *
 * A call that fails returns a negative errno and records why, per thread
 * (iofd_last_error()). Only a failing call (or iofd_clear_error()) changes
 * that reason. Anything
 * else worth knowing (a kernel refusal that iofd answers by serving the
 * registration in userspace, a cleanup step that did not work) goes to the
 * optional log callback only, at its level. iofd never prints.
 */
#ifndef IOFD_ERROR_H
#define IOFD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** Levels of a log message, most severe first. */
enum iofd_log_level {
	IOFD_LOG_ERROR = 0,	/* a call failed; the same text as iofd_last_error() */
	IOFD_LOG_WARNING = 1,	/* something went wrong, the call still succeeded */
	IOFD_LOG_INFO = 2,	/* a choice iofd made (e.g. served in userspace) */
	IOFD_LOG_DEBUG = 3,	/* details for whoever debugs iofd */
};

/**
 * iofd_last_error() - the reason for the last failure on this thread.
 *
 * Returns a NUL-terminated message owned by iofd (valid until the next
 * failing call on this thread), or "" if no call has failed yet or since
 * iofd_clear_error(). A call that succeeds leaves it unchanged.
 */
const char *iofd_last_error(void);

/**
 * iofd_clear_error() - forget the calling thread's last reason, so that
 * iofd_last_error() returns "" until the next failure. Cannot fail.
 */
void iofd_clear_error(void);

/**
 * Log callback: the level, the negative errno involved (0 if none) and the
 * message (owned by iofd, valid during the call).
 */
typedef void (*iofd_log_fn)(void *opaque, enum iofd_log_level level, int err,
			    const char *msg);

/**
 * iofd_set_log() - install a process-wide log callback.
 *
 * Messages up to max_level (IOFD_LOG_ERROR .. IOFD_LOG_DEBUG) reach fn;
 * messages above it are not even formatted. Pass fn NULL to remove the
 * callback. The callback runs on the thread that logs, after a failure's
 * per-thread reason has been set; it must not call back into iofd.
 * Returns 0, or -EINVAL for an unknown level (nothing changes then).
 */
int iofd_set_log(iofd_log_fn fn, void *opaque, enum iofd_log_level max_level);

#ifdef __cplusplus
}
#endif

#endif /* IOFD_ERROR_H */
