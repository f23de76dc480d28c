/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * irqfd against the real kernel and with a real guest.
 *
 * 1. Differential: the same sequence of KVM_IRQFD calls goes to a VM of the
 *    kernel's and, through iofd_irqfd(), to a VM iofd adopted, with no
 *    in-kernel irqchip, a split one and a full one; every return code must
 *    be the kernel's. With a userspace controller iofd answers 0 where the
 *    kernel refuses RESAMPLE, and only there.
 * 2. Round trips: irqfd -> the guest acknowledges by polling the in-kernel
 *    8259 -> resamplefd, many times (rt_* below is the loop a benchmark can
 *    reuse).
 * 3. Two INTx helpers sharing a GSI in a guest: each device hears only the
 *    acknowledgements of interrupts it raised; a still-asserted source is
 *    raised again; a de-assert takes effect at the acknowledgement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>

#include "host.h"
#include "testutil.h"

/* ---- differential test ------------------------------------------------------ */

enum chip_mode { MODE_NONE, MODE_SPLIT, MODE_FULL };

static const char *const mode_name[] = { "none", "split", "full" };

/* A raw KVM VM with the given irqchip, or -errno. */
static int raw_vm(int kvm, enum chip_mode mode)
{
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
	int vm = ioctl(kvm, KVM_CREATE_VM, 0), r = 0;

	if (vm < 0)
		return -errno;
	fcntl(vm, F_SETFD, FD_CLOEXEC);
	if (mode == MODE_FULL)
		r = ioctl(vm, KVM_CREATE_IRQCHIP, 0);
	else if (mode == MODE_SPLIT)
		r = ioctl(vm, KVM_ENABLE_CAP, &split);
	if (r < 0) {
		r = -errno;
		close(vm);
		return r;
	}
	return vm;
}

/* fd names in the op table; each side has its own eventfds. */
enum { E0, E1, E2, E3, PIPE_R, BAD, CLOSED, JUNK, NFDS };

struct side {
	int fd[NFDS];
	int vm_fd[2];
	struct iofd_vm *vm[2];	/* NULL: the kernel side */
	int pipefd[2];
};

struct irqfd_op {
	int vm;
	int fd;
	uint32_t gsi;
	uint32_t flags;
	int rfd;
	const char *what;
};

#define RS KVM_IRQFD_FLAG_RESAMPLE
#define DA KVM_IRQFD_FLAG_DEASSIGN

static const struct irqfd_op diff_ops[] = {
	{ 0, E0, 4, 1u << 2, E1, "unknown flag" },
	{ 0, BAD, 4, DA | (1u << 5), E1, "unknown flag on deassign" },
	{ 0, BAD, 4, 0, E1, "fd -1" },
	{ 0, CLOSED, 4, 0, E1, "closed fd" },
	{ 0, PIPE_R, 4, 0, E1, "pipe as fd" },
	{ 0, E0, 4, RS, BAD, "resamplefd -1" },
	{ 0, E0, 4, RS, PIPE_R, "pipe as resamplefd" },
	{ 0, BAD, 4, RS, PIPE_R, "bad fd and bad resamplefd" },
	{ 0, BAD, 4, DA, E1, "deassign fd -1" },
	{ 0, PIPE_R, 4, DA, E1, "deassign a pipe" },
	{ 0, E0, 4, DA, E1, "deassign, nothing there" },
	{ 0, E0, 4, 0, E1, "assign" },
	{ 0, E0, 4, 0, E1, "same eventfd again" },
	{ 0, E0, 5, RS, E1, "same eventfd, other GSI, resample" },
	{ 1, E0, 4, 0, E1, "same eventfd, other VM" },
	{ 0, E0, 4, RS, PIPE_R, "busy eventfd, pipe as resamplefd" },
	{ 0, E1, 5000, 0, E2, "GSI 5000" },
	{ 0, E1, 5000, DA, E2, "deassign GSI 5000" },
	{ 0, E1, 5000, RS, E2, "GSI 5000, resample" },
	{ 0, E0, 3, DA, E1, "deassign, wrong GSI" },
	{ 1, E0, 4, 0, E1, "other VM, still busy" },
	{ 0, E0, 4, DA | RS, JUNK, "deassign with RESAMPLE and junk resamplefd" },
	{ 1, E0, 4, 0, E1, "other VM, now free" },
	{ 1, E2, 6, RS, E2, "one eventfd as trigger and resamplefd" },
	{ 0, E3, 7, RS, E1, "a trigger as another's resamplefd" },
	{ 0, E1, 7, 0, E3, "busy in this VM" },
	{ 1, E3, 8, 0, E3, "busy in the other VM" },
	{ 1, E2, 6, DA, E2, "deassign" },
	{ 1, E2, 6, 0, E2, "re-assign after deassign" },
};

