/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * irqfd round trips: the device raises a level-triggered interrupt through
 * an irqfd with resample; the guest, spinning on 8259 polls, sees it and
 * acknowledges it (PVM delivers nothing through a guest IDT, so the guest
 * polls like a polling driver, and KVM takes the poll read as acknowledge +
 * EOI); KVM's ack notifier drops the line and signals the resamplefd; the
 * device, blocked on it, wakes and raises the next interrupt.
 *
 * Here the guest runs on a vCPU thread of its own and the device loop is
 * timed on the calling thread. Three shapes: KVM_IRQFD directly (the raw
 * floor), iofd_irqfd() on the adopted VM (offloaded to KVM_IRQFD), and
 * iofd's INTx helper (assert/de-assert, acknowledgements filtered through
 * iofd_irq_fd()/iofd_irq_process() and counted on the helper's eoi_fd).
 *
 * Rows: irqfd -> guest acknowledge -> EOI -> resamplefd round trips, timed
 * by the device. Targets: iofd's irqfd (offloaded to the kernel) within
 * 0.95x of KVM_IRQFD; the INTx helper (one more hop through iofd_irq_fd()
 * and iofd_irq_process()) within 1.05x of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "path.h"

/* The shapes of the rows (a row's param points to one). */
enum irq_shape {
	IRQ_RAW,	/* KVM_IRQFD with RESAMPLE, no iofd */
	IRQ_IOFD,	/* iofd_irqfd(), offloaded to KVM_IRQFD */
	IRQ_INTX,	/* iofd's INTx helper */
};
#include "path.h"

#define PIC_IRQ		5		/* level-triggerable, not the poll's 7 */
#define PIC_CMD		0x20
#define PIC_DATA	0x21
#define PIC_ELCR	0x4d0
#define LAPIC_LVT0	0xfee00350ull
#define LVT_MASKED	0x10000u
#define RESULT_GPA	GUEST_DATA_GPA	/* u64 interrupts acked, u64 last poll */
#define POLL_LIMIT	500000ull	/* polls before the guest gives up */
#define WAIT_MS		5000

struct irq_ctx {
	struct bench_guest bg;
	enum irq_shape shape;
	int trigger, resample, ready;	/* eventfds (or -1) */
	struct iofd_intx *intx;
	int irq_fd, eoi_fd;		/* the INTx helper's view */
	pthread_t vcpu;
	bool vcpu_started;
	int run_err;
	uint64_t exits, extra;		/* exits; acknowledgements beyond one */
	char *why;
	size_t whylen;
};

static int irq_fail(struct irq_ctx *x, int err, const char *what, const char *detail)
{
	snprintf(x->why, x->whylen, "%s: %s", what, detail);
	return err;
}

/* The guest: mask LVT0, set up the master 8259 with IRQ 5 unmasked and
 * level-triggered, stop once ("ready"), then acknowledge n interrupts. */
static int script(struct irq_ctx *x, uint64_t n)
{
	const struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .len = 4, .addr = LAPIC_LVT0, .value = LVT_MASKED },
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_CMD, .value = 0x11 },  /* ICW1 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x20 }, /* ICW2 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x04 }, /* ICW3 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA, .value = 0x01 }, /* ICW4 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_DATA,
		  .value = 0xff & ~(1u << PIC_IRQ) },				  /* OCW1 */
		{ .kind = GOP_OUT, .len = 1, .addr = PIC_ELCR, .value = 1u << PIC_IRQ },
		{ .kind = GOP_HLT },
		{ .kind = GOP_PIC_POLL_ACK, .len = 1, .addr = PIC_CMD, .count = n,
		  .value = POLL_LIMIT, .arg = RESULT_GPA },
	};

	memset(x->bg.g.ram + RESULT_GPA, 0, 16);
	return guest_script_set(&x->bg.g, ops, sizeof(ops) / sizeof(ops[0]));
}

