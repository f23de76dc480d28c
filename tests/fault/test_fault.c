/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection (a build with -Dfault_injection=true): for each path, fail
 * its k-th allocation, kernel call or fd dup, for every k until the path
 * runs through without reaching k, and check after each failure that
 *   - the call returned a negative errno, or succeeded (a failure iofd
 *     absorbs, such as a kernel refusal served in userspace);
 *   - a failed call changed nothing: the same call, repeated without a
 *     fault, succeeds;
 *   - the VM still serves what it had (an ioeventfd and a group);
 *   - tearing everything down leaves no fd behind (and, under ASan, no
 *     memory).
 * Prints "fault injection: <N> failure points, <M> inconsistencies".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/device.h>
#include <iofd/handoff.h>
#include <iofd/iofd.h>

#include "fault.h"
#include "fault_check.h"
#include "testutil.h"

#define A0 0x1000ull	/* baseline ioeventfd (userspace) */
#define G0 0x2000ull	/* baseline group */
#define A1 0x3000ull	/* what a scenario registers */
#define G1 0x4000ull
#define R1 0x10000ull	/* an ioregion */
#define NEFD 4

struct fx {
	struct iofd_vm *vm;
	int kvm, vm_fd;
	int efd[NEFD];
	int sv[2];
	struct iofd_intx *intx;
	struct iofd_device *dev;
};

/* ---- helpers --------------------------------------------------------------- */

static int group(struct fx *f, uint64_t addr, int fd, uint32_t flags)
{
	struct iofd_iosignalfd a = { .addr = addr, .len = 4, .fd = fd,
				     .flags = flags };

	return iofd_iosignalfd(f->vm, &a);
}

static int region(struct fx *f, uint32_t flags)
{
	struct iofd_ioregion a = { .guest_paddr = R1, .memory_size = 0x1000,
				   .read_fd = f->sv[0], .write_fd = f->sv[0],
				   .flags = flags | IOFD_IOREGION_FLAG_POSTED_WRITES };

	return iofd_set_ioregion(f->vm, &a);
}

static bool writes_signal(struct fx *f, uint64_t addr, int efd)
{
	uint32_t v = 1;

	tu_efd_count(efd);
	return iofd_access(f->vm, IOFD_BUS_MMIO, addr, 4, true, &v, NULL) ==
	       IOFD_SERVED && tu_efd_count(efd) == 1;
}

static void set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static const struct iofd_irq_controller ctl = { .set_level = set_level };

/* ---- set-up and teardown ----------------------------------------------- */

static int fx_setup(struct fx *f, bool kvm)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_NONE };

	memset(f, 0, sizeof(*f));
	f->kvm = f->vm_fd = f->sv[0] = f->sv[1] = -1;
	if (kvm) {
		f->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		f->vm_fd = f->kvm < 0 ? -1 : ioctl(f->kvm, KVM_CREATE_VM, 0);
		if (f->vm_fd < 0 || ioctl(f->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
			return -1;
		o.kvm_vm_fd = f->vm_fd;
	}
	for (int i = 0; i < NEFD; i++)
		f->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) < 0 ||
	    iofd_vm_create(&o, &f->vm) ||
	    fc_ioeventfd(f->vm, A0, f->efd[0], IOFD_IOEVENTFD_FLAG_NO_OFFLOAD) ||
	    group(f, G0, f->efd[1], 0))
		return -1;
	return 0;
}

static void fx_teardown(struct fx *f)
{
	iofd_intx_destroy(f->intx);
	iofd_vm_destroy(f->vm);
	iofd_device_destroy(f->dev);
	for (int i = 0; i < NEFD; i++)
		close(f->efd[i]);
	for (int i = 0; i < 2; i++)
		if (f->sv[i] >= 0)
			close(f->sv[i]);
	if (f->vm_fd >= 0)
		close(f->vm_fd);
	if (f->kvm >= 0)
		close(f->kvm);
}

