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
 * Every fd is close-on-exec; no thread is started. With GUEST_VM_IRQCHIP
 * the runner signals END with an `out` to GUEST_DONE_PORT (see script.h).
 * On failure nothing is left open and guest_last_error() says why.
 */
int guest_vm_create(struct guest_vm *g, unsigned flags);
/* Unmap and close everything guest_vm_create() made; safe to call twice. */
void guest_vm_destroy(struct guest_vm *g);

/*
 * Replace the script with n ops (plus an implicit END); 0 or -E2BIG.
 * -EINVAL for an op of unknown kind, a len not 1/2/4/8, a PIO op with len 8
 * (x86 has no 8-byte port I/O) or a port above 0xffff, or a *_WAIT op whose
 * answer GPA is not an aligned u64 inside guest RAM. The run counter
 * script->done is kept. Call it only while the vCPU is not running.
 */
int guest_script_set(struct guest_vm *g, const struct guest_op *ops, size_t n);

/*
 * Point the vCPU back at the runner's entry (start the script from op 0).
 * Call it after guest_run() returned 0 (END); an access a handler stopped in
 * is still completed by KVM on the next KVM_RUN.
 */
int guest_vm_reset_cpu(struct guest_vm *g);

/*
 * Handler for exits the host loop sees: return 0 to resume the guest, or
 * non-zero to stop guest_run() with that value. Unclaimed MMIO/PIO reads
 * must fill the data in kvm_run.
 */
typedef int (*guest_exit_fn)(struct guest_vm *g, struct kvm_run *run, void *opaque);

/*
 * Run with plain KVM_RUN until the guest reaches END (KVM_EXIT_HLT after END,
 * or the GUEST_DONE_PORT exit with GUEST_VM_IRQCHIP) or the handler stops it.
 * Every MMIO/IO exit goes to `fn` (NULL: writes are ignored and reads return
 * 0), and so does the in-kernel ioregionfd failure exit (iofd/kvm-unmerged.h;
 * its access is complete already, so returning 0 resumes the guest). A GOP_HLT stop (KVM_EXIT_HLT, or the GUEST_HLT_PORT exit) also goes to
 * `fn`, which returns 0 to go on (NULL: go on). Returns 0 at END, the
 * handler's value, or -errno: -EINTR when a signal interrupted KVM_RUN (call
 * again to continue), -EIO for an exit the runner never causes on purpose
 * (SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, ...), with the reason in
 * guest_last_error(). *exits (optional) receives the number of MMIO/IO exits
 * the script's accesses caused (the runner's END/HLT signals not counted).
 * Never blocks by itself: a script that waits on an answer nobody writes
 * (GOP_*_WAIT) spins in the guest, so tests keep scripts bounded.
 */
int guest_run(struct guest_vm *g, guest_exit_fn fn, void *opaque, uint64_t *exits);

/* The reason for the last failure of a guest_* call on this thread, or "". */
const char *guest_last_error(void);

#endif /* IOFD_GUEST_HOST_H */
