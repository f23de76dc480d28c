/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Intel MultiProcessor Specification 1.4 tables that tell Linux about
 * the vCPUs, the IOAPIC and how interrupts are wired.
 *
 * Why an MP table and not ACPI: a few hundred bytes of fixed-format
 * entries describe everything this machine has (CPUs, one IOAPIC, the ISA
 * and PCI buses, their interrupt lines). A PCI device with MSI-X needs
 * nothing more, and Linux still reads MP tables when it finds no ACPI
 * RSDP. ACPI would need an RSDP, an RSDT/XSDT, a MADT and, for PCI, a
 * DSDT with AML: much more code for nothing this guest uses.
 */
#ifndef IOFD_VM_MPTABLE_H
#define IOFD_VM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPT_LAPIC_ADDR		0xfee00000u
#define MPT_IOAPIC_ADDR		0xfec00000u
#define MPT_ISA_BUS		1
#define MPT_PCI_BUS		0	/* the MP bus id of PCI is its bus number */
#define MPT_MAX_CPUS		64

struct mptable_config {
	unsigned ncpus;		/* 1..MPT_MAX_CPUS; APIC ids 0..ncpus-1, 0 is the BSP */
	uint32_t cpu_signature;	/* CPUID.1 EAX */
	uint32_t cpu_features;	/* CPUID.1 EDX */
	int pci_slot;		/* device number of a PCI function with INTx, or -1 */
	unsigned pci_pin;	/* its pin: 1 = INTA .. 4 = INTD */
	unsigned pci_gsi;	/* the IOAPIC input its pin is wired to */
};

/**
 * mptable_build() - write the MP floating pointer and configuration table.
 * @buf, @len: where, in host memory; @gpa: the guest address of @buf
 *	(16-byte aligned, below 1 MiB, in a range Linux scans: the EBDA's
 *	first KiB, the last KiB of base memory or 0xf0000-0xfffff).
 *
 * Returns the number of bytes written, -EINVAL for a bad @cfg or @gpa,
 * -ENOSPC when @len is too small.
 */
long mptable_build(void *buf, size_t len, uint32_t gpa,
		   const struct mptable_config *cfg);

/** mptable_checksum() - the byte sum of @len bytes (0 for a valid table). */
uint8_t mptable_checksum(const void *p, size_t len);

#endif /* IOFD_VM_MPTABLE_H */
