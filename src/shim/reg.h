/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VM-level ioctls the shim answers itself, translated to libiofd:
 * KVM_CHECK_EXTENSION (the two capabilities), KVM_IOEVENTFD (plain and
 * POST_WRITE), KVM_SET_IOREGION and KVM_CREATE_VCPU (to adopt the vCPU).
 *
 * Each returns what ioctl(2) returns: a value >= 0, or -1 with errno set
 * (the kernel's errno where the kernel has the mechanism; -EFAULT for an
 * argument the program cannot have meant). Each passes through to the
 * kernel when the fd is not a VM's or the kernel serves the feature.
 */
#ifndef IOFD_SHIM_REG_H
#define IOFD_SHIM_REG_H

/** shim_check_extension() - KVM_CHECK_EXTENSION on any KVM fd. */
int shim_check_extension(int fd, unsigned long cap);

/** shim_ioeventfd() - KVM_IOEVENTFD with the post-write layout. */
int shim_ioeventfd(int fd, unsigned long arg);

/** shim_set_ioregion() - KVM_SET_IOREGION, served by iofd_set_ioregion(). */
int shim_set_ioregion(int fd, unsigned long arg);

/** shim_enable_cap() - KVM_ENABLE_CAP: the ioregionfd timeout of a VM the
 * shim serves (KVM_CAP_IOREGIONFD), else the kernel's. */
int shim_enable_cap(int fd, unsigned long arg);

/** shim_create_vcpu() - KVM_CREATE_VCPU, then adopt the new vCPU. */
int shim_create_vcpu(int fd, unsigned long id);

/**
 * shim_copy_in() - copy @len bytes of the program's argument at @uaddr
 * without trusting it. Returns 0 or -EFAULT.
 */
int shim_copy_in(void *dst, unsigned long uaddr, size_t len);

#endif /* IOFD_SHIM_REG_H */
