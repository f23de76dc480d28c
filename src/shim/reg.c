/* SPDX-License-Identifier: BSD-3-Clause */
/* KVM_CHECK_EXTENSION, KVM_IOEVENTFD, KVM_SET_IOREGION, KVM_CREATE_VCPU. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "obj.h"
#include "probe.h"
#include "real.h"
#include "reg.h"

_Static_assert(sizeof(struct kvm_ioregion) == sizeof(struct iofd_ioregion),
	       "iofd's ioregion layout is the uapi's");
_Static_assert(offsetof(struct kvm_ioregion, flags) ==
		       offsetof(struct iofd_ioregion, flags),
	       "iofd's ioregion layout is the uapi's");
_Static_assert(offsetof(struct kvm_ioeventfd_post, post_addr) ==
		       offsetof(struct iofd_ioeventfd, post_addr),
	       "iofd's post-write layout is the uapi's");
_Static_assert(sizeof(struct kvm_ioeventfd_post) == sizeof(struct iofd_ioeventfd) &&
		       offsetof(struct kvm_ioeventfd_post, pad0) ==
		       offsetof(struct iofd_ioeventfd, pad0) &&
		       offsetof(struct kvm_ioeventfd_post, pad) ==
		       offsetof(struct iofd_ioeventfd, post_fd),
	       "the uapi's padding is iofd's pad0, post_fd and pad");

/* The flag bits a kernel with the post-write series accepts on assign. */
#define POST_SERIES_FLAGS	(0x1fu | KVM_IOEVENTFD_FLAG_POST_WRITE)

/* -1 and errno from a negative errno; a result >= 0 unchanged. */
static int abi_result(int r)
{
	if (r >= 0)
		return r;
	errno = -r;
	return -1;
}

int shim_copy_in(void *dst, unsigned long uaddr, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)uaddr, len };

	if (!uaddr)
		return -EFAULT;
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int shim_check_extension(int fd, unsigned long cap)
{
	unsigned want = 0;
	int r = shim_real_ioctl(fd, KVM_CHECK_EXTENSION, cap);

	if (r < 0)		/* not a KVM fd: the kernel's errno */
		return r;
	if ((int)cap == KVM_CAP_IOEVENTFD_POST_WRITE)
		want = SHIM_SERVE_POST_WRITE;
	else if ((int)cap == KVM_CAP_IOREGIONFD)
		want = SHIM_SERVE_IOREGION;
	if (want && (shim_served() & want))
		return 1;
	return r;
}

int shim_enable_cap(int fd, unsigned long arg)
{
	struct kvm_enable_cap cap;
	struct shim_vm *vm;
	int err;

	if (!(shim_served() & SHIM_SERVE_IOREGION))
		return shim_real_ioctl(fd, KVM_ENABLE_CAP, arg);
	err = shim_copy_in(&cap, arg, sizeof(cap));
	if (err || cap.cap != KVM_CAP_IOREGIONFD)
		return shim_real_ioctl(fd, KVM_ENABLE_CAP, arg);
	err = shim_vm_get(fd, &vm);
	if (err)
		return abi_result(err);
	if (!vm)
		return shim_real_ioctl(fd, KVM_ENABLE_CAP, arg);
	/* As the kernel series: no flags, args[1..3] zero, 32 bits of ms. */
	if (cap.flags || cap.args[1] || cap.args[2] || cap.args[3] ||
	    cap.args[0] > UINT32_MAX)
		err = -EINVAL;
	else
		err = iofd_vm_set_ioregion_timeout(vm->iofd, (uint32_t)cap.args[0]);
	shim_obj_put(&vm->o);
	return abi_result(err);
}

/*
 * The program's struct, as iofd's extended ioeventfd: the same 64 bytes, the
 * uapi's pad[0..3] landing in post_fd, which iofd requires to be zero (as the
 * kernel requires the padding) with POST_WRITE and without POST_MEMFD.
 */
