/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the tests: resource counting and KVM availability. */
#ifndef IOFD_TESTUTIL_H
#define IOFD_TESTUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
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

static inline int tu_threads(void)
{
	return tu_count_dir("/proc/self/task");
}

/* Open /dev/kvm or say why not; prints "SKIP: <reason>" when it cannot. */
static inline int tu_kvm_available(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("SKIP: cannot open /dev/kvm\n");
		fflush(stdout);
		return 0;
	}
	close(fd);
	return 1;
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

/*
 * A thread that was joined stays listed in /proc/self/task until the kernel
 * has reaped it, a moment after pthread_join() returns (liburcu joins its
 * hash-table resize worker when the last table goes). Give the count up to
 * two seconds to settle; a thread that really stays is still reported.
 */
static inline struct tu_resources tu_settled_snapshot(struct tu_resources want)
{
	struct tu_resources now = tu_snapshot();

	for (int i = 0; i < 200 && now.threads > want.threads; i++) {
		usleep(10000);
		now = tu_snapshot();
	}
	return now;
}

#define TU_ASSERT_NO_LEAK(before)                              \
	do {                                                   \
		struct tu_resources now_ = tu_settled_snapshot(before); \
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
