/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Watching the Linux mode's device process: faults injected on purpose
 * (kill or stop it after some seconds or on a debug mark), faults that
 * happen (it dies, exits or stops), the register accesses that failed
 * because of them, and the verdict at the end of the run.
 *
 * A device fault does not stop the guest: each failed access to the
 * device's registers becomes a bus error (a read sees all ones, a write
 * is dropped), so the guest's driver times out, resets the controller or
 * gives up, as on a machine whose device fell off the bus. The run still
 * fails at its end, with a line that names the fault.
 */
#ifndef IOFD_VM_DEVICE_WATCH_H
#define IOFD_VM_DEVICE_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <iofd/iofd.h>

struct kvm_run;

/* Debug mark values (port 0x4f0) that inject a fault. */
#define DW_MARK_KILL	0xfd
#define DW_MARK_STOP	0xfc

enum dw_action { DW_NONE = 0, DW_KILL, DW_STOP };

struct device_watch {
	pthread_mutex_t lock;
	pid_t pid;			/* 0: nothing to watch */
	char name[64];			/* the command's base name */
	enum dw_action planned;		/* --device-fault */
	double planned_at;		/* seconds since the start */
	bool injected;			/* the planned fault was done */
	bool faulted;			/* the process died, exited or stopped */
	bool stopped;			/* ... and is stopped (kill it at teardown) */
	char how[64];			/* "killed by signal 9" */
	double fault_at;
	uint64_t failed;		/* register accesses that failed */
	char first_failure[160];
};

/**
 * device_watch_parse() - parse a --device-fault spec: "kill" or "stop",
 * optionally "@SEC" (seconds since the start, fractions allowed; without
 * it, at once). Returns 0, or -EINVAL for anything else.
 */
int device_watch_parse(const char *spec, enum dw_action *action, double *at);

/** device_watch_init() - watch nothing yet, with no planned fault. */
void device_watch_init(struct device_watch *w);

/** device_watch_start() - watch the process @pid started from @argv0. */
void device_watch_start(struct device_watch *w, pid_t pid, const char *argv0);

/** device_watch_plan() - do @action at @at seconds (device_watch_tick). */
void device_watch_plan(struct device_watch *w, enum dw_action action, double at);

/**
 * device_watch_inject() - kill (SIGKILL) or stop (SIGSTOP) the device now.
 * Returns 0, -ESRCH without a process, or an errno of kill().
 */
int device_watch_inject(struct device_watch *w, enum dw_action action);

/**
 * device_watch_tick() - at @now seconds: inject a planned fault that is
 * due, and look at the process (without reaping it: teardown does). A
 * death, exit or stop seen the first time is recorded with its time and
 * printed on stderr. Returns true the first time a fault is seen.
 */
bool device_watch_tick(struct device_watch *w, double now);

/**
 * device_watch_describe() - @code and @status of a waitid() siginfo
 * (CLD_*, si_status) in words: "killed by signal 9", "exited with
 * status 1", "stopped by signal 19". Returns @buf.
 */
const char *device_watch_describe(int code, int status, char *buf, size_t len);

/**
 * device_watch_failed_access() - count one register access that failed
 * (iofd's IOFD_FAILED, details in @info); the first one's description is
 * kept for the verdict. Safe from any vCPU thread.
 */
void device_watch_failed_access(struct device_watch *w, const struct iofd_exit *info);

/**
 * device_watch_bus_error() - complete the failed access in @run as a bus
 * error: a read's bytes (MMIO data, or the port I/O data) become all
 * ones, a write is dropped. The kernel's ioregionfd failure exit has
 * been completed so already and is left alone.
 */
void device_watch_bus_error(struct kvm_run *run);

/**
 * device_watch_verdict() - the fault line, if there is one: "device NAME:
 * killed by signal 9 at t=12.345; 17 register accesses failed (first:
 * ...)". Returns true (and fills @buf) when the device faulted or an
 * access failed, false (buf empty) when nothing did.
 */
bool device_watch_verdict(struct device_watch *w, char *buf, size_t len);

/**
 * device_watch_release() - teardown: a stopped device is killed at once
 * (it would never read the closed socket); returns true when it did.
 */
bool device_watch_release(struct device_watch *w);

/** device_watch_destroy() - free the lock. */
void device_watch_destroy(struct device_watch *w);

#endif /* IOFD_VM_DEVICE_WATCH_H */
