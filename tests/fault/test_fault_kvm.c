/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection on the kernel-facing paths (a build with
 * -Dfault_injection=true, a real KVM VM): a guest VM with an in-kernel
 * irqchip, made with plain ioctls and adopted by iofd, holds a baseline of
 *   - an offloaded ioeventfd (MMIO, KVM_IOEVENTFD),
 *   - a userspace ioeventfd (port I/O, served by iofd_dispatch_exit),
 *   - an irqfd registered with the kernel (KVM_IRQFD).
 * For each path (registration, deassign, batch, quiesce, teardown of
 * ioeventfd, irqfd, resample irqfd, INTx helper, VM/vCPU adoption and
 * destroy, ioregion) its k-th allocation, ioctl or dup fails, for every k
 * until the path runs through without reaching k. After each failure:
 *   - the call returned a negative errno, or 0 for a failure iofd absorbs;
 *   - a failed call changed nothing: repeated without a fault it succeeds;
 *   - the path's own end state holds in the kernel (a raw KVM_IOEVENTFD
 *     deassign or KVM_IRQFD assign probe);
 *   - the guest's writes still reach the baseline's eventfds, and the
 *     baseline irqfd is still the kernel's;
 *   - iofd's teardown leaves no kernel registration, no fd (and, under
 *     ASan, no memory) behind.
 * Prints "fault injection: <N> failure points, <M> inconsistencies"; exits
 * 77 (skipped) without /dev/kvm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/iofd.h>

#include "fault.h"
#include "fault_check.h"
#include "host.h"
#include "testutil.h"

#define A0 (GUEST_MMIO_BASE + 0x1000)	/* baseline: offloaded ioeventfd */
#define P0 0x610			/* baseline: userspace ioeventfd */
#define GSI0 5				/* baseline: kernel irqfd */
#define A1 (GUEST_MMIO_BASE + 0x2000)	/* what a path registers */
#define P1 0x620
#define R1 (GUEST_MMIO_BASE + 0x10000)	/* an ioregion */
#define GSI1 6
#define GSI_INTX 10
#define NEFD 6		/* efd[0..2] baseline, efd[3..5] the paths' */

struct fx {
	struct guest_vm g;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	struct iofd_intx *intx;
	int efd[NEFD];
	int sv[2];
	unsigned failed;	/* dispatch failures in the last guest run */
	int vcpu_id;		/* the last vCPU id iofd_vcpu_create() took */
};

/* Warnings that a kernel registration stayed behind (iofd_vm_destroy()
 * documents it: a teardown has nobody to return the failure to). */
static unsigned long kept, kept_points;

static void on_log(void *opaque, enum iofd_log_level level, int err,
		   const char *msg)
{
	(void)opaque;
	(void)err;
	if (level == IOFD_LOG_WARNING && strstr(msg, "the kernel keeps it"))
		kept++;
}

/* ---- registrations and raw kernel probes -------------------------------- */

static int ioeventfd_path(struct fx *f, uint64_t addr, int fd, uint32_t flags)
{
	struct iofd_ioeventfd a = { .addr = addr, .len = 4, .fd = fd,
				    .flags = flags };

	return iofd_ioeventfd_path(f->vm, &a);
}

static int irqfd(struct fx *f, int fd, uint32_t gsi, uint32_t flags, int rfd)
{
	struct kvm_irqfd a = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags,
			       .resamplefd = (uint32_t)rfd };

	return iofd_irqfd(f->vm, &a);
}

/* Does the kernel hold an ioeventfd (len 4) for fd at addr? A raw deassign
 * finds it (and removes it: the caller puts it back or wants it gone). */
static bool kernel_has_ioeventfd(struct fx *f, uint64_t addr, int fd, uint32_t flags)
{
	struct kvm_ioeventfd k = { .addr = addr, .len = 4, .fd = fd,
				   .flags = flags | KVM_IOEVENTFD_FLAG_DEASSIGN };

	return ioctl(f->g.vm_fd, KVM_IOEVENTFD, &k) == 0;
}

/* The same without changing anything: assign refused with EEXIST. */
static bool kernel_keeps_ioeventfd(struct fx *f, uint64_t addr, int fd,
				   uint32_t flags)
{
	struct kvm_ioeventfd k = { .addr = addr, .len = 4, .fd = fd,
				   .flags = flags };

	if (ioctl(f->g.vm_fd, KVM_IOEVENTFD, &k) == 0) {
		k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		ioctl(f->g.vm_fd, KVM_IOEVENTFD, &k);
		return false;
	}
	return errno == EEXIST;
}

