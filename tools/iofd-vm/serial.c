/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The 16550A model: register numbers and bits as in the National
 * Semiconductor data sheet. Enough for Linux's 8250 driver to detect a
 * 16550A (scratch, IER read-back, loopback and FIFO tests) and to run its
 * interrupt-driven transmit path.
 */
#include <string.h>

#include "serial.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_FIFO	0xc0	/* FIFOs enabled */
#define FCR_ENABLE	0x01
#define LCR_DLAB	0x80
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void serial_init(struct serial *s, void (*set_irq)(void *, int),
		 void (*line_out)(void *, const char *), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->set_irq = set_irq;
	s->line_out = line_out;
	s->opaque = opaque;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static void update_irq(struct serial *s)
{
	int level = (s->ier & IER_THRI) && s->thre_pending;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->opaque, level);
	}
}

static void emit_line(struct serial *s)
{
	s->line[s->len] = '\0';
	s->line_out(s->opaque, s->line);
	s->len = 0;
}

static void transmit(struct serial *s, uint8_t c)
{
	s->thre_pending = true;		/* sent at once: empty again */
	if (s->mcr & MCR_LOOP)
		return;			/* loopback: nothing leaves the UART */
	if (c == '\n')
		emit_line(s);
	else if (c != '\r' && c != '\0')
		s->line[s->len++] = (char)c;
	if (s->len == SERIAL_LINE_MAX)
		emit_line(s);
}

/* Modem status: in loopback the outputs come back as inputs. */
static uint8_t modem_status(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)((m & 0x01 ? MSR_DSR : 0) | (m & 0x02 ? MSR_CTS : 0) |
			 (m & 0x04 ? MSR_RI : 0) | (m & 0x08 ? MSR_DCD : 0));
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t fifo = s->fcr & FCR_ENABLE ? IIR_FIFO : 0;

	if ((s->ier & IER_THRI) && s->thre_pending) {
		s->thre_pending = false;	/* reading IIR acknowledges it */
		return fifo | IIR_THRI;
	}
	return fifo | IIR_NO_INT;
}

static uint8_t read_reg(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case RBR_THR: return dlab ? s->dll : 0;
	case IER: return dlab ? s->dlm : s->ier;
	case IIR_FCR: return read_iir(s);
	case LCR: return s->lcr;
	case MCR: return s->mcr;
	case LSR: return LSR_THRE | LSR_TEMT;
	case MSR: return modem_status(s);
	default: return s->scr;
	}
}

static void write_ier(struct serial *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = v & 0x0f;
	if ((s->ier & IER_THRI) && !(old & IER_THRI))
		s->thre_pending = true;	/* the THR is empty right now */
}

static void write_reg(struct serial *s, unsigned off, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case RBR_THR:
		if (dlab)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case IER:
		if (dlab)
			s->dlm = v;
		else
			write_ier(s, v);
		break;
	case IIR_FCR: s->fcr = v & 0xc9; break;	/* reset bits self-clear */
	case LCR: s->lcr = v; break;
	case MCR: s->mcr = v & 0x1f; break;
	case SCR: s->scr = v; break;
	default: break;				/* LSR, MSR: read-only */
	}
}

void serial_io(struct serial *s, unsigned off, bool is_write, uint8_t *data)
{
	pthread_mutex_lock(&s->lock);
	if (is_write)
		write_reg(s, off & 7, *data);
	else
		*data = read_reg(s, off & 7);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->len)
		emit_line(s);
	pthread_mutex_unlock(&s->lock);
}
