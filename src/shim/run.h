/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KVM_RUN through the shim: enter the guest, serve the exits iofd claims
 * on this thread, return to the program only with an exit nobody claimed.
 *
 *  - -EINTR and kvm_run->immediate_exit behave as with KVM_RUN: the kernel
 *    answers them on each entry, and an ioregion wait the shim was in when
 *    a signal came (or immediate_exit was set) returns -1/EINTR too; the
 *    next KVM_RUN finishes that access before the guest runs again.
 *  - A failed ioregion access becomes the kernel series' failure exit,
 *    KVM_EXIT_IOREGIONFD_FAILURE with struct kvm_ioregionfd_failure_exit
 *    (see <iofd/kvm-unmerged.h>). When the program enters again the access
 *    completes as a bus error, as in the kernel: a read returns all ones.
 *  - Nothing is allocated and no lock is taken but iofd's own.
 */
#ifndef IOFD_SHIM_RUN_H
#define IOFD_SHIM_RUN_H

#include "obj.h"

/**
 * shim_vcpu_run() - KVM_RUN on @fd for the shim's vCPU @v.
 * Returns 0 (kvm_run holds an exit for the program) or a negative errno
 * (KVM_RUN's, or -EINTR for an interrupted ioregion wait).
 */
int shim_vcpu_run(struct shim_vcpu *v, int fd);

/** shim_kvm_enter() - the default enter function: the real KVM_RUN. */
int shim_kvm_enter(int fd);

#endif /* IOFD_SHIM_RUN_H */