/* Does the kernel hold an irqfd for the eventfd fd on gsi? A raw assign of
 * the same eventfd is refused (EBUSY); if it is not, it is undone. */
static bool kernel_has_irqfd(struct fx *f, int fd, uint32_t gsi)
{
	struct kvm_irqfd a = { .fd = (uint32_t)fd, .gsi = gsi };

	if (ioctl(f->g.vm_fd, KVM_IRQFD, &a) == 0) {
		a.flags = KVM_IRQFD_FLAG_DEASSIGN;
		ioctl(f->g.vm_fd, KVM_IRQFD, &a);
		return false;
	}
	return errno == EBUSY;
}

/* ---- the guest ------------------------------------------------------------ */

static int dispatch(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct fx *f = opaque;
	struct iofd_exit info;
	int st = iofd_dispatch_exit(f->vcpu, &info);

	(void)g;
	if (st == IOFD_SERVED)
		return 0;
	if (st == IOFD_NOT_CLAIMED) {
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		return 0;
	}
	f->failed++;
	return -EIO;
}

/* The guest runs ops (n of them) from the start: all ran, none failed. */
static bool guest_runs(struct fx *f, const struct guest_op *ops, size_t n)
{
	uint64_t exits;

	f->failed = 0;
	if (guest_script_set(&f->g, ops, n) || guest_vm_reset_cpu(&f->g) ||
	    guest_run(&f->g, dispatch, f, &exits))
		return false;
	return !f->failed;
}

/* The guest writes the baseline's addresses once each: both eventfds fire. */
static bool guest_reaches_baseline(struct fx *f)
{
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .addr = A0, .len = 4, .value = 1, .count = 1 },
		{ .kind = GOP_OUT, .addr = P0, .len = 4, .value = 2, .count = 1 },
	};

	tu_efd_count(f->efd[0]);
	tu_efd_count(f->efd[1]);
	return guest_runs(f, ops, 2) && tu_efd_count(f->efd[0]) == 1 &&
	       tu_efd_count(f->efd[1]) == 1;
}

/* ---- set-up and teardown ------------------------------------------------- */

static int adopt(struct fx *f, struct iofd_vm **vm, struct iofd_vcpu **vcpu)
{
	struct iofd_vm_options o = { .kvm_vm_fd = f->g.vm_fd };
	int err = iofd_vm_create(&o, vm);

	if (err)
		return err;
	err = iofd_vcpu_adopt(*vm, f->g.vcpu_fd, f->g.run, vcpu);
	if (err) {
		iofd_vm_destroy(*vm);
		*vm = NULL;
	}
	return err;
}

static int fx_setup(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->sv[0] = f->sv[1] = -1;
	for (int i = 0; i < NEFD; i++)
		f->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (guest_vm_create(&f->g, GUEST_VM_IRQCHIP)) {
		printf("# guest_vm_create: %s\n", guest_last_error());
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) < 0 ||
	    adopt(f, &f->vm, &f->vcpu) ||
	    fc_ioeventfd(f->vm, A0, f->efd[0], 0) ||
	    fc_ioeventfd(f->vm, P0, f->efd[1], KVM_IOEVENTFD_FLAG_PIO |
					       IOFD_IOEVENTFD_FLAG_NO_OFFLOAD) ||
	    irqfd(f, f->efd[2], GSI0, 0, 0))
		return -1;
	return 0;
}

/* iofd's INTx helper, vCPU and VM go (the guest stays). */
static void iofd_goes(struct fx *f)
{
	iofd_intx_destroy(f->intx);
	f->intx = NULL;
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	f->vcpu = NULL;
	f->vm = NULL;
}

/* iofd goes; then the kernel must hold nothing iofd registered. */
static void fx_teardown_iofd(struct fx *f, const char *name, unsigned long k)
{
	iofd_goes(f);
	if (!f->g.run || kept)
		return;		/* a kept registration was logged */
	CHECK(!kernel_has_ioeventfd(f, A0, f->efd[0], 0), "%s, point %lu: the "
	      "baseline's KVM_IOEVENTFD outlived iofd", name, k);
	CHECK(!kernel_has_ioeventfd(f, A1, f->efd[3], 0), "%s, point %lu: a "
	      "KVM_IOEVENTFD outlived iofd", name, k);
	CHECK(!kernel_has_irqfd(f, f->efd[2], GSI0), "%s, point %lu: the "
	      "baseline's KVM_IRQFD outlived iofd", name, k);
	CHECK(!kernel_has_irqfd(f, f->efd[3], GSI1), "%s, point %lu: a KVM_IRQFD "
	      "outlived iofd", name, k);
}