static int side_fd(const struct side *s, int ref)
{
	return s->fd[ref];
}

static int side_irqfd(struct side *s, const struct irqfd_op *op)
{
	struct kvm_irqfd a = { .fd = (uint32_t)side_fd(s, op->fd), .gsi = op->gsi,
			       .flags = op->flags,
			       .resamplefd = (uint32_t)side_fd(s, op->rfd) };

	if (s->vm[op->vm])
		return iofd_irqfd(s->vm[op->vm], &a);
	return ioctl(s->vm_fd[op->vm], KVM_IRQFD, &a) < 0 ? -errno : 0;
}

static int side_open(struct side *s, int kvm, enum chip_mode mode, bool iofd)
{
	memset(s, 0, sizeof(*s));
	for (int i = E0; i <= E3; i++)
		s->fd[i] = eventfd(0, EFD_CLOEXEC);
	if (pipe2(s->pipefd, O_CLOEXEC))
		return -errno;
	s->fd[PIPE_R] = s->pipefd[0];
	s->fd[BAD] = -1;
	s->fd[CLOSED] = 1000;	/* checked to be closed below */
	s->fd[JUNK] = 12345;
	for (int v = 0; v < 2; v++) {
		s->vm_fd[v] = raw_vm(kvm, mode);
		if (s->vm_fd[v] < 0)
			return s->vm_fd[v];
		if (iofd) {
			struct iofd_vm_options o = { .kvm_vm_fd = s->vm_fd[v] };
			int err = iofd_vm_create(&o, &s->vm[v]);

			if (err)
				return err;
		}
	}
	return 0;
}

static void side_close(struct side *s)
{
	for (int v = 0; v < 2; v++) {
		iofd_vm_destroy(s->vm[v]);
		if (s->vm_fd[v] > 0)
			close(s->vm_fd[v]);
	}
	for (int i = E0; i <= E3; i++)
		close(s->fd[i]);
	close(s->pipefd[0]);
	close(s->pipefd[1]);
}

static void run_differential(enum chip_mode mode)
{
	struct side kern, lib;
	struct iofd_caps caps;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	unsigned mismatches = 0;

	assert_true(kvm >= 0);
	assert_true(fcntl(1000, F_GETFD) < 0);
	assert_int_equal(side_open(&kern, kvm, mode, false), 0);
	assert_int_equal(side_open(&lib, kvm, mode, true), 0);
	assert_int_equal(iofd_query_caps(lib.vm[0], &caps), 0);
	assert_int_equal(caps.irqchip, mode == MODE_FULL ? IOFD_IRQCHIP_KERNEL :
				       mode == MODE_SPLIT ? IOFD_IRQCHIP_SPLIT :
							    IOFD_IRQCHIP_NONE);
	for (size_t i = 0; i < sizeof(diff_ops) / sizeof(diff_ops[0]); i++) {
		const struct irqfd_op *op = &diff_ops[i];
		int k = side_irqfd(&kern, op), l = side_irqfd(&lib, op);

		print_message("# %-5s %-45s kernel %4d  iofd %4d%s\n", mode_name[mode],
			      op->what, k, l, k == l ? "" : "  MISMATCH");
		mismatches += k != l;
	}
	side_close(&kern);
	side_close(&lib);
	close(kvm);
	assert_int_equal(mismatches, 0);
}

static void errors_match_kernel_no_irqchip(void **state)
{
	(void)state;
	TU_REQUIRE_KVM();
	run_differential(MODE_NONE);
}

static void errors_match_kernel_split_irqchip(void **state)
{
	(void)state;
	TU_REQUIRE_KVM();
	run_differential(MODE_SPLIT);
}

static void errors_match_kernel_full_irqchip(void **state)
{
	(void)state;
	TU_REQUIRE_KVM();
	run_differential(MODE_FULL);
}

