/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program of a VMM author's, built against an installed iofd only
 * (pkg-config iofd), as C and as C++ (scripts/install-check.sh): a VM
 * without KVM, one ioeventfd, one emulated guest write through
 * iofd_access(), and the eventfd's count read back. Exit 0 when the
 * doorbell rang exactly once; otherwise 1 with the reason on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <iofd/iofd.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "use_iofd: %s: %s (%s)\n", what, strerror(-err),
		iofd_last_error());
	return 1;
}

int main(void)
{
	struct iofd_vm_options opts;
	struct kvm_ioeventfd io;
	struct iofd_vm *vm = NULL;
	uint32_t value = 1;
	uint64_t count = 0;
	int efd, err, rc = 1;

	memset(&opts, 0, sizeof(opts));
	opts.kvm_vm_fd = IOFD_KVM_NONE;
	err = iofd_vm_create(&opts, &vm);
	if (err)
		return fail("iofd_vm_create", err);
	efd = eventfd(0, EFD_CLOEXEC);
	memset(&io, 0, sizeof(io));
	io.addr = 0xd0000000;
	io.len = 4;
	io.fd = efd;
	err = iofd_ioeventfd(vm, &io);
	if (err) {
		rc = fail("iofd_ioeventfd", err);
	} else {
		err = iofd_access(vm, IOFD_BUS_MMIO, io.addr, 4, true, &value, NULL);
		if (err != IOFD_SERVED)
			rc = fail("iofd_access", err < 0 ? err : -EPROTO);
		else if (read(efd, &count, sizeof(count)) != sizeof(count) || count != 1)
			fprintf(stderr, "use_iofd: the eventfd counted %llu, not 1\n",
				(unsigned long long)count);
		else
			rc = 0;
	}
	iofd_vm_destroy(vm);
	close(efd);
	return rc;
}