static void fx_close(struct fx *f)
{
	guest_vm_destroy(&f->g);
	for (int i = 0; i < NEFD; i++)
		close(f->efd[i]);
	for (int i = 0; i < 2; i++)
		if (f->sv[i] >= 0)
			close(f->sv[i]);
}

/* ---- ioeventfd ----------------------------------------------------------- */

static int op_ioeventfd_mmio(struct fx *f)
{
	return fc_ioeventfd(f->vm, A1, f->efd[3], 0);
}

static bool end_ioeventfd_mmio(struct fx *f)
{
	/* offloaded, or served in userspace after a kernel refusal */
	int path = ioeventfd_path(f, A1, f->efd[3], 0);

	return path == IOFD_PATH_USERSPACE ||
	       (path == IOFD_PATH_KERNEL && kernel_keeps_ioeventfd(f, A1, f->efd[3], 0));
}

static int op_ioeventfd_pio(struct fx *f)
{
	return fc_ioeventfd(f->vm, P1, f->efd[3], KVM_IOEVENTFD_FLAG_PIO);
}

static bool end_ioeventfd_pio(struct fx *f)
{
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	int path = ioeventfd_path(f, P1, f->efd[3], PIO);

	return path == IOFD_PATH_USERSPACE ||
	       (path == IOFD_PATH_KERNEL && kernel_keeps_ioeventfd(f, P1, f->efd[3], PIO));
}

static int op_ioeventfd_deassign(struct fx *f)
{
	return fc_ioeventfd(f->vm, A1, f->efd[3], IOFD_IOEVENTFD_FLAG_DEASSIGN);
}

/* Gone from iofd and from the kernel. */
static bool end_a1_gone(struct fx *f)
{
	return ioeventfd_path(f, A1, f->efd[3], 0) == -ENOENT &&
	       !kernel_keeps_ioeventfd(f, A1, f->efd[3], 0);
}

/* Deassign, then wait until the dups are closed. */
static int op_deassign_quiesce(struct fx *f)
{
	int err = op_ioeventfd_deassign(f);

	return err ? err : iofd_quiesce(f->vm);
}

/* Two offloaded ioeventfds, a userspace one and a group in one batch. */
static int op_batch(struct fx *f)
{
	struct iofd_iosignalfd g = { .addr = A1 + 0x100, .len = 4, .fd = f->efd[5] };
	int err = iofd_batch_begin(f->vm);

	if (err)
		return err;
	err = fc_ioeventfd(f->vm, A1, f->efd[3], 0);
	if (!err)
		err = fc_ioeventfd(f->vm, P1, f->efd[4], KVM_IOEVENTFD_FLAG_PIO);
	if (!err)
		err = fc_ioeventfd(f->vm, A1 + 8, f->efd[4],
				   IOFD_IOEVENTFD_FLAG_NO_OFFLOAD);
	if (!err)
		err = iofd_iosignalfd(f->vm, &g);
	if (err) {
		/* undo what got in, so the repeat starts afresh */
		iofd_batch_commit(f->vm);
		fc_ioeventfd(f->vm, A1, f->efd[3], IOFD_IOEVENTFD_FLAG_DEASSIGN);
		fc_ioeventfd(f->vm, P1, f->efd[4], KVM_IOEVENTFD_FLAG_PIO |
						   IOFD_IOEVENTFD_FLAG_DEASSIGN);
		fc_ioeventfd(f->vm, A1 + 8, f->efd[4], IOFD_IOEVENTFD_FLAG_DEASSIGN);
		return err;
	}
	return iofd_batch_commit(f->vm);
}

static bool end_batch(struct fx *f)
{
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	int path = ioeventfd_path(f, P1, f->efd[4], PIO);

	return end_ioeventfd_mmio(f) &&
	       (path == IOFD_PATH_USERSPACE ||
		(path == IOFD_PATH_KERNEL &&
		 kernel_keeps_ioeventfd(f, P1, f->efd[4], PIO))) &&
	       ioeventfd_path(f, A1 + 8, f->efd[4], 0) == IOFD_PATH_USERSPACE;
}

