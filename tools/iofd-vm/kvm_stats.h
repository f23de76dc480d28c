/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KVM's per-vCPU binary statistics (KVM_GET_STATS_FD): the descriptors are
 * read once, the few counters iofd-vm reports are then read by offset.
 */
#ifndef IOFD_VM_KVM_STATS_H
#define IOFD_VM_KVM_STATS_H

#include <stdint.h>

enum kvm_stat {
	KVM_STAT_EXITS,
	KVM_STAT_MMIO_EXITS,
	KVM_STAT_IO_EXITS,
	KVM_STAT_HALT_EXITS,
	KVM_STAT_IRQ_INJECTIONS,
	KVM_NR_STATS,
};

struct kvm_stats {
	int fd;				/* -1: unavailable */
	uint64_t offset[KVM_NR_STATS];	/* in the fd; UINT64_MAX: not found */
};

/**
 * kvm_stats_open() - the stats fd of vCPU @vcpu_fd and where each counter
 * is. Returns 0, or -errno (-ENOTTY and -EINVAL: the kernel has no stats
 * fd; -EPROTO: a malformed header). @s is usable (as "unavailable") even
 * after a failure.
 */
int kvm_stats_open(struct kvm_stats *s, int vcpu_fd);

/**
 * kvm_stats_read() - add the vCPU's counters to @sum (a counter that was
 * not found adds nothing). Returns 0, or -errno of pread().
 */
int kvm_stats_read(const struct kvm_stats *s, uint64_t sum[KVM_NR_STATS]);

/** kvm_stats_name() - the counter's name in KVM ("exits", ...). */
const char *kvm_stats_name(enum kvm_stat k);

/** kvm_stats_close() - close the fd (safe twice). */
void kvm_stats_close(struct kvm_stats *s);

#endif /* IOFD_VM_KVM_STATS_H */
