/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI configuration mechanism #1 and the common part of type-0 headers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci.h"

#define ADDR_ENABLE		0x80000000u
#define COMMAND_WRITABLE	0x0547	/* IO, MEM, MASTER, PARITY, SERR, INTX_DISABLE */
#define CLASS_HOST_BRIDGE	0x060000
/* Ids of the host bridge: the same vendor as the NVMe function's. */
#define BRIDGE_VENDOR		0xf10d
#define BRIDGE_DEVICE		0x0001

void pci_function_init(struct pci_function *f, const char *name, uint16_t vendor,
		       uint16_t device, uint32_t class_code)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	pci_set(f->config, PCI_VENDOR_ID, 2, vendor);
	pci_set(f->config, PCI_DEVICE_ID, 2, device);
	pci_set(f->config, PCI_REVISION, 4, class_code << 8);
	f->config[PCI_HEADER_TYPE] = 0;
}

int pci_function_set_bar(struct pci_function *f, unsigned n, uint64_t addr,
			 uint64_t size, bool is64)
{
	uint32_t flags = is64 ? PCI_BAR_MEM_64 : 0;

	if (n >= PCI_NR_BARS - (is64 ? 1 : 0) || size < 16 || (size & (size - 1)) ||
	    (addr & (size - 1)) || (!is64 && addr + size > (1ull << 32)))
		return -EINVAL;
	f->bar[n] = (struct pci_bar){ .addr = addr, .size = size, .is64 = is64 };
	pci_set(f->config, PCI_BAR0 + 4 * n, 4, (uint32_t)addr | flags);
	if (is64)
		pci_set(f->config, PCI_BAR0 + 4 * (n + 1), 4, (uint32_t)(addr >> 32));
	return 0;
}

void pci_bus_init(struct pci_bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pci_function_init(&b->host_bridge, "host bridge", BRIDGE_VENDOR,
			  BRIDGE_DEVICE, CLASS_HOST_BRIDGE);
	b->dev[0] = &b->host_bridge;
}

void pci_bus_destroy(struct pci_bus *b)
{
	pthread_mutex_destroy(&b->lock);
}

int pci_bus_plug(struct pci_bus *b, unsigned slot, struct pci_function *f)
{
	if (slot == 0 || slot >= PCI_MAX_DEVICES || !f)
		return -EINVAL;
	if (b->dev[slot])
		return -EBUSY;
	b->dev[slot] = f;
	return 0;
}

/* ---- BARs -------------------------------------------------------------- */

/* The BAR whose dword is at config offset @off, and whether it is the
 * upper half of a 64-bit BAR; NULL for an unused dword. */
static struct pci_bar *bar_at(struct pci_function *f, unsigned off, bool *hi)
{
	unsigned n = (off - PCI_BAR0) / 4;

	*hi = n > 0 && f->bar[n - 1].is64;
	if (*hi)
		return &f->bar[n - 1];
	return f->bar[n].size ? &f->bar[n] : NULL;
}

static uint32_t bar_read(struct pci_function *f, unsigned off)
{
	bool hi;
	struct pci_bar *bar = bar_at(f, off, &hi);
	uint64_t mask;

	if (!bar)
		return 0;
	mask = ~(bar->size - 1);
	if (hi)
		return bar->sizing_hi ? (uint32_t)(mask >> 32) : (uint32_t)(bar->addr >> 32);
	if (bar->sizing)
		return (uint32_t)mask | (bar->is64 ? PCI_BAR_MEM_64 : 0);
	return pci_get(f->config, off, 4);
}

static void bar_write(struct pci_function *f, unsigned off, uint32_t v)
{
	bool hi;
	struct pci_bar *bar = bar_at(f, off, &hi);
	uint32_t fixed;

	if (!bar)
		return;
	fixed = hi ? (uint32_t)(bar->addr >> 32) : (uint32_t)bar->addr;
	if (hi)
		bar->sizing_hi = v == 0xffffffffu;
	else
		bar->sizing = (v & ~0xfu) == 0xfffffff0u;
	if (v == 0xffffffffu || (v & ~(hi ? 0u : 0xfu)) == fixed)
		return;
	f->refused++;
	fprintf(stderr, "iofd-vm: %s: the guest moved BAR%u%s to 0x%x: refused "
		"(BARs are fixed)\n", f->name, (off - PCI_BAR0) / 4,
		hi ? " (upper half)" : "", v);
}