static int prep_batch(struct fx *f)
{
	return op_batch(f);
}

/* Everything op_batch made goes, in one batch. */
static int op_batch_deassign(struct fx *f)
{
	struct iofd_iosignalfd g = { .addr = A1 + 0x100, .len = 4, .fd = f->efd[5],
				     .flags = IOFD_IOSIGNALFD_FLAG_DEASSIGN };
	int err = iofd_batch_begin(f->vm), e2;

	if (err)
		return err;
	/* each deassign is tried: a repeat finds the others gone (-ENOENT) */
	err = fc_ioeventfd(f->vm, A1, f->efd[3], IOFD_IOEVENTFD_FLAG_DEASSIGN);
	e2 = fc_ioeventfd(f->vm, P1, f->efd[4], KVM_IOEVENTFD_FLAG_PIO |
						IOFD_IOEVENTFD_FLAG_DEASSIGN);
	err = err && err != -ENOENT ? err : e2 != -ENOENT ? e2 : 0;
	e2 = fc_ioeventfd(f->vm, A1 + 8, f->efd[4], IOFD_IOEVENTFD_FLAG_DEASSIGN);
	err = err ? err : e2 != -ENOENT ? e2 : 0;
	e2 = iofd_iosignalfd(f->vm, &g);	/* a group not there: -EINVAL */
	err = err ? err : e2 != -EINVAL ? e2 : 0;
	e2 = iofd_batch_commit(f->vm);
	return err ? err : e2;
}

static bool end_batch_gone(struct fx *f)
{
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;

	return end_a1_gone(f) &&
	       ioeventfd_path(f, P1, f->efd[4], PIO) == -ENOENT &&
	       !kernel_keeps_ioeventfd(f, P1, f->efd[4], PIO);
}

/* An offloaded datamatch entry beside a userspace one at the same address. */
static int op_datamatch(struct fx *f)
{
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	struct iofd_ioeventfd a = { .addr = A1, .len = 4, .fd = f->efd[3],
				    .flags = DM, .datamatch = 7 };
	struct iofd_ioeventfd b = { .addr = A1, .len = 4, .fd = f->efd[4],
				    .flags = DM | IOFD_IOEVENTFD_FLAG_NO_OFFLOAD,
				    .datamatch = 8 };
	int err = iofd_ioeventfd_ext(f->vm, &a);

	if (err)
		return err;
	err = iofd_ioeventfd_ext(f->vm, &b);
	if (err) {	/* undo the first, so the repeat starts afresh */
		a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
		iofd_ioeventfd_ext(f->vm, &a);
	}
	return err;
}

/* The guest's writes: each value reaches its own eventfd. */
static bool end_datamatch(struct fx *f)
{
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .addr = A1, .len = 4, .value = 7, .count = 2 },
		{ .kind = GOP_WRITE, .addr = A1, .len = 4, .value = 8, .count = 3 },
	};

	return guest_runs(f, ops, 2) && tu_efd_count(f->efd[3]) == 2 &&
	       tu_efd_count(f->efd[4]) == 3;
}

static int prep_p1(struct fx *f)
{
	return op_ioeventfd_pio(f);
}

static int op_ioeventfd_pio_deassign(struct fx *f)
{
	return fc_ioeventfd(f->vm, P1, f->efd[3], KVM_IOEVENTFD_FLAG_PIO |
						  IOFD_IOEVENTFD_FLAG_DEASSIGN);
}

static bool end_p1_gone(struct fx *f)
{
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;

	return ioeventfd_path(f, P1, f->efd[3], PIO) == -ENOENT &&
	       !kernel_keeps_ioeventfd(f, P1, f->efd[3], PIO);
}

/* A group and a posted write on the KVM VM (both served by iofd). */
static uint32_t post_slot;

static int op_group_post(struct fx *f)
{
	struct iofd_iosignalfd g = { .addr = A1 + 0x100, .len = 4, .fd = f->efd[5] };
	struct iofd_ioeventfd a = { .addr = A1, .len = 4, .fd = f->efd[3],
				    .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE,
				    .post_addr = (uintptr_t)&post_slot };
	int err = iofd_iosignalfd(f->vm, &g);

	if (err)
		return err;
	err = iofd_ioeventfd_ext(f->vm, &a);
	if (err) {
		g.flags = IOFD_IOSIGNALFD_FLAG_DEASSIGN;
		iofd_iosignalfd(f->vm, &g);
	}
	return err;
}

