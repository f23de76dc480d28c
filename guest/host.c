/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host side of the guest runner: a VM and one vCPU made with plain KVM
 * ioctls, memfd-backed RAM at GPA 0, identity page tables, long mode set
 * directly through KVM_SET_SREGS, the runner image copied to GUEST_CODE_GPA,
 * and a KVM_RUN loop that hands MMIO/PIO exits to a callback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iofd/kvm-unmerged.h"

#include "host.h"

/* The runner, flattened and embedded at build time. */
extern const unsigned char guest_runner_image[];
extern const size_t guest_runner_image_size;

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)

#define PT_PML4_GPA GUEST_PT_GPA
#define PT_PDPT_GPA (GUEST_PT_GPA + 0x1000)
#define PT_PD_GPA (GUEST_PT_GPA + 0x2000)	/* four PDs, 1 GiB each */
#define PT_NR_PDS 4
#define GIB (1ull << 30)
#define MIB2 (2ull << 20)

static __thread char last_error[160];

const char *guest_last_error(void)
{
	return last_error;
}

/* Record why a call failed; returns err. */
static int fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

/* ---- set-up ------------------------------------------------------------ */

static int map_ram(struct guest_vm *g)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_RAM_SIZE,
	};
	void *p;

	g->ram_memfd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (g->ram_memfd < 0)
		return fail(-errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(g->ram_memfd, (off_t)GUEST_RAM_SIZE) < 0)
		return fail(-errno, "ftruncate of guest RAM: %s", strerror(errno));
	/* A device process that maps RAM for DMA must not fault if it shrank. */
	if (fcntl(g->ram_memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return fail(-errno, "sealing guest RAM: %s", strerror(errno));
	p = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 g->ram_memfd, 0);
	if (p == MAP_FAILED)
		return fail(-errno, "mmap of guest RAM: %s", strerror(errno));
	g->ram = p;
	g->script = (struct guest_script *)(g->ram + GUEST_SCRIPT_GPA);
	region.userspace_addr = (uint64_t)(uintptr_t)p;
	if (ioctl(g->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail(-errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

/* Identity-map the first 4 GiB with 2 MiB pages; uncached from 3 GiB up. */
static void build_page_tables(struct guest_vm *g)
{
	uint64_t *pml4 = (uint64_t *)(g->ram + PT_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(g->ram + PT_PDPT_GPA);

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = PT_PDPT_GPA | PTE_P | PTE_RW;
	for (int i = 0; i < PT_NR_PDS; i++) {
		uint64_t pd_gpa = PT_PD_GPA + (uint64_t)i * 0x1000;
		uint64_t *pd = (uint64_t *)(g->ram + pd_gpa);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (int j = 0; j < 512; j++) {
			uint64_t gpa = (uint64_t)i * GIB + (uint64_t)j * MIB2;

			pd[j] = gpa | PTE_P | PTE_RW | PTE_PS;
			if (i == 3)	/* MMIO hole, LAPIC and IOAPIC */
				pd[j] |= PTE_PCD | PTE_PWT;
		}
	}
}

static int load_runner(struct guest_vm *g, unsigned flags)
{
	struct guest_config *cfg = (struct guest_config *)(g->ram + GUEST_CONFIG_GPA);

	if (guest_runner_image_size > GUEST_SCRIPT_GPA - GUEST_CODE_GPA)
		return fail(-E2BIG, "runner image of %zu bytes does not fit",
			    guest_runner_image_size);
	memcpy(g->ram + GUEST_CODE_GPA, guest_runner_image, guest_runner_image_size);
	cfg->flags = (flags & GUEST_VM_IRQCHIP) ? GUEST_CFG_DONE_PORT : 0;
	g->script->nops = 0;
	g->script->done = 0;
	return guest_script_set(g, NULL, 0);
}

/* Give the vCPU what the host supports, so long mode is allowed. */
static int set_cpuid(struct guest_vm *g)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int err = 0;

	for (unsigned n = 64; n <= 4096; n *= 2) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return fail(-ENOMEM, "out of memory for CPUID entries");
		cpuid->nent = n;
		err = ioctl(g->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ? -errno : 0;
		if (err != -E2BIG)
			break;
	}
	if (err)
		fail(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-err));
	else if (ioctl(g->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		err = fail(-errno, "KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
	return err;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
}

/* Long mode, paging on, flat segments: the runner starts 64-bit. */
static int set_long_mode(struct guest_vm *g)
{
	struct kvm_sregs sregs;

	if (ioctl(g->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail(-errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = GUEST_PT_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	flat_segment(&sregs.cs, 8, 11);
	sregs.cs.l = 1;
	flat_segment(&sregs.ds, 16, 3);
	sregs.ds.db = 1;
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	if (ioctl(g->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail(-errno, "KVM_SET_SREGS: %s", strerror(errno));
	return 0;
}

static int create_vcpu(struct guest_vm *g)
{
	int size = ioctl(g->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	void *p;

	if (size <= 0)
		return fail(size < 0 ? -errno : -EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	g->vcpu_fd = ioctl(g->vm_fd, KVM_CREATE_VCPU, 0);
	if (g->vcpu_fd < 0)
		return fail(-errno, "KVM_CREATE_VCPU: %s", strerror(errno));
	if (fcntl(g->vcpu_fd, F_SETFD, FD_CLOEXEC) < 0)
		return fail(-errno, "FD_CLOEXEC on the vCPU fd: %s", strerror(errno));
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu_fd, 0);
	if (p == MAP_FAILED)
		return fail(-errno, "mmap of kvm_run: %s", strerror(errno));
	g->run = p;
	g->run_size = (size_t)size;
	return 0;
}

static int create_vm(struct guest_vm *g, unsigned flags)
{
	int version;

	g->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm_fd < 0)
		return fail(-errno, "cannot open /dev/kvm: %s", strerror(errno));
	version = ioctl(g->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return fail(-ENOTSUP, "KVM API version %d, expected %d", version,
			    KVM_API_VERSION);
	g->vm_fd = ioctl(g->kvm_fd, KVM_CREATE_VM, 0);
	if (g->vm_fd < 0)
		return fail(-errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (fcntl(g->vm_fd, F_SETFD, FD_CLOEXEC) < 0)
		return fail(-errno, "FD_CLOEXEC on the VM fd: %s", strerror(errno));
	if ((flags & GUEST_VM_IRQCHIP) && ioctl(g->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail(-errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	return 0;
}

int guest_vm_create(struct guest_vm *g, unsigned flags)
{
	int err;

	if (!g)
		return fail(-EINVAL, "NULL guest_vm");
	memset(g, 0, sizeof(*g));
	g->kvm_fd = g->vm_fd = g->vcpu_fd = g->ram_memfd = -1;
	if (flags & ~GUEST_VM_IRQCHIP)
		return fail(-EINVAL, "unknown guest_vm_create flags 0x%x", flags);
	err = create_vm(g, flags);
	if (!err)
		err = map_ram(g);
	if (!err) {
		build_page_tables(g);
		err = load_runner(g, flags);
	}
	if (!err)
		err = create_vcpu(g);
	if (!err)
		err = set_cpuid(g);
	if (!err)
		err = set_long_mode(g);
	if (!err)
		err = guest_vm_reset_cpu(g);
	if (err)
		guest_vm_destroy(g);
	return err;
}

void guest_vm_destroy(struct guest_vm *g)
{
	if (!g)
		return;
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu_fd >= 0)
		close(g->vcpu_fd);
	if (g->ram)
		munmap(g->ram, GUEST_RAM_SIZE);
	if (g->ram_memfd >= 0)
		close(g->ram_memfd);
	if (g->vm_fd >= 0)
		close(g->vm_fd);
	if (g->kvm_fd >= 0)
		close(g->kvm_fd);
	memset(g, 0, sizeof(*g));
	g->kvm_fd = g->vm_fd = g->vcpu_fd = g->ram_memfd = -1;
}

/* ---- scripts ----------------------------------------------------------- */

static bool op_is_pic(uint32_t kind)
{
	return kind == GOP_PIC_POLL_ACK || kind == GOP_PIC_POLL;
}

static bool op_is_pio(uint32_t kind)
{
	return kind == GOP_OUT || kind == GOP_IN || kind == GOP_OUT_WAIT ||
	       op_is_pic(kind);
}

static int check_op(const struct guest_op *op, size_t i)
{
	bool len_ok = op->len == 1 || op->len == 2 || op->len == 4 ||
		      (op->len == 8 && !op_is_pio(op->kind));

	if (op->kind > GOP_PIC_POLL)
		return fail(-EINVAL, "op %zu: unknown kind %u", i, op->kind);
	if (op_is_pic(op->kind) && op->len != 1)
		return fail(-EINVAL, "op %zu: PIC polls are 1-byte (len %u)", i, op->len);
	if (op->kind == GOP_PIC_POLL_ACK && op->arg &&
	    (op->arg > GUEST_RAM_SIZE - 16 || (op->arg & 7)))
		return fail(-EINVAL, "op %zu: result GPA 0x%llx is not two aligned "
			    "u64s in guest RAM", i, (unsigned long long)op->arg);
	if (op->kind == GOP_END || op->kind == GOP_HLT)
		return 0;
	if (!len_ok)
		return fail(-EINVAL, "op %zu: len %u is not 1, 2, 4%s", i, op->len,
			    op_is_pio(op->kind) ? " (no 8-byte port I/O on x86)" : " or 8");
	if (op_is_pio(op->kind) && op->addr > 0xffff)
		return fail(-EINVAL, "op %zu: port 0x%llx above 0xffff", i,
			    (unsigned long long)op->addr);
	if ((op->kind == GOP_WRITE_WAIT || op->kind == GOP_OUT_WAIT) &&
	    (op->arg > GUEST_RAM_SIZE - 8 || (op->arg & 7)))
		return fail(-EINVAL, "op %zu: answer GPA 0x%llx is not an aligned "
			    "u64 in guest RAM", i, (unsigned long long)op->arg);
	return 0;
}

int guest_script_set(struct guest_vm *g, const struct guest_op *ops, size_t n)
{
	struct guest_script *s = g->script;

	if (n >= GUEST_SCRIPT_MAX_OPS)
		return fail(-E2BIG, "script of %zu ops; at most %llu fit", n,
			    (unsigned long long)GUEST_SCRIPT_MAX_OPS - 1);
	for (size_t i = 0; i < n; i++) {
		int err = check_op(&ops[i], i);

		if (err)
			return err;
	}
	if (n)
		memcpy(s->ops, ops, n * sizeof(*ops));
	memset(&s->ops[n], 0, sizeof(s->ops[n]));	/* GOP_END */
	__atomic_store_n(&s->nops, (uint32_t)(n + 1), __ATOMIC_RELEASE);
	return 0;
}

int guest_vm_reset_cpu(struct guest_vm *g)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE_GPA;
	regs.rsp = GUEST_STACK_TOP;
	regs.rflags = 0x2;
	if (ioctl(g->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail(-errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/* ---- running ----------------------------------------------------------- */

static uint32_t script_done(const struct guest_vm *g)
{
	return __atomic_load_n(&g->script->done, __ATOMIC_ACQUIRE);
}

/*
 * Is this exit the runner's END/HLT signal on port `port`? Only in the
 * in-kernel irqchip mode; otherwise the ports are ordinary ones.
 */
static bool is_runner_port(const struct guest_vm *g, uint16_t port)
{
	const struct guest_config *cfg =
		(const struct guest_config *)(g->ram + GUEST_CONFIG_GPA);
	const struct kvm_run *run = g->run;

	return (cfg->flags & GUEST_CFG_DONE_PORT) &&
	       run->exit_reason == KVM_EXIT_IO && run->io.port == port &&
	       run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1 &&
	       run->io.count == 1;
}

/* Default handling without a callback: ignore writes, reads give 0. */
static void default_access(struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	else if (run->exit_reason == KVM_EXIT_IO &&
		 run->io.direction == KVM_EXIT_IO_IN)
		memset((char *)run + run->io.data_offset, 0,
		       (size_t)run->io.size * run->io.count);
}

static int call_handler(struct guest_vm *g, guest_exit_fn fn, void *opaque)
{
	if (!fn) {
		default_access(g->run);
		return 0;
	}
	return fn(g, g->run, opaque);
}

/* Build the -EIO reason for an exit the runner never causes on purpose. */
static int bad_exit(struct guest_vm *g)
{
	struct kvm_run *run = g->run;
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (ioctl(g->vcpu_fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		return fail(-EIO, "guest shut down (triple fault) near rip 0x%llx", rip);
	case KVM_EXIT_FAIL_ENTRY:
		return fail(-EIO, "VM entry failed: hardware reason 0x%llx, rip 0x%llx",
			    (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			    rip);
	case KVM_EXIT_INTERNAL_ERROR:
		return fail(-EIO, "KVM internal error: suberror %u, rip 0x%llx",
			    run->internal.suberror, rip);
	default:
		return fail(-EIO, "unexpected exit reason %u at rip 0x%llx",
			    run->exit_reason, rip);
	}
}

int guest_run(struct guest_vm *g, guest_exit_fn fn, void *opaque, uint64_t *exits)
{
	uint32_t done_at_start = script_done(g);
	uint64_t seen = 0;
	int ret;

	for (;;) {
		struct kvm_run *run = g->run;

		if (ioctl(g->vcpu_fd, KVM_RUN, 0) < 0) {
			ret = errno == EINTR ? -EINTR :
					       fail(-errno, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if ((run->exit_reason == KVM_EXIT_HLT ||
		     is_runner_port(g, GUEST_DONE_PORT)) &&
		    script_done(g) != done_at_start) {
			ret = 0;	/* END */
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT ||
		    is_runner_port(g, GUEST_HLT_PORT)) {
			ret = call_handler(g, fn, opaque);	/* GOP_HLT */
		} else if (run->exit_reason == KVM_EXIT_MMIO ||
			   run->exit_reason == KVM_EXIT_IO ||
			   run->exit_reason == KVM_EXIT_IOREGIONFD_FAILURE) {
			seen++;
			ret = call_handler(g, fn, opaque);
		} else if (run->exit_reason == KVM_EXIT_INTR) {
			ret = -EINTR;
		} else {
			ret = bad_exit(g);
		}
		if (ret)
			break;
	}
	if (exits)
		*exits = seen;
	return ret;
}