/* ---- config space -------------------------------------------------------- */

static uint32_t config_read(struct pci_function *f, unsigned off, unsigned len)
{
	unsigned base = off & ~3u;
	uint32_t dword;

	if (base >= PCI_BAR0 && base < PCI_BAR0 + 4 * PCI_NR_BARS)
		dword = bar_read(f, base);
	else
		dword = pci_get(f->config, base, 4);
	dword >>= 8 * (off - base);
	return len == 4 ? dword : dword & ((1u << (8 * len)) - 1);
}

static void cap_write(struct pci_function *f, unsigned off, unsigned len,
		      uint32_t v)
{
	for (unsigned i = 0; i < len; i++) {
		uint8_t m = f->wmask[off + i], b = (uint8_t)(v >> (8 * i));

		f->config[off + i] = (uint8_t)((f->config[off + i] & ~m) | (b & m));
	}
	if (f->ops && f->ops->cap_write)
		f->ops->cap_write(f, off, len);
}

static void command_write(struct pci_function *f, uint16_t v)
{
	uint16_t old = (uint16_t)pci_get(f->config, PCI_COMMAND, 2);

	pci_set(f->config, PCI_COMMAND, 2,
		(old & ~COMMAND_WRITABLE) | (v & COMMAND_WRITABLE));
	if (f->ops && f->ops->command_write)
		f->ops->command_write(f, old);
}

static void config_write(struct pci_function *f, unsigned off, unsigned len,
			 uint32_t v)
{
	if (off >= PCI_CAP_START) {
		cap_write(f, off, len, v);
	} else if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NR_BARS) {
		if (len == 4)
			bar_write(f, off, v);
	} else if (off == PCI_COMMAND) {
		command_write(f, (uint16_t)v);	/* STATUS (a dword's top) is RO */
	} else if (off == PCI_INTERRUPT_LINE || off == 0x0c || off == 0x0d) {
		f->config[off] = (uint8_t)v;	/* line, cache line, latency */
	}
}

/* The function the address register selects, or NULL. */
static struct pci_function *selected(struct pci_bus *b, unsigned *reg)
{
	uint32_t a = b->address;
	unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f, fn = (a >> 8) & 7;

	*reg = a & 0xfc;
	if (!(a & ADDR_ENABLE) || bus != 0 || fn != 0)
		return NULL;
	return b->dev[dev];
}

static void data_access(struct pci_bus *b, unsigned byte, bool is_write,
			uint8_t *data, unsigned size)
{
	unsigned reg;
	struct pci_function *f = selected(b, &reg);
	unsigned off = reg + byte;

	if (byte + size > 4) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (!f) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (is_write)
		config_write(f, off, size, pci_get(data, 0, size));
	else
		pci_set(data, 0, size, config_read(f, off, size));
}

bool pci_io(struct pci_bus *b, uint16_t port, bool is_write, uint8_t *data,
	    unsigned size)
{
	if (port < PCI_CONFIG_ADDR || port >= PCI_CONFIG_DATA + 4)
		return false;
	pthread_mutex_lock(&b->lock);
	if (port == PCI_CONFIG_ADDR && size == 4) {
		if (is_write)
			b->address = pci_get(data, 0, 4);
		else
			pci_set(data, 0, 4, b->address);
	} else if (port >= PCI_CONFIG_DATA) {
		data_access(b, port - PCI_CONFIG_DATA, is_write, data, size);
	} else if (!is_write) {
		memset(data, 0xff, size);	/* 0xcf9-0xcfb: nothing here */
	}
	pthread_mutex_unlock(&b->lock);
	return true;
}