/* The guest's writes land: the posted value in its slot, both signals. */
static bool end_group_post(struct fx *f)
{
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .addr = A1, .len = 4, .value = 0x55, .count = 1 },
		{ .kind = GOP_WRITE, .addr = A1 + 0x100, .len = 4, .value = 1,
		  .count = 1 },
	};

	post_slot = 0;
	return guest_runs(f, ops, 2) && post_slot == 0x55 &&
	       tu_efd_count(f->efd[3]) == 1 && tu_efd_count(f->efd[5]) == 1;
}

/* A VM iofd makes itself (IOFD_KVM_CREATE): offload, a vCPU, destroy. */
static int op_own_vm_life(struct fx *f)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct iofd_vm *keep = f->vm;
	struct iofd_vcpu *vcpu;
	struct iofd_caps caps;
	int err = iofd_vm_create(&o, &f->vm);

	if (err) {
		f->vm = keep;
		return err;
	}
	err = iofd_query_caps(f->vm, &caps);
	if (!err)
		err = op_ioeventfd_mmio(f);
	if (!err)
		err = op_ioeventfd_pio(f);
	if (!err)
		err = iofd_vcpu_create(f->vm, 0, &vcpu);
	if (!err)
		iofd_vcpu_destroy(vcpu);
	iofd_vm_destroy(f->vm);
	f->vm = keep;
	return err;
}

/* ---- irqfd and INTx ------------------------------------------------------ */

static int op_irqfd(struct fx *f)
{
	return irqfd(f, f->efd[3], GSI1, 0, 0);
}

static bool end_irqfd(struct fx *f)
{
	return kernel_has_irqfd(f, f->efd[3], GSI1);
}

static int op_irqfd_deassign(struct fx *f)
{
	return irqfd(f, f->efd[3], GSI1, KVM_IRQFD_FLAG_DEASSIGN, 0);
}

static bool end_irqfd_gone(struct fx *f)
{
	return !kernel_has_irqfd(f, f->efd[3], GSI1);
}

static int op_irqfd_resample(struct fx *f)
{
	return irqfd(f, f->efd[3], GSI1, KVM_IRQFD_FLAG_RESAMPLE, f->efd[4]);
}

static int op_intx(struct fx *f)
{
	return iofd_intx_create(f->vm, GSI_INTX, &f->intx);
}

static bool end_intx(struct fx *f)
{
	int fd = iofd_intx_trigger_fd(f->intx);

	return fd >= 0 && kernel_has_irqfd(f, fd, GSI_INTX);
}

/* Assert and deassert, then the helper goes while the VM stays. */
static int op_intx_life(struct fx *f)
{
	int err = iofd_intx_assert(f->intx);

	if (!err)
		err = iofd_intx_deassert(f->intx);
	iofd_intx_destroy(f->intx);
	f->intx = NULL;
	if (err)		/* the repeat needs a helper again */
		op_intx(f);
	return err;
}

/* The helper's irqfd is deassigned by its trigger fd, then it goes. */
static int op_intx_deassign(struct fx *f)
{
	int err = irqfd(f, iofd_intx_trigger_fd(f->intx), GSI_INTX,
			KVM_IRQFD_FLAG_DEASSIGN, 0);

	if (!err) {
		iofd_intx_destroy(f->intx);
		f->intx = NULL;
	}
	return err;
}

static int prep_resample(struct fx *f)
{
	return op_irqfd_resample(f);
}

static int op_resample_deassign(struct fx *f)
{
	return irqfd(f, f->efd[3], GSI1, KVM_IRQFD_FLAG_DEASSIGN, 0);
}

/* ---- VM, vCPU, ioregion -------------------------------------------------- */

/* A second iofd VM adopts the same KVM VM and vCPU, offloads, goes. */
static int op_adopt_life(struct fx *f)
{
	struct iofd_vm *keep = f->vm;
	struct iofd_vcpu *vcpu;
	struct iofd_caps caps;
	int err = adopt(f, &f->vm, &vcpu);

	if (err) {
		f->vm = keep;
		return err;
	}
	err = iofd_query_caps(f->vm, &caps);
	if (!err)
		err = op_ioeventfd_mmio(f);
	if (!err)
		err = op_irqfd(f);
	iofd_vcpu_destroy(vcpu);
	iofd_vm_destroy(f->vm);
	f->vm = keep;
	return err;
}

