/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building, running and tearing down the Linux mode's VM.
 *
 * Order of construction: /dev/kvm, the VM, its irqchip and PIT (before any
 * vCPU), RAM (a sealed memfd, so the device process can map it for DMA),
 * the kernel, initrd, zero page and MP table in RAM, the iofd VM adopting
 * the VM fd, the vCPUs (through iofd), the NVMe function and its device
 * process (handoff, then the vector eventfds), and last the vCPU threads.
 * Teardown is the reverse: threads stopped and joined, irqfds and vCPUs
 * released, the iofd VM destroyed (its registrations and fds go), the
 * device process told (its socket closes) and reaped, RAM and the VM fd
 * closed. Nothing stays behind to hold the kvm modules.
 *
 * A device that dies or stops does not end the run: its failed register
 * accesses become bus errors for the guest (device_watch.h), the guest's
 * driver copes, and the run fails only at its end, naming the fault. A
 * vCPU thread can be inside an ioregion wait for a stopped device when
 * the run ends (with no ioregion timeout, for ever): the thread is given
 * a moment, then the device is killed, which ends the wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "linux_cpu.h"
#include "linux_vm.h"
#include "mptable.h"

#define TSS_GPA			0xfffbd000ull	/* 3 pages under the BIOS ROM */
#define CONSOLE_GRACE_S		1.0	/* console after a bad line */
#define WAIT_TICK_MS		100
#define JOIN_GRACE_S		2	/* for a vCPU in a device wait */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double lvm_now(const struct linux_vm *vm)
{
	return mono() - vm->start;
}

static void end_run(struct linux_vm *vm, enum lvm_state state, bool console,
		    const char *fmt, va_list ap)
{
	pthread_mutex_lock(&vm->state_lock);
	if (vm->state == LVM_RUNNING) {
		vm->state = state;
		vm->failed_at = lvm_now(vm);
		vm->console_failed = console;
		vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
		pthread_cond_broadcast(&vm->state_cond);
	}
	pthread_mutex_unlock(&vm->state_lock);
}

void lvm_end(struct linux_vm *vm, enum lvm_state state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	end_run(vm, state, false, fmt, ap);
	va_end(ap);
}

void lvm_console_fail(struct linux_vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	end_run(vm, LVM_FAILED, true, fmt, ap);
	va_end(ap);
}

/* ---- construction ------------------------------------------------------------ */

