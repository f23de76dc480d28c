/* SPDX-License-Identifier: BSD-3-Clause */
/* fd classification from /proc/self/fd and the fd -> object table. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtab.h"

#define PAGE_SHIFT	10
#define PAGE_SLOTS	(1u << PAGE_SHIFT)
#define NR_PAGES	4096u	/* 4 Mi fds, beyond any usual RLIMIT_NOFILE */

typedef struct shim_obj *_Atomic slot_t;

static slot_t *_Atomic pages[NR_PAGES];

int shim_fd_kind_of_link(const char *link)
{
	if (strcmp(link, "/dev/kvm") == 0)
		return SHIM_FD_KVM;
	if (strcmp(link, "anon_inode:kvm-vm") == 0)
		return SHIM_FD_VM;
	if (strncmp(link, "anon_inode:kvm-vcpu:", 20) == 0)
		return SHIM_FD_VCPU;
	return SHIM_FD_OTHER;
}

int shim_fd_classify(int fd)
{
	char path[40], link[64];
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? -EBADF : SHIM_FD_OTHER;
	link[n] = '\0';
	return shim_fd_kind_of_link(link);
}

struct shim_obj *shim_fdtab_get(int fd)
{
	slot_t *page;

	if (fd < 0 || (unsigned)fd >= NR_PAGES * PAGE_SLOTS)
		return NULL;
	page = atomic_load_explicit(&pages[(unsigned)fd >> PAGE_SHIFT],
				    memory_order_acquire);
	if (!page)
		return NULL;
	return atomic_load_explicit(&page[(unsigned)fd & (PAGE_SLOTS - 1)],
				    memory_order_acquire);
}

int shim_fdtab_set(int fd, struct shim_obj *obj)
{
	slot_t *page;

	if (fd < 0 || (unsigned)fd >= NR_PAGES * PAGE_SLOTS)
		return -EBADF;
	page = atomic_load_explicit(&pages[(unsigned)fd >> PAGE_SHIFT],
				    memory_order_acquire);
	if (!page) {
		if (!obj)
			return 0;
		page = calloc(PAGE_SLOTS, sizeof(*page));
		if (!page)
			return -ENOMEM;
		atomic_store_explicit(&pages[(unsigned)fd >> PAGE_SHIFT], page,
				      memory_order_release);
	}
	atomic_store_explicit(&page[(unsigned)fd & (PAGE_SLOTS - 1)], obj,
			      memory_order_release);
	return 0;
}

void shim_fdtab_clear(void)
{
	for (unsigned p = 0; p < NR_PAGES; p++) {
		slot_t *page = atomic_load_explicit(&pages[p], memory_order_acquire);

		for (unsigned i = 0; page && i < PAGE_SLOTS; i++)
			atomic_store_explicit(&page[i], NULL, memory_order_relaxed);
	}
}

int shim_fdtab_next(int from)
{
	for (unsigned fd = from < 0 ? 0 : (unsigned)from; fd < NR_PAGES * PAGE_SLOTS;) {
		slot_t *page = atomic_load_explicit(&pages[fd >> PAGE_SHIFT],
						    memory_order_acquire);

		if (!page) {
			fd = (fd | (PAGE_SLOTS - 1)) + 1;
			continue;
		}
		if (atomic_load_explicit(&page[fd & (PAGE_SLOTS - 1)],
					 memory_order_acquire))
			return (int)fd;
		fd++;
	}
	return -1;
}