/* Whatever the second VM made went with it. */
static bool end_adopt_life(struct fx *f)
{
	return !kernel_keeps_ioeventfd(f, A1, f->efd[3], 0) &&
	       !kernel_has_irqfd(f, f->efd[3], GSI1);
}

/* A vCPU iofd makes. KVM keeps an id even when a later step fails, so
 * each try takes a fresh one. */
static int op_vcpu_create(struct fx *f)
{
	struct iofd_vcpu *vcpu;
	int err = iofd_vcpu_create(f->vm, ++f->vcpu_id, &vcpu);

	if (!err)
		iofd_vcpu_destroy(vcpu);
	return err;
}

static int region(struct fx *f, uint32_t flags)
{
	struct iofd_ioregion a = { .guest_paddr = R1, .memory_size = 0x1000,
				   .read_fd = f->sv[0], .write_fd = f->sv[0],
				   .flags = flags };

	return iofd_set_ioregion(f->vm, &a);
}

static int op_region(struct fx *f)
{
	return region(f, 0);
}

static int op_region_deassign(struct fx *f)
{
	return region(f, IOFD_IOREGION_FLAG_DEASSIGN);
}

/* The destroy paths: everything registered, then iofd goes. */
static int prep_all(struct fx *f)
{
	return op_batch(f) || op_irqfd(f) || op_intx(f) || op_region(f);
}

/* A batch left open goes with the VM (iofd_vm_destroy() closes it). */
static int op_destroy_in_batch(struct fx *f)
{
	int err = iofd_batch_begin(f->vm);

	if (!err)
		err = fc_ioeventfd(f->vm, P1 + 8, f->efd[5], KVM_IOEVENTFD_FLAG_PIO);
	if (!err)
		err = fc_ioeventfd(f->vm, A1, f->efd[3], IOFD_IOEVENTFD_FLAG_DEASSIGN);
	iofd_goes(f);
	return err;
}

static int op_destroy(struct fx *f)
{
	iofd_goes(f);
	return 0;
}

/* The VM first, the INTx helper after it (any order is allowed). */
static int op_destroy_vm_first(struct fx *f)
{
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	iofd_intx_destroy(f->intx);
	f->intx = NULL;
	f->vcpu = NULL;
	f->vm = NULL;
	return 0;
}

struct path {
	const char *name;
	int (*prep)(struct fx *f);
	int (*op)(struct fx *f);
	bool (*end)(struct fx *f);	/* the path's end state; NULL: none */
	bool destroys;			/* the op takes iofd's VM away */
};

static int prep_a1(struct fx *f)
{
	return op_ioeventfd_mmio(f);
}

static int prep_irqfd(struct fx *f)
{
	return op_irqfd(f);
}

static int prep_intx(struct fx *f)
{
	return op_intx(f);
}

static int prep_region(struct fx *f)
{
	return op_region(f);
}

