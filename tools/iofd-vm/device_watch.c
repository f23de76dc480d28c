/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device process's faults: injected, seen, counted and judged.
 *
 * The process is looked at with waitid(WNOWAIT): its state is read but it
 * stays the teardown's to reap, so the exit status teardown reports is
 * the real one. A stop is a fault too: the process cannot serve a
 * register access, and iofd fails the access at the ioregion timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <linux/kvm.h>
#include <iofd/kvm-unmerged.h>

#include "device_watch.h"

int device_watch_parse(const char *spec, enum dw_action *action, double *at)
{
	const char *sep = spec ? strchr(spec, '@') : NULL;
	size_t name_len = sep ? (size_t)(sep - spec) : (spec ? strlen(spec) : 0);
	char *end;

	if (!spec)
		return -EINVAL;
	if (name_len == 4 && !strncmp(spec, "kill", 4))
		*action = DW_KILL;
	else if (name_len == 4 && !strncmp(spec, "stop", 4))
		*action = DW_STOP;
	else
		return -EINVAL;
	*at = 0;
	if (!sep)
		return 0;
	errno = 0;
	*at = strtod(sep + 1, &end);
	if (errno || end == sep + 1 || *end || !(*at >= 0 && *at <= 86400))
		return -EINVAL;
	return 0;
}

void device_watch_init(struct device_watch *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
}

void device_watch_start(struct device_watch *w, pid_t pid, const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	pthread_mutex_lock(&w->lock);
	w->pid = pid;
	snprintf(w->name, sizeof(w->name), "%s",
		 base ? base + 1 : argv0 ? argv0 : "?");
	pthread_mutex_unlock(&w->lock);
}

void device_watch_plan(struct device_watch *w, enum dw_action action, double at)
{
	pthread_mutex_lock(&w->lock);
	w->planned = action;
	w->planned_at = at;
	pthread_mutex_unlock(&w->lock);
}

int device_watch_inject(struct device_watch *w, enum dw_action action)
{
	pid_t pid;

	pthread_mutex_lock(&w->lock);
	pid = w->pid;
	pthread_mutex_unlock(&w->lock);
	if (pid <= 0 || action == DW_NONE)
		return -ESRCH;
	fprintf(stderr, "iofd-vm: %s the device %s (pid %d)\n",
		action == DW_KILL ? "killing" : "stopping", w->name, (int)pid);
	return kill(pid, action == DW_KILL ? SIGKILL : SIGSTOP) ? -errno : 0;
}

const char *device_watch_describe(int code, int status, char *buf, size_t len)
{
	switch (code) {
	case CLD_EXITED:
		snprintf(buf, len, "exited with status %d", status);
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		snprintf(buf, len, "killed by signal %d%s", status,
			 code == CLD_DUMPED ? " (core dumped)" : "");
		break;
	case CLD_STOPPED:
	case CLD_TRAPPED:
		snprintf(buf, len, "stopped by signal %d", status);
		break;
	default:
		snprintf(buf, len, "in state %d (status %d)", code, status);
		break;
	}
	return buf;
}

/* The process's state change, if any: true with @info filled. */
static bool state_change(pid_t pid, siginfo_t *info)
{
	memset(info, 0, sizeof(*info));
	if (waitid(P_PID, (id_t)pid, info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT))
		return false;
	return info->si_pid == pid;
}

bool device_watch_tick(struct device_watch *w, double now)
{
	enum dw_action due = DW_NONE;
	siginfo_t info;
	bool first = false;

	pthread_mutex_lock(&w->lock);
	if (w->planned != DW_NONE && !w->injected && now >= w->planned_at) {
		w->injected = true;
		due = w->planned;
	}
	pthread_mutex_unlock(&w->lock);
	if (due != DW_NONE)
		device_watch_inject(w, due);
	if (w->pid <= 0 || !state_change(w->pid, &info))
		return false;
	pthread_mutex_lock(&w->lock);
	if (!w->faulted) {
		first = w->faulted = true;
		w->stopped = info.si_code == CLD_STOPPED || info.si_code == CLD_TRAPPED;
		w->fault_at = now;
		device_watch_describe(info.si_code, info.si_status, w->how,
				      sizeof(w->how));
	}
	pthread_mutex_unlock(&w->lock);
	if (first)
		fprintf(stderr, "iofd-vm: device %s %s at t=%.3f; the guest goes "
			"on, its accesses to the device fail\n", w->name, w->how, now);
	return first;
}

void device_watch_failed_access(struct device_watch *w, const struct iofd_exit *info)
{
	pthread_mutex_lock(&w->lock);
	if (!w->failed++)
		snprintf(w->first_failure, sizeof(w->first_failure),
			 "%s of %u bytes at 0x%llx: %s",
			 info->is_write ? "write" : "read", info->len,
			 (unsigned long long)info->addr, info->reason);
	pthread_mutex_unlock(&w->lock);
}

void device_watch_bus_error(struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		break;
	case KVM_EXIT_IO:
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset((char *)run + run->io.data_offset, 0xff,
			       (size_t)run->io.size * run->io.count);
		break;
	default:	/* KVM_EXIT_IOREGIONFD_FAILURE: completed by the kernel */
		break;
	}
}

bool device_watch_verdict(struct device_watch *w, char *buf, size_t len)
{
	int at = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&w->lock);
	if (w->faulted || w->failed) {
		at = snprintf(buf, len, "device %s: ", w->name);
		if (w->faulted && at < (int)len)
			at += snprintf(buf + at, len - at, "%s at t=%.3f; ", w->how,
				       w->fault_at);
		if (at < (int)len)
			at += snprintf(buf + at, len - at, "%llu register access%s "
				       "failed", (unsigned long long)w->failed,
				       w->failed == 1 ? "" : "es");
		if (w->failed && at < (int)len)
			snprintf(buf + at, len - at, " (first: %s)", w->first_failure);
	}
	pthread_mutex_unlock(&w->lock);
	return buf[0] != '\0';
}

bool device_watch_release(struct device_watch *w)
{
	bool kill_it;

	pthread_mutex_lock(&w->lock);
	kill_it = w->pid > 0 && w->stopped;
	pthread_mutex_unlock(&w->lock);
	if (kill_it) {
		fprintf(stderr, "iofd-vm: the device %s is stopped; killing it\n",
			w->name);
		kill(w->pid, SIGKILL);
	}
	return kill_it;
}

void device_watch_destroy(struct device_watch *w)
{
	pthread_mutex_destroy(&w->lock);
}
