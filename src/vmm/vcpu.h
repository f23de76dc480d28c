/* SPDX-License-Identifier: BSD-3-Clause */
/* The vCPU object: wrapping, exit dispatch, run loop, the pending slot. */
#ifndef IOFD_VCPU_H
#define IOFD_VCPU_H

#include <stdbool.h>

#include "iofd/iofd.h"
#include "source.h"

/* Bytes a source may keep in the pending slot (its state of the access). */
#define IOFD_PENDING_STATE_SIZE 256

/*
 * An access that did not finish on its exit (a kick while a source
 * waited): the source that serves it and that source's state of it. The
 * vCPU keeps it until the next dispatch, which resumes it before anything
 * else (src->ops->resume), or until the vCPU goes (src->ops->cancel).
 */
struct iofd_pending {
	struct iofd_source *src;	/* NULL: nothing pending */
	_Alignas(16) unsigned char state[IOFD_PENDING_STATE_SIZE];
};

struct iofd_vcpu {
	struct iofd_vm *vm;
	int fd;
	struct kvm_run *run;
	bool owned;			/* fd and mapping are iofd's */
	bool interrupted;		/* a signal came while a source served */
	bool completed_intr;		/* that exit completed, KVM_EXIT_INTR shown */
	struct iofd_vcpu_stats stats;
	struct iofd_pending pending;
};

/*
 * A signal came while a source served the vCPU's exit (vcpu->interrupted):
 * complete the exit with KVM_RUN and immediate_exit, as the kernel's
 * KVM_RUN would have before returning -EINTR. Returns IOFD_PENDING, or
 * IOFD_NOT_CLAIMED if completing it made another exit.
 */
int iofd_vcpu_complete_interrupted(struct iofd_vcpu *vcpu, struct iofd_exit *info);

#endif /* IOFD_VCPU_H */
