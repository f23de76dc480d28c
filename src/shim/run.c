/* SPDX-License-Identifier: BSD-3-Clause */
/* The KVM_RUN loop of the shim and its failure exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <iofd/kvm-unmerged.h>

#include "real.h"
#include "run.h"

_Static_assert(sizeof(((struct kvm_run *)0)->mmio) <= 32, "mmio fits the save");
_Static_assert(sizeof(((struct kvm_run *)0)->io) <= 32, "io fits the save");

int shim_kvm_enter(int fd)
{
	return shim_real_ioctl(fd, KVM_RUN, 0);
}

/* The value a write exit carries (0 for a read), as the failure exit
 * reports it. */
static __u64 written_value(const struct kvm_run *run)
{
	__u64 v = 0;

	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write)
		memcpy(&v, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
	else if (run->exit_reason == KVM_EXIT_IO &&
		 run->io.direction == KVM_EXIT_IO_OUT)
		memcpy(&v, (const char *)run + run->io.data_offset,
		       run->io.size <= 8 ? run->io.size : 8);
	return v;
}

/* Turn the claimed access that failed into the kernel series' failure exit,
 * KVM_EXIT_IOREGIONFD_FAILURE, keeping the original exit to put back when
 * the program enters again. */
static void failure_exit(struct shim_vcpu *v, const struct iofd_exit *info)
{
	struct kvm_run *run = v->run;
	struct kvm_ioregionfd_failure_exit f = {
		.addr = info->addr,
		.data = written_value(run),
		.len = info->len,
		.is_write = info->is_write,
		.pio = info->bus == IOFD_BUS_PIO,
		.reason = (__u32)(info->err < 0 ? -info->err : info->err),
	};

	v->saved_reason = run->exit_reason;
	memcpy(v->saved, &run->mmio, sizeof(v->saved));
	v->failed = true;
	run->exit_reason = KVM_EXIT_IOREGIONFD_FAILURE;
	memcpy(run->padding, &f, sizeof(f));
}

/* The program enters again after a failure exit: complete the access as
 * the kernel series does, as a bus error (reads see all ones). */
static void failure_undo(struct shim_vcpu *v)
{
	struct kvm_run *run = v->run;

	v->failed = false;
	if (run->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE)
		return;		/* the program rewrote the exit itself */
	run->exit_reason = v->saved_reason;
	memcpy(&run->mmio, v->saved, sizeof(v->saved));
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	else if (run->exit_reason == KVM_EXIT_IO &&
		 run->io.direction == KVM_EXIT_IO_IN)
		memset((char *)run + run->io.data_offset, 0xff,
		       (size_t)run->io.size * run->io.count);
}

int shim_vcpu_run(struct shim_vcpu *v, int fd)
{
	struct iofd_exit info;
	int status;

	if (v->failed)
		failure_undo(v);
	if (v->pending)		/* the exit KVM_EXIT_INTR stood in for */
		v->run->exit_reason = v->pending_reason;
	for (;;) {
		if (!v->pending) {
			v->runs++;
			if (v->enter(fd) < 0)
				return -errno;
		}
		/* libiofd's own KVM_RUN (completing an exit whose reply
		 * wait a signal came through) goes to the kernel. */
		shim_enter();
		status = iofd_dispatch_exit(v->iofd, &info);
		shim_leave();
		/* Pending with KVM_EXIT_INTR: that exit was completed, and
		 * nothing is left to carry on (iofd(7), "Interrupted waits"). */
		v->pending = status == IOFD_PENDING &&
			     v->run->exit_reason != KVM_EXIT_INTR;
		if (status == IOFD_SERVED) {
			v->served++;
			continue;
		}
		if (status == IOFD_PENDING) {
			/* Nothing sent: as the kernel series, KVM_EXIT_INTR. */
			if (v->pending) {
				v->pending_reason = v->run->exit_reason;
				v->run->exit_reason = KVM_EXIT_INTR;
			}
			return -EINTR;
		}
		if (status == IOFD_FAILED)
			failure_exit(v, &info);
		return 0;
	}
}
