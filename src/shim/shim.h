/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shim's entry points, as plain functions: preload.c exports them
 * under the names ioctl, close, dup2, dup3 and close_range; tests call them directly.
 *
 * Intercepted (everything else goes to the kernel untouched):
 *   KVM_CHECK_EXTENSION  capabilities 248 (post-write) and
 *                        KVM_CAP_IOREGIONFD answer 1 when the shim serves
 *   KVM_IOEVENTFD        plain and POST_WRITE, served by iofd
 *   KVM_SET_IOREGION     served by iofd_set_ioregion()
 *   KVM_CREATE_VCPU      passed on, then the vCPU is adopted
 *   KVM_RUN              claimed exits served inside the shim
 *   close, dup2, dup3,   the last fd of a VM or vCPU releases its iofd state
 *   close_range
 */
#ifndef IOFD_SHIM_SHIM_H
#define IOFD_SHIM_SHIM_H

/** shim_ioctl() - ioctl(2) with the unmerged KVM ioctls served. */
int shim_ioctl(int fd, unsigned long req, unsigned long arg);

/** shim_close() - close(2); forgets the fd first. */
int shim_close(int fd);

/** shim_dup3() - dup2 (@flags -1) or dup3; forgets @newfd first. */
int shim_dup3(int oldfd, int newfd, int flags);

/** shim_close_range() - close_range(2); forgets the fds it closes first. */
int shim_close_range(unsigned first, unsigned last, int flags);

/**
 * shim_counters() - the KVM_RUN calls the shim made and the exits it served
 * on @vcpu_fd (a vCPU it adopted). Returns 0, or -ENOENT.
 */
int shim_counters(int vcpu_fd, unsigned long long *runs,
		  unsigned long long *served);

#endif /* IOFD_SHIM_SHIM_H */