static const struct path paths[] = {
	{ "ioeventfd assign (MMIO, offload)", NULL, op_ioeventfd_mmio,
	  end_ioeventfd_mmio, false },
	{ "ioeventfd assign (PIO, offload)", NULL, op_ioeventfd_pio,
	  end_ioeventfd_pio, false },
	{ "ioeventfd deassign (offloaded)", prep_a1, op_ioeventfd_deassign,
	  end_a1_gone, false },
	{ "ioeventfd deassign and quiesce", prep_a1, op_deassign_quiesce,
	  end_a1_gone, false },
	{ "ioeventfd datamatch (offloaded beside userspace)", NULL, op_datamatch,
	  end_datamatch, false },
	{ "ioeventfd deassign (PIO, offloaded)", prep_p1, op_ioeventfd_pio_deassign,
	  end_p1_gone, false },
	{ "group and posted write (KVM VM)", NULL, op_group_post, end_group_post,
	  false },
	{ "own KVM VM life and teardown", NULL, op_own_vm_life, NULL, false },
	{ "batch (offloaded, userspace, group)", NULL, op_batch, end_batch, false },
	{ "batch deassign", prep_batch, op_batch_deassign, end_batch_gone, false },
	{ "irqfd assign (in-kernel irqchip)", NULL, op_irqfd, end_irqfd, false },
	{ "irqfd deassign (in-kernel irqchip)", prep_irqfd, op_irqfd_deassign,
	  end_irqfd_gone, false },
	{ "resample irqfd assign (in-kernel irqchip)", NULL, op_irqfd_resample,
	  end_irqfd, false },
	{ "resample irqfd deassign (in-kernel irqchip)", prep_resample,
	  op_resample_deassign, end_irqfd_gone, false },
	{ "INTx helper create", NULL, op_intx, end_intx, false },
	{ "INTx helper life", prep_intx, op_intx_life, NULL, false },
	{ "INTx helper deassign", prep_intx, op_intx_deassign, NULL, false },
	{ "VM and vCPU adoption, life, destroy", NULL, op_adopt_life,
	  end_adopt_life, false },
	{ "vCPU create", NULL, op_vcpu_create, NULL, false },
	{ "ioregion assign (KVM VM)", NULL, op_region, NULL, false },
	{ "ioregion deassign (KVM VM)", prep_region, op_region_deassign, NULL, false },
	{ "VM destroy with everything", prep_all, op_destroy, NULL, true },
	{ "VM destroy inside an open batch", prep_all, op_destroy_in_batch,
	  NULL, true },
	{ "VM destroy before its INTx helper", prep_all, op_destroy_vm_first,
	  NULL, true },
};

/* Fail point k of path p; returns false once the path no longer reaches k. */
static bool run_one(const struct path *p, unsigned long k)
{
	int before = tu_open_fds(), rc, again = 0;
	struct fx f;
	bool fired;

	if (fx_setup(&f) || (p->prep && p->prep(&f))) {
		CHECK(false, "%s: set-up failed: %s", p->name, iofd_last_error());
		fx_teardown_iofd(&f, p->name, k);
		fx_close(&f);
		return false;
	}
	kept = 0;
	iofd_fault_arm(k);
	rc = p->op(&f);
	fired = fc_judge(p->name, k, rc);
	if (fired && rc < 0 && !p->destroys) {
		again = p->op(&f);
		CHECK(again >= 0, "%s, point %lu: failed with %d, then %d "
		      "without a fault (%s)", p->name, k, rc, again,
		      iofd_last_error());
	}
	if (!p->destroys) {
		if (p->end && again >= 0 && !kept)
			CHECK(p->end(&f), "%s, point %lu (returned %d): the end "
			      "state is not in iofd and the kernel", p->name, k, rc);
		CHECK(guest_reaches_baseline(&f), "%s, point %lu: a guest write "
		      "no longer reaches the baseline", p->name, k);
		CHECK(ioeventfd_path(&f, A0, f.efd[0], 0) == IOFD_PATH_KERNEL,
		      "%s, point %lu: the baseline ioeventfd left the kernel",
		      p->name, k);
		CHECK(kernel_has_irqfd(&f, f.efd[2], GSI0), "%s, point %lu: the "
		      "baseline irqfd left the kernel", p->name, k);
	}
	fx_teardown_iofd(&f, p->name, k);
	if (kept) {
		kept_points++;
		printf("# %s, point %lu: a teardown left a kernel registration "
		       "(logged, as iofd_vm_destroy() documents)\n", p->name, k);
	}
	fx_close(&f);
	fc_check_fds(p->name, k, before);
	return fired;
}

/* One irqfd before counting: the process-wide probes (the kernel's EBUSY
 * rule) run once, outside every path. */
static int warm_up(void)
{
	struct fx f;
	int err = fx_setup(&f);

	iofd_quiesce(f.vm);
	fx_teardown_iofd(&f, "warm-up", 0);
	fx_close(&f);
	return err;
}

int main(void)
{
	if (!tu_kvm_available())
		return 77;
	iofd_set_log(on_log, NULL, IOFD_LOG_WARNING);
	tu_warm_up();
	if (warm_up()) {
		printf("# set-up failed: %s\n", iofd_last_error());
		return 1;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		unsigned long k, start = fc_points;

		for (k = 1; run_one(&paths[i], k); k++)
			;
		fc_path_done(paths[i].name, start);
		fflush(stdout);
	}
	printf("# %lu failure points left a kernel registration behind in a "
	       "teardown, logged\n", kept_points);
	return fc_summary();
}
