/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MP table writer. Layout from the MultiProcessor Specification 1.4: a
 * 16-byte floating pointer ("_MP_") pointing at the configuration table
 * ("PCMP" header, then entries: processors, buses, the IOAPIC, I/O
 * interrupt assignments, local interrupt assignments).
 */
#include <errno.h>
#include <string.h>

#include "mptable.h"

enum { ENT_CPU = 0, ENT_BUS = 1, ENT_IOAPIC = 2, ENT_IOINT = 3, ENT_LINT = 4 };
enum { INT_INT = 0, INT_NMI = 1, INT_EXTINT = 3 };

#define FLOAT_LEN	16
#define HEADER_LEN	44
#define CPU_LEN		20
#define SMALL_LEN	8	/* bus, IOAPIC and interrupt entries */
#define SPEC_REV	4	/* 1.4 */
#define LAPIC_VERSION	0x14
#define IOAPIC_VERSION	0x11
#define CPU_ENABLED	0x01
#define CPU_BSP		0x02
/* I/O interrupt flags: polarity bits 1:0, trigger bits 3:2 */
#define POLARITY_LOW	0x3
#define TRIGGER_LEVEL	(0x3 << 2)

struct writer {
	uint8_t *p;
	size_t len, at;
	unsigned entries;
};

uint8_t mptable_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

static void put(struct writer *w, const void *src, size_t n)
{
	if (w->at + n <= w->len)
		memcpy(w->p + w->at, src, n);
	w->at += n;
}

static void put8(struct writer *w, uint8_t v) { put(w, &v, 1); }

static void put16(struct writer *w, uint16_t v)
{
	put8(w, (uint8_t)v);
	put8(w, (uint8_t)(v >> 8));
}

static void put32(struct writer *w, uint32_t v)
{
	put16(w, (uint16_t)v);
	put16(w, (uint16_t)(v >> 16));
}

static void cpu_entry(struct writer *w, const struct mptable_config *c, unsigned id)
{
	static const uint8_t reserved[8];

	put8(w, ENT_CPU);
	put8(w, (uint8_t)id);
	put8(w, LAPIC_VERSION);
	put8(w, CPU_ENABLED | (id == 0 ? CPU_BSP : 0));
	put32(w, c->cpu_signature);
	put32(w, c->cpu_features);
	put(w, reserved, sizeof(reserved));
	w->entries++;
}

static void bus_entry(struct writer *w, uint8_t id, const char type[6])
{
	put8(w, ENT_BUS);
	put8(w, id);
	put(w, type, 6);
	w->entries++;
}

static void ioapic_entry(struct writer *w, uint8_t id)
{
	put8(w, ENT_IOAPIC);
	put8(w, id);
	put8(w, IOAPIC_VERSION);
	put8(w, 1);			/* enabled */
	put32(w, MPT_IOAPIC_ADDR);
	w->entries++;
}

/* An I/O (IOAPIC) or local (LAPIC) interrupt assignment. */
static void int_entry(struct writer *w, uint8_t kind, uint8_t type, uint16_t flags,
		      uint8_t bus, uint8_t bus_irq, uint8_t dest, uint8_t pin)
{
	put8(w, kind);
	put8(w, type);
	put16(w, flags);
	put8(w, bus);
	put8(w, bus_irq);
	put8(w, dest);
	put8(w, pin);
	w->entries++;
}

static void entries(struct writer *w, const struct mptable_config *c)
{
	uint8_t ioapic_id = (uint8_t)c->ncpus;	/* after the LAPIC ids */

	for (unsigned i = 0; i < c->ncpus; i++)
		cpu_entry(w, c, i);
	bus_entry(w, MPT_ISA_BUS, "ISA   ");
	bus_entry(w, MPT_PCI_BUS, "PCI   ");
	ioapic_entry(w, ioapic_id);
	/* ISA IRQ n on IOAPIC input n (KVM's default routing), edge, high;
	 * IRQ 2 is the PICs' cascade. */
	for (uint8_t irq = 0; irq < 16; irq++)
		if (irq != 2)
			int_entry(w, ENT_IOINT, INT_INT, 0, MPT_ISA_BUS, irq,
				  ioapic_id, irq);
	/* A PCI function's pin: source IRQ is (device << 2) | (pin - 1). */
	if (c->pci_slot >= 0)
		int_entry(w, ENT_IOINT, INT_INT, POLARITY_LOW | TRIGGER_LEVEL,
			  MPT_PCI_BUS, (uint8_t)(c->pci_slot << 2 | (c->pci_pin - 1)),
			  ioapic_id, (uint8_t)c->pci_gsi);
	/* Every LAPIC: LINT0 takes the PIC (ExtINT), LINT1 takes NMI. */
	int_entry(w, ENT_LINT, INT_EXTINT, 0, MPT_ISA_BUS, 0, 0xff, 0);
	int_entry(w, ENT_LINT, INT_NMI, 0, MPT_ISA_BUS, 0, 0xff, 1);
}

static void header(struct writer *w, uint16_t length, uint16_t count)
{
	put(w, "PCMP", 4);
	put16(w, length);
	put8(w, SPEC_REV);
	put8(w, 0);			/* checksum, filled in after */
	put(w, "IOFD    ", 8);	/* OEM id */
	put(w, "IOFD-VM     ", 12);	/* product id */
	put32(w, 0);			/* no OEM table */
	put16(w, 0);
	put16(w, count);
	put32(w, MPT_LAPIC_ADDR);
	put16(w, 0);			/* no extended entries */
	put8(w, 0);
	put8(w, 0);			/* reserved */
}

static void floating_pointer(struct writer *w, uint32_t table_gpa)
{
	static const uint8_t features[5];	/* 0: a table follows; no IMCR */

	put(w, "_MP_", 4);
	put32(w, table_gpa);
	put8(w, 1);			/* length in 16-byte units */
	put8(w, SPEC_REV);
	put8(w, 0);			/* checksum, filled in after */
	put(w, features, sizeof(features));
}

static int valid(const struct mptable_config *c, uint32_t gpa)
{
	if (!c || c->ncpus < 1 || c->ncpus > MPT_MAX_CPUS || (gpa & 15) ||
	    gpa >= 0x100000)
		return 0;
	if (c->pci_slot >= 0 && (c->pci_slot > 31 || c->pci_pin < 1 ||
				 c->pci_pin > 4 || c->pci_gsi > 23))
		return 0;
	return 1;
}

long mptable_build(void *buf, size_t len, uint32_t gpa,
		   const struct mptable_config *cfg)
{
	struct writer w = { .p = buf, .len = len, .at = FLOAT_LEN + HEADER_LEN };
	size_t table_len;

	if (!buf || !valid(cfg, gpa))
		return -EINVAL;
	entries(&w, cfg);
	if (w.at > len)
		return -ENOSPC;
	table_len = w.at - FLOAT_LEN;
	w.at = 0;
	floating_pointer(&w, gpa + FLOAT_LEN);
	header(&w, (uint16_t)table_len, (uint16_t)w.entries);
	w.p[10] = (uint8_t)-mptable_checksum(w.p, FLOAT_LEN);
	w.p[FLOAT_LEN + 7] = (uint8_t)-mptable_checksum(w.p + FLOAT_LEN, table_len);
	return (long)(FLOAT_LEN + table_len);
}