static void set_level_ignored(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

/* With a controller, iofd serves what the kernel refuses, and only that. */
static void controller_serves_what_the_kernel_refuses(void **state)
{
	static const struct iofd_irq_controller ctl = { .set_level = set_level_ignored };
	int kvm, e[3], vm_fd;
	struct iofd_vm *vm;
	struct iofd_caps caps;

	(void)state;
	TU_REQUIRE_KVM();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++)
		e[i] = eventfd(0, EFD_CLOEXEC);
	for (enum chip_mode mode = MODE_NONE; mode <= MODE_FULL; mode++) {
		struct iofd_vm_options o;
		struct kvm_irqfd plain = { .fd = (uint32_t)e[0], .gsi = 4 };
		struct kvm_irqfd rs = { .fd = (uint32_t)e[1], .gsi = 5, .flags = RS,
					.resamplefd = (uint32_t)e[2] };
		int k_plain, k_rs;

		vm_fd = raw_vm(kvm, mode);
		assert_true(vm_fd >= 0);
		/* the kernel's answers, undone at once */
		k_plain = ioctl(vm_fd, KVM_IRQFD, &plain) < 0 ? -errno : 0;
		k_rs = ioctl(vm_fd, KVM_IRQFD, &rs) < 0 ? -errno : 0;
		plain.flags = rs.flags = DA;
		ioctl(vm_fd, KVM_IRQFD, &plain);
		ioctl(vm_fd, KVM_IRQFD, &rs);
		plain.flags = 0;
		rs.flags = RS;
		o = (struct iofd_vm_options){ .kvm_vm_fd = vm_fd };
		assert_int_equal(iofd_vm_create(&o, &vm), 0);
		assert_int_equal(iofd_irq_set_controller(vm, &ctl, NULL), 0);
		assert_int_equal(iofd_query_caps(vm, &caps), 0);
		assert_int_equal(!!(caps.flags & IOFD_CAP_IRQFD_USERSPACE),
				 mode != MODE_FULL);
		print_message("# %-5s with a controller: plain kernel %d iofd %d, "
			      "resample kernel %d iofd %d\n", mode_name[mode], k_plain,
			      iofd_irqfd(vm, &plain), k_rs, iofd_irqfd(vm, &rs));
		/* registered now: a second time is busy on both */
		assert_int_equal(iofd_irqfd(vm, &plain), -EBUSY);
		assert_int_equal(iofd_irqfd(vm, &rs), -EBUSY);
		if (mode == MODE_FULL)
			assert_int_equal(k_rs, 0);
		else
			assert_int_equal(k_rs, -EINVAL);
		assert_int_equal(k_plain, mode == MODE_NONE ? -EINVAL : 0);
		iofd_vm_destroy(vm);
		close(vm_fd);
	}
	for (int i = 0; i < 3; i++)
		close(e[i]);
	close(kvm);
}

/* An adopted VM's irqchip is asked of the kernel, not remembered. */
static void irqchip_made_after_adoption_is_seen(void **state)
{
	int kvm, vm_fd;
	struct iofd_vm *vm;
	struct iofd_caps caps;
	struct iofd_vm_options o;
	int e = eventfd(0, EFD_CLOEXEC), r = eventfd(0, EFD_CLOEXEC);
	struct kvm_irqfd rs = { .fd = (uint32_t)e, .gsi = 5, .flags = RS,
				.resamplefd = (uint32_t)r };

	(void)state;
	TU_REQUIRE_KVM();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vm_fd = raw_vm(kvm, MODE_NONE);
	o = (struct iofd_vm_options){ .kvm_vm_fd = vm_fd };
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(iofd_query_caps(vm, &caps), 0);
	assert_int_equal(caps.irqchip, IOFD_IRQCHIP_NONE);
	assert_int_equal(iofd_irqfd(vm, &rs), -EINVAL);
	assert_int_equal(ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0), 0);
	assert_int_equal(iofd_query_caps(vm, &caps), 0);
	assert_int_equal(caps.irqchip, IOFD_IRQCHIP_KERNEL);
	assert_int_equal(iofd_irqfd(vm, &rs), 0);
	iofd_vm_destroy(vm);
	close(vm_fd);
	close(kvm);
	close(e);
	close(r);
}

