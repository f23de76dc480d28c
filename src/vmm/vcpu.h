/* SPDX-License-Identifier: BSD-3-Clause */
/* The vCPU object, shared by the dispatch and KVM set-up code. */
#ifndef IOFD_VCPU_H
#define IOFD_VCPU_H

#include "internal.h"
#include "ioregion.h"

struct iofd_vcpu {
	struct iofd_vm *vm;
	int fd;
	struct kvm_run *run;
	bool owned;			/* fd and mapping are iofd's */
	struct iofd_vcpu_stats stats;
	struct iofd_ioreq req;		/* ioregion access pending, if region */
};

/* iofd_access() on behalf of vcpu (NULL: no vCPU, nothing can pend). */
int iofd_access_from(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     enum iofd_bus bus, uint64_t addr, uint32_t len,
		     bool is_write, void *data, struct iofd_exit *info);

#endif /* IOFD_VCPU_H */
