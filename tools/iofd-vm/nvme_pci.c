/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe function's config space, MSI-X table, PBA and interrupt routing.
 * MSI-X layout and bits from the PCI Local Bus Specification 3.0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "nvme_pci.h"
#include "vmm.h"

/*
 * Vendor and device id: a pair no real product uses, on purpose. The
 * Linux nvme driver binds by class (01:08:02), and its table of per-model
 * quirks is keyed by ids: made-up ids match none of those entries, so the
 * driver treats this controller as a plain NVMe 1.4 device.
 */
#define NVME_VENDOR		0xf10d
#define NVME_DEVICE		0x0e01
#define NVME_CLASS		0x010802	/* mass storage, NVM, NVMe I/O */

#define MSIX_CAP		PCI_CAP_START
#define MSIX_CAP_ID		0x11
#define MSIX_CTRL		(MSIX_CAP + 2)
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_BIR_BAR4		4
#define MSIX_ENTRY_MASKED	0x1

/* ---- routing ----------------------------------------------------------------- */

static bool vector_active(const struct nvme_pci *n, unsigned v)
{
	uint16_t ctrl = (uint16_t)pci_get(n->fn.config, MSIX_CTRL, 2);

	return (ctrl & MSIX_CTRL_ENABLE) && !(ctrl & MSIX_CTRL_MASKALL) &&
	       !(n->table[v].ctrl & MSIX_ENTRY_MASKED);
}

/* The irqchip's default entries, as KVM sets them up: GSI g on IOAPIC
 * input g, and for g < 16 on the PICs too. */
static unsigned default_routes(struct kvm_irq_routing_entry *e)
{
	unsigned k = 0;

	for (uint32_t g = 0; g < 24; g++) {
		e[k++] = (struct kvm_irq_routing_entry){ .gsi = g,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = g } };
		if (g < 16)
			e[k++] = (struct kvm_irq_routing_entry){ .gsi = g,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = g < 8 ? KVM_IRQCHIP_PIC_MASTER
								: KVM_IRQCHIP_PIC_SLAVE,
					       .pin = g & 7 } };
	}
	return k;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: defaults + active vectors. */
static int set_routing(struct nvme_pci *n, const bool *want)
{
	size_t max = 40 + NVME_PCI_MAX_VECTORS;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	unsigned k;
	int err = 0;

	if (!r)
		return -ENOMEM;
	k = default_routes(r->entries);
	for (unsigned v = 0; v < n->nr_vectors; v++) {
		if (!want[v])
			continue;
		r->entries[k++] = (struct kvm_irq_routing_entry){
			.gsi = NVME_PCI_GSI_BASE + v, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = n->table[v].addr_lo,
				   .address_hi = n->table[v].addr_hi,
				   .data = n->table[v].data } };
	}
	r->nr = k;
	if (ioctl(n->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		err = -errno;
	n->routing_updates++;
	free(r);
	return err;
}

static int bind_vector(struct nvme_pci *n, unsigned v, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)n->efd[v],
				   .gsi = NVME_PCI_GSI_BASE + v,
				   .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	int err = iofd_irqfd(n->iofd, &irqfd);

	if (!err)
		n->bound[v] = assign;
	return err;
}

static void note_error(struct nvme_pci *n, int err, const char *what)
{
	if (!err || n->error)
		return;
	n->error = err;
	fprintf(stderr, "iofd-vm: nvme MSI-X: %s: %s\n", what, strerror(-err));
}

/* Make routes and irqfds follow the table: unbind what is no longer
 * active, route every active vector, bind what became active (KVM
 * injects at once if the eventfd was signalled meanwhile). */
static void sync_vectors(struct nvme_pci *n)
{
	bool want[NVME_PCI_MAX_VECTORS];

	for (unsigned v = 0; v < n->nr_vectors; v++) {
		want[v] = vector_active(n, v);
		if (!want[v] && n->bound[v])
			note_error(n, bind_vector(n, v, false), "irqfd deassign");
	}
	note_error(n, set_routing(n, want), "KVM_SET_GSI_ROUTING");
	for (unsigned v = 0; v < n->nr_vectors; v++)
		if (want[v] && !n->bound[v])
			note_error(n, bind_vector(n, v, true), "irqfd assign");
}

