/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * irqfd served by iofd for a userspace controller, without KVM: the
 * kernel's validation order and errors, one eventfd per irqfd across VMs,
 * plain irqfds pulsing their GSI, resample irqfds holding it until the EOI
 * and then firing every resamplefd of the GSI, the IOAPIC-EOI exit, and the
 * INTx helper (filtered acknowledgements, re-assert, late de-assert, any
 * release order).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "testutil.h"

/* ---- a recording userspace controller ------------------------------------- */

#define MAX_CALLS 64

struct level_log {
	uint32_t gsi[MAX_CALLS];
	int level[MAX_CALLS];
	unsigned n;
	int now[32];			/* level after the last call, GSIs < 32 */
	bool seen[32];
	uint8_t eoi_vector;		/* what eoi_gsis maps */
	uint32_t eoi_gsi;
};

static void log_level(void *opaque, uint32_t gsi, int level)
{
	struct level_log *log = opaque;

	if (log->n < MAX_CALLS) {
		log->gsi[log->n] = gsi;
		log->level[log->n] = level;
	}
	log->n++;
	if (gsi < 32) {
		log->now[gsi] = level;
		log->seen[gsi] = true;
	}
}

static size_t log_eoi_gsis(void *opaque, uint8_t vector, uint32_t *gsis, size_t max)
{
	struct level_log *log = opaque;

	if (vector != log->eoi_vector || max < 1)
		return 0;
	gsis[0] = log->eoi_gsi;
	return 1;
}

static const struct iofd_irq_controller recorder = {
	.set_level = log_level, .eoi_gsis = log_eoi_gsis,
};

/* Level of gsi (< 32) after the last call about it, or -1 if never called. */
static int last_level(const struct level_log *log, uint32_t gsi)
{
	return log->seen[gsi] ? log->now[gsi] : -1;
}

/* ---- fixture --------------------------------------------------------------- */

struct fixture {
	struct iofd_vm *vm, *vm2;
	struct level_log log;
	int efd[6];
	struct tu_resources before;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm) || iofd_vm_create(NULL, &f.vm2))
		return -1;
	for (int i = 0; i < 6; i++)
		f.efd[i] = eventfd(0, EFD_CLOEXEC);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iofd_vm_destroy(f->vm);
	iofd_vm_destroy(f->vm2);
	for (int i = 0; i < 6; i++)
		close(f->efd[i]);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static int irqfd(struct iofd_vm *vm, int fd, uint32_t gsi, uint32_t flags, int rfd)
{
	struct kvm_irqfd a = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags,
			       .resamplefd = (uint32_t)rfd };

	return iofd_irqfd(vm, &a);
}

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void use_controller(struct fixture *f)
{
	assert_int_equal(iofd_irq_set_controller(f->vm, &recorder, &f->log), 0);
}

/* ---- validation -------------------------------------------------------------- */

