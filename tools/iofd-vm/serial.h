/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A 16550A UART at 0x3f8, output only: what the guest transmits is
 * complete at once, so the transmitter is always empty and raises its
 * "THR empty" interrupt (IRQ 4) whenever the guest enables it or writes a
 * character. Received data never arrives. Lines go to a callback.
 */
#ifndef IOFD_VM_SERIAL_H
#define IOFD_VM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_BASE	0x3f8
#define SERIAL_PORTS	8
#define SERIAL_IRQ	4
#define SERIAL_LINE_MAX	1024

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	bool thre_pending;	/* the THR-empty interrupt is owed */
	int irq_level;		/* last level given to set_irq */
	char line[SERIAL_LINE_MAX + 1];
	unsigned len;
	/* Drive the interrupt line (called with the UART's lock held). */
	void (*set_irq)(void *opaque, int level);
	/* One complete line, without its end (called with the lock held). */
	void (*line_out)(void *opaque, const char *line);
	void *opaque;
};

/** serial_init() - reset state; the callbacks are required. */
void serial_init(struct serial *s, void (*set_irq)(void *, int),
		 void (*line_out)(void *, const char *), void *opaque);

/**
 * serial_io() - one byte access to port SERIAL_BASE + @off (0..7).
 * @data: the byte written, or receives the byte read.
 */
void serial_io(struct serial *s, unsigned off, bool is_write, uint8_t *data);

/** serial_flush() - hand a partial last line to line_out. */
void serial_flush(struct serial *s);

/** serial_destroy() - release the lock. */
void serial_destroy(struct serial *s);

#endif /* IOFD_VM_SERIAL_H */
