/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI bus 0 behind configuration mechanism #1 (address at 0xcf8, data at
 * 0xcfc-0xcff), with a host bridge at 00:00.0 and functions that plug in
 * at a device number. The bus handles what every type-0 header shares:
 * read-only ids, the COMMAND register, BARs at fixed addresses (sizing by
 * an all-ones write answers the size mask; another value is kept only if
 * it is the fixed address: a guest that moves a BAR is logged and
 * refused), the interrupt line, and a capability list whose writes go to
 * the function.
 */
#ifndef IOFD_VM_PCI_H
#define IOFD_VM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_CONFIG_ADDR		0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_MAX_DEVICES		32
#define PCI_NR_BARS		6

/* Config space offsets and bits */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_START		0x40
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_BAR_MEM_64		0x4

struct pci_function;

struct pci_function_ops {
	/* A write inside the capability list [PCI_CAP_START, 256), after the
	 * bus stored it (bits the function did not declare writable are
	 * already restored). Called with the bus lock held. */
	void (*cap_write)(struct pci_function *f, unsigned off, unsigned len);
	/* COMMAND changed (e.g. memory decoding); bus lock held. */
	void (*command_write)(struct pci_function *f, uint16_t old);
};

struct pci_bar {
	uint64_t addr;		/* fixed guest address */
	uint64_t size;		/* power of two; 0: unused */
	bool is64;		/* takes this BAR and the next */
	bool sizing;		/* last write was all ones */
	bool sizing_hi;		/* for the upper half of a 64-bit BAR */
};

struct pci_function {
	uint8_t config[256];
	uint8_t wmask[256];	/* writable bits of the capability area */
	struct pci_bar bar[PCI_NR_BARS];
	const struct pci_function_ops *ops;
	void *opaque;
	const char *name;	/* for log lines */
	unsigned refused;	/* BAR moves the guest tried */
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t address;	/* the 0xcf8 register */
	struct pci_function *dev[PCI_MAX_DEVICES];
	struct pci_function host_bridge;
};

/** pci_bus_init() - an empty bus 0 with its host bridge at 00:00.0. */
void pci_bus_init(struct pci_bus *b);
void pci_bus_destroy(struct pci_bus *b);

/**
 * pci_function_init() - a type-0 header with ids and class.
 * @class_code: class << 16 | subclass << 8 | prog-if.
 */
void pci_function_init(struct pci_function *f, const char *name, uint16_t vendor,
		       uint16_t device, uint32_t class_code);

/**
 * pci_function_set_bar() - BAR @n at fixed @addr, @size bytes (a power of
 * two, at least 16), memory, 64-bit if @is64 (which takes BAR n+1 too).
 * Returns 0 or -EINVAL.
 */
int pci_function_set_bar(struct pci_function *f, unsigned n, uint64_t addr,
			 uint64_t size, bool is64);

/**
 * pci_bus_plug() - put @f at device number @slot (1..31).
 * Returns 0, -EINVAL (bad slot) or -EBUSY (taken).
 */
int pci_bus_plug(struct pci_bus *b, unsigned slot, struct pci_function *f);

/**
 * pci_io() - a port access of @size bytes; returns false if @port is not
 * one of the configuration mechanism's (the caller serves it).
 */
bool pci_io(struct pci_bus *b, uint16_t port, bool is_write, uint8_t *data,
	    unsigned size);

/* Little-endian helpers on a config space. */
static inline uint32_t pci_get(const uint8_t *c, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)c[off + i] << (8 * i);
	return v;
}

static inline void pci_set(uint8_t *c, unsigned off, unsigned len, uint32_t v)
{
	for (unsigned i = 0; i < len; i++)
		c[off + i] = (uint8_t)(v >> (8 * i));
}

#endif /* IOFD_VM_PCI_H */