/* ---- guests: the polled 8259 --------------------------------------------------- */

/*
 * PVM delivers nothing through a guest IDT, so the guest acknowledges the
 * way a polling driver does: LAPIC LVT0 masked (the PIC's output goes
 * nowhere), the master 8259 initialised with the line unmasked and made
 * level-triggered in the ELCR (only IRQ 3-7 can be; 7 doubles as the
 * poll's "nothing" answer), then OCW3 polls. KVM takes the poll read as
 * acknowledge + EOI: it clears IRR/ISR and runs the ack notifiers right
 * there, so a resample irqfd's line drops and its resamplefds fire before
 * the guest's `in` completes.
 */
#define PIC_IRQ		5
#define PIC_CMD		0x20
#define PIC_DATA	0x21
#define PIC_ELCR	0x4d0
#define LAPIC_LVT0	0xfee00350ull
#define RESULT_GPA	GUEST_DATA_GPA	/* u64 count, u64 last answer */
#define POLL_LIMIT	2000000ull	/* polls before a wait gives up */

static size_t pic_setup_ops(struct guest_op *ops)
{
	const struct guest_op setup[] = {
		{ .kind = GOP_WRITE, .len = 4, .addr = LAPIC_LVT0, .value = 0x10000 },
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_CMD, .value = 0x11 },	/* ICW1 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x20 },	/* ICW2 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x04 },	/* ICW3 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x01 },	/* ICW4 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA,
		  .value = 0xff & ~(1u << PIC_IRQ) },				/* OCW1 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_ELCR, .value = 1u << PIC_IRQ },
		{ .kind = GOP_HLT },	/* ready: the host may raise the line now */
	};

	memcpy(ops, setup, sizeof(setup));
	return sizeof(setup) / sizeof(setup[0]);
}

static struct guest_op poll_ack_op(uint64_t n)
{
	return (struct guest_op){ .kind = GOP_PIC_POLL_ACK, .len = 1, .addr = PIC_CMD,
				  .count = n, .value = POLL_LIMIT, .arg = RESULT_GPA };
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait up to 5 s for an eventfd; returns its count (0 on timeout). */
static uint64_t wait_efd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return 0;
	return tu_efd_count(fd);
}

/* ---- the round-trip loop (reusable by a benchmark) ------------------------------ */

/*
 * How to drive irqfd -> poll-acknowledge -> resamplefd round trips:
 *
 *   1. guest_vm_create(&g, GUEST_VM_IRQCHIP): the in-kernel irqchip makes
 *      the PIC poll an acknowledgement.
 *   2. Register a RESAMPLE irqfd on PIC_IRQ: iofd_irqfd() on an iofd VM
 *      adopting g.vm_fd (offloaded to KVM_IRQFD), or KVM_IRQFD directly
 *      for a raw baseline.
 *   3. rt_start(): script = PIC set-up, a GOP_HLT "ready" stop, then one
 *      GOP_PIC_POLL_ACK op that acknowledges n interrupts; the vCPU runs
 *      on its own thread until the script's END.
 *   4. rt_loop(): per round trip, write 1 to the trigger eventfd and block
 *      until the resamplefd fires (the guest's poll read acknowledged it).
 *   5. rt_finish(): join the vCPU thread; the guest's own count of
 *      acknowledged interrupts is at RESULT_GPA.
 * Each round trip costs: eventfd write -> KVM injection work -> the
 * spinning guest's poll sees IRQ 5 -> ack notifier -> resamplefd -> the
 * host thread wakes. The host thread and the vCPU want one core each.
 */
struct rt {
	struct guest_vm *g;
	pthread_t vcpu;
	int ready;		/* eventfd: the guest reached its "ready" stop */
	int run_err;
};

static int rt_on_exit(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct rt *rt = opaque;
	uint64_t one = 1;

	(void)g;
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST_HLT_PORT &&
	    write(rt->ready, &one, sizeof(one)) != sizeof(one))
		return -EIO;
	return 0;
}

static void *rt_vcpu_thread(void *arg)
{
	struct rt *rt = arg;

	rt->run_err = guest_run(rt->g, rt_on_exit, rt, NULL);
	return NULL;
}

