/* SPDX-License-Identifier: BSD-3-Clause */
/* The vCPU object, shared by the dispatch and KVM set-up code. */
#ifndef IOFD_VCPU_H
#define IOFD_VCPU_H

#include "internal.h"

struct iofd_vcpu {
	struct iofd_vm *vm;
	int fd;
	struct kvm_run *run;
	bool owned;			/* fd and mapping are iofd's */
	struct iofd_vcpu_stats stats;
};

#endif /* IOFD_VCPU_H */
