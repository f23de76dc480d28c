/* SPDX-License-Identifier: BSD-3-Clause */
/* Behavioural probe of the kernel's unmerged features; IOFD_SHIM_FORCE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "probe.h"
#include "real.h"

/* A scratch MMIO address no program is expected to use. */
#define PROBE_ADDR	0xfffffffff0000000ull

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned served;
static uint32_t probe_slot;

/* Assign, then deassign, a post-write ioeventfd on @vm. */
static bool kernel_has_post_write(int vm)
{
	struct kvm_ioeventfd_post a = {
		.addr = PROBE_ADDR, .len = 4,
		.flags = KVM_IOEVENTFD_FLAG_POST_WRITE,
		.post_addr = (uintptr_t)&probe_slot,
	};
	bool has;

	a.fd = eventfd(0, EFD_CLOEXEC);
	if (a.fd < 0)
		return false;
	has = shim_real_ioctl(vm, KVM_IOEVENTFD, (unsigned long)&a) == 0;
	if (has) {
		a.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		shim_real_ioctl(vm, KVM_IOEVENTFD, (unsigned long)&a);
	}
	shim_real_close(a.fd);
	return has;
}

/* Deassign a region that does not exist: only a kernel without the
 * ioctl answers -ENOTTY. */
static bool kernel_has_ioregion(int vm)
{
	struct kvm_ioregion r = {
		.guest_paddr = PROBE_ADDR, .memory_size = 8,
		.read_fd = -1, .write_fd = -1, .flags = KVM_IOREGION_DEASSIGN,
	};

	return shim_real_ioctl(vm, KVM_SET_IOREGION, (unsigned long)&r) == 0 ||
	       errno != ENOTTY;
}

unsigned shim_probe_kernel(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;
	unsigned has = 0;

	if (kvm < 0)
		return 0;
	vm = shim_real_ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		if (kernel_has_post_write(vm))
			has |= SHIM_SERVE_POST_WRITE;
		if (kernel_has_ioregion(vm))
			has |= SHIM_SERVE_IOREGION;
		shim_real_close(vm);
	}
	shim_real_close(kvm);
	return has;
}

/* An environment switch: set, and not "0". */
static bool on(const char *v)
{
	return v && *v && strcmp(v, "0") != 0;
}

static void decide(void)
{
	const char *force = getenv("IOFD_SHIM_FORCE");
	int saved = errno;
	unsigned all = SHIM_SERVE_POST_WRITE | SHIM_SERVE_IOREGION;

	if (on(getenv("IOFD_SHIM_PASSTHROUGH")))
		served = 0;
	else if (on(force))
		served = all;
	else
		served = all & ~shim_probe_kernel();
	shim_debug("serving%s%s%s", served & SHIM_SERVE_POST_WRITE ? " post-write" : "",
		   served & SHIM_SERVE_IOREGION ? " ioregionfd" : "",
		   served ? (on(force) ? " (forced)" : " (the kernel lacks it)") :
			    " nothing: everything passes through");
	errno = saved;
}

unsigned shim_served(void)
{
	pthread_once(&once, decide);
	return served;
}