static int rt_start(struct rt *rt, struct guest_vm *g, uint64_t n)
{
	struct guest_op ops[16];
	size_t k = pic_setup_ops(ops);
	int err;

	ops[k++] = poll_ack_op(n);
	memset(g->ram + RESULT_GPA, 0, 16);
	err = guest_script_set(g, ops, k);
	if (err)
		return err;
	rt->g = g;
	rt->ready = eventfd(0, EFD_CLOEXEC);
	if (pthread_create(&rt->vcpu, NULL, rt_vcpu_thread, rt))
		return -EAGAIN;
	return wait_efd(rt->ready) == 1 ? 0 : -ETIMEDOUT;
}

/* n round trips; returns how many completed, *ns the time they took. */
static uint64_t rt_loop(int trigger, int resamplefd, uint64_t n, uint64_t *ns)
{
	uint64_t one = 1, done, t0 = now_ns();

	for (done = 0; done < n; done++) {
		if (write(trigger, &one, sizeof(one)) != sizeof(one) ||
		    wait_efd(resamplefd) != 1)
			break;
	}
	*ns = now_ns() - t0;
	return done;
}

static int rt_finish(struct rt *rt)
{
	pthread_join(rt->vcpu, NULL);
	close(rt->ready);
	return rt->run_err;
}

static uint64_t guest_result(const struct guest_vm *g, int i)
{
	uint64_t v;

	memcpy(&v, g->ram + RESULT_GPA + 8 * (size_t)i, sizeof(v));
	return v;
}

#define ROUND_TRIPS 2000

static void resample_round_trips_through_a_guest(void **state)
{
	struct tu_resources before;
	struct guest_vm g;
	struct iofd_vm *vm;
	struct iofd_vm_options o;
	struct rt rt = { 0 };
	int trigger, resamplefd;
	uint64_t ns, done;

	(void)state;
	TU_REQUIRE_KVM();
	tu_warm_up();
	before = tu_snapshot();
	assert_int_equal(guest_vm_create(&g, GUEST_VM_IRQCHIP), 0);
	o = (struct iofd_vm_options){ .kvm_vm_fd = g.vm_fd };
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	trigger = eventfd(0, EFD_CLOEXEC);
	resamplefd = eventfd(0, EFD_CLOEXEC);
	struct kvm_irqfd a = { .fd = (uint32_t)trigger, .gsi = PIC_IRQ, .flags = RS,
			       .resamplefd = (uint32_t)resamplefd };
	assert_int_equal(iofd_irqfd(vm, &a), 0);
	assert_int_equal(rt_start(&rt, &g, ROUND_TRIPS), 0);
	done = rt_loop(trigger, resamplefd, ROUND_TRIPS, &ns);
	assert_int_equal(rt_finish(&rt), 0);
	print_message("# %llu irqfd -> poll-ack -> resamplefd round trips, %.1f us each\n",
		      (unsigned long long)done, done ? ns / 1e3 / (double)done : 0.0);
	assert_int_equal(done, ROUND_TRIPS);
	assert_int_equal(g.script->ops[8].value, ROUND_TRIPS);	/* the guest's count */
	assert_int_equal(guest_result(&g, 0), ROUND_TRIPS);
	assert_int_equal(guest_result(&g, 1) & 0x7f, PIC_IRQ);	/* bit 7: kernel */
	/* every acknowledgement fired exactly once: nothing is left over */
	assert_int_equal(tu_efd_count(resamplefd), 0);
	a.flags = DA;
	assert_int_equal(iofd_irqfd(vm, &a), 0);
	iofd_vm_destroy(vm);
	guest_vm_destroy(&g);
	close(trigger);
	close(resamplefd);
	TU_ASSERT_NO_LEAK(before);
}

/* ---- two INTx helpers on one GSI, in a guest ------------------------------------ */

/*
 * The script stops (GOP_HLT) between acknowledgements; at each stop the
 * vCPU is out of the guest and the handler plays the devices: it runs
 * iofd_irq_process() (the kernel fired the resamplefds during the poll
 * read), records what each device's eoi_fd says, then makes the next
 * move. Checks come after the run.
 */
#define N_STEPS 6

