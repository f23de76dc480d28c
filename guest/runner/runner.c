/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest runner: a freestanding 64-bit loop that executes the script at
 * GUEST_SCRIPT_GPA (see script.h), one op after the other, forever.
 *
 * Every device access is a single instruction of exactly the op's width,
 * written as inline assembly so the compiler can neither split, merge nor
 * widen it. No interrupts or exceptions are ever expected.
 */
#include <stdint.h>

#include "script.h"

#define SCRIPT ((volatile struct guest_script *)GUEST_SCRIPT_GPA)
#define CONFIG ((volatile struct guest_config *)GUEST_CONFIG_GPA)

void runner_main(void) __attribute__((noreturn));

/* ---- single-width accesses ---------------------------------------------- */

static void mem_write(uint64_t addr, uint32_t len, uint64_t v)
{
	switch (len) {
	case 1: __asm__ volatile("movb %b0, (%1)" : : "q"(v), "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("movw %w0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("movl %k0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	case 8: __asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory"); break;
	}
}

static uint64_t mem_read(uint64_t addr, uint32_t len)
{
	uint64_t v = 0;

	switch (len) {
	case 1: __asm__ volatile("movzbl (%1), %k0" : "=r"(v) : "r"(addr) : "memory"); break;
	case 2: __asm__ volatile("movzwl (%1), %k0" : "=r"(v) : "r"(addr) : "memory"); break;
	case 4: __asm__ volatile("movl (%1), %k0" : "=r"(v) : "r"(addr) : "memory"); break;
	case 8: __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory"); break;
	}
	return v;
}

static void pio_write(uint16_t port, uint32_t len, uint64_t v)
{
	switch (len) {
	case 1: __asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port) : "memory"); break;
	case 2: __asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port) : "memory"); break;
	case 4: __asm__ volatile("outl %k0, %w1" : : "a"(v), "Nd"(port) : "memory"); break;
	}
}

static uint64_t pio_read(uint16_t port, uint32_t len)
{
	uint64_t v = 0;

	switch (len) {
	case 1: __asm__ volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port) : "memory"); break;
	case 2: __asm__ volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port) : "memory"); break;
	case 4: __asm__ volatile("inl %w1, %k0" : "+a"(v) : "Nd"(port) : "memory"); break;
	}
	return v;
}

static void halt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

/* HLT, or (in-kernel irqchip) an exit on the given port. */
static void stop(uint16_t port)
{
	if (CONFIG->flags & GUEST_CFG_DONE_PORT)
		pio_write(port, 1, 0);
	else
		halt();
}

/* ---- ops ---------------------------------------------------------------- */

static int len_ok(uint32_t len, int pio)
{
	return len == 1 || len == 2 || len == 4 || (len == 8 && !pio);
}

static uint64_t width_mask(uint32_t len)
{
	return len >= 8 ? ~0ull : (1ull << (len * 8)) - 1;
}

/* Write v, then spin until the answer at `answer` equals what was written. */
static void write_wait(volatile struct guest_op *op, int pio)
{
	volatile uint64_t *answer = (volatile uint64_t *)op->arg;
	uint64_t n = op->count ? op->count : 1;
	uint64_t v = op->value;
	uint32_t len = op->len;
	uint64_t addr = op->addr;

	for (uint64_t i = 0; i < n; i++, v++) {
		if (pio)
			pio_write((uint16_t)addr, len, v);
		else
			mem_write(addr, len, v);
		while (*answer != (v & width_mask(len)))
			__asm__ volatile("pause" : : : "memory");
	}
	op->value = v;
}

static void repeat_write(volatile struct guest_op *op, int pio)
{
	uint64_t n = op->count ? op->count : 1;
	uint64_t v = op->value, addr = op->addr;
	uint32_t len = op->len;

	for (uint64_t i = 0; i < n; i++) {
		if (pio)
			pio_write((uint16_t)addr, len, v);
		else
			mem_write(addr, len, v);
	}
}