static int fail(const char *what, int err)
{
	fprintf(stderr, "iofd-vm: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

static int create_vm(struct linux_vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM", errno);
	fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC);
	/* Needed by Intel's VMX for real mode (an AP's trampoline); harmless
	 * elsewhere, so a refusal is only reported. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_GPA) < 0)
		fprintf(stderr, "iofd-vm: KVM_SET_TSS_ADDR: %s (going on)\n",
			strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP", errno);
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail("KVM_CREATE_PIT2", errno);
	return 0;
}

static int create_ram(struct linux_vm *vm)
{
	struct kvm_userspace_memory_region slot = { .slot = 0, .guest_phys_addr = 0,
						    .memory_size = vm->ram_size };
	void *p;

	vm->ram_fd = memfd_create("iofd-vm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->ram_fd < 0)
		return fail("memfd_create", errno);
	if (ftruncate(vm->ram_fd, (off_t)vm->ram_size) < 0)
		return fail("guest RAM", errno);
	/* The device maps RAM: it must not fault because RAM shrank. */
	if (fcntl(vm->ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return fail("sealing guest RAM", errno);
	p = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vm->ram_fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap of guest RAM", errno);
	vm->ram = p;
	slot.userspace_addr = (uint64_t)(uintptr_t)p;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION", errno);
	return 0;
}

static char *command_line(const struct linux_options *o)
{
	const char *base = "console=ttyS0 reboot=t panic=-1";
	size_t len = strlen(base) + (o->append ? strlen(o->append) : 0) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s%s%s", base, o->append ? " " : "",
			 o->append ? o->append : "");
	return s;
}

static int load_guest(struct linux_vm *vm, const struct bzimage *bz,
		      const void *initrd, size_t initrd_size,
		      const struct kvm_cpuid2 *cpuid, struct linux_entry *entry)
{
	struct mptable_config mp = { .ncpus = vm->ncpus, .pci_slot = -1 };
	char why[256], *cmdline = command_line(vm->o);
	long n;
	int err;

	if (!cmdline)
		return fail("command line", ENOMEM);
	err = linux_boot_load(vm->ram, vm->ram_size, bz, initrd, initrd_size,
			      cmdline, entry, why, sizeof(why));
	free(cmdline);
	if (err) {
		fprintf(stderr, "iofd-vm: cannot load the kernel: %s\n", why);
		return -2;
	}
	linux_cpu_signature(cpuid, &mp.cpu_signature, &mp.cpu_features);
	if (vm->have_nvme) {
		mp.pci_slot = NVME_PCI_SLOT;
		mp.pci_pin = 1;
		mp.pci_gsi = NVME_PCI_INTX_GSI;
	}
	n = mptable_build(vm->ram + LB_EBDA_GPA, 0x400, (uint32_t)LB_EBDA_GPA, &mp);
	return n < 0 ? fail("MP table", (int)n) : 0;
}

static int create_cpu(struct linux_vm *vm, unsigned i, const struct kvm_cpuid2 *cpuid,
		      const struct linux_entry *entry)
{
	struct lvm_cpu *c = &vm->cpu[i];
	int err;

	c->vm = vm;
	c->index = i;
	err = iofd_vcpu_create(vm->iofd, (int)i, &c->vcpu);
	if (err) {
		fprintf(stderr, "iofd-vm: vCPU %u: %s\n", i, iofd_last_error());
		return -1;
	}
	c->fd = iofd_vcpu_fd(c->vcpu);
	c->run = iofd_vcpu_kvm_run(c->vcpu);
	if ((err = linux_cpu_set_cpuid(c->fd, cpuid, i, vm->ncpus)))
		return fail("KVM_SET_CPUID2", err);
	if ((err = linux_cpu_set_lapic(c->fd)))
		return fail("KVM_SET_LAPIC", err);
	/* The BSP starts at the kernel; APs wait for INIT/SIPI in KVM. */
	if (i == 0 && (err = linux_cpu_set_entry(c->fd, entry)))
		return fail("vCPU registers", err);
	kvm_stats_open(&c->stats, c->fd);	/* unavailable: "kvm: unavailable" */
	return 0;
}

static int create_iofd(struct linux_vm *vm)
{
	struct iofd_vm_options vo = { .kvm_vm_fd = vm->vm_fd };

	if (iofd_vm_create(&vo, &vm->iofd)) {
		fprintf(stderr, "iofd-vm: %s\n", iofd_last_error());
		return -1;
	}
	if (vm->o->ioregion_timeout_set &&
	    iofd_vm_set_ioregion_timeout(vm->iofd, vm->o->ioregion_timeout_ms)) {
		fprintf(stderr, "iofd-vm: %s\n", iofd_last_error());
		return -1;
	}
	return 0;
}

/* The NVMe function and its device process, through the handoff. */
static int attach_nvme(struct linux_vm *vm)
{
	struct vmm *d = &vm->devs;
	int err = nvme_pci_init(&vm->nvme, vm->ncpus, vm->vm_fd, vm->iofd,
				vm->o->nvme_intx);

	if (err)
		return fail("NVMe function", err);
	pci_bus_plug(&vm->pci, NVME_PCI_SLOT, &vm->nvme.fn);
	d->vm = vm->iofd;
	d->ram_fd = vm->ram_fd;
	d->ram_size = vm->ram_size;
	if (vmm_add_device(d, vm->o->nvme, false, NULL) ||
	    nvme_pci_layout(&vm->nvme, d))
		return -1;
	d->keep_doorbell_fds = true;	/* for nvme_doorbells */
	err = vmm_attach_devices(d);
	if (d->dev[0].pid > 0)
		device_watch_start(&vm->watch, d->dev[0].pid, d->dev[0].argv[0]);
	if (err)
		return -1;
	err = nvme_doorbells_init(&vm->doorbells, vm->iofd, d);
	if (!err)
		err = nvme_doorbells_start(&vm->doorbells, d->dev[0].sock);
	if (err)
		return fail("the NVMe doorbells", err);
	err = nvme_pci_send_vectors(&vm->nvme, d->dev[0].sock,
				    NVME_IRQ_F_DOORBELL_MODES);
	return err ? fail("sending the interrupt vectors to the device", err) : 0;
}

static int build(struct linux_vm *vm, const struct bzimage *bz,
		 const void *initrd, size_t initrd_size)
{
	struct kvm_cpuid2 *cpuid = NULL;
	struct linux_entry entry;
	int err;

	if (create_vm(vm) || create_ram(vm))
		return -1;
	err = linux_cpu_supported(vm->kvm_fd, &cpuid);
	if (err)
		return fail("KVM_GET_SUPPORTED_CPUID", err);
	err = load_guest(vm, bz, initrd, initrd_size, cpuid, &entry);
	if (!err)
		err = create_iofd(vm);
	for (unsigned i = 0; !err && i < vm->ncpus; i++)
		err = create_cpu(vm, i, cpuid, &entry);
	free(cpuid);
	if (!err && vm->have_nvme)
		err = attach_nvme(vm);
	return err;
}

/* ---- running ------------------------------------------------------------------ */

static int start_threads(struct linux_vm *vm)
{
	struct sigaction sa = { .sa_handler = lvm_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int err = pthread_create(&vm->cpu[i].thread, NULL, lvm_vcpu_thread,
					 &vm->cpu[i]);

		if (err)
			return fail("pthread_create", err);
		vm->cpu[i].started = true;
	}
	return 0;
}

/* Wait until the run ends: reset, failure or timeout. The device's faults
 * are injected and noticed here, and the guest goes on. */
static void wait_for_end(struct linux_vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	for (;;) {
		struct timespec ts;
		double t = lvm_now(vm);

		if (vm->state != LVM_RUNNING &&
		    (!vm->console_failed || t > vm->failed_at + CONSOLE_GRACE_S))
			break;
		pthread_mutex_unlock(&vm->state_lock);
		if (t > vm->o->timeout_s)
			lvm_end(vm, LVM_FAILED, "timeout: the guest did not end in "
				"%u s", vm->o->timeout_s);
		device_watch_tick(&vm->watch, t);
		pthread_mutex_lock(&vm->state_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WAIT_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&vm->state_cond, &vm->state_lock, &ts);
	}
	pthread_mutex_unlock(&vm->state_lock);
}

/* Join a vCPU thread; one stuck in a wait for a stalled device gets
 * JOIN_GRACE_S, then the device is killed (the wait fails at once). */
static void join_cpu(struct linux_vm *vm, struct lvm_cpu *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += JOIN_GRACE_S;
	if (pthread_timedjoin_np(c->thread, NULL, &ts) == ETIMEDOUT) {
		fprintf(stderr, "iofd-vm: vCPU %u is still in a device access; "
			"killing the device\n", c->index);
		device_watch_inject(&vm->watch, DW_KILL);
		pthread_join(c->thread, NULL);
	}
	c->started = false;
}

static void stop_threads(struct linux_vm *vm)
{
	__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->cpu[i].started)
			pthread_kill(vm->cpu[i].thread, SIGUSR1);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->cpu[i].started)
			join_cpu(vm, &vm->cpu[i]);
}