/* ---- the paths ----------------------------------------------------------- */

static int op_ioeventfd_user(struct fx *f)
{
	return fc_ioeventfd(f->vm, A1, f->efd[2], IOFD_IOEVENTFD_FLAG_NO_OFFLOAD);
}

static int op_ioeventfd_kernel(struct fx *f)
{
	return fc_ioeventfd(f->vm, A1, f->efd[2], 0);
}

static int prep_a1(struct fx *f)
{
	return op_ioeventfd_kernel(f);
}

static int op_ioeventfd_deassign(struct fx *f)
{
	return fc_ioeventfd(f->vm, A1, f->efd[2], IOFD_IOEVENTFD_FLAG_DEASSIGN);
}

static uint32_t post_slot;

static int op_post_write(struct fx *f)
{
	struct iofd_ioeventfd a = { .addr = A1, .len = 4, .fd = f->efd[2],
				    .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE,
				    .post_addr = (uintptr_t)&post_slot };

	return iofd_ioeventfd_ext(f->vm, &a);
}

static int op_group_new(struct fx *f)
{
	return group(f, G1, f->efd[2], 0);
}

static int op_group_add(struct fx *f)
{
	return group(f, G0, f->efd[2], 0);
}

static int prep_g1(struct fx *f)
{
	return group(f, G1, f->efd[2], 0) || group(f, G1, f->efd[3], 0);
}

static int op_group_deassign(struct fx *f)
{
	return group(f, G1, f->efd[2], IOFD_IOSIGNALFD_FLAG_DEASSIGN);
}

static int op_region(struct fx *f)
{
	return region(f, 0);
}

static int prep_region(struct fx *f)
{
	return region(f, 0);
}

static int op_region_deassign(struct fx *f)
{
	return region(f, IOFD_IOREGION_FLAG_DEASSIGN);
}

static int op_batch(struct fx *f)
{
	int err = iofd_batch_begin(f->vm);

	if (err)
		return err;
	err = fc_ioeventfd(f->vm, A1, f->efd[2], 0);
	if (!err)
		err = group(f, G1, f->efd[3], 0);
	if (!err)
		err = region(f, 0);
	if (err) {
		iofd_batch_commit(f->vm);
		/* undo what got in, so the repeat starts afresh */
		fc_ioeventfd(f->vm, A1, f->efd[2], IOFD_IOEVENTFD_FLAG_DEASSIGN);
		group(f, G1, f->efd[3], IOFD_IOSIGNALFD_FLAG_DEASSIGN);
		return err;
	}
	return iofd_batch_commit(f->vm);
}

static int op_irqfd(struct fx *f)
{
	struct kvm_irqfd a = { .fd = (uint32_t)f->efd[2], .gsi = 5 };

	return iofd_irqfd(f->vm, &a);
}

static int op_irqfd_resample(struct fx *f)
{
	struct kvm_irqfd a = { .fd = (uint32_t)f->efd[2], .gsi = 9,
			       .resamplefd = (uint32_t)f->efd[3],
			       .flags = KVM_IRQFD_FLAG_RESAMPLE };

	return iofd_irqfd(f->vm, &a);
}

static int prep_controller(struct fx *f)
{
	return iofd_irq_set_controller(f->vm, &ctl, NULL);
}

static int op_intx(struct fx *f)
{
	return iofd_intx_create(f->vm, 10, &f->intx);
}

static int op_device(struct fx *f)
{
	struct iofd_device_region r = { .cmd_fd = f->sv[1], .resp_fd = f->sv[1],
					.size = 0x1000 };
	struct iofd_device_doorbell d = { .efd = f->efd[3], .len = 4 };
	int err;

	if (f->dev) {		/* a repeat after a failure: start afresh */
		iofd_device_destroy(f->dev);
		f->dev = NULL;
	}
	err = iofd_device_create(&f->dev);
	if (!err)
		err = iofd_device_add_region(f->dev, &r) < 0 ? -1 : 0;
	if (!err)
		err = iofd_device_create_shadow(f->dev, 4096);
	if (!err)
		err = iofd_device_add_doorbell(f->dev, &d) < 0 ? -1 : 0;
	return err > 0 ? -err : err;
}

