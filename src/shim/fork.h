/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fork() under the shim. A forked child inherits neither the parent's
 * threads nor a usable VM (KVM refuses ioctls from another process), so:
 *  - liburcu's call_rcu workers are paused around the fork and recreated
 *    in the child (liburcu asks its users to do this); without it the
 *    child's first iofd_vm_destroy() waits forever for a worker that
 *    exists only in the parent;
 *  - the child starts with no shim objects: the parent's are forgotten
 *    there (their dups closed, their memory left alone), so the child can
 *    make and serve VMs of its own.
 */
#ifndef IOFD_SHIM_FORK_H
#define IOFD_SHIM_FORK_H

/** shim_fork_init() - install the fork handlers (once; any thread). */
void shim_fork_init(void);

#endif /* IOFD_SHIM_FORK_H */