/* ---- teardown ----------------------------------------------------------------- */

static void report(struct linux_vm *vm)
{
	uint64_t unknown_mmio = 0;

	for (unsigned i = 0; i < vm->ncpus; i++)
		unknown_mmio += vm->cpu[i].unknown_mmio;
	lvm_print_mark(vm, "end");
	lvm_report_ports(vm);
	legacy_report(&vm->legacy, stderr, "iofd-vm: ");
	if (unknown_mmio)
		fprintf(stderr, "iofd-vm: %llu MMIO accesses outside every device\n",
			(unsigned long long)unknown_mmio);
	if (vm->have_nvme)
		fprintf(stderr, "iofd-vm: nvme: %llu MSI-X routing updates%s\n",
			(unsigned long long)vm->nvme.routing_updates,
			vm->nvme.error ? " (with errors)" : "");
	if (vm->doorbells.requests)
		fprintf(stderr, "iofd-vm: nvme: %llu doorbell mode requests, %llu "
			"switches, %llu kept (the kernel serves post-write), %llu "
			"failed; %llu doorbell writes caught in a switch\n",
			(unsigned long long)vm->doorbells.requests,
			(unsigned long long)vm->doorbells.switches,
			(unsigned long long)vm->doorbells.kept,
			(unsigned long long)vm->doorbells.failures,
			(unsigned long long)vm->doorbells.caught);
	if (vm->pci.dev[NVME_PCI_SLOT] && vm->nvme.fn.refused)
		fprintf(stderr, "iofd-vm: nvme: %u BAR moves refused\n",
			vm->nvme.fn.refused);
}

