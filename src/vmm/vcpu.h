/* SPDX-License-Identifier: BSD-3-Clause */
/* The vCPU object: wrapping, exit dispatch, run loop. */
#ifndef IOFD_VCPU_H
#define IOFD_VCPU_H

#include <stdbool.h>

#include "iofd/iofd.h"
#include "ioregion_io.h"

struct iofd_vcpu {
	struct iofd_vm *vm;
	int fd;
	struct kvm_run *run;
	bool owned;			/* fd and mapping are iofd's */
	struct iofd_vcpu_stats stats;
	struct iofd_ioreq req;		/* ioregion access pending, if region */
	bool signalled;			/* a signal came while a reply was awaited */
	bool completed_intr;		/* that exit completed, KVM_EXIT_INTR shown */
};

#endif /* IOFD_VCPU_H */