static void without_controller_kernel_answers(void **state)
{
	struct fixture *f = *state;
	int p[2];

	assert_int_equal(pipe(p), 0);
	/* no in-kernel irqchip: every assign is refused before the fd is read */
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, 0, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, -1, 4, 0, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, p[0], 4, 0, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, KVM_IRQFD_FLAG_RESAMPLE, f->efd[1]),
			 -EINVAL);
	assert_true(strlen(iofd_last_error()) > 0);
	/* deassign checks the fd only */
	assert_int_equal(irqfd(f->vm, -1, 4, KVM_IRQFD_FLAG_DEASSIGN, 0), -EBADF);
	assert_int_equal(irqfd(f->vm, p[0], 4, KVM_IRQFD_FLAG_DEASSIGN, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	/* an unknown flag comes first, even on deassign */
	assert_int_equal(irqfd(f->vm, -1, 4, 1u << 2, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, -1, 4, (1u << 5) | KVM_IRQFD_FLAG_DEASSIGN, 0),
			 -EINVAL);
	close(p[0]);
	close(p[1]);
}

static void validation_order_with_controller(void **state)
{
	struct fixture *f = *state;
	const uint32_t RS = KVM_IRQFD_FLAG_RESAMPLE;
	int p[2], closed;

	assert_int_equal(pipe(p), 0);
	closed = eventfd(0, 0);
	close(closed);
	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, 1u << 2, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, -1, 4, 0, 0), -EBADF);
	assert_int_equal(irqfd(f->vm, closed, 4, 0, 0), -EBADF);
	assert_int_equal(irqfd(f->vm, p[0], 4, 0, 0), -EINVAL);
	assert_int_equal(irqfd(f->vm, -1, 4, RS, p[0]), -EBADF);	/* fd first */
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, RS, -1), -EBADF);
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, RS, p[1]), -EINVAL);
	/* any GSI; an eventfd backs one irqfd, in any VM of the process */
	assert_int_equal(irqfd(f->vm, f->efd[0], 5000, 0, 0), 0);
	assert_int_equal(irqfd(f->vm, f->efd[0], 5000, 0, 0), -EBUSY);
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, RS, f->efd[1]), -EBUSY);
	assert_int_equal(iofd_irq_set_controller(f->vm2, &recorder, &f->log), 0);
	assert_int_equal(irqfd(f->vm2, f->efd[0], 4, 0, 0), -EBUSY);
	/* the resamplefd is checked before the eventfd is found busy */
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, RS, p[0]), -EINVAL);
	/* a resamplefd may be shared, and may even be a trigger */
	assert_int_equal(irqfd(f->vm, f->efd[1], 6, RS, f->efd[0]), 0);
	assert_int_equal(irqfd(f->vm, f->efd[2], 6, RS, f->efd[0]), 0);
	/* deassign: eventfd object + GSI; no match is still 0 */
	assert_int_equal(irqfd(f->vm, f->efd[0], 4, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	assert_int_equal(irqfd(f->vm2, f->efd[0], 5000, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	assert_int_equal(irqfd(f->vm, f->efd[0], 5000, 0, 0), -EBUSY);
	int dupfd = dup(f->efd[0]);
	assert_int_equal(irqfd(f->vm, dupfd, 5000, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	close(dupfd);
	assert_int_equal(irqfd(f->vm2, f->efd[0], 5000, 0, 0), 0);
	close(p[0]);
	close(p[1]);
}

static void controller_rules(void **state)
{
	struct fixture *f = *state;
	struct iofd_irq_controller no_level = { .set_level = NULL };
	struct iofd_caps caps;

	assert_int_equal(iofd_irq_set_controller(f->vm, &no_level, NULL), -EINVAL);
	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_int_equal(caps.irqchip, IOFD_IRQCHIP_NONE);
	assert_false(caps.flags & IOFD_CAP_IRQFD_USERSPACE);
	use_controller(f);
	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_true(caps.flags & IOFD_CAP_IRQFD_USERSPACE);
	assert_int_equal(irqfd(f->vm, f->efd[0], 3, 0, 0), 0);
	assert_int_equal(iofd_irq_set_controller(f->vm, NULL, NULL), -EBUSY);
	assert_int_equal(irqfd(f->vm, f->efd[0], 3, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	assert_int_equal(iofd_irq_set_controller(f->vm, NULL, NULL), 0);
	assert_int_equal(irqfd(f->vm, f->efd[0], 3, 0, 0), -EINVAL);
}

/* ---- delivery -------------------------------------------------------------------- */

static void plain_irqfd_pulses_its_gsi(void **state)
{
	struct fixture *f = *state;
	int epfd;

	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 9, 0, 0), 0);
	epfd = iofd_irq_fd(f->vm);
	assert_true(epfd >= 0);
	assert_int_equal(iofd_irq_fd(f->vm), epfd);
	assert_false(readable(epfd));
	assert_int_equal(iofd_irq_process(f->vm), 0);
	kick(f->efd[0]);
	kick(f->efd[0]);	/* two writes before delivery: one edge */
	assert_true(readable(epfd));
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_false(readable(epfd));
	assert_int_equal(f->log.n, 2);
	assert_int_equal(f->log.gsi[0], 9);
	assert_int_equal(f->log.level[0], 1);
	assert_int_equal(f->log.level[1], 0);
	/* iofd consumed the counter, and left the caller's fd blocking */
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_false(fcntl(f->efd[0], F_GETFL) & O_NONBLOCK);
	/* an EOI on a GSI without resamplers does nothing */
	assert_int_equal(iofd_irq_eoi(f->vm, 9), 0);
	assert_int_equal(f->log.n, 2);
	/* a write made before the assign is delivered, as the kernel does */
	kick(f->efd[1]);
	assert_int_equal(irqfd(f->vm, f->efd[1], 11, 0, 0), 0);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(f->log.n, 4);
	assert_int_equal(f->log.gsi[2], 11);
}

static void resample_holds_the_line_until_eoi(void **state)
{
	struct fixture *f = *state;
	const uint32_t RS = KVM_IRQFD_FLAG_RESAMPLE;

	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 5, RS, f->efd[1]), 0);
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(f->log.n, 1);
	assert_int_equal(last_level(&f->log, 5), 1);
	/* a second trigger while asserted changes nothing */
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(f->log.n, 1);
	/* another GSI's EOI leaves it alone */
	assert_int_equal(iofd_irq_eoi(f->vm, 4), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(last_level(&f->log, 5), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	/* like the kernel's resampler, every acknowledgement signals */
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(f->log.n, 2);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	/* the device re-asserts */
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(last_level(&f->log, 5), 1);
	assert_int_equal(f->log.n, 3);
}

static void every_resamplefd_of_the_gsi_fires(void **state)
{
	struct fixture *f = *state;
	const uint32_t RS = KVM_IRQFD_FLAG_RESAMPLE;

	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 5, RS, f->efd[3]), 0);
	assert_int_equal(irqfd(f->vm, f->efd[1], 5, RS, f->efd[4]), 0);
	assert_int_equal(irqfd(f->vm, f->efd[2], 5, RS, f->efd[4]), 0);
	assert_int_equal(irqfd(f->vm, f->efd[5], 6, RS, f->efd[4]), 0);
	kick(f->efd[1]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(tu_efd_count(f->efd[3]), 1);
	assert_int_equal(tu_efd_count(f->efd[4]), 2);	/* shared by two on GSI 5 */
	/* the last resampler of an asserted GSI leaves it low */
	kick(f->efd[5]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(last_level(&f->log, 6), 1);
	assert_int_equal(irqfd(f->vm, f->efd[5], 6, KVM_IRQFD_FLAG_DEASSIGN, 0), 0);
	assert_int_equal(last_level(&f->log, 6), 0);
}

static void plain_and_resample_share_a_gsi(void **state)
{
	struct fixture *f = *state;

	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 7, KVM_IRQFD_FLAG_RESAMPLE, f->efd[2]), 0);
	assert_int_equal(irqfd(f->vm, f->efd[1], 7, 0, 0), 0);
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	/* the pulse does not drop the resample source's level */
	kick(f->efd[1]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(f->log.n, 2);
	assert_int_equal(last_level(&f->log, 7), 1);
}

/*
 * The exit is written into a kvm_run of the test's own and handed to
 * iofd_dispatch_exit(); iofd_vcpu_adopt() still wants a real vCPU fd (of a
 * scratch KVM VM, never run), so the case needs /dev/kvm (main() leaves it
 * out without it).
 */
static void ioapic_eoi_exit_lowers_before_the_vmm(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run;
	struct iofd_vcpu *vcpu;
	int kvm, vm_fd, vcpu_fd;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	vcpu_fd = vm_fd < 0 ? -1 : ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	assert_true(vcpu_fd >= 0);
	run = calloc(1, 4096);

	f->log.eoi_vector = 0x41;
	f->log.eoi_gsi = 10;
	use_controller(f);
	assert_int_equal(irqfd(f->vm, f->efd[0], 10, KVM_IRQFD_FLAG_RESAMPLE, f->efd[1]), 0);
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(iofd_vcpu_adopt(f->vm, vcpu_fd, run, &vcpu), 0);
	run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	run->eoi.vector = 0x40;		/* another vector: nothing */
	assert_int_equal(iofd_dispatch_exit(vcpu, NULL), IOFD_NOT_CLAIMED);
	assert_int_equal(last_level(&f->log, 10), 1);
	run->eoi.vector = 0x41;
	assert_int_equal(iofd_dispatch_exit(vcpu, NULL), IOFD_NOT_CLAIMED);
	assert_int_equal(last_level(&f->log, 10), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	iofd_vcpu_destroy(vcpu);
	close(vcpu_fd);
	close(vm_fd);
	close(kvm);
	free(run);
}

/* ---- the INTx helper ----------------------------------------------------------- */

static void intx_assert_eoi_reassert(void **state)
{
	struct fixture *f = *state;
	struct iofd_intx *x;
	int eoi;

	assert_int_equal(iofd_intx_create(f->vm, 5, &x), -EINVAL); /* no controller */
	assert_null(x);
	use_controller(f);
	assert_int_equal(iofd_intx_create(f->vm, 5, &x), 0);
	eoi = iofd_intx_eoi_fd(x);
	assert_true(eoi >= 0);
	assert_int_equal(iofd_intx_assert(x), 0);
	assert_int_equal(last_level(&f->log, 5), 1);	/* at once, no process call */
	assert_int_equal(iofd_intx_assert(x), 0);
	assert_int_equal(f->log.n, 1);
	/* acknowledged while still asserted: notified and raised again */
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(tu_efd_count(eoi), 1);
	assert_int_equal(f->log.n, 3);
	assert_int_equal(last_level(&f->log, 5), 1);
	/* a de-assert waits for the acknowledgement */
	assert_int_equal(iofd_intx_deassert(x), 0);
	assert_int_equal(last_level(&f->log, 5), 1);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(last_level(&f->log, 5), 0);
	assert_int_equal(tu_efd_count(eoi), 1);
	assert_int_equal(f->log.n, 4);
	/* an acknowledgement with nothing asserted is not ours */
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_false(readable(eoi));
	iofd_intx_destroy(x);
}

static void intx_filters_other_sources_acks(void **state)
{
	struct fixture *f = *state;
	struct iofd_intx *a, *b;

	use_controller(f);
	assert_int_equal(iofd_intx_create(f->vm, 5, &a), 0);
	assert_int_equal(iofd_intx_create(f->vm, 5, &b), 0);
	/* a plain resample irqfd of another device on the same GSI */
	assert_int_equal(irqfd(f->vm, f->efd[0], 5, KVM_IRQFD_FLAG_RESAMPLE, f->efd[1]), 0);
	assert_int_equal(iofd_intx_assert(a), 0);
	assert_int_equal(iofd_intx_deassert(a), 0);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(tu_efd_count(iofd_intx_eoi_fd(a)), 1);
	assert_false(readable(iofd_intx_eoi_fd(b)));
	assert_int_equal(tu_efd_count(f->efd[1]), 1);	/* the raw resamplefd fires */
	/* the other device's interrupt does not wake either helper */
	kick(f->efd[0]);
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_false(readable(iofd_intx_eoi_fd(a)));
	assert_false(readable(iofd_intx_eoi_fd(b)));
	/* both asserted: one acknowledgement serves both */
	assert_int_equal(iofd_intx_assert(a), 0);
	assert_int_equal(iofd_intx_assert(b), 0);
	assert_int_equal(iofd_intx_deassert(a), 0);
	assert_int_equal(iofd_intx_deassert(b), 0);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(tu_efd_count(iofd_intx_eoi_fd(a)), 1);
	assert_int_equal(tu_efd_count(iofd_intx_eoi_fd(b)), 1);
	assert_int_equal(last_level(&f->log, 5), 0);
	iofd_intx_destroy(a);
	iofd_intx_destroy(b);
}

static void intx_release_in_any_order(void **state)
{
	struct fixture *f = *state;
	struct iofd_intx *a, *b, *c;
	struct kvm_irqfd d = { .gsi = 5, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	int before = tu_open_fds();

	use_controller(f);
	assert_int_equal(iofd_intx_create(f->vm, 5, &a), 0);
	assert_int_equal(iofd_intx_create(f->vm, 5, &b), 0);
	assert_int_equal(iofd_intx_create(f->vm, 8, &c), 0);
	/* a's irqfd goes first: a is unplugged, b keeps the resampler */
	assert_int_equal(iofd_intx_assert(a), 0);
	d.fd = (uint32_t)iofd_intx_trigger_fd(a);
	assert_int_equal(iofd_irqfd(f->vm, &d), 0);
	assert_int_equal(iofd_intx_assert(a), -ENOTCONN);
	assert_int_equal(iofd_intx_deassert(a), -ENOTCONN);
	assert_int_equal(iofd_intx_assert(b), 0);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_false(readable(iofd_intx_eoi_fd(a)));
	assert_int_equal(tu_efd_count(iofd_intx_eoi_fd(b)), 1);
	iofd_intx_destroy(a);
	/* then the VM, with b and c still alive */
	assert_int_equal(iofd_intx_assert(c), 0);
	iofd_vm_destroy(f->vm);
	f->vm = NULL;
	assert_int_equal(iofd_intx_assert(b), -ENODEV);
	assert_int_equal(iofd_intx_deassert(c), -ENODEV);
	assert_true(iofd_intx_eoi_fd(c) >= 0);
	iofd_intx_destroy(c);
	iofd_intx_destroy(b);
	iofd_intx_destroy(NULL);
	assert_int_equal(tu_open_fds(), before);
}

static void intx_helper_and_vm_teardown_frees_all(void **state)
{
	struct fixture *f = *state;
	struct iofd_intx *x;

	use_controller(f);
	for (uint32_t gsi = 3; gsi < 7; gsi++) {
		assert_int_equal(iofd_intx_create(f->vm, gsi, &x), 0);
		assert_int_equal(iofd_intx_assert(x), 0);
		iofd_intx_destroy(x);
		assert_int_equal(last_level(&f->log, gsi), 0);
	}
	assert_int_equal(iofd_intx_create(f->vm, 3, &x), 0);
	assert_int_equal(iofd_intx_assert(x), 0);
	assert_int_equal(irqfd(f->vm, f->efd[0], 3, KVM_IRQFD_FLAG_RESAMPLE, f->efd[1]), 0);
	/* the VM's teardown takes the helper's irqfd with it */
	iofd_vm_destroy(f->vm);
	f->vm = NULL;
	iofd_intx_destroy(x);
}

/* ---- concurrency ----------------------------------------------------------------- */

struct race {
	struct iofd_vm *vm;
	struct iofd_intx *x;
	_Atomic bool stop;
	unsigned rounds;
};

static void *eoi_thread(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		iofd_irq_eoi(r->vm, 5);
		iofd_irq_process(r->vm);
	}
	return NULL;
}

static void intx_survives_concurrent_eois(void **state)
{
	struct fixture *f = *state;
	struct race r = { .vm = f->vm, .rounds = 2000 };
	uint64_t acks = 0;
	pthread_t t;

	use_controller(f);
	assert_int_equal(iofd_intx_create(f->vm, 5, &r.x), 0);
	assert_int_equal(irqfd(f->vm, f->efd[0], 5, KVM_IRQFD_FLAG_RESAMPLE, f->efd[1]), 0);
	assert_int_equal(pthread_create(&t, NULL, eoi_thread, &r), 0);
	for (unsigned i = 0; i < r.rounds; i++) {
		assert_int_equal(iofd_intx_assert(r.x), 0);
		if (i % 2)
			assert_int_equal(iofd_intx_deassert(r.x), 0);
		kick(f->efd[0]);
		acks += tu_efd_count(iofd_intx_eoi_fd(r.x));
	}
	assert_int_equal(iofd_intx_deassert(r.x), 0);
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	/* one more acknowledgement settles it: both sources are down */
	iofd_irq_process(f->vm);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_int_equal(last_level(&f->log, 5), 0);
	acks += tu_efd_count(iofd_intx_eoi_fd(r.x));
	assert_true(acks > 0);
	assert_int_equal(iofd_irq_eoi(f->vm, 5), 0);
	assert_false(readable(iofd_intx_eoi_fd(r.x)));
	iofd_intx_destroy(r.x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(without_controller_kernel_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(validation_order_with_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(controller_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(plain_irqfd_pulses_its_gsi, setup, teardown),
		cmocka_unit_test_setup_teardown(resample_holds_the_line_until_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(every_resamplefd_of_the_gsi_fires, setup, teardown),
		cmocka_unit_test_setup_teardown(plain_and_resample_share_a_gsi, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_assert_eoi_reassert, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_filters_other_sources_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_release_in_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_helper_and_vm_teardown_frees_all, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_survives_concurrent_eois, setup, teardown),
		/* last: needs /dev/kvm (left out without it, as a per-case
		 * skip would read "not ok # SKIP", a failure to meson) */
		cmocka_unit_test_setup_teardown(ioapic_eoi_exit_lowers_before_the_vmm, setup, teardown),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	tu_warm_up();
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# SKIP: no usable /dev/kvm: ioapic_eoi_exit_lowers_before_the_vmm not run\n");
		n--;
	}
	return _cmocka_run_group_tests("irqfd", tests, n, NULL, NULL);
}
