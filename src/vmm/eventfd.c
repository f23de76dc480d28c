/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventfd identity, as the kernel sees it: by object, not by fd number.
 *
 * Each VM keeps one close-on-exec dup per distinct eventfd object, shared by
 * every registration that uses it. Objects are ordered by kcmp(KCMP_FILE),
 * which compares the kernel's file pointers, so a lookup is a walk down a
 * balanced tree (glibc's tsearch) costing O(log n) kcmp calls. Where kcmp
 * is not available the eventfd-id of /proc/self/fdinfo orders them instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kcmp.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "tsan.h"

static _Atomic int use_fdinfo_id;	/* kcmp unavailable: order by eventfd-id */

static int kcmp_files(int a, int b)
{
	pid_t pid = getpid();

	return (int)syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
}

/* The eventfd-id line of fd's fdinfo, or 0 if there is none. */
static uint64_t fdinfo_eventfd_id(int fd)
{
	char path[64], line[128];
	uint64_t id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "eventfd-id: %" SCNu64, &id) == 1)
			break;
	fclose(f);
	return id;
}

static int efd_compare(const void *pa, const void *pb)
{
	const struct iofd_efd *a = pa, *b = pb;
	int r;

	if (atomic_load_explicit(&use_fdinfo_id, memory_order_relaxed))
		return a->id < b->id ? -1 : a->id > b->id;
	r = kcmp_files(a->fd, b->fd);
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

/* Probe once whether kcmp works here; fall back to eventfd-id if not. */
static void efd_choose_order(int fd)
{
	static _Atomic int probed;

	if (atomic_load(&probed))
		return;
	if (kcmp_files(fd, fd) != 0)
		atomic_store(&use_fdinfo_id, 1);
	atomic_store(&probed, 1);
}

static struct iofd_efd *efd_lookup(struct iofd_efd_registry *reg, int fd)
{
	struct iofd_efd key = { .fd = fd };
	struct iofd_efd **found;

	efd_choose_order(fd);
	if (atomic_load(&use_fdinfo_id))
		key.id = fdinfo_eventfd_id(fd);
	found = tfind(&key, &reg->root, efd_compare);
	return found ? *found : NULL;
}

struct iofd_efd *iofd_efd_find(struct iofd_efd_registry *reg, int fd)
{
	if (iofd_efd_check(fd) < 0)
		return NULL;
	return efd_lookup(reg, fd);
}

int iofd_efd_get(struct iofd_efd_registry *reg, int fd, struct iofd_efd **out)
{
	struct iofd_efd *efd;
	int err = iofd_efd_check(fd);

	if (err)
		return err;
	efd = efd_lookup(reg, fd);
	if (efd) {
		efd->refs++;
		*out = efd;
		return 0;
	}
	efd = iofd_calloc(1, sizeof(*efd));
	if (!efd)
		return iofd_fail(-ENOMEM, "out of memory for an eventfd record");
	efd->fd = iofd_dupfd(fd, 0);
	if (efd->fd < 0) {
		err = -errno;
		free(efd);
		return iofd_fail(err, "cannot keep a dup of eventfd %d: %s", fd,
				 strerror(-err));
	}
	if (atomic_load(&use_fdinfo_id))
		efd->id = fdinfo_eventfd_id(efd->fd);
	efd->refs = 1;
	if (!tsearch(efd, &reg->root, efd_compare)) {
		close(efd->fd);
		free(efd);
		return iofd_fail(-ENOMEM, "out of memory for the eventfd tree");
	}
	reg->count++;
	*out = efd;
	return 0;
}

static void efd_release_rcu(struct rcu_head *head)
{
	struct iofd_efd *efd = caa_container_of(head, struct iofd_efd, rcu);

	iofd_tsan_grace(efd);
	close(efd->fd);
	free(efd);
}

void iofd_efd_put(struct iofd_efd_registry *reg, struct iofd_efd *efd)
{
	if (--efd->refs)
		return;
	tdelete(efd, &reg->root, efd_compare);
	reg->count--;
	/* Readers may still hold efd: close the dup after a grace period. */
	iofd_tsan_retire(efd);
	urcu_memb_call_rcu(&efd->rcu, efd_release_rcu);
}

void iofd_efd_signal(const struct iofd_efd *efd)
{
	uint64_t one = 1;
	ssize_t n;

	/* EAGAIN (counter at its maximum) drops the signal, as the kernel does. */
	n = write(efd->fd, &one, sizeof(one));
	(void)n;
}
