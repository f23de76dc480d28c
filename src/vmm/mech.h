/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mechanisms a VM carries (ioeventfd, post-write, groups, ioregionfd,
 * irqfd, INTx): what each adds to a VM's life, in one table, so that the
 * VM (vm.c) and the exit dispatch (dispatch.c) call them without naming
 * any.
 */
#ifndef IOFD_MECH_H
#define IOFD_MECH_H

#include <stddef.h>
#include <stdint.h>

#include "iofd/iofd.h"

struct iofd_vcpu;

/* Every hook is optional. */
struct iofd_mech {
	const char *name;
	/* IOFD_VM_* flags of iofd_vm_options the mechanism gives meaning to. */
	uint32_t vm_flags;
	/* Set up the mechanism's state of a new VM (no KVM VM attached yet);
	 * 0 or a negative errno with the reason recorded. */
	int (*init)(struct iofd_vm *vm, const struct iofd_vm_options *opts);
	/* The VM has a KVM VM: ask the kernel what it offers; 0 or -errno. */
	int (*probe)(struct iofd_vm *vm);
	/* Add what the mechanism offers on this VM to caps. */
	void (*caps)(struct iofd_vm *vm, struct iofd_caps *caps);
	/* A vCPU exit of this reason (neither MMIO nor PIO) is the
	 * mechanism's: act on it; an iofd_status (NOT_CLAIMED leaves it to
	 * the VMM). */
	uint32_t exit_reason;
	int (*exit)(struct iofd_vcpu *vcpu, struct iofd_exit *info);
	/* The VM goes: remove the mechanism's registrations, the KVM VM fd
	 * still open, before the buses are emptied. Called in table order. */
	void (*destroy)(struct iofd_vm *vm);
	/* After the final grace period: free the mechanism's state. */
	void (*free)(struct iofd_vm *vm);
};

/* The table, in the order its hooks run. */
extern const struct iofd_mech *const iofd_mechs[];
extern const size_t iofd_nr_mechs;

#define iofd_for_each_mech(m, i) \
	for (size_t i = 0; i < iofd_nr_mechs && ((m) = iofd_mechs[i], 1); i++)

/* The flags of iofd_vm_options any mechanism gives meaning to. */
uint32_t iofd_mech_vm_flags(void);
/* Serve a vCPU exit other than MMIO and PIO through the mechanism that
 * claims its reason; IOFD_NOT_CLAIMED if none does. */
int iofd_mech_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info);

#endif /* IOFD_MECH_H */