static void to_iofd(const struct kvm_ioeventfd_post *a, struct iofd_ioeventfd *x)
{
	memcpy(x, a, sizeof(*x));
	/* iofd's own high bits (POST_MEMFD, NO_OFFLOAD) are not the uapi's:
	 * the kernel ignores unknown bits on deassign, so do we. */
	x->flags = a->flags & POST_SERIES_FLAGS;
}

/* One KVM_IOEVENTFD on an adopted VM, with the series' rules. */
static int vm_ioeventfd(struct shim_vm *vm, const struct kvm_ioeventfd_post *a)
{
	struct iofd_ioeventfd x;
	int err;

	if (!(a->flags & KVM_IOEVENTFD_FLAG_DEASSIGN) &&
	    (a->flags & ~POST_SERIES_FLAGS)) {
		/* len is checked first, but both answers are -EINVAL */
		return -EINVAL;
	}
	shim_enter();
	if (a->flags & KVM_IOEVENTFD_FLAG_POST_WRITE) {
		to_iofd(a, &x);
		err = iofd_ioeventfd_ext(vm->iofd, &x);
	} else {
		err = iofd_ioeventfd(vm->iofd, (const struct kvm_ioeventfd *)a);
	}
	shim_leave();
	return err;
}

int shim_ioeventfd(int fd, unsigned long arg)
{
	struct kvm_ioeventfd_post a = { 0 };
	struct shim_vm *vm;
	int err;

	if (!(shim_served() & SHIM_SERVE_POST_WRITE))
		return shim_real_ioctl(fd, KVM_IOEVENTFD, arg);
	err = shim_vm_get(fd, &vm);
	if (err)
		return abi_result(err);
	if (!vm)
		return shim_real_ioctl(fd, KVM_IOEVENTFD, arg);
	err = shim_copy_in(&a, arg, sizeof(a));
	if (!err)
		err = vm_ioeventfd(vm, &a);
	shim_obj_put(&vm->o);
	if (err)
		shim_debug("KVM_IOEVENTFD addr 0x%llx len %u flags 0x%x: %s",
			   (unsigned long long)a.addr, a.len, a.flags, strerror(-err));
	return abi_result(err);
}

int shim_set_ioregion(int fd, unsigned long arg)
{
	struct kvm_ioregion r = { 0 };
	struct shim_vm *vm;
	int err;

	if (!(shim_served() & SHIM_SERVE_IOREGION))
		return shim_real_ioctl(fd, KVM_SET_IOREGION, arg);
	err = shim_vm_get(fd, &vm);
	if (err)
		return abi_result(err);
	if (!vm)
		return shim_real_ioctl(fd, KVM_SET_IOREGION, arg);
	err = shim_copy_in(&r, arg, sizeof(r));
	if (!err) {
		shim_enter();
		err = iofd_set_ioregion(vm->iofd, (const struct iofd_ioregion *)&r);
		/* As the kernel, a deassign returns with the region's fds let
		 * go of (unless a vCPU is still in it). */
		if (!err && (r.flags & KVM_IOREGION_DEASSIGN))
			iofd_quiesce(vm->iofd);
		shim_leave();
	}
	shim_obj_put(&vm->o);
	if (err)
		shim_debug("KVM_SET_IOREGION 0x%llx+0x%llx flags 0x%x: %s",
			   (unsigned long long)r.guest_paddr,
			   (unsigned long long)r.memory_size, r.flags, strerror(-err));
	return abi_result(err);
}

int shim_create_vcpu(int fd, unsigned long id)
{
	struct shim_vm *vm = NULL;
	int vcpu, saved;

	if (shim_served())
		shim_vm_get(fd, &vm);	/* on failure the VM is the kernel's */
	vcpu = shim_real_ioctl(fd, KVM_CREATE_VCPU, id);
	saved = errno;
	if (vcpu >= 0 && vm)
		shim_vcpu_created(vm, vcpu);
	shim_obj_put(vm ? &vm->o : NULL);
	errno = saved;
	return vcpu;
}
