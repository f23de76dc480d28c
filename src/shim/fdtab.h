/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an fd is, learnt from /proc/self/fd/N, and the table from fd
 * numbers to the shim's objects (VMs and vCPUs it has adopted).
 *
 * The table has two levels (pages of fd slots, allocated on first use and
 * kept for the life of the process), so a lookup allocates nothing and
 * takes no lock: readers load a slot; writers hold the objects' lock
 * (obj.c), which also keeps an object alive while a reader takes its
 * reference.
 */
#ifndef IOFD_SHIM_FDTAB_H
#define IOFD_SHIM_FDTAB_H

struct shim_obj;

enum shim_fd_kind {
	SHIM_FD_OTHER = 0,	/* not KVM's (or unreadable) */
	SHIM_FD_KVM = 1,	/* /dev/kvm */
	SHIM_FD_VM = 2,		/* anon_inode:kvm-vm */
	SHIM_FD_VCPU = 3,	/* anon_inode:kvm-vcpu:N */
};

/**
 * shim_fd_classify() - what @fd is, from its /proc/self/fd link.
 * Returns an enum shim_fd_kind, or -EBADF when @fd is not open.
 */
int shim_fd_classify(int fd);

/** shim_fd_kind_of_link() - the kind of a /proc/self/fd link's text. */
int shim_fd_kind_of_link(const char *link);

/** shim_fdtab_get() - the object recorded for @fd, or NULL. Lock-free. */
struct shim_obj *shim_fdtab_get(int fd);

/**
 * shim_fdtab_set() - record @obj (NULL: forget) for @fd. Caller holds the
 * objects' write lock. Returns 0, -EBADF (fd out of range) or -ENOMEM.
 */
int shim_fdtab_set(int fd, struct shim_obj *obj);

/**
 * shim_fdtab_next() - the lowest fd >= @from with an object recorded,
 * or -1. Skips pages never allocated.
 */
int shim_fdtab_next(int from);

/** shim_fdtab_clear() - forget every fd (a forked child starts empty). */
void shim_fdtab_clear(void);

#endif /* IOFD_SHIM_FDTAB_H */
