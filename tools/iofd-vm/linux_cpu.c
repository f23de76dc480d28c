/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPUID, registers and LAPIC of a Linux guest's vCPUs.
 *
 * CPUID is what KVM supports (KVM_GET_SUPPORTED_CPUID: nothing KVM cannot
 * back), filtered conservatively:
 *   - no XSAVE (and so nothing that needs it: AVX and the rest of VEX and
 *     EVEX, AMX, leaf 0xd). The emulated host's XSAVE is inconsistent: its
 *     CPUID announces a larger XSAVE area than the features it enables, and
 *     a guest given its whole CPUID ("-cpu host") stops with "XSAVE
 *     consistency problem" and hangs in FPU set-up. FXSAVE is enough here;
 *   - each vCPU's own APIC id (leaf 1, leaves 0xb/0x1f), and a topology
 *     that agrees with the number of vCPUs everywhere it is described:
 *     N cores of one thread in one package (leaves 1, 4, 0xb, 0x1f,
 *     0x80000008); AMD's TOPOEXT is cleared, so that leaf 0x8000001e
 *     (which would need the same care) is not consulted;
 *   - what KVM leaves to the VMM: the hypervisor bit (so the kernel finds
 *     KVM's leaves and kvmclock), and the TSC deadline timer, which KVM
 *     reports through KVM_CAP_TSC_DEADLINE_TIMER because it needs the
 *     in-kernel LAPIC (this VM has one).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "linux_cpu.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define BIT(n) (1u << (n))
/* leaf 1 */
#define L1_ECX_OFF (BIT(12) /* FMA */ | BIT(26) /* XSAVE */ | BIT(27) /* OSXSAVE */ | \
		    BIT(28) /* AVX */ | BIT(29) /* F16C */)
#define L1_EDX_HTT BIT(28)
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_ECX_HYPERVISOR BIT(31)
/* leaf 7.0 */
#define L7_EBX_OFF (BIT(5) /* AVX2 */ | BIT(16) | BIT(17) | BIT(21) | BIT(26) | \
		    BIT(27) | BIT(28) | BIT(30) | BIT(31) /* AVX-512 */)
#define L7_ECX_OFF (BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14) /* AVX-512 */ | \
		    BIT(9) /* VAES */ | BIT(10) /* VPCLMULQDQ */)
#define L7_EDX_OFF (BIT(2) | BIT(3) | BIT(8) | BIT(23) /* AVX-512 */ | \
		    BIT(22) | BIT(24) | BIT(25) /* AMX */)
/* leaf 0x80000001 */
#define LX1_ECX_OFF (BIT(1) /* CmpLegacy */ | BIT(11) /* XOP */ | BIT(16) /* FMA4 */ | \
		     BIT(22) /* TOPOEXT */)

#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360
#define LVT_MODE_MASK (7u << 8)
#define LVT_MODE_NMI (4u << 8)
#define LVT_MODE_EXTINT (7u << 8)

int linux_cpu_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c = NULL;
	int err = -E2BIG;
	bool deadline;

	for (unsigned n = 64; n <= 4096 && err == -E2BIG; n *= 2) {
		free(c);
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		err = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0 ? -errno : 0;
	}
	if (err) {
		free(c);
		return err;
	}
	deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= L1_ECX_HYPERVISOR |
					     (deadline ? L1_ECX_TSC_DEADLINE : 0);
	*out = c;
	return 0;
}

void linux_cpu_signature(const struct kvm_cpuid2 *supported, uint32_t *eax,
			 uint32_t *edx)
{
	*eax = *edx = 0;
	for (uint32_t i = 0; i < supported->nent; i++)
		if (supported->entries[i].function == 1) {
			*eax = supported->entries[i].eax;
			*edx = supported->entries[i].edx;
		}
}

