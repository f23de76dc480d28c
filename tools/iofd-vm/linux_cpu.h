/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vCPU set-up for a Linux guest: the CPUID each vCPU sees, the BSP's
 * registers at the kernel's 64-bit entry, the LAPIC's LINT pins.
 */
#ifndef IOFD_VM_LINUX_CPU_H
#define IOFD_VM_LINUX_CPU_H

#include <linux/kvm.h>

#include "linux_boot.h"

/**
 * linux_cpu_supported() - KVM_GET_SUPPORTED_CPUID on /dev/kvm @kvm_fd,
 * plus the hypervisor bit and (where KVM has it) the TSC deadline timer.
 * @out: receives a malloc'ed table (the caller frees it).
 * Returns 0 or -errno.
 */
int linux_cpu_supported(int kvm_fd, struct kvm_cpuid2 **out);

/**
 * linux_cpu_set_cpuid() - KVM_SET_CPUID2 for vCPU @index of @ncpus: the
 * supported table, filtered (see linux_cpu.c), with this vCPU's APIC id
 * and a topology of @ncpus cores in one package. 0 or -errno.
 */
int linux_cpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
			unsigned index, unsigned ncpus);

/** linux_cpu_signature() - CPUID.1 EAX and EDX of @supported (MP table). */
void linux_cpu_signature(const struct kvm_cpuid2 *supported, uint32_t *eax,
			 uint32_t *edx);

/** linux_cpu_set_lapic() - LINT0 ExtINT, LINT1 NMI (as firmware leaves
 * them). 0 or -errno. */
int linux_cpu_set_lapic(int vcpu_fd);

/** linux_cpu_set_entry() - long mode, flat boot segments, rip/rsi/rsp
 * from @e, interrupts off; the x87/SSE control words at their defaults.
 * 0 or -errno. */
int linux_cpu_set_entry(int vcpu_fd, const struct linux_entry *e);

#endif /* IOFD_VM_LINUX_CPU_H */
