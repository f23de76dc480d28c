/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libiofd-shim.so's exported symbols: ioctl(), close(), dup2(), dup3() and
 * close_range() with libc's signatures, so LD_PRELOAD puts them in front
 * of libc's, and iofd_shim_counters() for programs that want the shim's
 * figures.
 */
#ifndef IOFD_SHIM_PRELOAD_H
#define IOFD_SHIM_PRELOAD_H

/**
 * iofd_shim_counters() - KVM_RUN calls made and exits served by the shim
 * for the vCPU @vcpu_fd. Returns 0, or -ENOENT (not a vCPU it adopted).
 * Find it with dlsym(RTLD_DEFAULT, "iofd_shim_counters").
 */
int iofd_shim_counters(int vcpu_fd, unsigned long long *runs,
		       unsigned long long *served);

#endif /* IOFD_SHIM_PRELOAD_H */