/* Bits needed to number @n items (0 for one). */
static unsigned order(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Leaves 0xb and 0x1f: level 0 threads (one), level 1 cores (ncpus). */
static void topology_leaf(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	e->edx = id;
	if (e->index == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 1u << 8;		/* SMT level */
	} else if (e->index == 1) {
		e->eax = order(n);
		e->ebx = n;
		e->ecx = 2u << 8 | 1;		/* core level */
	} else {
		e->eax = e->ebx = 0;
		e->ecx = e->index;		/* invalid level: the end */
	}
}

static void filter(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	switch (e->function) {
	case 1:
		e->ecx &= ~L1_ECX_OFF;
		e->ebx = (e->ebx & 0xffff) | n << 16 | id << 24;
		e->edx |= L1_EDX_HTT;
		break;
	case 4:
		if (e->eax & 0x1f) {		/* a cache is described */
			unsigned level = (e->eax >> 5) & 7;
			unsigned sharing = level >= 3 ? n - 1 : 0;

			e->eax = (e->eax & 0x3fff) | sharing << 14 | (n - 1) << 26;
		}
		break;
	case 7:
		if (e->index == 0) {
			e->ebx &= ~L7_EBX_OFF;
			e->ecx &= ~L7_ECX_OFF;
			e->edx &= ~L7_EDX_OFF;
		} else if (e->index == 1) {
			e->eax &= ~(BIT(4) | BIT(5));	/* AVX-VNNI, AVX512_BF16 */
		}
		break;
	case 0xd:
	case 0x8000001e:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000001:
		e->ecx &= ~LX1_ECX_OFF;
		break;
	case 0x80000008:
		e->ecx = (e->ecx & ~0xf0ffu) | order(n) << 12 | (n - 1);
		break;
	default:
		break;
	}
}

/* Leaves 0xb and 0x1f are written whole (subleaves 0-2): KVM lists only
 * the subleaves the host has, and a subleaf it does not list reads as
 * zeros, which would end the topology before the core level. */
static uint32_t add_topology(struct kvm_cpuid2 *c, uint32_t function,
			     unsigned id, unsigned n)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

		*e = (struct kvm_cpuid_entry2){ .function = function, .index = sub,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
		topology_leaf(e, id, n);
	}
	return 3;
}

int linux_cpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
			unsigned index, unsigned ncpus)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (supported->nent + 6) *
					 sizeof(c->entries[0]));
	bool leaf_b = false, leaf_1f = false;
	int err = 0;

	if (!c)
		return -ENOMEM;
	for (uint32_t i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		leaf_b |= e->function == 0xb;
		leaf_1f |= e->function == 0x1f;
		if (e->function == 0xb || e->function == 0x1f)
			continue;
		c->entries[c->nent] = *e;
		filter(&c->entries[c->nent++], index, ncpus);
	}
	if (leaf_b)
		add_topology(c, 0xb, index, ncpus);
	if (leaf_1f)
		add_topology(c, 0x1f, index, ncpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		err = -errno;
	free(c);
	return err;
}

static void set_lvt(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~LVT_MODE_MASK) | mode;
	memcpy(&l->regs[reg], &v, 4);
}

int linux_cpu_set_lapic(int vcpu_fd)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	set_lvt(&l, LAPIC_LVT0, LVT_MODE_EXTINT);
	set_lvt(&l, LAPIC_LVT1, LVT_MODE_NMI);
	return ioctl(vcpu_fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static void flat(struct kvm_segment *s, uint16_t selector, uint8_t type, bool code)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
				   .selector = selector, .type = type,
				   .present = 1, .s = 1, .g = 1,
				   .l = code, .db = !code };
}

int linux_cpu_set_entry(int vcpu_fd, const struct linux_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = e->rip, .rsi = e->rsi, .rsp = e->rsp,
				 .rflags = 0x2 };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = e->cr3;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	sregs.gdt.base = e->gdt_base;
	sregs.gdt.limit = e->gdt_limit;
	flat(&sregs.cs, LB_BOOT_CS, 11, true);		/* execute/read, accessed */
	flat(&sregs.ds, LB_BOOT_DS, 3, false);		/* read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