struct shared_line {
	struct guest_vm *g;
	struct iofd_vm *vm;
	struct iofd_intx *a, *b;
	int c_trigger, c_resample;	/* a third device with a plain resample irqfd */
	unsigned step;
	uint64_t a_eoi[N_STEPS], b_eoi[N_STEPS], c_eoi[N_STEPS];
	int line_up[N_STEPS];		/* IRR bit after the step's moves */
	int err;
};

/* Is IRQ PIC_IRQ pending in the in-kernel master PIC? */
static int pic_irr(struct guest_vm *g)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };

	if (ioctl(g->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		return -errno;
	return !!(chip.chip.pic.irr & (1u << PIC_IRQ));
}

/* KVM injects an irqfd's trigger from a work item: wait until it landed. */
static int wait_line_up(struct guest_vm *g)
{
	for (int i = 0; i < 5000; i++) {
		int up = pic_irr(g);

		if (up)
			return up;
		usleep(1000);
	}
	return 0;
}

static void shared_line_move(struct shared_line *s)
{
	uint64_t one = 1;
	int err = 0;

	switch (s->step) {
	case 0:		/* A raises the line */
		err = iofd_intx_assert(s->a);
		break;
	case 1:		/* A was re-raised at the ack (still asserted); it stops */
		err = wait_line_up(s->g) == 1 ? 0 : -EIO;
		if (!err)
			err = iofd_intx_deassert(s->a);
		break;
	case 2:		/* line low again; B raises it and drops it at once */
		err = iofd_intx_assert(s->b);
		if (!err)
			err = wait_line_up(s->g) == 1 ? 0 : -EIO;
		if (!err)
			err = iofd_intx_deassert(s->b);
		break;
	case 3:		/* the third device raises it */
		if (write(s->c_trigger, &one, sizeof(one)) != sizeof(one))
			err = -errno;
		break;
	default:
		break;
	}
	if (!err && (s->step == 0 || s->step == 3))
		err = wait_line_up(s->g) == 1 ? 0 : -EIO;
	if (err && !s->err)
		s->err = err;
}

static int shared_line_stop(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct shared_line *s = opaque;
	unsigned i = s->step;

	(void)g;
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != GUEST_HLT_PORT)
		return 0;
	if (i >= N_STEPS)
		return -E2BIG;
	iofd_irq_process(s->vm);
	s->a_eoi[i] = tu_efd_count(iofd_intx_eoi_fd(s->a));
	s->b_eoi[i] = tu_efd_count(iofd_intx_eoi_fd(s->b));
	s->c_eoi[i] = tu_efd_count(s->c_resample);
	shared_line_move(s);
	s->line_up[i] = pic_irr(s->g);
	s->step++;
	return 0;
}

