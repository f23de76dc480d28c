/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest script ABI, shared by the host and the guest runner.
 *
 * The runner is a freestanding 64-bit payload loaded at GUEST_CODE_GPA. It
 * executes the ops of the script at GUEST_SCRIPT_GPA one after the other,
 * then executes HLT (KVM_EXIT_HLT without an in-kernel irqchip) and, when
 * resumed, starts over from op 0 of the (possibly rewritten) script.
 *
 * With an in-kernel irqchip KVM handles HLT itself (the vCPU would sleep in
 * the kernel), so the host sets GUEST_CFG_DONE_PORT in the guest_config at
 * GUEST_CONFIG_GPA and the runner signals END with a 1-byte `out` to
 * GUEST_DONE_PORT instead of HLT; GOP_HLT becomes a 1-byte `out` to
 * GUEST_HLT_PORT. Both are ordinary KVM_EXIT_IO exits (value 0).
 *
 * Accesses: every MMIO/RAM access is one `mov` of exactly len bytes, every
 * PIO access one `in`/`out` of exactly len bytes. x86 has no 8-byte port
 * I/O, so PIO ops with len 8 are invalid (the host's guest_script_set()
 * rejects them; the runner skips any op whose kind or len it does not
 * know).
 */
#ifndef IOFD_GUEST_SCRIPT_H
#define IOFD_GUEST_SCRIPT_H

#include <stdint.h>

/* Guest-physical layout (identity-mapped, 2 MiB pages, first 4 GiB). */
#define GUEST_PT_GPA		0x1000ull	/* page tables: 0x1000-0x6fff */
#define GUEST_STACK_TOP		0x80000ull
#define GUEST_CODE_GPA		0x100000ull	/* runner code, linked here */
#define GUEST_SCRIPT_GPA	0x200000ull	/* struct guest_script */
#define GUEST_SCRIPT_MAX	(6ull << 20)	/* bytes available for it */
#define GUEST_DATA_GPA		0x800000ull	/* free guest RAM for tests */
#define GUEST_RAM_SIZE		(16ull << 20)	/* RAM at GPA 0 */
#define GUEST_MMIO_BASE		0xd0000000ull	/* unbacked: MMIO exits */
#define GUEST_CONFIG_GPA	0x7000ull	/* struct guest_config */

/* Ports the runner uses in GUEST_CFG_DONE_PORT mode (1-byte out, value 0). */
#define GUEST_DONE_PORT		0xfff0u		/* END reached */
#define GUEST_HLT_PORT		0xfff1u		/* GOP_HLT reached */

enum guest_op_kind {
	GOP_END = 0,		/* stop: HLT, then restart at op 0 */
	GOP_WRITE = 1,		/* MMIO store of len bytes `value` at addr, count times */
	GOP_READ = 2,		/* MMIO load of len bytes at addr; result in `value` */
	GOP_OUT = 3,		/* PIO out of len bytes `value` to port addr, count times */
	GOP_IN = 4,		/* PIO in of len bytes from port addr; result in `value` */
	GOP_HLT = 5,		/* HLT once, then continue with the next op */
	/* Write `value` count times, then spin until the u64 at `arg` (guest RAM)
	 * equals `value` (the device's answer): one round trip per iteration;
	 * value increments each iteration. The answer is compared with the
	 * value as written (its low len bytes, zero-extended). When the op
	 * ends, the runner stores the next value (value + count) back into the
	 * op's `value`, so a restarted script never takes a stale answer for a
	 * new one. */
	GOP_WRITE_WAIT = 6,
	GOP_OUT_WAIT = 7,	/* same with PIO */
	GOP_WRITE_MEM = 8,	/* plain RAM store (len bytes) at addr, count times */
	/* Acknowledge count interrupts of an 8259 PIC by polling (no IDT
	 * needed): at the command port `addr` (0x20 master, 0xa0 slave; len
	 * 1) write OCW3 poll (0x0c) and read the answer until it shows an
	 * interrupt (low bits: its IRQ; bit 7 set on kernels newer than 6.1,
	 * and anything but 0x07 on 6.1, so IRQ 0 and 7 cannot be polled). The poll read is itself the
	 * acknowledgement; a non-specific EOI (OCW2 0x20) follows. If `arg`
	 * is not 0 it is the GPA of two u64s: after each interrupt the answer
	 * goes to the second, then the first grows by one. `value` is, on
	 * entry, the most polls to wait for one interrupt (0: no limit); on
	 * return, the number of interrupts acknowledged. */
	GOP_PIC_POLL_ACK = 9,
	/* One PIC poll at command port `addr` (len 1): the answer goes to
	 * `value`; if it shows an interrupt, that is acknowledged and EOI'd. */
	GOP_PIC_POLL = 10,
};

struct guest_op {
	uint32_t kind;		/* enum guest_op_kind */
	uint32_t len;		/* 1, 2, 4 or 8 */
	uint64_t addr;		/* GPA or port */
	uint64_t value;		/* value written, or result of a read */
	uint64_t count;		/* repetitions (0 means 1) */
	uint64_t arg;		/* op-specific (GOP_*_WAIT: GPA of the answer) */
};

struct guest_script {
	uint32_t nops;		/* ops that follow */
	uint32_t done;		/* the runner adds 1 each time it reaches END */
	uint64_t reserved;
	struct guest_op ops[];
};

/* Runner configuration, written by the host before the first run. */
#define GUEST_CFG_DONE_PORT	(1ull << 0)	/* END/HLT via out, not HLT */

struct guest_config {
	uint64_t flags;		/* GUEST_CFG_* */
};

#define GUEST_SCRIPT_MAX_OPS \
	((GUEST_SCRIPT_MAX - sizeof(struct guest_script)) / sizeof(struct guest_op))

#endif /* IOFD_GUEST_SCRIPT_H */
