/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe PCI function of iofd-vm's Linux mode, at 00:01.0. The VMM owns
 * its config space and its MSI-X table; the controller itself is a
 * separate device process that serves BAR0 through iofd:
 *
 *   BAR0 (64-bit memory, 16 KiB, fixed): registers [0, 0x1000) as an
 *	ioregion, then the doorbells (DSTRD 0): SQ y tail at 0x1000 + 8y and
 *	CQ y head at 0x1000 + 8y + 4, y = 0 (admin) .. Q, each a post-write
 *	ioeventfd into the device's shadow memfd;
 *   BAR4 (32-bit memory, 4 KiB, fixed): the MSI-X table at 0 and the PBA at
 *	0x800, Q + 1 vectors, emulated here.
 *
 * Interrupts: the VMM makes one eventfd per vector and sends them to the
 * device after the handoff (struct nvme_irq_msg). Each unmasked vector is
 * an irqfd on its own GSI, routed as an MSI to the address and data the
 * guest wrote in the table; a masked vector has no irqfd (its PBA bit
 * shows an interrupt the device signalled meanwhile), and binding it again
 * on unmask delivers that pending interrupt.
 *
 * Or, INTx (nvme_pci_init's @intx): no MSI-X capability and no BAR4; the
 * Interrupt Pin is INTA, the Interrupt Line the IOAPIC input the MP table
 * routes INTA to (16). One irqfd with KVM_IRQFD_FLAG_RESAMPLE on that GSI:
 * a write to its trigger eventfd raises the level-triggered line, and at
 * the guest's EOI the in-kernel IOAPIC lowers it and signals the resample
 * eventfd. The device gets both (magic 'NVIX', trigger then resample) and
 * raises the line again after an EOI while completions are pending.
 *
 * Shadow doorbells (the device's Doorbell Buffer Config, --dbbuf): the
 * driver writes each new value to the shadow buffer in guest RAM and
 * rings the MMIO doorbell only when the device's EventIdx asks for it.
 * Those MMIO doorbells then carry nothing the device needs, and where iofd
 * serves post-write in userspace they are cheaper as plain ioeventfds:
 * the device asks, and nvme_doorbells.h switches them.
 */
#ifndef IOFD_VM_NVME_PCI_H
#define IOFD_VM_NVME_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <iofd/iofd.h>

#include "nvme_irq.h"	/* the packet after the handoff (examples/nvme) */
#include "pci.h"

struct vmm;

#define NVME_PCI_SLOT		1
#define NVME_PCI_BAR0		0xfe000000ull
#define NVME_PCI_BAR0_SIZE	0x4000ull
#define NVME_PCI_REGS_SIZE	0x1000ull
#define NVME_PCI_BAR4		0xfe010000ull
#define NVME_PCI_BAR4_SIZE	0x1000ull
#define NVME_PCI_PBA_OFFSET	0x800
#define NVME_PCI_SQ_DB(y)	(NVME_PCI_BAR0 + 0x1000 + 8ull * (y))
#define NVME_PCI_CQ_DB(y)	(NVME_PCI_SQ_DB(y) + 4)
#define NVME_PCI_MAX_QUEUES	31	/* I/O pairs: 2 (Q+1) doorbells fit a handoff */
#define NVME_PCI_MAX_VECTORS	(NVME_PCI_MAX_QUEUES + 1)
#define NVME_PCI_GSI_BASE	24	/* after the irqchip's 0-23 */
#define NVME_PCI_INTX_GSI	16	/* INTA's IOAPIC input (MP table) */


struct nvme_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;	/* ctrl bit 0: masked */
};

struct nvme_pci {
	struct pci_function fn;
	pthread_mutex_t lock;		/* the MSI-X state below */
	int vm_fd;			/* for KVM_SET_GSI_ROUTING */
	struct iofd_vm *iofd;		/* for iofd_irqfd() */
	unsigned queues, nr_vectors;	/* INTx: nr_vectors 1, efd[0] the trigger */
	bool intx;
	int resample_fd;		/* INTx: signalled at the guest's EOI */
	struct nvme_msix_entry table[NVME_PCI_MAX_VECTORS];
	int efd[NVME_PCI_MAX_VECTORS];
	bool bound[NVME_PCI_MAX_VECTORS];
	uint64_t routing_updates;
	int error;			/* first failure of a routing/irqfd call */
};

/**
 * nvme_pci_init() - the function for @queues I/O queue pairs (1..
 * NVME_PCI_MAX_QUEUES), with Q + 1 vector eventfds; with @intx, INTA
 * instead: the trigger and resample eventfds, bound at once as a
 * resample irqfd on NVME_PCI_INTX_GSI.
 * Errors: -EINVAL, an errno of eventfd() or of iofd_irqfd().
 */
int nvme_pci_init(struct nvme_pci *n, unsigned queues, int vm_fd,
		  struct iofd_vm *iofd, bool intx);

/**
 * nvme_pci_layout() - declare BAR0's ioregion and the 2 (Q + 1) doorbells
 * for the device @m added last (see vmm_add_region/vmm_add_doorbell).
 * Returns 0 or -1 (message printed).
 */
int nvme_pci_layout(struct nvme_pci *n, struct vmm *m);

/**
 * nvme_pci_send_vectors() - send struct nvme_irq_msg with @flags
 * (NVME_IRQ_F_*) and the vector eventfds over the device's handoff socket
 * @sock (INTx: 'NVIX', the trigger and resample eventfds). 0 or -errno.
 */
int nvme_pci_send_vectors(struct nvme_pci *n, int sock, uint32_t flags);

/**
 * nvme_pci_mmio() - a guest access to BAR4 (the MSI-X table and PBA).
 * Returns false when @addr is not in BAR4.
 */
bool nvme_pci_mmio(struct nvme_pci *n, uint64_t addr, bool is_write,
		   uint8_t *data, unsigned len);

/** nvme_pci_destroy() - unbind the irqfds and close the eventfds. */
void nvme_pci_destroy(struct nvme_pci *n);

#endif /* IOFD_VM_NVME_PCI_H */
