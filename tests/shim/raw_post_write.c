/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Post-write ioeventfd through the raw KVM uapi only: the program a
 * patched kernel runs natively and a stock kernel runs under
 * libiofd-shim.so. Its only non-kernel header is the numbers header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "rawvm.h"

#define DOORBELL	0x40u		/* offsets from RAWVM_MMIO */
#define MATCHED		0x80u
#define PLAIN		0x100u
#define PORT		0x510u

static struct rawvm vm;
static uint64_t slot4, slot2, slot1;

static int ioeventfd(uint64_t addr, uint32_t len, int fd, uint32_t flags,
		     uint64_t datamatch, void *post)
{
	struct kvm_ioeventfd_post a = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = flags, .post_addr = (uintptr_t)post,
	};

	return ioctl(vm.vm, KVM_IOEVENTFD, &a) < 0 ? -errno : 0;
}

static uint64_t drain(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void check_capability(void)
{
	rawvm_report(ioctl(vm.kvm, KVM_CHECK_EXTENSION,
			   KVM_CAP_IOEVENTFD_POST_WRITE) == 1,
		     "KVM_CHECK_EXTENSION(KVM_CAP_IOEVENTFD_POST_WRITE) is 1 on /dev/kvm");
	rawvm_report(ioctl(vm.vm, KVM_CHECK_EXTENSION,
			   KVM_CAP_IOEVENTFD_POST_WRITE) == 1,
		     "KVM_CHECK_EXTENSION(KVM_CAP_IOEVENTFD_POST_WRITE) is 1 on the VM");
}

/* With POST_WRITE the padding must be zero, checked first on deassign too. */
static void check_padding(uint64_t addr, int efd)
{
	struct kvm_ioeventfd_post a = {
		.addr = addr, .len = 4, .fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_POST_WRITE, .post_addr = (uintptr_t)&slot4,
	};
	int pad0, pad, deassign;

	a.pad0[1] = 1;
	pad0 = ioctl(vm.vm, KVM_IOEVENTFD, &a) < 0 ? -errno : 0;
	a.pad0[1] = 0;
	a.pad[0] = 1;		/* where iofd's struct has post_fd */
	pad = ioctl(vm.vm, KVM_IOEVENTFD, &a) < 0 ? -errno : 0;
	a.pad[0] = 0;
	a.pad[23] = 1;
	a.fd = -1;
	a.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	deassign = ioctl(vm.vm, KVM_IOEVENTFD, &a) < 0 ? -errno : 0;
	rawvm_report(pad0 == -EINVAL && pad == -EINVAL,
		     "non-zero pad0 or pad with POST_WRITE: EINVAL");
	rawvm_report(deassign == -EINVAL,
		     "a deassign with non-zero pad and fd -1: EINVAL, not EBADF");
}

static void check_bad_config(int efd)
{
	uint64_t a = RAWVM_MMIO + 0x200;

	rawvm_report(ioeventfd(a, 0, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0, &slot4) == -EINVAL,
		     "len 0 with POST_WRITE: EINVAL");
	rawvm_report(ioeventfd(a, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0, NULL) == -EINVAL,
		     "post_addr 0: EINVAL");
	rawvm_report(ioeventfd(a, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE | (1u << 6), 0,
			       &slot4) == -EINVAL, "unknown flag bit 6: EINVAL");
	rawvm_report(ioeventfd(a, 3, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0, &slot4) == -EINVAL,
		     "len 3: EINVAL");
	rawvm_report(ioeventfd(a, 4, -1, KVM_IOEVENTFD_FLAG_POST_WRITE, 0, &slot4) == -EBADF,
		     "fd -1: EBADF");
	rawvm_report(ioeventfd(a, 4, vm.kvm,
			       KVM_IOEVENTFD_FLAG_POST_WRITE, 0, &slot4) == -EINVAL,
		     "a non-eventfd: EINVAL");
	rawvm_report(ioeventfd(a, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0,
			       (char *)&slot4 + 2) == -EINVAL,
		     "post_addr not aligned to len: EINVAL");
	rawvm_report(ioeventfd(a, 8, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0,
			       (char *)&slot4 + 4) == -EINVAL,
		     "len 8 at a 4-aligned post_addr: EINVAL");
	check_padding(a, efd);
}

/* One guest write of @size bytes at MMIO offset @off. */
static int guest_write(uint16_t off, int size, uint32_t v)
{
	struct rawcode c = { .n = 0 };

	rawcode_mmio_write(&c, off, size, v);
	return rawvm_exec(&vm, &c);
}

static void check_doorbell(int efd)
{
	int ok = 1;

	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd,
			       KVM_IOEVENTFD_FLAG_POST_WRITE, 0, &slot4) == 0,
		     "assign a 4-byte MMIO post-write doorbell");
	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, 0, 0, NULL) == -EEXIST,
		     "a plain ioeventfd at the same address and len: EEXIST");
	rawvm_report(guest_write(DOORBELL, 4, 0x11223344) == KVM_EXIT_HLT &&
		     drain(efd) == 1 && slot4 == 0x11223344,
		     "a guest write is stored at post_addr and signals once, no exit");
	for (uint32_t i = 1; i <= 50 && ok; i++)
		ok = guest_write(DOORBELL, 4, 0xabc00000 + i) == KVM_EXIT_HLT &&
		     slot4 == 0xabc00000 + i;
	rawvm_report(ok && drain(efd) == 50, "50 writes: each value stored, 50 signals");
	rawvm_report(guest_write(DOORBELL, 2, 0x7777) == KVM_EXIT_MMIO &&
		     vm.run->mmio.len == 2 && slot4 == 0xabc00032,
		     "a write of another width is an ordinary exit, slot untouched");
	rawvm_run(&vm);
}

