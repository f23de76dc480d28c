/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd: guest I/O as file-descriptor events, for any VMM.
 *
 * Conventions for every call below:
 *   - functions return 0 (or a documented non-negative value) on success
 *     and a negative errno on failure; where the kernel has the mechanism,
 *     the errno is the kernel's. Two kinds of call are the exceptions:
 *     release calls (iofd_*_destroy(), iofd_handoff_close()) return
 *     nothing, cannot fail and accept NULL; the few calls that hand out a
 *     pointer (iofd_vcpu_kvm_run(), iofd_device_dma(), iofd_last_error())
 *     say which NULL means;
 *   - the reason for the last failure on the calling thread is available
 *     from iofd_last_error(), or is handed to a log callback;
 *   - iofd never prints, never aborts and never exits;
 *   - the ABI only grows: a call keeps the version node it was added in
 *     (IOFD_0.2, IOFD_0.3: the project's version); the structs iofd
 *     defines (not those of uapi.h, which are the kernel's layouts) end in
 *     reserved space that new fields take, so their sizes never change.
 *     In a struct the caller fills, reserved space must be 0 (a designated
 *     initializer does that), else the call fails with -EINVAL; in a struct
 *     iofd fills, iofd writes 0 there. No struct has implicit padding:
 *     alignment holes are named pad members, ignored where the caller
 *     fills them and 0 where iofd does;
 *   - every fd iofd creates or keeps is close-on-exec;
 *   - the threading rules, the ioregion waits (and what they do to the
 *     thread's signal mask) and the object lifetimes are in iofd(7).
 */
#ifndef IOFD_IOFD_H
#define IOFD_IOFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iofd/error.h>
#include <iofd/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iofd_vm;
struct iofd_vcpu;

/* ---- buses and results ---------------------------------------------------- */

enum iofd_bus {
	IOFD_BUS_MMIO = 0,
	IOFD_BUS_PIO = 1,
	IOFD_BUS_CCW = 2,	/* virtio-ccw notify: exists, never fires on x86 */
	IOFD_NR_BUSES = 3,
};

/* What iofd did with one guest access (or one KVM exit). */
enum iofd_status {
	IOFD_NOT_CLAIMED = 0,	/* nobody registered: the VMM handles it */
	IOFD_SERVED = 1,	/* done; the guest may resume */
	IOFD_FAILED = 2,	/* a claimed access failed; see iofd_exit */
	IOFD_PENDING = 3,	/* interrupted; call again before re-entering */
};

/* Details of an access iofd did not complete (FAILED, PENDING, or claimed). */
struct iofd_exit {
	enum iofd_status status;
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	uint8_t pad0[3];	/* alignment: 0 from iofd */
	int err;		/* negative errno of the failure, 0 otherwise */
	char reason[96];	/* human-readable, NUL-terminated */
	uint32_t pad1;		/* alignment: 0 from iofd */
	uint64_t reserved[4];	/* ABI: 0 from iofd; room for new fields */
};

/* ---- VMs ---------------------------------------------------------------- */

/* iofd_vm_options.kvm_vm_fd special values. */
#define IOFD_KVM_NONE	(-1)	/* no KVM: the emulator calls iofd_access() */
#define IOFD_KVM_CREATE	(-2)	/* iofd opens /dev/kvm and creates a VM */

/* iofd_vm_options.flags */
#define IOFD_VM_NO_OFFLOAD	(1u << 0) /* serve everything in userspace */
/* ioregion_timeout_ms is set explicitly: there, as for the RFC, 0 means
 * "wait forever". Without this flag 0 means the default (5 s), so a
 * zero-initialised options struct never waits forever by accident. */
#define IOFD_VM_IOREGION_TIMEOUT (1u << 1)

/* ioregion wait timeouts */
#define IOFD_TIMEOUT_DEFAULT_MS	5000u
#define IOFD_TIMEOUT_FOREVER	UINT32_MAX	/* same as an explicit 0 */

struct iofd_vm_options {
	int kvm_vm_fd;		/* a VM fd to adopt, or IOFD_KVM_NONE/CREATE */
	uint32_t flags;		/* IOFD_VM_* */
	uint32_t ioregion_timeout_ms; /* see IOFD_VM_IOREGION_TIMEOUT */
	uint32_t reserved[5];	/* ABI: must be 0 (room for new options) */
};

/**
 * iofd_vm_create() - create an iofd VM.
 * @opts: NULL for { IOFD_KVM_NONE, 0, 0 }.
 * @out:  receives the VM, owned by the caller; release with iofd_vm_destroy().
 *
 * An adopted VM fd must be a KVM VM (anon_inode:kvm-vm) and stays the
 * caller's: iofd neither dups nor closes it, and it must outlive the iofd
 * VM. With IOFD_KVM_CREATE iofd owns the VM fd. kvm_vm_fd 0 adopts fd 0:
 * a zero-initialised options struct fails with -EINVAL unless fd 0 is a
 * VM; ask for IOFD_KVM_NONE or IOFD_KVM_CREATE.
 * Errors: -EINVAL (bad options, an adopted fd that is not a KVM VM),
 * -ENOMEM, any errno of open("/dev/kvm") or KVM_CREATE_VM.
 */
int iofd_vm_create(const struct iofd_vm_options *opts, struct iofd_vm **out);

/**
 * iofd_vm_destroy() - deassign everything, wait for a grace period, free.
 *
 * All fds iofd kept for this VM are closed when it returns (kernel-side
 * registrations made by iofd are removed first; one the kernel refuses to
 * remove is logged as a warning and stays until the VM fd closes). vCPUs
 * created or adopted through this VM must be destroyed before. A batch the
 * calling thread left open is closed too (its changes go with everything
 * else). NULL is accepted.
 */
void iofd_vm_destroy(struct iofd_vm *vm);

/** iofd_vm_kvm_fd() - the KVM VM fd (still iofd's or the caller's), -ENODEV
 * for a VM without KVM, -EINVAL for a NULL vm. */
int iofd_vm_kvm_fd(const struct iofd_vm *vm);

/**
 * iofd_quiesce() - wait until everything this VM retired is released.
 *
 * Deassign does not wait for readers; this does: when it returns, every
 * eventfd dup and every buffer retired before the call is closed or freed
 * (those of other VMs too: the grace period is process-wide).
 * Must not be called from inside an iofd callback. Returns 0, or -EINVAL
 * for a NULL vm.
 */
int iofd_quiesce(struct iofd_vm *vm);

/* Capability bits for struct iofd_caps.flags */
#define IOFD_CAP_KVM			(1u << 0) /* a KVM VM is attached */
#define IOFD_CAP_IOEVENTFD_OFFLOAD	(1u << 1) /* KVM_IOEVENTFD usable */
#define IOFD_CAP_IRQFD			(1u << 2) /* KVM_IRQFD available */
#define IOFD_CAP_IRQFD_RESAMPLE		(1u << 3) /* kernel resample */
#define IOFD_CAP_POST_WRITE		(1u << 4) /* post-write: always served */
#define IOFD_CAP_IOREGIONFD		(1u << 5) /* ioregions (either path) */
#define IOFD_CAP_IOSIGNALFD		(1u << 6) /* group mode; userspace */
/* iofd serves irqfds the kernel cannot (a controller is set, see below) */
#define IOFD_CAP_IRQFD_USERSPACE	(1u << 7)
/* The kernel serves POST_WRITE ioeventfds (capability 248, confirmed by a
 * probe registration), and iofd offloads them to it */
#define IOFD_CAP_POST_WRITE_OFFLOAD	(1u << 8)
/* the kernel serves this VM's ioregions (KVM_SET_IOREGION, probed) */
#define IOFD_CAP_IOREGIONFD_OFFLOAD	(1u << 9)

enum iofd_irqchip {
	IOFD_IRQCHIP_NONE = 0,	/* no in-kernel controller (or no KVM) */
	IOFD_IRQCHIP_SPLIT = 1,	/* LAPIC in kernel, IOAPIC/PIC in userspace */
	IOFD_IRQCHIP_KERNEL = 2, /* full in-kernel irqchip */
};

struct iofd_caps {
	uint32_t flags;			/* IOFD_CAP_* */
	enum iofd_irqchip irqchip;
	uint32_t reserved[6];		/* ABI: 0 from iofd; room for new fields */
};

/**
 * iofd_query_caps() - what this host and this VM offer (IOFD_CAP_* bits),
 * and the kernel's irqchip, asked of the kernel on each call.
 * Errors: -EINVAL for NULL arguments. See iofd_vm_create(3).
 */
int iofd_query_caps(struct iofd_vm *vm, struct iofd_caps *caps);

/* ---- ioeventfd -------------------------------------------------------------- */

/**
 * iofd_ioeventfd() - KVM_IOEVENTFD, with the kernel's struct, rules and
 * errors (checked in the kernel's order): -EINVAL, -EBADF, -EEXIST,
 * -ENOENT (deassign), -ENOMEM. iofd keeps its own dup of the eventfd: the
 * caller may close its fd; that dup costs one fd per distinct eventfd per
 * VM (-EMFILE past RLIMIT_NOFILE). Offloaded to the kernel where allowed.
 * See iofd_ioeventfd(3).
 */
int iofd_ioeventfd(struct iofd_vm *vm, const struct kvm_ioeventfd *args);

/**
 * iofd_ioeventfd_ext() - ioeventfd with iofd's flags: NO_OFFLOAD, and
 * POST_WRITE (store the value at post_addr, then signal) with POST_MEMFD
 * (post_addr is an offset in the sealed memfd post_fd, which iofd maps).
 * Errors: as iofd_ioeventfd(), plus -EINVAL/-EBADF for a bad post-write
 * target. Post-write registrations are offloaded like plain ones where the
 * kernel serves POST_WRITE (IOFD_CAP_POST_WRITE_OFFLOAD; the memfd form
 * hands the kernel the address of iofd's mapping), served in userspace
 * elsewhere, with the same results but for two documented divergences.
 * See iofd_ioeventfd(3).
 */
int iofd_ioeventfd_ext(struct iofd_vm *vm, const struct iofd_ioeventfd *args);

/* Results of iofd_ioeventfd_path() */
#define IOFD_PATH_USERSPACE	1	/* served by iofd on the vCPU thread */
#define IOFD_PATH_KERNEL	2	/* offloaded to KVM_IOEVENTFD */

/**
 * iofd_ioeventfd_path() - which path serves a registration.
 *
 * @args names a registration the way deassign does (the DEASSIGN bit is
 * ignored). Returns IOFD_PATH_USERSPACE or IOFD_PATH_KERNEL, or -ENOENT
 * (no such registration), -EBADF/-EINVAL (bad fd).
 */
int iofd_ioeventfd_path(struct iofd_vm *vm, const struct iofd_ioeventfd *args);

/**
 * iofd_iosignalfd() - the 2009 iosignalfd group mode (never offloaded):
 * add an item to the group at (bus, addr, len), or remove every item of an
 * eventfd (DEASSIGN). Errors: -EINVAL, -EBADF, -EEXIST (overlap, or the
 * same eventfd object already in the group with the same trigger value or
 * as a wildcard), -EFAULT (unreadable trigger), -ENOMEM, -EMFILE.
 * See iofd_iosignalfd(3).
 */
int iofd_iosignalfd(struct iofd_vm *vm, const struct iofd_iosignalfd *args);

/**
 * iofd_set_ioregion() - ioregionfd: serve [guest_paddr, guest_paddr +
 * memory_size) over a pair of fds (pipes, FIFOs or sockets), or remove
 * such a region (DEASSIGN). iofd keeps its own dups of the fds: the
 * caller may close its fds. Errors: -EINVAL (flags, range, fd kind or
 * pairing), -EBADF (fd not open for its direction), -EEXIST (overlap),
 * -ENOENT (deassign of an unknown region), -ENOMEM; a range above
 * INT_MAX bytes is -EINVAL, as in the kernel. Where the kernel serves
 * ioregionfd (IOFD_CAP_IOREGIONFD_OFFLOAD) the region is registered there
 * (KVM_SET_IOREGION, with the same answers) and iofd keeps a record for
 * its overlap checks. How accesses wait, fail and poison the fd pair:
 * iofd(7). See iofd_set_ioregion(3).
 */
int iofd_set_ioregion(struct iofd_vm *vm, const struct iofd_ioregion *args);

/**
 * iofd_ioregion_path() - which path serves a region.
 *
 * @args names a region the way deassign does (bus, guest_paddr,
 * memory_size; the fds and the DEASSIGN bit are ignored). Returns
 * IOFD_PATH_KERNEL where the kernel serves ioregionfd (see
 * IOFD_CAP_IOREGIONFD_OFFLOAD) and the VM was not created with
 * IOFD_VM_NO_OFFLOAD, else IOFD_PATH_USERSPACE; or -ENOENT (no such
 * region), -EINVAL (NULL arguments, unknown flags).
 */
int iofd_ioregion_path(struct iofd_vm *vm, const struct iofd_ioregion *args);

/**
 * iofd_vm_set_ioregion_timeout() - how long an ioregion access may wait.
 * @ms: milliseconds for each wait (for the fd, for the device to take the
 *      command, for its reply); 0 (or IOFD_TIMEOUT_FOREVER) waits forever,
 *      as the RFC did; IOFD_TIMEOUT_DEFAULT_MS is the default.
 *
 * Applies to accesses that start after the call; where the kernel serves
 * the VM's ioregions it is set there too (KVM_ENABLE_CAP). Errors: -EINVAL
 * (NULL vm), an errno of KVM_ENABLE_CAP.
 */
int iofd_vm_set_ioregion_timeout(struct iofd_vm *vm, uint32_t ms);

/**
 * iofd_batch_begin() - start collecting changes to publish them at once.
 *
 * Until iofd_batch_commit(), registrations are validated and return their
 * result immediately but guest accesses keep seeing the previous state
 * (kernel offload, which the kernel cannot batch, happens immediately).
 * The batch holds the VM's writer lock: until the commit, other threads'
 * registrations, path queries, iofd_query_caps(), iofd_batch_begin() and
 * iofd_vm_destroy() on this VM wait (forever, if the batch is never
 * committed); guest accesses and the interrupt calls do not.
 * Errors: -EINVAL (NULL vm), -EBUSY if this thread has a batch open.
 * See iofd_batch_begin(3).
 */
int iofd_batch_begin(struct iofd_vm *vm);

/**
 * iofd_batch_commit() - publish every change made since iofd_batch_begin().
 * Errors: -EINVAL if no batch is open on the calling thread.
 */
int iofd_batch_commit(struct iofd_vm *vm);

/* ---- dispatch -------------------------------------------------------------- */

/**
 * iofd_access() - serve one guest access, for emulators without KVM exits.
 * @data: for a write, the len bytes written; for a read, receives len bytes.
 * @info: optional; filled when the status is not NOT_CLAIMED.
 *
 * Returns an enum iofd_status (>= 0; never PENDING), or -EINVAL for a bad
 * bus or a len not in 1..8. Safe from any number of threads; lock-free
 * except for an ioregion access, which may wait (iofd(7)).
 */
int iofd_access(struct iofd_vm *vm, enum iofd_bus bus, uint64_t addr,
		uint32_t len, bool is_write, void *data, struct iofd_exit *info);

/* ---- vCPUs --------------------------------------------------------------- */

struct iofd_vcpu_stats {
	uint64_t runs;		/* KVM_RUN calls made by iofd_vcpu_run() */
	uint64_t exits;		/* userspace exits seen by dispatch */
	uint64_t served;	/* exits iofd completed itself */
	uint64_t unclaimed;	/* exits handed back to the VMM */
	uint64_t failed;	/* claimed accesses that failed */
	uint64_t reserved[11];	/* ABI: 0 from iofd; room for new counters */
};

/**
 * iofd_vcpu_create() - create KVM vCPU @id and map its kvm_run.
 * @out: receives the vCPU, owned by the caller (iofd_vcpu_destroy()).
 * Errors: -ENODEV without KVM, any errno of KVM_CREATE_VCPU or mmap.
 */
int iofd_vcpu_create(struct iofd_vm *vm, int id, struct iofd_vcpu **out);

/**
 * iofd_vcpu_adopt() - wrap a vCPU the VMM created.
 * @vcpu_fd: a KVM vCPU (anon_inode:kvm-vcpu:N), stays the caller's; that
 *	it is a vCPU of @vm's VM cannot be checked.
 * @run: its mapped kvm_run, stays the caller's.
 * Errors: -EINVAL for NULL arguments or an fd that is not a vCPU, -ENOMEM.
 */
int iofd_vcpu_adopt(struct iofd_vm *vm, int vcpu_fd, struct kvm_run *run,
		    struct iofd_vcpu **out);

/** iofd_vcpu_destroy() - release a vCPU (closes only what iofd created). */
void iofd_vcpu_destroy(struct iofd_vcpu *vcpu);

/** iofd_vcpu_fd() - the KVM vCPU fd, or -EINVAL for a NULL vcpu. */
int iofd_vcpu_fd(const struct iofd_vcpu *vcpu);

/** iofd_vcpu_kvm_run() - the vCPU's mapped struct kvm_run; NULL (with a
 * reason) for a NULL vcpu. */
struct kvm_run *iofd_vcpu_kvm_run(const struct iofd_vcpu *vcpu);

/** iofd_vcpu_get_stats() - copy the vCPU's counters: 0, or -EINVAL (NULL). */
int iofd_vcpu_get_stats(const struct iofd_vcpu *vcpu,
			struct iofd_vcpu_stats *stats);

/**
 * iofd_dispatch_exit() - serve the exit that KVM_RUN left in kvm_run.
 * @info: optional; receives the details unless the status is SERVED.
 *
 * Returns SERVED, NOT_CLAIMED, FAILED or PENDING, or -EINVAL for a NULL
 * vcpu. What the VMM must do with each: iofd_dispatch_exit(3).
 */
int iofd_dispatch_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info);

/**
 * iofd_vcpu_run() - KVM_RUN and dispatch until an exit nobody served.
 * @info: optional, as for iofd_dispatch_exit().
 *
 * Returns IOFD_NOT_CLAIMED (kvm_run holds the exit for the VMM) or
 * IOFD_FAILED, or a negative errno of KVM_RUN: -EINTR when a signal or
 * immediate_exit interrupted KVM_RUN or an ioregion wait (call again to
 * continue: an interrupted access is finished by the next call before the
 * guest runs again). Every errno but -EINTR comes with a reason
 * (iofd_last_error()).
 */
int iofd_vcpu_run(struct iofd_vcpu *vcpu, struct iofd_exit *info);

/* ---- interrupts: irqfd, userspace controllers, INTx ----------------------- */

/**
 * iofd_irqfd() - KVM_IRQFD, with the kernel's struct, semantics and errors
 * (checked in the kernel's order): -EINVAL, -EBADF, -EBUSY, -ENOMEM.
 * What the kernel's irqchip cannot serve, iofd serves for the controller
 * set with iofd_irq_set_controller(). iofd keeps its own dups of the
 * eventfds: the caller may close its fds. See iofd_irqfd(3).
 */
int iofd_irqfd(struct iofd_vm *vm, const struct kvm_irqfd *args);

/**
 * struct iofd_irq_controller - the VMM's userspace interrupt controller.
 * @set_level: required. Drive iofd's input for @gsi to @level (0 or 1). It
 *	reports the level of iofd's own sources on that GSI (the OR of its
 *	irqfds and INTx helpers); a VMM whose own devices share the line ORs
 *	them in. Plain irqfds pulse it (1, then back to the resample level).
 *	Called from whichever thread made the change (iofd_irq_process(), an
 *	INTx assert, an EOI), one call at a time per GSI; it must not call
 *	back into iofd.
 * @eoi_gsis: optional, for a split irqchip. Given the vector of a
 *	KVM_EXIT_IOAPIC_EOI, store in @gsis (room for @max) the GSIs whose
 *	level-triggered IOAPIC entries use @vector and are being acknowledged,
 *	and return how many there are. iofd_dispatch_exit() then calls
 *	iofd_irq_eoi() for each before it hands the exit to the VMM (whose
 *	IOAPIC model still clears Remote IRR): the lines are already
 *	de-asserted when the IOAPIC looks at them again. Must not call back
 *	into iofd.
 */
struct iofd_irq_controller {
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	size_t (*eoi_gsis)(void *opaque, uint8_t vector, uint32_t *gsis,
			   size_t max);
	void (*reserved[6])(void); /* ABI: must be NULL (room for new calls) */
};

/**
 * iofd_irq_set_controller() - let iofd serve irqfds for a userspace controller.
 * @ctl: copied; NULL removes the controller.
 * @opaque: passed to every callback.
 *
 * Needed with no in-kernel irqchip (every irqfd) or a split one (RESAMPLE
 * irqfds); with a full in-kernel irqchip the kernel serves everything and
 * the controller is never called. Errors: -EINVAL (NULL vm, or @ctl without
 * set_level), -EBUSY while irqfds served by iofd exist.
 */
int iofd_irq_set_controller(struct iofd_vm *vm,
			    const struct iofd_irq_controller *ctl, void *opaque);

/**
 * iofd_irq_eoi() - the guest acknowledged (EOI) GSI @gsi of the userspace
 * controller.
 *
 * For the resample irqfds iofd serves on @gsi: de-asserts the line (a
 * set_level(@gsi, 0) call if it was asserted), then signals every
 * resamplefd, as the kernel's resampler does. INTx helpers on the GSI see
 * the acknowledgement too (and filter it, see iofd_intx_create()). A GSI
 * without resample irqfds is ignored. Lock-free lookup; callable from any
 * thread, vCPU threads included. Returns 0, or -EINVAL for a NULL vm.
 */
int iofd_irq_eoi(struct iofd_vm *vm, uint32_t gsi);

/**
 * iofd_irq_fd() - the fd that becomes readable when iofd_irq_process() has
 * work: a trigger eventfd of an irqfd iofd serves was written, or (with an
 * in-kernel irqchip) an INTx helper's interrupt was acknowledged.
 *
 * An epoll fd owned by iofd (close-on-exec; do not close it); the VMM puts
 * it in its own poll loop. iofd starts no thread to watch it. Returns the
 * fd, or -EINVAL (NULL vm) or an errno of epoll_create1().
 */
int iofd_irq_fd(struct iofd_vm *vm);

/**
 * iofd_irq_process() - deliver what iofd_irq_fd() signalled, without blocking.
 *
 * Reads each ready trigger eventfd and asserts (resample) or pulses (plain)
 * its GSI through the controller; handles acknowledged INTx interrupts.
 * Safe from any thread, also concurrently with registrations. Returns the
 * number of events handled (0 if none), or -EINVAL for a NULL vm.
 */
int iofd_irq_process(struct iofd_vm *vm);

struct iofd_intx;

/**
 * iofd_intx_create() - a level-triggered INTx source on @gsi that hears
 * only the acknowledgements of its own interrupts.
 * @out: receives the helper, owned by the caller (iofd_intx_destroy()).
 *
 * Helper, irqfd and VM can be released in any order. Errors: -EINVAL
 * (NULL arguments), anything iofd_irqfd() returns, -ENOMEM, errno of
 * eventfd(). See iofd_intx_create(3).
 */
int iofd_intx_create(struct iofd_vm *vm, uint32_t gsi, struct iofd_intx **out);

/**
 * iofd_intx_assert() - the device needs service: raise the line (at once
 * if this source has no unacknowledged interrupt, otherwise it stays up).
 * Takes only the helper's own lock; never allocates.
 * Errors: -EINVAL (NULL), -ENOTCONN (irqfd deassigned), -ENODEV (VM gone).
 */
int iofd_intx_assert(struct iofd_intx *intx);

/**
 * iofd_intx_deassert() - the device no longer needs service. The line drops
 * at the guest's next acknowledgement (no re-assert then).
 * Errors: as iofd_intx_assert().
 */
int iofd_intx_deassert(struct iofd_intx *intx);

/**
 * iofd_intx_eoi_fd() - an eventfd (non-blocking, close-on-exec, owned by the
 * helper) whose counter grows by one for each acknowledgement of an
 * interrupt this source asserted; the device reads it (8 bytes) to reset
 * it. Valid until iofd_intx_destroy(), even after the VM is gone.
 * Returns the fd, or -EINVAL for NULL.
 */
int iofd_intx_eoi_fd(const struct iofd_intx *intx);

/**
 * iofd_intx_trigger_fd() - the eventfd of the helper's irqfd (owned by the
 * helper), to name that irqfd to iofd_irqfd() for a deassign. Writing it
 * directly bypasses the helper's bookkeeping. Returns the fd or -EINVAL.
 */
int iofd_intx_trigger_fd(const struct iofd_intx *intx);

/**
 * iofd_intx_destroy() - deassign the helper's irqfd (if still there) and
 * free it with its fds (a KVM_IRQFD deassign the kernel refuses is logged
 * as a warning, as in iofd_vm_destroy()). Callable before or after
 * iofd_vm_destroy(); not from inside an iofd callback. NULL is accepted.
 */
void iofd_intx_destroy(struct iofd_intx *intx);

#ifdef __cplusplus
}
#endif

#endif /* IOFD_IOFD_H */