/* A whole VM's life: create, register, destroy. */
static int op_vm_life(struct fx *f)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_NONE };
	struct iofd_vm *vm;
	int err = iofd_vm_create(&o, &vm);
	struct iofd_vm *keep = f->vm;

	if (err)
		return err;
	f->vm = vm;
	err = fc_ioeventfd(f->vm, A1, f->efd[2], 0);
	if (!err)
		err = group(f, G1, f->efd[3], 0);
	if (!err)
		err = region(f, 0);
	f->vm = keep;
	iofd_vm_destroy(vm);
	return err;
}

static int op_post_memfd(struct fx *f)
{
	int memfd = memfd_create("iofd-fault", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct iofd_ioeventfd a = { .addr = A1, .len = 4, .fd = f->efd[2],
				    .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE |
					     IOFD_IOEVENTFD_FLAG_POST_MEMFD,
				    .post_addr = 64, .post_fd = memfd };
	int err;

	if (memfd < 0 || ftruncate(memfd, 4096) < 0 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		err = -errno;
	else
		err = iofd_ioeventfd_ext(f->vm, &a);
	if (memfd >= 0)
		close(memfd);
	return err;
}

/* Many registrations in one batch. */
static int op_big_batch(struct fx *f)
{
	int err = iofd_batch_begin(f->vm);

	for (int i = 0; !err && i < 8; i++)
		err = fc_ioeventfd(f->vm, A1 + 8 * i, f->efd[2 + (i & 1)], 0);
	if (!err)
		err = group(f, G1, f->efd[3], 0);
	if (!err)
		err = group(f, G1, f->efd[2], 0);
	if (!err)
		err = region(f, 0);
	if (err) {
		iofd_batch_commit(f->vm);
		for (int i = 0; i < 8; i++)
			fc_ioeventfd(f->vm, A1 + 8 * i, f->efd[2 + (i & 1)],
					 IOFD_IOEVENTFD_FLAG_DEASSIGN);
		group(f, G1, f->efd[3], IOFD_IOSIGNALFD_FLAG_DEASSIGN);
		group(f, G1, f->efd[2], IOFD_IOSIGNALFD_FLAG_DEASSIGN);
		return err;
	}
	return iofd_batch_commit(f->vm);
}

static int prep_irqfd(struct fx *f)
{
	return op_irqfd(f);
}

static int op_irqfd_deassign(struct fx *f)
{
	struct kvm_irqfd a = { .fd = (uint32_t)f->efd[2], .gsi = 5,
			       .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return iofd_irqfd(f->vm, &a);
}

static int prep_intx(struct fx *f)
{
	return prep_controller(f) || op_intx(f);
}

/* An INTx helper through its life: assert, acknowledge, destroy. */
static int op_intx_life(struct fx *f)
{
	int err = iofd_intx_assert(f->intx);

	if (!err)
		err = iofd_irq_eoi(f->vm, 10);
	if (!err)
		err = iofd_intx_deassert(f->intx);
	iofd_intx_destroy(f->intx);
	f->intx = NULL;
	if (err)		/* the repeat needs a helper again */
		op_intx(f);
	return err;
}

static int op_vcpu(struct fx *f)
{
	struct iofd_vcpu *vcpu;
	int err = iofd_vcpu_create(f->vm, 0, &vcpu);

	if (!err)
		iofd_vcpu_destroy(vcpu);
	return err;
}

/* A VM iofd makes itself, with KVM, through its life. */
static int op_vm_kvm_life(struct fx *f)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct iofd_vm *vm, *keep = f->vm;
	struct iofd_caps caps;
	int err = iofd_vm_create(&o, &vm);

	if (err)
		return err;
	f->vm = vm;
	err = iofd_query_caps(vm, &caps);
	if (!err)
		err = fc_ioeventfd(f->vm, A1, f->efd[2], 0);
	if (!err)
		err = op_vcpu(f);
	f->vm = keep;
	iofd_vm_destroy(vm);
	return err;
}

/* A VMM hands a device its fds; the device receives and checks them. */
static int op_handoff(struct fx *f)
{
	int sv[2], memfd, err;
	struct iofd_handoff out, in;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	memfd = memfd_create("iofd-fault", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, 8192) < 0) {
		err = -errno;
		goto out;
	}
	iofd_handoff_init(&out, IOFD_HANDOFF_HELLO);
	out.nr_ram = 1;
	out.ram[0] = (struct iofd_handoff_ram){ .gpa = 0, .size = 8192,
						.fd = memfd };
	out.nr_regions = 1;
	out.regions[0] = (struct iofd_handoff_region){ .gpa = R1, .size = 0x1000,
		.cmd_fd = f->sv[1], .resp_fd = f->sv[1] };
	out.nr_doorbells = 1;
	out.doorbells[0] = (struct iofd_handoff_doorbell){ .gpa = A1, .len = 4,
		.efd = f->efd[3] };
	err = iofd_handoff_send(sv[0], &out);
	if (!err)
		err = iofd_handoff_recv(sv[1], IOFD_HANDOFF_HELLO, &in, 1000);
	if (!err)
		iofd_handoff_close(&in);
out:
	if (memfd >= 0)
		close(memfd);
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* A device maps guest RAM and copies through it. */
static int op_device_ram(struct fx *f)
{
	int memfd = memfd_create("iofd-fault", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint64_t v = 7;
	int err;

	if (f->dev) {
		iofd_device_destroy(f->dev);
		f->dev = NULL;
	}
	if (memfd < 0 || ftruncate(memfd, 8192) < 0)
		err = -errno;
	else
		err = iofd_device_create(&f->dev);
	if (!err)
		err = iofd_device_add_ram(f->dev, memfd, 0x100000, 8192, 0);
	if (!err)
		err = iofd_device_dma_write(f->dev, 0x100008, &v, sizeof(v));
	if (memfd >= 0)
		close(memfd);
	return err;
}

static int prep_resample(struct fx *f)
{
	struct kvm_irqfd b = { .fd = (uint32_t)f->efd[3], .gsi = 9 };

	/* two irqfds on the GSI: the line stays when one goes */
	return prep_controller(f) || op_irqfd_resample(f) || iofd_irqfd(f->vm, &b);
}

/* Removing a resample irqfd takes it off its line's resampler list (a
 * copy, or a NULL slot when no copy can be made). */
static int op_resample_deassign(struct fx *f)
{
	struct kvm_irqfd a = { .fd = (uint32_t)f->efd[2], .gsi = 9,
			       .flags = KVM_IRQFD_FLAG_DEASSIGN };
	struct kvm_irqfd b = { .fd = (uint32_t)f->efd[3], .gsi = 9,
			       .flags = KVM_IRQFD_FLAG_DEASSIGN };
	int err = iofd_irqfd(f->vm, &a);

	if (!err)
		err = iofd_irq_eoi(f->vm, 9);
	if (!err)	/* the line's last irqfd: the line goes too */
		err = iofd_irqfd(f->vm, &b);
	return err;
}

/* An INTx helper goes while its irqfd and the VM stay. */
static int op_intx_destroy(struct fx *f)
{
	iofd_intx_destroy(f->intx);
	f->intx = NULL;
	return 0;
}

static int op_region_pipes(struct fx *f)
{
	int cmd[2], resp[2], err;
	struct iofd_ioregion a = { .guest_paddr = R1, .memory_size = 0x1000 };

	if (pipe2(cmd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(resp, O_CLOEXEC) < 0) {
		err = -errno;
		close(cmd[0]);
		close(cmd[1]);
		return err;
	}
	a.write_fd = cmd[1];
	a.read_fd = resp[0];
	err = iofd_set_ioregion(f->vm, &a);
	for (int i = 0; i < 2; i++) {
		close(cmd[i]);
		close(resp[i]);
	}
	return err;
}

struct path {
	const char *name;
	bool kvm;
	int (*prep)(struct fx *f);
	int (*op)(struct fx *f);
};

static const struct path paths[] = {
	{ "ioeventfd assign (userspace)", false, NULL, op_ioeventfd_user },
	{ "ioeventfd assign (offload)", true, NULL, op_ioeventfd_kernel },
	{ "ioeventfd deassign (offloaded)", true, prep_a1, op_ioeventfd_deassign },
	{ "post-write assign", false, NULL, op_post_write },
	{ "group assign (new)", false, NULL, op_group_new },
	{ "group assign (add an item)", false, NULL, op_group_add },
	{ "group deassign", false, prep_g1, op_group_deassign },
	{ "ioregion assign", false, NULL, op_region },
	{ "ioregion deassign", false, prep_region, op_region_deassign },
	{ "batch", true, NULL, op_batch },
	{ "irqfd (kernel)", true, NULL, op_irqfd },
	{ "irqfd resample (userspace controller)", false, prep_controller, op_irqfd_resample },
	{ "INTx helper", false, prep_controller, op_intx },
	{ "device", false, NULL, op_device },
	{ "VM life and teardown", false, NULL, op_vm_life },
	{ "post-write assign (memfd)", false, NULL, op_post_memfd },
	{ "batch of eleven", true, NULL, op_big_batch },
	{ "irqfd deassign (kernel)", true, prep_irqfd, op_irqfd_deassign },
	{ "INTx helper life", false, prep_intx, op_intx_life },
	{ "vCPU create and destroy", true, NULL, op_vcpu },
	{ "KVM VM life and teardown", true, NULL, op_vm_kvm_life },
	{ "handoff", false, NULL, op_handoff },
	{ "device RAM", false, NULL, op_device_ram },
	{ "resample irqfd deassign (userspace controller)", false, prep_resample,
	  op_resample_deassign },
	{ "INTx helper destroy", false, prep_intx, op_intx_destroy },
	{ "ioregion assign (pipes)", false, NULL, op_region_pipes },
};

/* Fail point k of path p; returns false once the path no longer reaches k. */
static bool run_one(const struct path *p, unsigned long k)
{
	int before = tu_open_fds(), rc, again;
	struct fx f;
	bool fired;

	if (fx_setup(&f, p->kvm) || (p->prep && p->prep(&f))) {
		CHECK(false, "%s: set-up failed", p->name);
		fx_teardown(&f);
		return false;
	}
	iofd_fault_arm(k);
	rc = p->op(&f);
	fired = fc_judge(p->name, k, rc);
	if (fired && rc < 0) {
		again = p->op(&f);
		CHECK(again >= 0, "%s, point %lu: failed with %d, then %d "
		      "without a fault", p->name, k, rc, again);
	}
	CHECK(writes_signal(&f, A0, f.efd[0]), "%s, point %lu: the ioeventfd "
	      "is not served", p->name, k);
	CHECK(writes_signal(&f, G0, f.efd[1]), "%s, point %lu: the group is "
	      "not served", p->name, k);
	fx_teardown(&f);
	fc_check_fds(p->name, k, before);
	return fired;
}

int main(void)
{
	bool kvm = tu_kvm_available();

	tu_warm_up();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		unsigned long k, start = fc_points;

		if (paths[i].kvm && !kvm) {
			printf("# %s: skipped (no /dev/kvm)\n", paths[i].name);
			continue;
		}
		for (k = 1; run_one(&paths[i], k); k++)
			;
		fc_path_done(paths[i].name, start);
	}
	return fc_summary();
}