static void check_datamatch(int efd)
{
	rawvm_report(ioeventfd(RAWVM_MMIO + MATCHED, 2, efd,
			       KVM_IOEVENTFD_FLAG_POST_WRITE | KVM_IOEVENTFD_FLAG_DATAMATCH,
			       0x5555, &slot2) == 0, "assign a DATAMATCH post-write");
	rawvm_report(guest_write(MATCHED, 2, 0x1234) == KVM_EXIT_MMIO &&
		     vm.run->mmio.phys_addr == RAWVM_MMIO + MATCHED && slot2 == 0,
		     "a non-matching write exits to userspace, slot untouched");
	rawvm_run(&vm);
	rawvm_report(guest_write(MATCHED, 2, 0x5555) == KVM_EXIT_HLT &&
		     drain(efd) == 1 && slot2 == 0x5555,
		     "the matching write is stored and signalled");
}

static void check_pio(int efd)
{
	struct rawcode c = { .n = 0 };

	rawcode_out(&c, PORT, 1, 0xab);
	rawvm_report(ioeventfd(PORT, 1, efd, KVM_IOEVENTFD_FLAG_POST_WRITE |
			       KVM_IOEVENTFD_FLAG_PIO, 0, &slot1) == 0,
		     "assign a 1-byte PIO post-write");
	rawvm_report(rawvm_exec(&vm, &c) == KVM_EXIT_HLT && drain(efd) == 1 &&
		     slot1 == 0xab, "an out is stored and signalled");
}

/* Without POST_WRITE, post_addr is padding: garbage there is ignored. */
static void check_plain(int efd)
{
	rawvm_report(ioeventfd(RAWVM_MMIO + PLAIN, 4, efd, 0, 0,
			       (void *)0xdeadbeef) == 0,
		     "a plain ioeventfd with garbage where post_addr sits");
	rawvm_report(guest_write(PLAIN, 4, 1) == KVM_EXIT_HLT && drain(efd) == 1,
		     "the plain ioeventfd fires");
	rawvm_report(ioeventfd(RAWVM_MMIO + PLAIN, 4, efd, KVM_IOEVENTFD_FLAG_DEASSIGN,
			       0, (void *)0x1234) == 0, "and deassigns");
}

static void check_deassign(int efd)
{
	uint32_t f = KVM_IOEVENTFD_FLAG_POST_WRITE | KVM_IOEVENTFD_FLAG_DEASSIGN;

	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, f, 0, &slot2) == -ENOENT,
		     "deassign with another post_addr: ENOENT");
	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd,
			       KVM_IOEVENTFD_FLAG_DEASSIGN, 0, NULL) == -ENOENT,
		     "deassign without POST_WRITE: ENOENT");
	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, f, 0, &slot4) == 0,
		     "deassign the doorbell");
	rawvm_report(guest_write(DOORBELL, 4, 5) == KVM_EXIT_MMIO &&
		     vm.run->mmio.phys_addr == RAWVM_MMIO + DOORBELL &&
		     slot4 == 0xabc00032 && drain(efd) == 0,
		     "after deassign the write exits to userspace");
	rawvm_run(&vm);
	rawvm_report(ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, f, 0, &slot4) == -ENOENT,
		     "a second deassign: ENOENT");
}

