/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the tests with a real guest: a guest VM adopted by iofd as an
 * embedding VMM would do it, and the guest's access as the VMM sees it in
 * kvm_run.
 */
#ifndef IOFD_KVMUTIL_H
#define IOFD_KVMUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "host.h"
#include "testutil.h"

/*
 * Skip the test when its fixture has no guest (have_guest false): then
 * /dev/kvm did not open, and TU_REQUIRE_KVM() says so and skips.
 */
#define KU_REQUIRE_GUEST(have_guest)      \
	do {                              \
		if (!(have_guest)) {      \
			TU_REQUIRE_KVM(); \
			fail();           \
		}                         \
	} while (0)

/*
 * A new iofd VM (vm_flags) that adopts g's VM and vCPU fds: 0, or -1 after
 * printing iofd's reason. The caller destroys *vcpu and *vm before g.
 */
static inline int ku_adopt(struct guest_vm *g, uint32_t vm_flags,
			   struct iofd_vm **vm, struct iofd_vcpu **vcpu)
{
	struct iofd_vm_options opts = { .kvm_vm_fd = g->vm_fd, .flags = vm_flags };

	if (iofd_vm_create(&opts, vm) ||
	    iofd_vcpu_adopt(*vm, g->vcpu_fd, g->run, vcpu)) {
		print_message("# iofd: %s\n", iofd_last_error());
		return -1;
	}
	return 0;
}

/* guest_vm_create(g, 0), then ku_adopt(): 0, or -1 after printing why. */
static inline int ku_guest_adopted(struct guest_vm *g, uint32_t vm_flags,
				   struct iofd_vm **vm, struct iofd_vcpu **vcpu)
{
	if (guest_vm_create(g, 0)) {
		print_message("# guest_vm_create: %s\n", guest_last_error());
		return -1;
	}
	return ku_adopt(g, vm_flags, vm, vcpu);
}

/*
 * Does the kernel behind VM fd vm_fd serve POST_WRITE ioeventfds? Asked of
 * the kernel directly (capability 248, then a raw assign and deassign at a
 * PIO port no guest reaches), so tests can hold iofd to the rule "kernel
 * path where the kernel has it" without trusting iofd's own probe.
 */
static inline bool ku_kernel_has_post_write(int vm_fd)
{
	static uint64_t slot;
	struct kvm_ioeventfd_post k = {
		.addr = UINT64_MAX - 31, .len = 4,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_POST_WRITE,
		.post_addr = (uint64_t)(uintptr_t)&slot,
	};
	bool has;

	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE) != 1)
		return false;
	k.fd = eventfd(0, EFD_CLOEXEC);
	has = k.fd >= 0 && ioctl(vm_fd, KVM_IOEVENTFD, &k) == 0;
	if (has) {
		k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		has = ioctl(vm_fd, KVM_IOEVENTFD, &k) == 0;
	}
	if (k.fd >= 0)
		close(k.fd);
	return has;
}

/* One access the VMM saw in kvm_run. */
struct ku_access {
	uint32_t reason;	/* KVM_EXIT_MMIO / KVM_EXIT_IO / another exit */
	uint64_t addr;
	uint32_t len;
	bool is_write;
	uint64_t value;		/* written, or supplied for a read */
};

/* The low len bytes of a value (len 1 to 8). */
static inline uint64_t ku_width_mask(uint32_t len)
{
	return len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
}

/*
 * Decode an MMIO or port I/O exit into *a (value left 0); for another exit
 * only a->reason is set. Returns the access's data bytes in run, or NULL.
 */
static inline void *ku_access_of(struct kvm_run *run, struct ku_access *a)
{
	memset(a, 0, sizeof(*a));
	a->reason = run->exit_reason;
	if (run->exit_reason == KVM_EXIT_MMIO) {
		a->addr = run->mmio.phys_addr;
		a->len = run->mmio.len;
		a->is_write = run->mmio.is_write;
		return run->mmio.data;
	}
	if (run->exit_reason == KVM_EXIT_IO) {
		a->addr = run->io.port;
		a->len = run->io.size;
		a->is_write = run->io.direction == KVM_EXIT_IO_OUT;
		return (char *)run + run->io.data_offset;
	}
	return NULL;
}

/*
 * Complete the access: keep what a write wrote in a->value, or answer a
 * read with the low bytes of answer. data is ku_access_of()'s result.
 */
static inline void ku_access_complete(struct ku_access *a, void *data,
				      uint64_t answer)
{
	if (a->is_write) {
		memcpy(&a->value, data, a->len);
	} else {
		a->value = answer & ku_width_mask(a->len);
		memcpy(data, &a->value, a->len);
	}
}

static inline void ku_assert_access(const struct ku_access *a, uint32_t reason,
				    uint64_t addr, uint32_t len, bool is_write,
				    uint64_t value)
{
	assert_int_equal(a->reason, reason);
	assert_int_equal(a->addr, addr);
	assert_int_equal(a->len, len);
	assert_int_equal(a->is_write, is_write);
	assert_int_equal(a->value, value);
}

#endif /* IOFD_KVMUTIL_H */
