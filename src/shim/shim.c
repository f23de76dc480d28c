/* SPDX-License-Identifier: BSD-3-Clause */
/* The shim's ioctl/close logic: classify the request, serve or pass on. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "fdtab.h"
#include "obj.h"
#include "probe.h"
#include "real.h"
#include "reg.h"
#include "run.h"
#include "shim.h"

/* KVM_RUN: through the shim for vCPUs it adopted, else the kernel's. */
static int shim_run(int fd, unsigned long arg)
{
	struct shim_vcpu *v = shim_vcpu_get(fd);
	int err;

	if (!v)
		return shim_real_ioctl(fd, KVM_RUN, arg);
	err = shim_vcpu_run(v, fd);
	shim_obj_put(&v->o);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

int shim_ioctl(int fd, unsigned long req, unsigned long arg)
{
	if (shim_inside())	/* libiofd's own calls */
		return shim_real_ioctl(fd, req, arg);
	switch (req) {
	case KVM_RUN:
		return shim_run(fd, arg);
	case KVM_IOEVENTFD:
		return shim_ioeventfd(fd, arg);
	case KVM_SET_IOREGION:
		return shim_set_ioregion(fd, arg);
	case KVM_ENABLE_CAP:
		return shim_enable_cap(fd, arg);
	case KVM_CHECK_EXTENSION:
		return shim_check_extension(fd, arg);
	case KVM_CREATE_VCPU:
		return shim_create_vcpu(fd, arg);
	default:
		return shim_real_ioctl(fd, req, arg);
	}
}

int shim_close(int fd)
{
	if (!shim_inside())
		shim_fd_closing(fd);
	return shim_real_close(fd);
}

int shim_dup3(int oldfd, int newfd, int flags)
{
	/* dup2 onto itself closes nothing */
	if (!shim_inside() && oldfd != newfd && shim_fdtab_get(newfd) &&
	    fcntl(oldfd, F_GETFD) >= 0)
		shim_fd_closing(newfd);
	return shim_real_dup3(oldfd, newfd, flags);
}

int shim_close_range(unsigned first, unsigned last, int flags)
{
	int fd;

	/* CLOSE_RANGE_CLOEXEC (1u << 2) only marks them */
	if (!shim_inside() && !(flags & (1 << 2)))
		for (fd = shim_fdtab_next((int)(first > INT32_MAX ? INT32_MAX : first));
		     fd >= 0 && (unsigned)fd <= last; fd = shim_fdtab_next(fd + 1))
			shim_fd_closing(fd);
	return shim_real_close_range(first, last, flags);
}

int shim_counters(int vcpu_fd, unsigned long long *runs,
		  unsigned long long *served)
{
	struct shim_vcpu *v = shim_vcpu_get(vcpu_fd);

	if (!v)
		return -ENOENT;
	*runs = v->runs;
	*served = v->served;
	shim_obj_put(&v->o);
	return 0;
}