static bool teardown(struct linux_vm *vm)
{
	bool devices_ok = true;

	stop_threads(vm);
	/* A fault at the very end: looked for before anything below closes
	 * what the device serves, which makes a healthy device exit. */
	device_watch_tick(&vm->watch, lvm_now(vm));
	serial_flush(&vm->serial);
	nvme_doorbells_destroy(&vm->doorbells);	/* before the iofd VM */
	if (vm->have_nvme)
		nvme_pci_destroy(&vm->nvme);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		kvm_stats_close(&vm->cpu[i].stats);
		iofd_vcpu_destroy(vm->cpu[i].vcpu);
		vm->cpu[i].vcpu = NULL;
	}
	iofd_vm_destroy(vm->iofd);
	vm->iofd = NULL;
	device_watch_release(&vm->watch);
	if (vm->devs.ndev && vmm_stop_devices(&vm->devs))
		devices_ok = false;
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->ram_fd >= 0)
		close(vm->ram_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	close(vm->kvm_fd);
	return devices_ok;
}

static void init_state(struct linux_vm *vm, const struct linux_options *o)
{
	memset(vm, 0, sizeof(*vm));
	vm->o = o;
	vm->vm_fd = vm->ram_fd = -1;
	vm->ram_size = (uint64_t)o->mem_mib << 20;
	vm->ncpus = o->smp;
	vm->have_nvme = o->nvme != NULL;
	vm->start = mono();
	for (unsigned i = 0; i < LVM_MAX_CPUS; i++)
		vm->cpu[i].stats.fd = vm->cpu[i].fd = -1;
	pthread_mutex_init(&vm->print_lock, NULL);
	pthread_mutex_init(&vm->state_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);
	serial_init(&vm->serial, lvm_serial_irq, lvm_console_line, vm);
	legacy_init(&vm->legacy);
	pci_bus_init(&vm->pci);
	device_watch_init(&vm->watch);
	if (o->fault != DW_NONE)
		device_watch_plan(&vm->watch, o->fault, o->fault_at);
}

static void free_state(struct linux_vm *vm)
{
	serial_destroy(&vm->serial);
	legacy_destroy(&vm->legacy);
	pci_bus_destroy(&vm->pci);
	device_watch_destroy(&vm->watch);
	pthread_cond_destroy(&vm->state_cond);
	pthread_mutex_destroy(&vm->state_lock);
	pthread_mutex_destroy(&vm->print_lock);
}

int linux_vm_run(const struct linux_options *o, const struct bzimage *bz,
		 const void *initrd, size_t initrd_size)
{
	static struct linux_vm vm;	/* large: not on the stack */
	char fault[sizeof(vm.why)];
	int built, status;
	bool devices_ok, faulted;

	init_state(&vm, o);
	vm.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm.kvm_fd < 0) {
		fprintf(stderr, "iofd-vm: SKIP: cannot open /dev/kvm (%s)\n",
			strerror(errno));
		free_state(&vm);
		return LVM_EXIT_SKIP;
	}
	built = build(&vm, bz, initrd, initrd_size);
	if (built == 0 && start_threads(&vm) == 0)
		wait_for_end(&vm);
	else if (built == 0)
		lvm_end(&vm, LVM_FAILED, "could not start the vCPUs");
	stop_threads(&vm);
	if (built == 0)
		report(&vm);
	devices_ok = teardown(&vm);
	status = built == -2 ? LVM_EXIT_USAGE :
		 built ? LVM_EXIT_FAIL :
		 vm.state == LVM_RESET ? LVM_EXIT_OK : LVM_EXIT_FAIL;
	faulted = device_watch_verdict(&vm.watch, fault, sizeof(fault));
	if (faulted)
		fprintf(stderr, "iofd-vm: %s\n", fault);
	if (status == LVM_EXIT_OK && faulted) {
		status = LVM_EXIT_FAIL;
		snprintf(vm.why, sizeof(vm.why), "%s", fault);
	} else if (status == LVM_EXIT_OK && !devices_ok) {
		status = LVM_EXIT_FAIL;
		snprintf(vm.why, sizeof(vm.why), "the guest ended, but the device "
			 "process did not exit cleanly");
	}
	if (built == 0)
		fprintf(stderr, "iofd-vm: %s after %.3f s: %s\n",
			status == LVM_EXIT_OK ? "done" : "FAILED", lvm_now(&vm), vm.why);
	free_state(&vm);
	return status;
}