/* ---- config space ------------------------------------------------------------- */

static void cap_write(struct pci_function *f, unsigned off, unsigned len)
{
	struct nvme_pci *n = f->opaque;

	if (off < MSIX_CTRL + 2 && off + len > MSIX_CTRL) {
		pthread_mutex_lock(&n->lock);
		sync_vectors(n);
		pthread_mutex_unlock(&n->lock);
	}
}

static const struct pci_function_ops nvme_ops = { .cap_write = cap_write };

static void init_config(struct nvme_pci *n)
{
	struct pci_function *f = &n->fn;

	pci_function_init(f, "nvme 00:01.0", NVME_VENDOR, NVME_DEVICE, NVME_CLASS);
	f->ops = &nvme_ops;
	f->opaque = n;
	pci_set(f->config, PCI_SUBSYS_VENDOR, 2, NVME_VENDOR);
	pci_set(f->config, PCI_SUBSYS_ID, 2, NVME_DEVICE);
	f->config[PCI_INTERRUPT_PIN] = 1;		/* INTA */
	pci_function_set_bar(f, 0, NVME_PCI_BAR0, NVME_PCI_BAR0_SIZE, true);
	if (n->intx) {		/* no capabilities: the driver uses INTA */
		f->config[PCI_INTERRUPT_LINE] = NVME_PCI_INTX_GSI;
		return;
	}
	pci_set(f->config, PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	f->config[PCI_CAP_PTR] = MSIX_CAP;
	f->config[MSIX_CAP] = MSIX_CAP_ID;
	f->config[MSIX_CAP + 1] = 0;			/* last capability */
	pci_set(f->config, MSIX_CTRL, 2, n->nr_vectors - 1);
	pci_set(f->config, MSIX_CAP + 4, 4, 0 | MSIX_BIR_BAR4);
	pci_set(f->config, MSIX_CAP + 8, 4, NVME_PCI_PBA_OFFSET | MSIX_BIR_BAR4);
	f->wmask[MSIX_CTRL + 1] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	pci_function_set_bar(f, 4, NVME_PCI_BAR4, NVME_PCI_BAR4_SIZE, false);
}

/* INTA: one level-triggered irqfd, trigger efd[0], EOIs to resample_fd. */
static int bind_intx(struct nvme_pci *n, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)n->efd[0], .gsi = NVME_PCI_INTX_GSI,
		.flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
		.resamplefd = assign ? (uint32_t)n->resample_fd : 0,
	};
	int err = iofd_irqfd(n->iofd, &irqfd);

	if (!err)
		n->bound[0] = assign;
	return err;
}

int nvme_pci_init(struct nvme_pci *n, unsigned queues, int vm_fd,
		  struct iofd_vm *iofd, bool intx)
{
	memset(n, 0, sizeof(*n));
	for (unsigned v = 0; v < NVME_PCI_MAX_VECTORS; v++)
		n->efd[v] = -1;
	n->resample_fd = -1;
	if (queues < 1 || queues > NVME_PCI_MAX_QUEUES)
		return -EINVAL;
	pthread_mutex_init(&n->lock, NULL);
	n->vm_fd = vm_fd;
	n->iofd = iofd;
	n->queues = queues;
	n->intx = intx;
	n->nr_vectors = intx ? 1 : queues + 1;
	for (unsigned v = 0; v < n->nr_vectors; v++) {
		n->table[v].ctrl = MSIX_ENTRY_MASKED;	/* masked at reset */
		n->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->efd[v] < 0)
			return -errno;
	}
	init_config(n);
	if (!intx)
		return 0;
	n->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->resample_fd < 0)
		return -errno;
	return bind_intx(n, true);
}

int nvme_pci_layout(struct nvme_pci *n, struct vmm *m)
{
	if (vmm_add_region(m, NVME_PCI_BAR0, NVME_PCI_REGS_SIZE, 0))
		return -1;
	for (unsigned y = 0; y <= n->queues; y++)
		if (vmm_add_doorbell(m, NVME_PCI_SQ_DB(y), 4, false) ||
		    vmm_add_doorbell(m, NVME_PCI_CQ_DB(y), 4, false))
			return -1;
	return 0;
}