static int on_exit(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct irq_ctx *x = opaque;
	uint64_t one = 1;

	(void)g;
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST_HLT_PORT)
		return write(x->ready, &one, sizeof(one)) == sizeof(one) ? 0 : -EIO;
	bench_exit_default(run);
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct irq_ctx *x = arg;

	bench_pin_self(BENCH_ROLE_VCPU);
	x->run_err = guest_run(&x->bg.g, on_exit, x, &x->exits);
	if (x->run_err)	/* the reason is this thread's */
		snprintf(x->why, x->whylen, "guest_run: %s", guest_last_error());
	return NULL;
}

/* Wait for fd to be readable; false after WAIT_MS. */
static bool wait_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1;
}

static int register_shape(struct irq_ctx *x)
{
	struct kvm_irqfd a = { .gsi = PIC_IRQ, .flags = KVM_IRQFD_FLAG_RESAMPLE };
	int err;

	if (x->shape == IRQ_INTX) {
		err = iofd_intx_create(x->bg.iofd, PIC_IRQ, &x->intx);
		if (err)
			return irq_fail(x, err, "iofd_intx_create", iofd_last_error());
		x->irq_fd = iofd_irq_fd(x->bg.iofd);
		x->eoi_fd = iofd_intx_eoi_fd(x->intx);
		return x->irq_fd < 0 ? x->irq_fd : 0;
	}
	x->trigger = bench_eventfd(false);
	x->resample = bench_eventfd(true);
	if (x->trigger < 0 || x->resample < 0)
		return irq_fail(x, -EMFILE, "eventfd", strerror(EMFILE));
	a.fd = (uint32_t)x->trigger;
	a.resamplefd = (uint32_t)x->resample;
	if (x->shape == IRQ_IOFD) {
		err = iofd_irqfd(x->bg.iofd, &a);
		return err ? irq_fail(x, err, "iofd_irqfd", iofd_last_error()) : 0;
	}
	if (ioctl(x->bg.g.vm_fd, KVM_IRQFD, &a) < 0)
		return irq_fail(x, -errno, "KVM_IRQFD", strerror(errno));
	return 0;
}

/* One interrupt, acknowledged; counts acknowledgements beyond one. */
static int round_trip(struct irq_ctx *x)
{
	uint64_t one = 1, acks = 0;

	if (x->shape == IRQ_INTX) {
		/* The de-assert takes effect at the acknowledgement. */
		if (iofd_intx_assert(x->intx) || iofd_intx_deassert(x->intx))
			return irq_fail(x, -EIO, "INTx assert", iofd_last_error());
		while (read(x->eoi_fd, &acks, sizeof(acks)) != sizeof(acks)) {
			if (!wait_fd(x->irq_fd))
				return irq_fail(x, -ETIMEDOUT, "INTx", "no acknowledgement");
			iofd_irq_process(x->bg.iofd);
		}
	} else {
		if (write(x->trigger, &one, sizeof(one)) != sizeof(one))
			return irq_fail(x, -EIO, "irqfd", "trigger write failed");
		if (!wait_fd(x->resample) ||
		    read(x->resample, &acks, sizeof(acks)) != sizeof(acks))
			return irq_fail(x, -ETIMEDOUT, "irqfd", "resamplefd never fired");
	}
	x->extra += acks - 1;
	return 0;
}

static int start_guest(struct irq_ctx *x, uint64_t n)
{
	int err = script(x, n);

	if (err)
		return irq_fail(x, err, "guest script", guest_last_error());
	x->ready = bench_eventfd(false);
	if (x->ready < 0)
		return irq_fail(x, x->ready, "eventfd", "failed");
	err = pthread_create(&x->vcpu, NULL, vcpu_thread, x);
	if (err)
		return irq_fail(x, -err, "vCPU thread", strerror(err));
	x->vcpu_started = true;
	if (!wait_fd(x->ready))
		return irq_fail(x, -ETIMEDOUT, "guest", "never reached its ready stop");
	return 0;
}

