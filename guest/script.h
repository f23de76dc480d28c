/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest script ABI, shared by the host and the guest runner.
 *
 * The runner is a freestanding 64-bit payload loaded at GUEST_CODE_GPA. It
 * executes the ops of the script at GUEST_SCRIPT_GPA one after the other,
 * then executes HLT (KVM_EXIT_HLT without an in-kernel irqchip) and, when
 * resumed, starts over from op 0 of the (possibly rewritten) script.
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

enum guest_op_kind {
	GOP_END = 0,		/* stop: HLT, then restart at op 0 */
	GOP_WRITE = 1,		/* MMIO store of len bytes `value` at addr, count times */
	GOP_READ = 2,		/* MMIO load of len bytes at addr; result in `value` */
	GOP_OUT = 3,		/* PIO out of len bytes `value` to port addr, count times */
	GOP_IN = 4,		/* PIO in of len bytes from port addr; result in `value` */
	GOP_HLT = 5,		/* HLT once, then continue with the next op */
	/* Write `value` count times, then spin until the u64 at `arg` (guest RAM)
	 * equals `value` (the device's answer): one round trip per iteration;
	 * value increments each iteration. */
	GOP_WRITE_WAIT = 6,
	GOP_OUT_WAIT = 7,	/* same with PIO */
	GOP_WRITE_MEM = 8,	/* plain RAM store (len bytes) at addr, count times */
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

#define GUEST_SCRIPT_MAX_OPS \
	((GUEST_SCRIPT_MAX - sizeof(struct guest_script)) / sizeof(struct guest_op))

#endif /* IOFD_GUEST_SCRIPT_H */
