/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rows: irqfd -> guest acknowledge -> EOI -> resamplefd round trips, timed
 * by the device. Targets: iofd's irqfd (offloaded to the kernel) within
 * 0.95x of KVM_IRQFD; the INTx helper (one more hop through iofd_irq_fd()
 * and iofd_irq_process()) within 1.05x of it.
 */
#include "paths.h"

static const enum irq_shape irq_raw = IRQ_RAW, irq_iofd = IRQ_IOFD,
			    irq_intx = IRQ_INTX;

#define IRQ(name_, what_, shape_, floor_, limit_)                               \
	{ .name = name_, .section = "irqfd round trip", .bus = BENCH_PIO,      \
	  .what = what_, .no_exit_ratio = true, .floor = floor_,              \
	  .floor_limit = limit_, .ops_div = 2, .needs_kvm = true,             \
	  .param = &shape_, .measure = bench_measure_irqfd }

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

void bench_rows_irqfd(void)
{
	bench_register_rows(irqfd_rows, sizeof(irqfd_rows) / sizeof(irqfd_rows[0]));
}
