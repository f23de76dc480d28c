/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fixture of the registration tests: one iofd VM without KVM and four
 * eventfds, with the fd and thread counts checked again at teardown.
 */
#ifndef IOFD_VMFIXTURE_H
#define IOFD_VMFIXTURE_H

#include <sys/eventfd.h>

#include "testutil.h"

#define VMF_EFDS 4

struct vmf {
	struct iofd_vm *vm;
	int efd[VMF_EFDS];
	struct tu_resources before;
	int fds_with_efds;	/* fds once the fixture's eventfds exist */
};

static inline int vmf_setup(void **state)
{
	static struct vmf f;

	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm))
		return -1;
	for (int i = 0; i < VMF_EFDS; i++)
		f.efd[i] = eventfd(0, EFD_CLOEXEC);
	f.fds_with_efds = tu_open_fds();
	*state = &f;
	return 0;
}

/* Destroys the VM, closes the eventfds and asserts nothing leaked. */
static inline int vmf_teardown(void **state)
{
	struct vmf *f = *state;

	iofd_vm_destroy(f->vm);
	for (int i = 0; i < VMF_EFDS; i++)
		close(f->efd[i]);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

/* A cmocka test run between vmf_setup() and vmf_teardown(). */
#define VMF_TEST(fn) cmocka_unit_test_setup_teardown(fn, vmf_setup, vmf_teardown)

/* KVM_IOEVENTFD through iofd: 0 or -errno. */
static inline int vmf_ioeventfd(struct vmf *f, uint64_t addr, uint32_t len, int fd,
				uint32_t flags, uint64_t dm)
{
	struct kvm_ioeventfd a = { .datamatch = dm, .addr = addr, .len = len,
				   .fd = fd, .flags = flags };

	return iofd_ioeventfd(f->vm, &a);
}

/* A guest write of len bytes of v at addr on bus: iofd_access()'s result. */
static inline int vmf_write(struct vmf *f, enum iofd_bus bus, uint64_t addr,
			    uint32_t len, uint64_t v)
{
	return iofd_access(f->vm, bus, addr, len, true, &v, NULL);
}

static inline int vmf_mmio_write(struct vmf *f, uint64_t addr, uint32_t len,
				 uint64_t v)
{
	return vmf_write(f, IOFD_BUS_MMIO, addr, len, v);
}

#endif /* IOFD_VMFIXTURE_H */
