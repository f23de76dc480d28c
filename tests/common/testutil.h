/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the tests: resource counting and KVM availability. */
#ifndef IOFD_TESTUTIL_H
#define IOFD_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <iofd/iofd.h>

/* Entries in a /proc/self directory (fds or threads), not counting ".". */
static inline int tu_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - (path[11] == 'f' ? 1 : 0); /* the DIR's own fd */
}

static inline int tu_open_fds(void)
{
	return tu_count_dir("/proc/self/fd");
}

/* Is thread tid on its way out (PF_EXITING in the flags of its stat)? */
static inline int tu_thread_exiting(const char *tid)
{
	char path[320], buf[512], *p;
	unsigned long flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return 1;	/* already gone */
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after the comm: state ppid pgrp session tty_nr tpgid flags */
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1)
		return (flags & 0x4) != 0;	/* PF_EXITING */
	return 0;
}

/*
 * Live threads. A thread that was joined stays listed in /proc/self/task
 * until the kernel reaps it, a moment after pthread_join() returns (liburcu
 * joins its hash-table resize worker when the last table goes): such a
 * thread is already marked exiting and is not counted.
 */
static inline int tu_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && !tu_thread_exiting(de->d_name))
			n++;
	closedir(d);
	return n;
}

/*
 * Open /dev/kvm or say why not: when it cannot, prints the reason as a TAP
 * comment ("# SKIP: ..."), so the caller's skip() stays valid TAP.
 */
static inline int tu_kvm_available(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("# SKIP: cannot open /dev/kvm: %s\n", strerror(errno));
		fflush(stdout);
		return 0;
	}
	close(fd);
	return 1;
}

/*
 * For a program whose every case needs KVM: true when /dev/kvm opens; else
 * prints a TAP plan that skips the whole program with the reason, and the
 * caller returns 0 from main (meson counts the program as skipped).
 */
static inline bool tu_kvm_or_skip_all(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("1..0 # SKIP cannot open /dev/kvm: %s\n", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

#define TU_REQUIRE_KVM()                  \
	do {                              \
		if (!tu_kvm_available()) \
			skip();           \
	} while (0)

/* Current count of an eventfd, read without blocking (0 if none). */
static inline uint64_t tu_efd_count(int fd)
{
	uint64_t v = 0;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	fcntl(fd, F_SETFL, fl);
	return v;
}

/* Resource snapshot taken before a test, compared after a quiesce. */
struct tu_resources {
	int fds, threads;
};

static inline struct tu_resources tu_snapshot(void)
{
	struct tu_resources r = { tu_open_fds(), tu_threads() };

	return r;
}

#define TU_ASSERT_NO_LEAK(before)                              \
	do {                                                   \
		struct tu_resources now_ = tu_snapshot();      \
		assert_int_equal(now_.fds, (before).fds);      \
		assert_int_equal(now_.threads, (before).threads); \
	} while (0)

/* Make liburcu's call_rcu worker exist before counting threads. */
static inline void tu_warm_up(void)
{
	struct iofd_vm *vm;
	int efd = eventfd(0, EFD_CLOEXEC);
	struct kvm_ioeventfd a = { .addr = 0x1000, .len = 4, .fd = efd };

	if (iofd_vm_create(NULL, &vm) == 0) {
		iofd_ioeventfd(vm, &a);
		iofd_vm_destroy(vm);
	}
	close(efd);
}

#endif /* IOFD_TESTUTIL_H */
