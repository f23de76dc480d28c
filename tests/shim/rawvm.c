/* SPDX-License-Identifier: BSD-3-Clause */
/* The raw-uapi test VM and the acceptance programs' TAP and summary. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "rawvm.h"

#define MEM_SIZE	0x10000u
#define CODE_AT		0x1000u

static int passed, failed;

static int fail_errno(void)
{
	return -errno;
}

static int setup_sregs(struct rawvm *m)
{
	struct kvm_sregs s;

	if (ioctl(m->vcpu, KVM_GET_SREGS, &s) < 0)
		return fail_errno();
	s.cs.base = 0;
	s.cs.selector = 0;
	s.ds.base = RAWVM_MMIO;
	s.ds.selector = (uint16_t)(RAWVM_MMIO >> 4);
	if (ioctl(m->vcpu, KVM_SET_SREGS, &s) < 0)
		return fail_errno();
	return 0;
}

int rawvm_open(struct rawvm *m)
{
	struct kvm_userspace_memory_region r = { 0 };
	long size;

	memset(m, 0, sizeof(*m));
	m->vm = m->vcpu = -1;
	m->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm < 0)
		return fail_errno();
	m->vm = ioctl(m->kvm, KVM_CREATE_VM, 0);
	if (m->vm < 0)
		return fail_errno();
	m->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->mem == MAP_FAILED)
		return fail_errno();
	r.memory_size = MEM_SIZE;
	r.userspace_addr = (uintptr_t)m->mem;
	if (ioctl(m->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return fail_errno();
	m->vcpu = ioctl(m->vm, KVM_CREATE_VCPU, 0);
	size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->vcpu < 0 || size <= 0)
		return fail_errno();
	m->run_size = (size_t)size;
	m->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->vcpu, 0);
	if (m->run == MAP_FAILED)
		return fail_errno();
	return setup_sregs(m);
}

void rawvm_close(struct rawvm *m)
{
	if (m->run && m->run != MAP_FAILED)
		munmap(m->run, m->run_size);
	if (m->mem && m->mem != MAP_FAILED)
		munmap(m->mem, MEM_SIZE);
	if (m->vcpu >= 0)
		close(m->vcpu);
	if (m->vm >= 0)
		close(m->vm);
	if (m->kvm >= 0)
		close(m->kvm);
}

static void put(struct rawcode *c, const uint8_t *b, size_t n)
{
	if (c->n + n <= sizeof(c->b)) {
		memcpy(c->b + c->n, b, n);
		c->n += n;
	}
}

static void put_imm(struct rawcode *c, uint32_t v, int size)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	put(c, b, (size_t)size);
}

/* 0x66 switches a 16-bit instruction to 32 bits. */
static void put_width(struct rawcode *c, int size)
{
	static const uint8_t o32 = 0x66;

	if (size == 4)
		put(c, &o32, 1);
}

void rawcode_mmio_write(struct rawcode *c, uint16_t off, int size, uint32_t v)
{
	uint8_t op[2] = { size == 1 ? 0xc6 : 0xc7, 0x06 };

	put_width(c, size);
	put(c, op, 2);
	put_imm(c, off, 2);
	put_imm(c, v, size);
}

void rawcode_mmio_read(struct rawcode *c, uint16_t off, int size)
{
	uint8_t op = size == 1 ? 0xa0 : 0xa1;

	put_width(c, size);
	put(c, &op, 1);
	put_imm(c, off, 2);
}

static void mov_dx(struct rawcode *c, uint16_t port)
{
	static const uint8_t op = 0xba;

	put(c, &op, 1);
	put_imm(c, port, 2);
}

void rawcode_out(struct rawcode *c, uint16_t port, int size, uint32_t v)
{
	static const uint8_t mov_eax[2] = { 0x66, 0xb8 };
	uint8_t op = size == 1 ? 0xee : 0xef;

	put(c, mov_eax, 2);
	put_imm(c, v, 4);
	mov_dx(c, port);
	put_width(c, size);
	put(c, &op, 1);
}

void rawcode_in(struct rawcode *c, uint16_t port, int size)
{
	uint8_t op = size == 1 ? 0xec : 0xed;

	mov_dx(c, port);
	put_width(c, size);
	put(c, &op, 1);
}

int rawvm_start(struct rawvm *m, const struct rawcode *c)
{
	struct kvm_regs regs = { 0 };

	memcpy(m->mem + CODE_AT, c->b, c->n);
	m->mem[CODE_AT + c->n] = 0xf4;	/* hlt */
	regs.rip = CODE_AT;
	regs.rflags = 2;
	if (ioctl(m->vcpu, KVM_SET_REGS, &regs) < 0)
		return fail_errno();
	return 0;
}

int rawvm_run(struct rawvm *m)
{
	if (ioctl(m->vcpu, KVM_RUN, 0) < 0)
		return fail_errno();
	return (int)m->run->exit_reason;
}

int rawvm_exec(struct rawvm *m, const struct rawcode *c)
{
	int r = rawvm_start(m, c);

	return r ? r : rawvm_run(m);
}

uint64_t rawvm_rax(struct rawvm *m)
{
	struct kvm_regs regs;

	if (ioctl(m->vcpu, KVM_GET_REGS, &regs) < 0)
		return ~0ull;
	return regs.rax;
}

void rawvm_report(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		passed++;
	else
		failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", passed + failed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Whether libiofd-shim.so is mapped into this process. */
static int shim_loaded(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libiofd-shim") != NULL;
	fclose(f);
	return found;
}

/* "stock+shim" under the shim; without it, "patched" if the kernel
 * answers the capability itself, else "stock" (where this must fail). */
static const char *config(int kvm, int cap)
{
	if (shim_loaded())
		return "stock+shim";
	return ioctl(kvm, KVM_CHECK_EXTENSION, cap) == 1 ? "patched" : "stock";
}

int rawvm_summary(const char *prog, int kvm, int cap)
{
	struct utsname u;

	if (uname(&u) < 0)
		strcpy(u.release, "unknown");
	printf("1..%d\n", passed + failed);
	fprintf(stderr, "uapi shim: %s: %d passed, %d failed on %s (%s)\n",
		prog, passed, failed, u.release,
		config(kvm, cap));
	return failed ? 1 : 0;
}

int rawvm_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}
