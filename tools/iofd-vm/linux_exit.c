/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vCPU threads of the Linux mode: KVM_RUN, iofd first (the NVMe
 * registers and doorbells), then the VMM's own devices by port or
 * address; every return from KVM_RUN counted by exit reason.
 *
 * Stopping: the main thread sets vm->stopping, then sends SIGUSR1 to each
 * vCPU thread; the handler sets the thread's kvm_run->immediate_exit, so
 * KVM_RUN returns -EINTR at once whether the thread was inside it (an AP
 * still waiting for its SIPI, a halted CPU) or about to enter it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <iofd/kvm-unmerged.h>

#include "linux_vm.h"

static __thread struct kvm_run *volatile thread_run;

static const char *const reason_names[LVM_NR_REASONS] = {
	[KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io", [KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr", [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[LVM_EXIT_AGAIN] = "again",
	[LVM_EXIT_IOREGION_FAIL] = "ioregionfd_failure",
};

static const char *const bad_console[] = {
	"BUG:", "Oops", "Kernel panic", "blocked for more than", "soft lockup",
	"general protection fault",
};

void lvm_kick_handler(int sig)
{
	(void)sig;
	if (thread_run)
		thread_run->immediate_exit = 1;
}

static void count(uint64_t *counter)
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);
}

/* ---- marks --------------------------------------------------------------- */

static int exits_text(struct linux_vm *vm, char *buf, size_t len)
{
	uint64_t by[LVM_NR_REASONS] = { 0 }, total = 0;
	int at;

	for (unsigned c = 0; c < vm->ncpus; c++) {
		total += __atomic_load_n(&vm->cpu[c].user_exits, __ATOMIC_RELAXED);
		for (int r = 0; r < LVM_NR_REASONS; r++)
			by[r] += __atomic_load_n(&vm->cpu[c].exits[r], __ATOMIC_RELAXED);
	}
	at = snprintf(buf, len, "user_exits=%llu", (unsigned long long)total);
	for (int r = 0; r < LVM_NR_REASONS && at < (int)len; r++) {
		if (!by[r])
			continue;
		if (reason_names[r])
			at += snprintf(buf + at, len - at, " %s=%llu", reason_names[r],
				       (unsigned long long)by[r]);
		else
			at += snprintf(buf + at, len - at, " exit%d=%llu", r,
				       (unsigned long long)by[r]);
	}
	return at;
}

static void kvm_text(struct linux_vm *vm, char *buf, size_t len)
{
	uint64_t sum[KVM_NR_STATS] = { 0 };
	int at;

	for (unsigned c = 0; c < vm->ncpus; c++)
		if (vm->cpu[c].stats.fd < 0 || kvm_stats_read(&vm->cpu[c].stats, sum)) {
			snprintf(buf, len, "kvm: unavailable");
			return;
		}
	at = snprintf(buf, len, "kvm:");
	for (int k = 0; k < KVM_NR_STATS && at < (int)len; k++)
		at += snprintf(buf + at, len - at, " %s=%llu", kvm_stats_name(k),
			       (unsigned long long)sum[k]);
}

void lvm_print_mark(struct linux_vm *vm, const char *label)
{
	char exits[1024], kvm[256];

	exits_text(vm, exits, sizeof(exits));
	kvm_text(vm, kvm, sizeof(kvm));
	pthread_mutex_lock(&vm->print_lock);
	fprintf(stderr, "iofd-vm: mark %s: t=%.3f %s %s\n", label, lvm_now(vm),
		exits, kvm);
	fflush(stderr);
	pthread_mutex_unlock(&vm->print_lock);
}

/* ---- the console ----------------------------------------------------------- */

void lvm_console_line(void *opaque, const char *line)
{
	struct linux_vm *vm = opaque;

	pthread_mutex_lock(&vm->print_lock);
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&vm->print_lock);
	for (size_t i = 0; i < sizeof(bad_console) / sizeof(bad_console[0]); i++)
		if (strstr(line, bad_console[i])) {
			lvm_console_fail(vm, "the guest's console shows \"%s\": %s",
				bad_console[i], line);
			break;
		}
}

