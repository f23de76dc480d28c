/* SPDX-License-Identifier: BSD-3-Clause */
/* ioregionfd in the kernel: the probe, KVM_SET_IOREGION, the per-VM
 * timeout and the kernel's failure exit. */
#ifndef IOFD_IOREGION_KVM_H
#define IOFD_IOREGION_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "iofd/iofd.h"

struct iofd_vm;
struct kvm_run;

/* Does this VM's kernel serve ioregionfd? KVM_CHECK_EXTENSION says 1 and a
 * scratch doorbell can be assigned and deassigned (the provisional number
 * may mean something else elsewhere). Learned once; false without KVM. */
bool iofd_kvm_ioregion_probe(int kvm_vm_fd);

/* KVM_SET_IOREGION with fds write_fd/read_fd (read_fd ignored for a
 * doorbell); 0 or the kernel's -errno. */
int iofd_kvm_set_ioregion(int kvm_vm_fd, const struct iofd_ioregion *args,
			  int read_fd, int write_fd);

/* KVM_ENABLE_CAP(KVM_CAP_IOREGIONFD): the kernel's wait bound, in ms
 * (IOFD_TIMEOUT_FOREVER becomes the kernel's 0). 0 or -errno. */
int iofd_kvm_ioregion_timeout(int kvm_vm_fd, uint32_t ms);

/* Describe that exit as iofd describes its own failures (info may be
 * NULL); timeout_ms names the bound in an ETIMEDOUT reason. Returns
 * IOFD_FAILED. */
int iofd_kvm_ioregion_failure(const struct kvm_run *run, uint32_t timeout_ms,
			      struct iofd_exit *info);

#endif /* IOFD_IOREGION_KVM_H */