static void intx_helpers_share_a_gsi_in_a_guest(void **state)
{
	struct tu_resources before;
	struct guest_vm g;
	struct iofd_vm_options o;
	struct shared_line s = { .g = &g };
	struct guest_op ops[32];
	size_t k;
	struct kvm_irqfd c;

	(void)state;
	TU_REQUIRE_KVM();
	tu_warm_up();
	before = tu_snapshot();
	assert_int_equal(guest_vm_create(&g, GUEST_VM_IRQCHIP), 0);
	o = (struct iofd_vm_options){ .kvm_vm_fd = g.vm_fd };
	assert_int_equal(iofd_vm_create(&o, &s.vm), 0);
	assert_int_equal(iofd_intx_create(s.vm, PIC_IRQ, &s.a), 0);
	assert_int_equal(iofd_intx_create(s.vm, PIC_IRQ, &s.b), 0);
	s.c_trigger = eventfd(0, EFD_CLOEXEC);
	s.c_resample = eventfd(0, EFD_CLOEXEC);
	c = (struct kvm_irqfd){ .fd = (uint32_t)s.c_trigger, .gsi = PIC_IRQ, .flags = RS,
				.resamplefd = (uint32_t)s.c_resample };
	assert_int_equal(iofd_irqfd(s.vm, &c), 0);

	/* stop 0 (after set-up): A asserts */
	k = pic_setup_ops(ops);
	ops[k++] = poll_ack_op(1);	/* A's interrupt */
	ops[k++] = (struct guest_op){ .kind = GOP_HLT };	/* stop 1: A de-asserts */
	ops[k++] = poll_ack_op(1);	/* A's re-raised interrupt */
	ops[k++] = (struct guest_op){ .kind = GOP_HLT };	/* stop 2: B up, B down */
	ops[k++] = poll_ack_op(1);	/* B's interrupt */
	ops[k++] = (struct guest_op){ .kind = GOP_HLT };	/* stop 3: C up */
	ops[k++] = poll_ack_op(1);	/* C's interrupt */
	ops[k++] = (struct guest_op){ .kind = GOP_HLT };	/* stop 4 */
	ops[k++] = (struct guest_op){ .kind = GOP_PIC_POLL, .len = 1, .addr = PIC_CMD };
	ops[k++] = (struct guest_op){ .kind = GOP_HLT };	/* stop 5 */
	memset(g.ram + RESULT_GPA, 0, 16);
	assert_int_equal(guest_script_set(&g, ops, k), 0);
	assert_int_equal(guest_run(&g, shared_line_stop, &s, NULL), 0);
	assert_int_equal(s.err, 0);
	assert_int_equal(s.step, N_STEPS);
	for (unsigned i = 0; i < N_STEPS; i++)
		print_message("# stop %u: eoi A %llu B %llu, resamplefd C %llu, line %d\n", i,
			      (unsigned long long)s.a_eoi[i], (unsigned long long)s.b_eoi[i],
			      (unsigned long long)s.c_eoi[i], s.line_up[i]);
	/* stop 1: A's interrupt acknowledged; B did not assert: not woken */
	assert_int_equal(s.a_eoi[1], 1);
	assert_int_equal(s.b_eoi[1], 0);
	assert_int_equal(s.c_eoi[1], 1);	/* a raw resamplefd hears every ack */
	assert_int_equal(s.line_up[0], 1);
	assert_int_equal(s.line_up[1], 1);	/* A still asserted: raised again */
	/* stop 2: the re-raised interrupt acknowledged, and the line stays low */
	assert_int_equal(s.a_eoi[2], 1);
	assert_int_equal(s.b_eoi[2], 0);
	/* stop 3: B's */
	assert_int_equal(s.a_eoi[3], 0);
	assert_int_equal(s.b_eoi[3], 1);
	assert_int_equal(s.line_up[3], 1);	/* C's, raised in the move */
	/* stop 4: C's interrupt wakes neither helper */
	assert_int_equal(s.a_eoi[4], 0);
	assert_int_equal(s.b_eoi[4], 0);
	assert_int_equal(s.c_eoi[4], 1);
	assert_int_equal(s.line_up[4], 0);
	/* the guest's last poll found nothing: every de-assert took effect */
	assert_true(g.script->ops[k - 2].value == 0x07 ||
		    g.script->ops[k - 2].value == 0);
	assert_int_equal(guest_result(&g, 0), 4);
	assert_int_equal(guest_result(&g, 1) & 0x7f, PIC_IRQ);	/* bit 7: kernel */
	assert_int_equal(s.a_eoi[5] + s.b_eoi[5] + s.c_eoi[5], 0);

	/* release in any order: the irqfd of B, A, the VM, then B */
	c.fd = (uint32_t)iofd_intx_trigger_fd(s.b);
	c.flags = DA;
	assert_int_equal(iofd_irqfd(s.vm, &c), 0);
	assert_int_equal(iofd_intx_assert(s.b), -ENOTCONN);
	iofd_intx_destroy(s.a);
	iofd_vm_destroy(s.vm);
	assert_int_equal(iofd_intx_assert(s.b), -ENODEV);
	iofd_intx_destroy(s.b);
	guest_vm_destroy(&g);
	close(s.c_trigger);
	close(s.c_resample);
	TU_ASSERT_NO_LEAK(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_match_kernel_no_irqchip),
		cmocka_unit_test(errors_match_kernel_split_irqchip),
		cmocka_unit_test(errors_match_kernel_full_irqchip),
		cmocka_unit_test(controller_serves_what_the_kernel_refuses),
		cmocka_unit_test(irqchip_made_after_adoption_is_seen),
		cmocka_unit_test(resample_round_trips_through_a_guest),
		cmocka_unit_test(intx_helpers_share_a_gsi_in_a_guest),
	};

	if (!tu_kvm_or_skip_all())
		return 0;
	return cmocka_run_group_tests_name("kvm_irqfd", tests, NULL, NULL);
}