void lvm_serial_irq(void *opaque, int level)
{
	struct linux_vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = SERIAL_IRQ, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		lvm_end(vm, LVM_FAILED, "KVM_IRQ_LINE: %s", strerror(errno));
}

/* ---- port I/O ------------------------------------------------------------- */

static enum lvm_port_user pio_one(struct lvm_cpu *c, uint16_t port,
				   bool is_write, uint8_t *data, unsigned size)
{
	struct linux_vm *vm = c->vm;
	char label[8];

	if (port >= SERIAL_BASE && port < SERIAL_BASE + SERIAL_PORTS) {
		serial_io(&vm->serial, port - SERIAL_BASE, is_write, data);
		return LVM_PORT_SERIAL;
	}
	if (port == LVM_MARK_PORT) {
		if (is_write) {
			snprintf(label, sizeof(label), "%u", data[0]);
			lvm_print_mark(vm, label);
			if (data[0] == DW_MARK_KILL || data[0] == DW_MARK_STOP)
				device_watch_inject(&vm->watch, data[0] == DW_MARK_KILL ?
						    DW_KILL : DW_STOP);
		} else {
			memset(data, 0xff, size);
		}
		return LVM_PORT_MARK;
	}
	if (pci_io(&vm->pci, port, is_write, data, size))
		return LVM_PORT_PCI;
	if (legacy_io(&vm->legacy, port, is_write, data, size) == LEGACY_RESET)
		lvm_end(vm, LVM_RESET, "the guest reset the machine (i8042 reset)");
	return LVM_PORT_LEGACY;
}

void lvm_report_ports(struct linux_vm *vm)
{
	static const char *const names[LVM_NR_PORT_USERS] = {
		[LVM_PORT_SERIAL] = "serial", [LVM_PORT_PCI] = "pci-config",
		[LVM_PORT_MARK] = "mark", [LVM_PORT_LEGACY] = "legacy",
	};
	uint64_t sum[LVM_NR_PORT_USERS] = { 0 };

	for (unsigned c = 0; c < vm->ncpus; c++)
		for (int u = 0; u < LVM_NR_PORT_USERS; u++)
			sum[u] += __atomic_load_n(&vm->cpu[c].port_exits[u], __ATOMIC_RELAXED);
	fprintf(stderr, "iofd-vm: port I/O exits by device:");
	for (int u = 0; u < LVM_NR_PORT_USERS; u++)
		fprintf(stderr, " %s=%llu", names[u], (unsigned long long)sum[u]);
	fputc('\n', stderr);
}

static void handle_pio(struct lvm_cpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	enum lvm_port_user u = LVM_PORT_LEGACY;

	for (uint32_t i = 0; i < run->io.count; i++)
		u = pio_one(c, run->io.port, is_write, data + i * run->io.size,
			    run->io.size);
	count(&c->port_exits[u]);
}

/* ---- MMIO --------------------------------------------------------------------- */

