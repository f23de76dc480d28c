/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host side of the guest runner, for tests, tools and benchmarks: a
 * KVM VM and vCPU made with plain ioctls (no iofd involved, so raw
 * baselines can use it too), RAM at GPA 0, 64-bit long mode entered
 * directly, the runner loaded, and helpers to write a script and run it.
 * Not part of the installed library.
 */
#ifndef IOFD_GUEST_HOST_H
#define IOFD_GUEST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "script.h"

struct guest_vm {
	int kvm_fd;		/* /dev/kvm */
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;		/* host mapping of guest RAM (GPA 0) */
	int ram_memfd;		/* RAM is memfd-backed (shareable with devices) */
	struct guest_script *script; /* = ram + GUEST_SCRIPT_GPA */
};

/* Flags for guest_vm_create() */
#define GUEST_VM_IRQCHIP	(1u << 0) /* KVM_CREATE_IRQCHIP before the vCPU */

/*
 * Create the VM and its vCPU, map RAM, build page tables, set long mode and
 * load the runner. Returns 0 or -errno (-ENOENT / -EACCES when /dev/kvm
 * cannot be opened, so callers can print SKIP). Release with guest_vm_destroy().
 */
int guest_vm_create(struct guest_vm *g, unsigned flags);
void guest_vm_destroy(struct guest_vm *g);

/* Replace the script with n ops (plus an implicit END); 0 or -E2BIG. */
int guest_script_set(struct guest_vm *g, const struct guest_op *ops, size_t n);

/* Point the vCPU back at the runner's entry (start the script from op 0). */
int guest_vm_reset_cpu(struct guest_vm *g);

/*
 * Handler for exits the host loop sees: return 0 to resume the guest, or
 * non-zero to stop guest_run() with that value. Unclaimed MMIO/PIO reads
 * must fill the data in kvm_run.
 */
typedef int (*guest_exit_fn)(struct guest_vm *g, struct kvm_run *run, void *opaque);

/*
 * Run with plain KVM_RUN until the guest reaches END (KVM_EXIT_HLT after END)
 * or the handler stops it. Every MMIO/IO exit goes to `fn` (NULL: writes are
 * ignored and reads return 0). Returns 0 at END, the handler's value, or
 * -errno (KVM_RUN failure, an unexpected exit such as SHUTDOWN: -EIO).
 * *exits (optional) receives the number of MMIO/IO exits seen.
 */
int guest_run(struct guest_vm *g, guest_exit_fn fn, void *opaque, uint64_t *exits);

#endif /* IOFD_GUEST_HOST_H */
