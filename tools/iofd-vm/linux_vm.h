/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-vm's Linux mode: a VM with an in-kernel irqchip and PIT, N vCPU
 * threads (each an iofd vCPU), the legacy devices a PC kernel expects, a
 * PCI bus with the NVMe function whose controller runs as a device
 * process, and the run's bookkeeping (exits by reason, debug marks, KVM's
 * own counters, timeout, console verdict).
 */
#ifndef IOFD_VM_LINUX_VM_H
#define IOFD_VM_LINUX_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iofd/iofd.h>

#include "device_watch.h"
#include "kvm_stats.h"
#include "legacy.h"
#include "linux_boot.h"
#include "nvme_doorbells.h"
#include "nvme_pci.h"
#include "pci.h"
#include "serial.h"
#include "vmm.h"

#define LVM_MAX_CPUS		NVME_PCI_MAX_QUEUES
#define LVM_NR_REASONS		64	/* KVM exit reasons counted by number */
#define LVM_EXIT_AGAIN		(LVM_NR_REASONS - 1) /* KVM_RUN -EAGAIN */
#define LVM_EXIT_IOREGION_FAIL	(LVM_NR_REASONS - 2) /* the kernel's failure exit */
#define LVM_MARK_PORT		0x4f0

/* Exit statuses of the Linux mode. */
#define LVM_EXIT_OK		0
#define LVM_EXIT_FAIL		1
#define LVM_EXIT_USAGE		2
#define LVM_EXIT_SKIP		77

struct linux_options {
	const char *kernel, *initrd, *append, *nvme;
	unsigned mem_mib, smp, timeout_s;
	uint32_t ioregion_timeout_ms;
	bool ioregion_timeout_set;
	bool nvme_intx;			/* INTA with EOI resample, no MSI-X */
	enum dw_action fault;		/* --device-fault */
	double fault_at;
};

enum lvm_state { LVM_RUNNING = 0, LVM_RESET, LVM_FAILED };

/* Who served a port I/O exit, for the report at the end. */
enum lvm_port_user { LVM_PORT_SERIAL, LVM_PORT_PCI, LVM_PORT_MARK, LVM_PORT_LEGACY,
		     LVM_NR_PORT_USERS };

struct linux_vm;

struct lvm_cpu {
	struct linux_vm *vm;
	unsigned index;
	struct iofd_vcpu *vcpu;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct kvm_stats stats;
	/* Written by this vCPU's thread only, read by anyone (relaxed). */
	uint64_t exits[LVM_NR_REASONS];
	uint64_t user_exits;
	uint64_t unknown_mmio;
	uint64_t port_exits[LVM_NR_PORT_USERS];
};

struct linux_vm {
	const struct linux_options *o;
	int kvm_fd, vm_fd, ram_fd;
	uint8_t *ram;
	uint64_t ram_size;
	struct iofd_vm *iofd;
	struct lvm_cpu cpu[LVM_MAX_CPUS];
	unsigned ncpus;
	struct serial serial;
	struct legacy legacy;
	struct pci_bus pci;
	struct nvme_pci nvme;
	struct nvme_doorbells doorbells;	/* its I/O queue doorbells */
	bool have_nvme;
	struct vmm devs;		/* the device process, through the handoff */
	struct device_watch watch;	/* its faults and failed accesses */
	double start;			/* CLOCK_MONOTONIC seconds */
	pthread_mutex_t print_lock;	/* one line at a time on stdout/stderr */
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	int state;			/* enum lvm_state, first change wins */
	bool stopping;			/* vCPU threads must return */
	bool console_failed;		/* give the console a moment, then stop */
	double failed_at;
	char why[256];			/* how the run ended */
};

/* linux_vm.c */
/**
 * linux_vm_run() - build the VM for @o with the parsed kernel @bz and the
 * initrd, run it to its end and tear everything down. Returns an
 * LVM_EXIT_* status (messages on stderr).
 */
int linux_vm_run(const struct linux_options *o, const struct bzimage *bz,
		 const void *initrd, size_t initrd_size);

/** lvm_end() - record how the run ends (the first call wins) and wake
 * the main thread. @state is LVM_RESET or LVM_FAILED. */
void lvm_end(struct linux_vm *vm, enum lvm_state state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** lvm_console_fail() - as lvm_end(LVM_FAILED), but the main thread lets
 * the console run a moment longer (the rest of an oops) before stopping. */
void lvm_console_fail(struct linux_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** lvm_now() - seconds since the run started. */
double lvm_now(const struct linux_vm *vm);

/* linux_exit.c */
/** lvm_vcpu_thread() - a vCPU's loop: KVM_RUN, iofd, the VMM's devices. */
void *lvm_vcpu_thread(void *arg);

/** lvm_kick_handler() - SIGUSR1 handler: the calling vCPU thread's
 * KVM_RUN returns at once (immediate_exit). */
void lvm_kick_handler(int sig);

/** lvm_print_mark() - the mark line for @label ("5", "end") on stderr. */
void lvm_print_mark(struct linux_vm *vm, const char *label);

/** lvm_report_ports() - one stderr line: port I/O exits by device. */
void lvm_report_ports(struct linux_vm *vm);

/** lvm_console_line() - serial line_out: print to stdout, judge. */
void lvm_console_line(void *opaque, const char *line);

/** lvm_serial_irq() - serial set_irq: KVM_IRQ_LINE on IRQ 4. */
void lvm_serial_irq(void *opaque, int level);

/* linux_main.c */
/** linux_main() - iofd-vm --linux ...: parse, load, run; exit status. */
int linux_main(int argc, char **argv);

#endif /* IOFD_VM_LINUX_VM_H */
