/* SPDX-License-Identifier: BSD-3-Clause */
/* vCPUs: creation or adoption, and the run loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "rcu.h"
#include "vcpu.h"
#include "vm.h"

IOFD_EXPORT int iofd_vcpu_create(struct iofd_vm *vm, int id, struct iofd_vcpu **out)
{
	struct iofd_vcpu *vcpu;
	int err;

	if (!vm || !out)
		return iofd_fail(-EINVAL, "iofd_vcpu_create: NULL vm or out");
	if (vm->kvm_fd < 0)
		return iofd_fail(-ENODEV, "iofd_vcpu_create: this iofd VM has no "
				 "KVM VM");
	vcpu = iofd_calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return iofd_fail(-ENOMEM, "out of memory for a vCPU");
	vcpu->vm = vm;
	vcpu->fd = iofd_ioctl(vm->kvm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		err = -errno;
		free(vcpu);
		return iofd_fail(err, "KVM_CREATE_VCPU %d: %s", id, strerror(-err));
	}
	fcntl(vcpu->fd, F_SETFD, FD_CLOEXEC);
	vcpu->run = mmap(NULL, (size_t)vm->kvm_run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		err = -errno;
		close(vcpu->fd);
		free(vcpu);
		return iofd_fail(err, "mmap of kvm_run: %s", strerror(-err));
	}
	vcpu->owned = true;
	*out = vcpu;
	return 0;
}

IOFD_EXPORT int iofd_vcpu_adopt(struct iofd_vm *vm, int vcpu_fd,
				struct kvm_run *run, struct iofd_vcpu **out)
{
	struct iofd_vcpu *vcpu;
	char target[64];
	int err;

	if (!vm || !out || !run)
		return iofd_fail(-EINVAL, "iofd_vcpu_adopt: NULL vm, run or out");
	err = iofd_fd_link(vcpu_fd, target, sizeof(target));
	if (err == -EBADF)
		return iofd_fail(-EINVAL, "iofd_vcpu_adopt: vCPU fd %d is not an "
				 "open file descriptor", vcpu_fd);
	if (err)
		return iofd_fail(-EINVAL, "iofd_vcpu_adopt: cannot tell whether fd "
				 "%d is a KVM vCPU: %s", vcpu_fd, strerror(-err));
	/* Only the kind can be checked: not that the vCPU is this VM's. */
	if (strncmp(target, "anon_inode:kvm-vcpu:", 20) != 0)
		return iofd_fail(-EINVAL, "iofd_vcpu_adopt: fd %d is not a KVM "
				 "vCPU (%s)", vcpu_fd, target);
	vcpu = iofd_calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return iofd_fail(-ENOMEM, "out of memory for a vCPU");
	vcpu->vm = vm;
	vcpu->fd = vcpu_fd;
	vcpu->run = run;
	*out = vcpu;
	return 0;
}

IOFD_EXPORT void iofd_vcpu_destroy(struct iofd_vcpu *vcpu)
{
	if (!vcpu)
		return;
	iofd_rcu_thread();
	if (vcpu->pending.src)
		vcpu->pending.src->ops->cancel(vcpu, vcpu->pending.src,
						vcpu->pending.state);
	if (vcpu->owned) {
		munmap(vcpu->run, (size_t)vcpu->vm->kvm_run_size);
		close(vcpu->fd);
	}
	free(vcpu);
}

IOFD_EXPORT int iofd_vcpu_fd(const struct iofd_vcpu *vcpu)
{
	return vcpu ? vcpu->fd : iofd_fail(-EINVAL, "iofd_vcpu_fd: NULL vcpu");
}

IOFD_EXPORT struct kvm_run *iofd_vcpu_kvm_run(const struct iofd_vcpu *vcpu)
{
	if (!vcpu)
		iofd_fail(-EINVAL, "iofd_vcpu_kvm_run: NULL vcpu");
	return vcpu ? vcpu->run : NULL;
}

IOFD_EXPORT int iofd_vcpu_get_stats(const struct iofd_vcpu *vcpu,
				    struct iofd_vcpu_stats *stats)
{
	if (!vcpu || !stats)
		return iofd_fail(-EINVAL, "iofd_vcpu_get_stats: NULL vcpu or stats");
	*stats = vcpu->stats;
	return 0;
}

int iofd_vcpu_complete_interrupted(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	struct kvm_run *run = vcpu->run;
	uint8_t kicked_before = __atomic_load_n(&run->immediate_exit,
						__ATOMIC_ACQUIRE);
	int ret;

	vcpu->interrupted = false;
	if (!kicked_before)
		__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELEASE);
	vcpu->stats.runs++;
	ret = iofd_ioctl(vcpu->fd, KVM_RUN, 0);
	if (!kicked_before)
		__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELEASE);
	if (ret == 0)	/* the completion made another exit: the VMM's turn */
		return IOFD_NOT_CLAIMED;
	/* As the kernel series' KVM_RUN after a signal; immediate_exit alone
	 * leaves exit_reason as it was. */
	run->exit_reason = KVM_EXIT_INTR;
	vcpu->completed_intr = true;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->status = IOFD_PENDING;
		info->err = -EINTR;
		snprintf(info->reason, sizeof(info->reason), "%s", "a signal came "
			 "while the access was served; the access completed");
	}
	return IOFD_PENDING;
}

IOFD_EXPORT int iofd_vcpu_run(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	int status;

	if (!vcpu)
		return iofd_fail(-EINVAL, "iofd_vcpu_run: NULL vcpu");
	for (;;) {
		/* An access interrupted earlier completes before the guest
		 * runs again; it may still be pending (-EINTR again). */
		if (!vcpu->pending.src) {
			vcpu->stats.runs++;
			if (iofd_ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
				int err = -errno;

				/* An interrupted run is the VMM's own kick. */
				if (err == -EINTR)
					return err;
				return iofd_fail(err, "KVM_RUN on vCPU fd %d: %s",
						 vcpu->fd, strerror(-err));
			}
		}
		status = iofd_dispatch_exit(vcpu, info);
		if (status == IOFD_PENDING)
			return -EINTR;
		if (status != IOFD_SERVED)
			return status;
	}
}