#define LOOP_BELLS	2000u

struct runner {
	int vcpu;
	struct kvm_run *run;
	int calls;		/* KVM_RUN calls until HLT */
	int ok;
};

/* Run one vCPU to its HLT, counting the KVM_RUN calls it took. */
static void *run_to_hlt(void *arg)
{
	struct runner *r = arg;

	do {
		r->calls++;
		r->ok = ioctl(r->vcpu, KVM_RUN, 0) == 0;
	} while (r->ok && r->run->exit_reason != KVM_EXIT_HLT && r->calls < 100000);
	r->ok = r->ok && r->run->exit_reason == KVM_EXIT_HLT;
	return NULL;
}

/* A second vCPU in the same state as the first, at the same code. */
static int second_vcpu(struct runner *r)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	r->vcpu = ioctl(vm.vm, KVM_CREATE_VCPU, 1);
	if (r->vcpu < 0)
		return -1;
	r->run = mmap(NULL, vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->vcpu, 0);
	if (r->run == MAP_FAILED || ioctl(vm.vcpu, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(r->vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vm.vcpu, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(r->vcpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	return 0;
}

/* Two vCPUs on two threads ring one doorbell in a guest loop: every
 * write stored and signalled, each thread's KVM_RUN returns only at HLT. */
static void check_two_vcpus(int efd)
{
	struct runner r[2] = { { .vcpu = vm.vcpu, .run = vm.run } };
	/* mov cx, LOOP_BELLS; l: mov dword [DOORBELL], 1; loop l */
	struct rawcode c = { .b = { 0xb9, LOOP_BELLS & 0xff, LOOP_BELLS >> 8 }, .n = 3 };
	pthread_t t[2];
	int ok;

	rawcode_mmio_write(&c, DOORBELL, 4, 1);
	c.b[c.n] = 0xe2;
	c.b[c.n + 1] = (uint8_t)(0xfe - (c.n - 3));
	c.n += 2;
	rawvm_start(&vm, &c);
	ok = ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE, 0,
		       &slot4) == 0 && second_vcpu(&r[1]) == 0;
	for (int i = 0; i < 2 && ok; i++)
		pthread_create(&t[i], NULL, run_to_hlt, &r[i]);
	for (int i = 0; i < 2 && ok; i++)
		pthread_join(t[i], NULL);
	rawvm_report(ok && r[0].ok && r[1].ok && drain(efd) == 2 * LOOP_BELLS &&
		     slot4 == 1 && r[0].calls == 1 && r[1].calls == 1,
		     "two vCPU threads, %u doorbells each: all stored and signalled, "
		     "one KVM_RUN each", LOOP_BELLS);
	ioeventfd(RAWVM_MMIO + DOORBELL, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE |
		  KVM_IOEVENTFD_FLAG_DEASSIGN, 0, &slot4);
	if (r[1].run && r[1].run != MAP_FAILED)
		munmap(r[1].run, vm.run_size);
	if (r[1].vcpu >= 0)
		close(r[1].vcpu);
}

int main(void)
{
	int efd, err;

	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return rawvm_skip_all("no usable /dev/kvm");
	err = rawvm_open(&vm);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (err || efd < 0) {
		rawvm_report(0, "set up a VM: %s", strerror(err ? -err : errno));
		return rawvm_summary("post-write", vm.kvm, KVM_CAP_IOEVENTFD_POST_WRITE);
	}
	check_capability();
	check_bad_config(efd);
	check_doorbell(efd);
	check_datamatch(efd);
	check_pio(efd);
	check_plain(efd);
	check_deassign(efd);
	check_two_vcpus(efd);
	close(efd);
	err = rawvm_summary("post-write", vm.kvm, KVM_CAP_IOEVENTFD_POST_WRITE);
	rawvm_close(&vm);
	return err;
}