/* ---- 8259 PIC, polled ---------------------------------------------------- */

#define PIC_OCW3_POLL	0x0c
#define PIC_OCW2_EOI	0x20
#define PIC_POLL_IRQ	0x80	/* answer bit: an interrupt was pending */
#define PIC_POLL_NONE	0x07	/* the answer when nothing was pending */

/*
 * Did the poll find an interrupt? Newer kernels (seen: 6.12, 6.18) set bit
 * 7 with the IRQ in bits 2:0; 6.1 answers the bare IRQ number. "Nothing" is 0x07 in
 * both (0 in a proposed rework), so IRQ 0 and 7 are not usable here.
 */
static int poll_found_irq(uint8_t answer)
{
	return (answer & PIC_POLL_IRQ) ||
	       (answer != PIC_POLL_NONE && answer != 0);
}

/* Poll: the read that follows OCW3 P=1 acknowledges the interrupt. */
static uint8_t pic_poll(uint16_t port)
{
	pio_write(port, 1, PIC_OCW3_POLL);
	return (uint8_t)pio_read(port, 1);
}

static void pic_poll_once(volatile struct guest_op *op)
{
	uint16_t port = (uint16_t)op->addr;
	uint8_t answer = pic_poll(port);

	if (poll_found_irq(answer))
		pio_write(port, 1, PIC_OCW2_EOI);
	op->value = answer;
}

static void pic_poll_ack(volatile struct guest_op *op)
{
	volatile uint64_t *out = (volatile uint64_t *)op->arg;
	uint64_t n = op->count ? op->count : 1, limit = op->value, done;
	uint16_t port = (uint16_t)op->addr;

	for (done = 0; done < n; done++) {
		uint64_t polls = 0;
		uint8_t answer;

		while (!poll_found_irq(answer = pic_poll(port)))
			if (limit && ++polls >= limit)
				goto out;
		pio_write(port, 1, PIC_OCW2_EOI);
		if (out) {
			out[1] = answer;
			out[0] = out[0] + 1;
		}
	}
out:
	op->value = done;
}

/* Execute one op; returns 0 at END, 1 to go on. */
static int run_op(volatile struct guest_op *op)
{
	uint32_t kind = op->kind, len = op->len;

	if (kind == GOP_END)
		return 0;
	if (kind == GOP_HLT) {
		stop(GUEST_HLT_PORT);
		return 1;
	}
	if (kind == GOP_PIC_POLL_ACK || kind == GOP_PIC_POLL) {
		if (len != 1)
			return 1;
		if (kind == GOP_PIC_POLL_ACK)
			pic_poll_ack(op);
		else
			pic_poll_once(op);
		return 1;
	}
	if (!len_ok(len, kind == GOP_OUT || kind == GOP_IN || kind == GOP_OUT_WAIT))
		return 1;
	switch (kind) {
	case GOP_WRITE:
	case GOP_WRITE_MEM:
		repeat_write(op, 0);
		break;
	case GOP_OUT:
		repeat_write(op, 1);
		break;
	case GOP_READ:
		op->value = mem_read(op->addr, len);
		break;
	case GOP_IN:
		op->value = pio_read((uint16_t)op->addr, len);
		break;
	case GOP_WRITE_WAIT:
		write_wait(op, 0);
		break;
	case GOP_OUT_WAIT:
		write_wait(op, 1);
		break;
	default:
		break;
	}
	return 1;
}

void runner_main(void)
{
	volatile struct guest_script *s = SCRIPT;

	for (;;) {
		uint64_t n = s->nops;

		if (n > GUEST_SCRIPT_MAX_OPS)
			n = GUEST_SCRIPT_MAX_OPS;
		for (uint64_t i = 0; i < n; i++)
			if (!run_op(&s->ops[i]))
				break;
		s->done = s->done + 1;
		stop(GUEST_DONE_PORT);
	}
}
