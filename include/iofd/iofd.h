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
 *   - the ABI is stable within a version node (IOFD_0.2): the structs iofd
 *     defines (not those of uapi.h, which are the kernel's layouts) end in
 *     reserved space that new fields take, so their sizes never change.
 *     In a struct the caller fills, reserved space must be 0 (a designated
 *     initializer does that), else the call fails with -EINVAL; in a struct
 *     iofd fills, iofd writes 0 there;
 *   - every fd iofd creates or keeps is close-on-exec;
 *   - iofd starts no thread of its own; liburcu, which iofd uses for its
 *     lock-free readers, runs one call_rcu worker thread per process that
 *     frees retired memory and closes retired fds after a grace period,
 *     and, while any iofd VM exists, the worker thread its hash tables are
 *     created with. Threads that call iofd are registered with liburcu
 *     automatically (and unregistered when they exit).
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
	IOFD_PENDING = 3,	/* interrupted; finish before re-entering */
};

/* Details of an access iofd did not complete (FAILED, PENDING, or claimed). */
struct iofd_exit {
	enum iofd_status status;
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	int err;		/* negative errno of the failure, 0 otherwise */
	char reason[96];	/* human-readable, NUL-terminated */
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
 * An adopted VM fd stays the caller's: iofd neither dups nor closes it, and
 * it must outlive the iofd VM. With IOFD_KVM_CREATE iofd owns the VM fd.
 * Errors: -EINVAL (bad options), -ENOMEM, any errno of open("/dev/kvm") or
 * KVM_CREATE_VM.
 */
int iofd_vm_create(const struct iofd_vm_options *opts, struct iofd_vm **out);

/**
 * iofd_vm_destroy() - deassign everything, wait for a grace period, free.
 *
 * All fds iofd kept for this VM are closed when it returns (kernel-side
 * registrations made by iofd are removed first). vCPUs created or adopted
 * through this VM must be destroyed before. A batch the calling thread left
 * open is closed too (its changes go with everything else). NULL is accepted.
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
#define IOFD_CAP_POST_WRITE		(1u << 4) /* userspace; never offloaded */
#define IOFD_CAP_IOREGIONFD		(1u << 5) /* userspace; never offloaded */
#define IOFD_CAP_IOSIGNALFD		(1u << 6) /* group mode; userspace */
/* iofd serves irqfds the kernel cannot (a controller is set, see below) */
#define IOFD_CAP_IRQFD_USERSPACE	(1u << 7)

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
 * iofd_query_caps() - what this host and this VM offer.
 *
 * The irqchip kind is asked of the kernel on each call, not remembered from
 * creation, so it follows a KVM_CREATE_IRQCHIP or KVM_CAP_SPLIT_IRQCHIP the
 * VMM issues itself after iofd adopted its VM: iofd calls KVM_IRQFD with an
 * invalid fd, once plain and once with RESAMPLE. The kernel refuses an irqfd
 * its irqchip cannot serve with -EINVAL before it looks at the fd, and
 * otherwise fails on the fd with -EBADF, so the probe changes nothing and
 * tells none, split and full apart exactly as KVM_IRQFD will treat them.
 * Errors: -EINVAL for NULL arguments.
 */
int iofd_query_caps(struct iofd_vm *vm, struct iofd_caps *caps);

/* ---- ioeventfd -------------------------------------------------------------- */

/**
 * iofd_ioeventfd() - KVM_IOEVENTFD, with the kernel's struct and semantics.
 *
 * Assign validates in the kernel's order: len not 0/1/2/4/8, addr+len
 * wrapping, a flag outside 0x1f, or len 0 with DATAMATCH give -EINVAL; then
 * the fd: -EBADF (not open) or -EINVAL (not an eventfd); a collision on the
 * same bus and address gives -EEXIST. Deassign (FLAG_DEASSIGN) checks only
 * the fd and removes the first entry with the same bus, eventfd object,
 * addr, len, wildcard-ness and (with DATAMATCH) datamatch, else -ENOENT.
 *
 * iofd keeps a close-on-exec dup of each distinct eventfd (shared by its
 * registrations): the caller may close its fd at any time. When the VM has
 * KVM and offload is allowed, the registration is also made in the kernel,
 * so a matching write never leaves it. -ENOMEM on allocation failure.
 */
int iofd_ioeventfd(struct iofd_vm *vm, const struct kvm_ioeventfd *args);

/**
 * iofd_ioeventfd_ext() - ioeventfd with iofd's extensions.
 *
 * Same rules as iofd_ioeventfd(), plus the bits of IOFD_IOEVENTFD_VALID_FLAGS:
 * NO_OFFLOAD keeps the registration in userspace; POST_WRITE (and
 * POST_MEMFD) make it a post-write ("shadow") ioeventfd.
 *
 * Post-write: on a matching write, exactly len bytes of the value written
 * are stored at post_addr, then the eventfd is signalled. The store is
 * visible before the signal: a device that sees the eventfd counter move
 * (read(2) on it, then an acquire fence or load) sees the value. A naturally
 * aligned post_addr gets one atomic store of len bytes; an unaligned one is
 * allowed and is stored byte by byte (not atomic). With several vCPUs
 * writing, post_addr holds one of the values. DATAMATCH still applies: a
 * write that does not match is an ordinary exit and leaves post_addr alone.
 * Without POST_WRITE, post_addr and post_fd are ignored.
 *
 * Assign checks, after the kernel's checks on len, addr and flags: len 0,
 * post_addr NULL, or [post_addr, post_addr+len) not mapped writable in this
 * process give -EINVAL. The memory stays the caller's: unmapping it while
 * the registration exists is a bug of the caller (as freeing a buffer that
 * is still in use). With POST_MEMFD, post_fd is a memfd and post_addr the
 * offset of the slot in it: post_fd not open gives -EBADF; a file that is not
 * sealed with F_SEAL_SHRINK (so a peer could truncate it under iofd), a slot
 * past its end, or a memfd that cannot be mapped writable (read-only fd,
 * F_SEAL_WRITE) gives -EINVAL. iofd maps the slot itself (the caller may
 * close post_fd afterwards) and unmaps it after deassign, once no vCPU can
 * still be storing to it.
 *
 * Deassign (and iofd_ioeventfd_path()) name a post-write registration with
 * the same POST_WRITE/POST_MEMFD bits and the same post_addr (with
 * POST_MEMFD: the same memfd object, through any fd, and the same offset);
 * anything else gives -ENOENT; a closed post_fd gives -EBADF.
 *
 * Post-write registrations are never offloaded to the kernel (no merged
 * kernel has them): they are served by iofd on the vCPU thread, and
 * iofd_ioeventfd_path() always says IOFD_PATH_USERSPACE for them.
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
 * iofd_iosignalfd() - the 2009 iosignalfd group mode (never offloaded).
 *
 * Assign adds an item to the group (bus, addr, len), creating it if needed:
 * len must be 1/2/4/8 and flags within IOFD_IOSIGNALFD_VALID_FLAGS
 * (-EINVAL); a group at the same address with another len gives -EINVAL;
 * an overlap with any other registration gives -EEXIST; TRIGGER with an
 * unreadable trigger pointer gives -EFAULT; fd errors as for ioeventfd.
 * Deassign removes every item of the group that uses the fd's eventfd and
 * returns 0 (even if none did); an unknown group gives -EINVAL.
 *
 * A write anywhere inside [addr, addr+len) reaches the group: wildcard items
 * fire on any write, trigger items when the write is len bytes wide and
 * equals the trigger (the write's start address is not checked, as in v5).
 * Reads of the range return zeros.
 */
int iofd_iosignalfd(struct iofd_vm *vm, const struct iofd_iosignalfd *args);

/**
 * iofd_set_ioregion() - ioregionfd: serve a guest range over a pair of fds.
 *
 * Assign (no DEASSIGN flag): every access inside [guest_paddr,
 * guest_paddr + memory_size) on the MMIO bus (or the PIO bus with
 * IOFD_IOREGION_FLAG_PIO) becomes a 32-byte struct iofd_ioregionfd_cmd
 * written to write_fd: offset relative to guest_paddr, the write's value
 * zero-extended in data, user_data echoed. A read sets resp=1 and waits for
 * one struct iofd_ioregionfd_resp on read_fd, whose low len bytes of data
 * go to the guest; the reply's padding must be zero. A write waits for a
 * reply as well, unless POSTED_WRITES (then resp=0 and nothing is read).
 * An access that runs past the end of the region is not claimed.
 * memory_size 0 is a doorbell: writes of any width at exactly guest_paddr,
 * posted (POSTED_WRITES is required); read_fd is not used; for overlap it
 * covers 8 bytes, as a len-0 ioeventfd does.
 *
 * The fds must be pipes, FIFOs or sockets (read_fd == write_fd, one socket
 * for both ways, is the usual set-up). iofd keeps its own close-on-exec
 * dups: the caller may close its fds. Regions registered with the same
 * write_fd object share it: one command is in flight per fd, vCPUs that
 * share an fd are served one after the other (in arrival order, posted
 * writes included), so give each queue its own fd for parallelism. An fd
 * belongs to one (read_fd, write_fd) pair. Data already waiting on read_fd
 * when a pair is first registered is discarded (it can only be stale).
 *
 * Errors on assign: unknown flags, guest_paddr + memory_size overflowing,
 * memory_size 0 without POSTED_WRITES, an fd that is not a pipe, FIFO or
 * socket, or an fd already paired otherwise: -EINVAL; a write_fd (or, for
 * memory_size > 0, read_fd) not open, or not open for that direction:
 * -EBADF; an overlap with another region, an ioeventfd or an iosignalfd
 * group on the same bus: -EEXIST (they refuse to overlap a region in
 * turn); -ENOMEM.
 *
 * Deassign (DEASSIGN flag) names the region by bus, guest_paddr and
 * memory_size (fds are not looked at): unknown -> -ENOENT; unknown flags
 * -> -EINVAL. The region's fds are closed once no access uses it any more
 * and a grace period has passed (iofd_quiesce() or iofd_vm_destroy() wait
 * for that, unless a vCPU still holds a pending access on it: destroy the
 * vCPU first).
 *
 * Accesses are served on the calling vCPU thread (never offloaded: no
 * merged kernel has ioregionfd). Each wait is bounded by the VM's timeout
 * (iofd_vm_options.ioregion_timeout_ms, iofd_vm_set_ioregion_timeout()).
 * A device that closes its fd, replies short or malformed, sends data
 * nobody asked for, or does not answer (or drain its fd) in time makes
 * the access fail (IOFD_FAILED, struct iofd_exit with the address, the
 * access, the negative errno and the reason: -EPIPE closed, -EPROTO short
 * or unsolicited, -EBADMSG malformed, -ETIMEDOUT no answer) and poisons the
 * fd pair: every later access on it fails the same way until every region
 * using it is deassigned and registered again. There is no request id on
 * the wire: after such a failure the device must be reset (or given new
 * fds) before the region is registered again, or a late reply could still
 * be waiting in the fd. On a vCPU, a signal the thread does not block, or
 * kvm_run->immediate_exit, interrupts a wait: see iofd_dispatch_exit().
 * No SIGPIPE ever reaches the process because of a closed device fd.
 */
int iofd_set_ioregion(struct iofd_vm *vm, const struct iofd_ioregion *args);

/**
 * iofd_vm_set_ioregion_timeout() - how long an ioregion access may wait.
 * @ms: milliseconds for each wait (for the fd, for the device to take the
 *      command, for its reply); 0 (or IOFD_TIMEOUT_FOREVER) waits forever,
 *      as the RFC did; IOFD_TIMEOUT_DEFAULT_MS is the default.
 *
 * Applies to accesses that start after the call. Errors: -EINVAL (NULL vm).
 */
int iofd_vm_set_ioregion_timeout(struct iofd_vm *vm, uint32_t ms);

/**
 * iofd_batch_begin() - start collecting changes to publish them at once.
 *
 * Until iofd_batch_commit(), registrations are validated and return their
 * result immediately but guest accesses keep seeing the previous state
 * (kernel offload, which the kernel cannot batch, happens immediately).
 * Only the thread that began the batch may register until it commits.
 * Errors: -EBUSY if a batch is already open.
 */
int iofd_batch_begin(struct iofd_vm *vm);

/**
 * iofd_batch_commit() - publish every change made since iofd_batch_begin().
 * Errors: -EINVAL if no batch is open.
 */
int iofd_batch_commit(struct iofd_vm *vm);

/* ---- dispatch -------------------------------------------------------------- */

/**
 * iofd_access() - serve one guest access, for emulators without KVM exits.
 * @data: for a write, the len bytes written; for a read, receives len bytes.
 * @info: optional; filled when the status is not NOT_CLAIMED.
 *
 * Returns an enum iofd_status (>= 0), or -EINVAL for a bad bus or a len not
 * in 1..8. Safe from any number of threads; lock-free except for an
 * ioregion access, which waits for its fd (see iofd_set_ioregion()). With
 * no vCPU to keep an access pending in, signals do not interrupt such a
 * wait here (it is restarted; the timeout still bounds it), so the result
 * is never PENDING.
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
 * @vcpu_fd: stays the caller's; @run: its mapped kvm_run, stays the caller's.
 * Errors: -EINVAL for a bad fd or NULL run, -ENOMEM.
 */
int iofd_vcpu_adopt(struct iofd_vm *vm, int vcpu_fd, struct kvm_run *run,
		    struct iofd_vcpu **out);

/** iofd_vcpu_destroy() - release a vCPU (closes only what iofd created). */
void iofd_vcpu_destroy(struct iofd_vcpu *vcpu);

/** iofd_vcpu_fd() - the KVM vCPU fd, or -EINVAL for a NULL vcpu. */
int iofd_vcpu_fd(const struct iofd_vcpu *vcpu);

/** iofd_vcpu_kvm_run() - the vCPU's mapped struct kvm_run. */
struct kvm_run *iofd_vcpu_kvm_run(const struct iofd_vcpu *vcpu);

/** iofd_vcpu_get_stats() - copy the vCPU's counters: 0, or -EINVAL (NULL). */
int iofd_vcpu_get_stats(const struct iofd_vcpu *vcpu,
			struct iofd_vcpu_stats *stats);

/**
 * iofd_dispatch_exit() - serve the exit that KVM_RUN left in kvm_run.
 * @info: optional; receives the details unless the status is SERVED.
 *
 * Handles KVM_EXIT_MMIO and KVM_EXIT_IO (single, non-string accesses);
 * any other exit reason is NOT_CLAIMED. A KVM_EXIT_IOAPIC_EOI (split
 * irqchip) is acted on first when the controller has eoi_gsis (see struct
 * iofd_irq_controller): the GSIs it names are acknowledged with
 * iofd_irq_eoi(); the exit is still NOT_CLAIMED, for the VMM's IOAPIC. Returns an enum iofd_status:
 * SERVED (resume the guest), NOT_CLAIMED (the VMM handles the exit as if
 * iofd were not there), FAILED (an ioregion access failed; @info has the
 * address, the access, the errno and the reason; the exit is not completed:
 * the VMM decides, e.g. stops the VM or reports a bus error), PENDING (a
 * wait for an ioregion device was interrupted by a signal or by
 * kvm_run->immediate_exit: the command already sent is not sent again;
 * call iofd_dispatch_exit() or iofd_vcpu_run() again, before re-entering
 * the guest, to wait for the rest; if the region was deassigned meanwhile,
 * that call returns NOT_CLAIMED and the exit is the VMM's).
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
 * iofd_irqfd() - KVM_IRQFD, with the kernel's struct, semantics and errors.
 *
 * Assign (no DEASSIGN flag): a write to the eventfd @args->fd injects GSI
 * @args->gsi. With KVM_IRQFD_FLAG_RESAMPLE the line is level-triggered: it
 * stays asserted until the guest acknowledges it, then it is de-asserted and
 * the eventfd @args->resamplefd is signalled (every resamplefd of the GSI
 * fires; the device re-asserts if it still needs service).
 *
 * Checked in the kernel's order: a flag other than DEASSIGN and RESAMPLE
 * gives -EINVAL; so does an irqfd nobody can serve (no in-kernel irqchip,
 * or RESAMPLE with a split one, and no controller set, see below), before
 * any fd is looked at; then -EBADF for an fd that is not open or -EINVAL
 * for one that is not an eventfd, first @args->fd, then (RESAMPLE)
 * @args->resamplefd; then -EBUSY when the eventfd already backs an irqfd,
 * in this VM or any other of this process (the kernel also refuses eventfds
 * bound in other processes). The GSI is not range-checked (the kernel
 * accepts any). -ENOMEM on allocation failure; any other errno of
 * KVM_IRQFD is passed on.
 *
 * Deassign (KVM_IRQFD_FLAG_DEASSIGN): checks only @args->fd (-EBADF or
 * -EINVAL), removes the irqfd of that eventfd object on that GSI and returns
 * 0, also when there was none. A removed resample irqfd that was the GSI's
 * last one de-asserts the line.
 *
 * Where it runs: with a full in-kernel irqchip, or a plain irqfd on a split
 * one, the irqfd is registered with KVM_IRQFD. With no in-kernel irqchip
 * (or no KVM), or RESAMPLE on a split irqchip, iofd serves it itself when a
 * controller is set (iofd_irq_set_controller()): it then returns 0 where the
 * kernel says -EINVAL. Such irqfds are delivered by iofd_irq_process()
 * (a write made before the assign included, as the kernel injects it at
 * assign). IOFD_VM_NO_OFFLOAD does not apply: only the kernel can drive its
 * own irqchip.
 *
 * iofd keeps a close-on-exec dup of the eventfd (and of the resamplefd when
 * it serves the resampling), so the caller may close its fds at any time.
 * Unlike the kernel, which drops an irqfd when the last fd of its eventfd
 * is closed, an irqfd made through iofd lives until it is deassigned or the
 * VM is destroyed.
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
 * iofd_intx_create() - a level-triggered INTx source on @gsi for a device
 * emulator.
 * @out: receives the helper, owned by the caller (iofd_intx_destroy()).
 *
 * The helper makes its own trigger and resample eventfds and registers a
 * RESAMPLE irqfd on @gsi (in the kernel with a full in-kernel irqchip, else
 * served by iofd, which then needs a controller). The device drives it
 * with iofd_intx_assert() and iofd_intx_deassert() and learns of the
 * guest's acknowledgements from iofd_intx_eoi_fd():
 *   - an acknowledgement counts only if it came after this source asserted
 *     the line: acknowledgements of interrupts other sources raised on a
 *     shared GSI (another device, another helper) are filtered out and
 *     never wake this device, although the kernel signals every resamplefd
 *     of the GSI;
 *   - while the source is still asserted at the acknowledgement, it is
 *     asserted again at once (the guest sees a new interrupt);
 *   - a de-assert takes effect at the next acknowledgement, not before:
 *     the kernel's resample line cannot be lowered earlier, and iofd keeps
 *     the same rule when it serves the line itself.
 * With an in-kernel irqchip, acknowledgements reach the helper through
 * iofd_irq_process() (the VMM's loop must run it when iofd_irq_fd() is
 * readable); with a userspace controller, directly from iofd_irq_eoi().
 * With the kernel's asynchronous injection an acknowledgement of another
 * source's interrupt that lands in the few microseconds between an assert
 * and the kernel raising the line is taken for this source's.
 *
 * The helper, its irqfd (deassign it with iofd_irqfd() and
 * iofd_intx_trigger_fd()) and the GSI's resampler (shared with other
 * sources, gone with the GSI's last resample irqfd) can be released in any
 * order, or all at once by iofd_vm_destroy(); the helper then answers
 * -ENOTCONN (irqfd gone) or -ENODEV (VM gone) and must still be destroyed.
 * Errors: -EINVAL (NULL arguments), anything iofd_irqfd() returns, -ENOMEM,
 * errno of eventfd().
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
 * free it with its fds. Callable before or after iofd_vm_destroy(); not
 * from inside an iofd callback. NULL is accepted.
 */
void iofd_intx_destroy(struct iofd_intx *intx);

#ifdef __cplusplus
}
#endif

#endif /* IOFD_IOFD_H */