int nvme_pci_send_vectors(struct nvme_pci *n, int sock, uint32_t flags)
{
	int intx_fds[2] = { n->efd[0], n->resample_fd };
	uint32_t nr = n->intx ? 2 : n->nr_vectors;
	struct nvme_irq_msg msg = { n->intx ? NVME_IRQ_MAGIC_INTX : NVME_IRQ_MAGIC, nr,
				    flags };
	char cbuf[CMSG_SPACE(sizeof(int) * NVME_PCI_MAX_VECTORS)] = { 0 };
	struct iovec iov = { &msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * nr) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
	memcpy(CMSG_DATA(c), n->intx ? intx_fds : n->efd, sizeof(int) * nr);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		return -errno;
	return 0;
}

/* ---- BAR4: table and PBA ------------------------------------------------------- */

static bool eventfd_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static uint32_t pba_read(struct nvme_pci *n, unsigned dword)
{
	uint32_t bits = 0;

	for (unsigned b = 0; b < 32; b++) {
		unsigned v = dword * 32 + b;

		if (v < n->nr_vectors && !n->bound[v] && eventfd_pending(n->efd[v]))
			bits |= 1u << b;
	}
	return bits;
}

static uint32_t *entry_word(struct nvme_pci *n, unsigned off)
{
	unsigned v = off / 16;

	if (v >= n->nr_vectors)
		return NULL;
	return (uint32_t *)&n->table[v] + (off % 16) / 4;
}

static void table_write(struct nvme_pci *n, unsigned off, uint32_t val)
{
	uint32_t *w = entry_word(n, off);
	unsigned v = off / 16;
	bool is_ctrl = off % 16 == 12;

	if (!w)
		return;
	*w = is_ctrl ? (val & MSIX_ENTRY_MASKED) : val;
	/* A mask change, or a new message for a vector that is live. */
	if (is_ctrl || n->bound[v])
		sync_vectors(n);
}

static void dword_access(struct nvme_pci *n, unsigned off, bool is_write,
			 uint32_t *val)
{
	uint32_t *w;

	if (off < NVME_PCI_PBA_OFFSET) {
		if (is_write) {
			table_write(n, off, *val);
		} else {
			w = entry_word(n, off);
			*val = w ? *w : 0;
		}
	} else if (!is_write) {
		*val = pba_read(n, (off - NVME_PCI_PBA_OFFSET) / 4);
	}
}

bool nvme_pci_mmio(struct nvme_pci *n, uint64_t addr, bool is_write,
		   uint8_t *data, unsigned len)
{
	unsigned off;

	if (n->intx || addr < NVME_PCI_BAR4 || addr - NVME_PCI_BAR4 >= NVME_PCI_BAR4_SIZE)
		return false;
	off = (unsigned)(addr - NVME_PCI_BAR4);
	pthread_mutex_lock(&n->lock);
	if ((len == 4 || len == 8) && !(off % 4)) {
		for (unsigned i = 0; i < len / 4; i++) {
			uint32_t v = pci_get(data, 4 * i, 4);

			dword_access(n, off + 4 * i, is_write, &v);
			if (!is_write)
				pci_set(data, 4 * i, 4, v);
		}
	} else if (!is_write) {
		memset(data, 0, len);	/* the spec allows dword/qword only */
	}
	pthread_mutex_unlock(&n->lock);
	return true;
}

void nvme_pci_destroy(struct nvme_pci *n)
{
	if (n->intx && n->bound[0])
		bind_intx(n, false);
	if (n->resample_fd >= 0)
		close(n->resample_fd);
	n->resample_fd = -1;
	for (unsigned v = 0; v < n->nr_vectors; v++) {
		if (n->bound[v])
			bind_vector(n, v, false);
		if (n->efd[v] >= 0)
			close(n->efd[v]);
		n->efd[v] = -1;
	}
	if (n->nr_vectors)
		pthread_mutex_destroy(&n->lock);
}