static void handle_mmio(struct lvm_cpu *c)
{
	struct kvm_run *run = c->run;
	struct linux_vm *vm = c->vm;

	if (vm->have_nvme && nvme_pci_mmio(&vm->nvme, run->mmio.phys_addr,
					   run->mmio.is_write, run->mmio.data,
					   run->mmio.len))
		return;
	if (vm->have_nvme && nvme_doorbells_mmio(&vm->doorbells, run->mmio.phys_addr,
						 run->mmio.is_write, run->mmio.len))
		return;
	count(&c->unknown_mmio);
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

/* iofd's turn: 1 when it served the access, 0 when it is ours, -1 to stop.
 * An access the device failed (dead, stopped past the ioregion timeout,
 * or answering nonsense) is counted and completed as a bus error: the
 * guest goes on, as on a machine whose device stopped answering. */
static int iofd_turn(struct lvm_cpu *c)
{
	struct iofd_exit info;
	int st;

	do
		st = iofd_dispatch_exit(c->vcpu, &info);
	while ((st == IOFD_PENDING || st == -EINTR) &&
	       !__atomic_load_n(&c->vm->stopping, __ATOMIC_ACQUIRE));
	if (st == IOFD_SERVED)
		return 1;
	if (st == IOFD_NOT_CLAIMED)
		return 0;
	if (st == IOFD_FAILED) {
		device_watch_failed_access(&c->vm->watch, &info);
		device_watch_bus_error(c->run);
		return 1;
	}
	if (st < 0)
		lvm_end(c->vm, LVM_FAILED, "iofd_dispatch_exit: %s", iofd_last_error());
	return -1;
}

static void fail_exit(struct lvm_cpu *c)
{
	struct kvm_regs regs = { 0 };
	struct kvm_run *run = c->run;
	uint32_t r = run->exit_reason;
	char detail[64] = "";

	ioctl(c->fd, KVM_GET_REGS, &regs);
	if (r == KVM_EXIT_INTERNAL_ERROR)
		snprintf(detail, sizeof(detail), ", suberror %u", run->internal.suberror);
	else if (r == KVM_EXIT_FAIL_ENTRY)
		snprintf(detail, sizeof(detail), ", hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	lvm_end(c->vm, LVM_FAILED, "vCPU %u: exit reason %u (%s) at rip 0x%llx%s",
		c->index, r, r < LVM_NR_REASONS && reason_names[r] ? reason_names[r] : "?",
		(unsigned long long)regs.rip, detail);
}

/* One exit: 0 to go on, -1 to stop this thread. */
static int handle_exit(struct lvm_cpu *c)
{
	struct kvm_run *run = c->run;
	int mine;

	switch (run->exit_reason) {
	case KVM_EXIT_IOREGIONFD_FAILURE:	/* the kernel served a region */
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
		mine = iofd_turn(c);
		if (mine < 0)
			return -1;
		if (mine == 0 && run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE) {
			fail_exit(c);	/* iofd knows every region it gave the kernel */
			return -1;
		}
		if (mine == 0 && run->exit_reason == KVM_EXIT_IO)
			handle_pio(c);
		else if (mine == 0)
			handle_mmio(c);
		return 0;
	case KVM_EXIT_HLT:
		return 0;
	case KVM_EXIT_SHUTDOWN:
		lvm_end(c->vm, LVM_RESET, "the guest reset the machine (triple fault)");
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		lvm_end(c->vm, LVM_RESET, "the guest ended (system event %u)",
			run->system_event.type);
		return -1;
	default:
		fail_exit(c);
		return -1;
	}
}

static bool stopping(const struct lvm_cpu *c)
{
	return __atomic_load_n(&c->vm->stopping, __ATOMIC_ACQUIRE);
}

void *lvm_vcpu_thread(void *arg)
{
	struct lvm_cpu *c = arg;
	struct kvm_run *run = c->run;

	thread_run = run;
	while (!stopping(c)) {
		int r = ioctl(c->fd, KVM_RUN, 0);
		int reason = r < 0 && errno == EINTR ? KVM_EXIT_INTR :
			     r < 0 && errno == EAGAIN ? LVM_EXIT_AGAIN :
			     run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE ?
			     LVM_EXIT_IOREGION_FAIL : (int)run->exit_reason;

		/* EAGAIN: an AP left its wait for SIPI; run it again. */
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			lvm_end(c->vm, LVM_FAILED, "vCPU %u: KVM_RUN: %s", c->index,
				strerror(errno));
			break;
		}
		count(&c->user_exits);
		if (reason >= 0 && reason < LVM_NR_REASONS)
			count(&c->exits[reason]);
		if (r < 0) {
			run->immediate_exit = 0;
			continue;
		}
		if (handle_exit(c))
			break;
	}
	thread_run = NULL;
	return NULL;
}