static int loop(struct irq_ctx *x, uint64_t n, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	int err = 0;

	for (uint64_t i = 0; i < n && !err; i++)
		err = round_trip(x);
	*ns = bench_now_ns() - t0;
	return err;
}

/* The guest's count of acknowledged interrupts, once it has ended. */
static uint64_t join_guest(struct irq_ctx *x)
{
	uint64_t acked = 0;

	if (!x->vcpu_started)
		return 0;
	pthread_join(x->vcpu, NULL);
	x->vcpu_started = false;
	memcpy(&acked, x->bg.g.ram + RESULT_GPA, sizeof(acked));
	return acked;
}

static void finish(struct irq_ctx *x)
{
	int fds[] = { x->trigger, x->resample, x->ready };

	iofd_intx_destroy(x->intx);
	bench_guest_close(&x->bg);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int measure_irqfd(const struct bench_row *row, uint64_t ops,
			struct bench_sample *out, char *why, size_t whylen)
{
	const enum irq_shape *shape = row->param;
	struct irq_ctx x = { .shape = *shape, .trigger = -1, .resample = -1,
			     .ready = -1, .why = why, .whylen = whylen };
	uint64_t warm = ops / 10 < 50 ? 50 : ops / 10, ns = 0, acked;
	int err;

	err = bench_guest_open(&x.bg, row->bus, x.shape != IRQ_RAW,
			       GUEST_VM_IRQCHIP, 0, why, whylen);
	if (err)
		return err;
	err = register_shape(&x);
	if (!err)
		err = start_guest(&x, warm + ops);
	/* This thread plays the device here. */
	bench_pin_self(BENCH_ROLE_DEVICE);
	if (!err)
		err = loop(&x, warm, &ns);
	if (!err)
		err = loop(&x, ops, &ns);
	bench_pin_self(BENCH_ROLE_VCPU);
	/* On an error the guest gives up waiting after POLL_LIMIT polls. */
	acked = join_guest(&x);
	finish(&x);
	if (!err && x.run_err)
		err = x.run_err < 0 ? x.run_err : -EIO;
	if (err)
		return err;
	out->ns_per_op = (double)ns / (double)ops;
	out->exits_per_op = (double)x.exits / (double)ops;
	out->observed = acked + x.extra;
	out->expected = warm + ops;
	return 0;
}

static const enum irq_shape irq_raw = IRQ_RAW, irq_iofd = IRQ_IOFD,
			    irq_intx = IRQ_INTX;

#define IRQ(name_, what_, shape_, floor_, limit_)                               \
	{ .name = name_, .section = "irqfd round trip", .bus = BENCH_PIO,      \
	  .what = what_, .no_exit_ratio = true, .floor = floor_,              \
	  .floor_limit = limit_, .ops_div = 2, .needs_kvm = true,             \
	  .param = &shape_, .measure = measure_irqfd }

static const struct bench_row irqfd_rows[] = {
	IRQ("irqfd-raw-resample-rt",
	    "KVM_IRQFD with RESAMPLE: trigger, guest polls the 8259 and acks, "
	    "resamplefd wakes the device",
	    irq_raw, NULL, 0),
	IRQ("irqfd-iofd-resample-rt",
	    "iofd_irqfd() with RESAMPLE (offloaded to KVM_IRQFD), same loop",
	    irq_iofd, "irqfd-raw-resample-rt", BENCH_LIMIT_OFFLOAD),
	IRQ("irqfd-iofd-intx-rt",
	    "iofd INTx helper: assert + de-assert, ack via iofd_irq_process() "
	    "and the helper's eoi_fd",
	    irq_intx, "irqfd-raw-resample-rt", BENCH_LIMIT_USERSPACE),
};

void bench_rows_irqfd(enum bench_phase phase)
{
	if (phase == BENCH_PHASE_IRQFD)
		BENCH_REGISTER_ROWS(irqfd_rows);
}
