/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd served by the kernel (the out-of-tree series with the
 * provisional numbers of iofd/kvm-unmerged.h): finding out whether the
 * kernel has it, registering regions there, its per-VM timeout, and
 * turning its failure exit into iofd's own description of a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iofd/kvm-unmerged.h"

#include "error.h"
#include "fault.h"
#include "ioregion_kvm.h"

/* Where the probe puts its doorbell: the top of the physical address
 * space, where no VMM maps a device. */
#define PROBE_ADDR	0xfffffffffffff000ull

bool iofd_kvm_ioregion_probe(int kvm_vm_fd)
{
	struct iofd_ioregion r = {
		.guest_paddr = PROBE_ADDR,
		.memory_size = 0,
		.flags = IOFD_IOREGION_FLAG_POSTED_WRITES,
	};
	int p[2], err;

	if (kvm_vm_fd < 0 ||
	    iofd_ioctl(kvm_vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD) != 1)
		return false;
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	err = iofd_kvm_set_ioregion(kvm_vm_fd, &r, -1, p[1]);
	if (!err) {
		r.flags |= IOFD_IOREGION_FLAG_DEASSIGN;
		err = iofd_kvm_set_ioregion(kvm_vm_fd, &r, -1, p[1]);
	}
	close(p[0]);
	close(p[1]);
	return !err;
}

int iofd_kvm_set_ioregion(int kvm_vm_fd, const struct iofd_ioregion *args,
			  int read_fd, int write_fd)
{
	struct kvm_ioregion k;

	memset(&k, 0, sizeof(k));
	k.guest_paddr = args->guest_paddr;
	k.memory_size = args->memory_size;
	k.user_data = args->user_data;
	k.read_fd = read_fd;
	k.write_fd = write_fd;
	k.flags = args->flags;	/* iofd's bits are the kernel's */
	return iofd_ioctl(kvm_vm_fd, KVM_SET_IOREGION, &k) < 0 ? -errno : 0;
}

int iofd_kvm_ioregion_timeout(int kvm_vm_fd, uint32_t ms)
{
	struct kvm_enable_cap cap;

	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_IOREGIONFD;
	cap.args[0] = ms == IOFD_TIMEOUT_FOREVER ? 0 : ms;
	return iofd_ioctl(kvm_vm_fd, KVM_ENABLE_CAP, &cap) < 0 ? -errno : 0;
}

/* The reason, in the words iofd's own failures use for the same errno
 * (the kernel gives the errno only, not how many bytes came). */
static void describe(char *buf, size_t size, int reason, uint32_t timeout_ms)
{
	switch (reason) {
	case EPIPE:
		snprintf(buf, size, "device closed its fd (in the kernel)");
		break;
	case EPROTO:
		snprintf(buf, size, "short reply or unsolicited data (in the "
			 "kernel)");
		break;
	case EBADMSG:
		snprintf(buf, size, "malformed reply (in the kernel)");
		break;
	case ETIMEDOUT:
		snprintf(buf, size, "no reply within %u ms, or no room for the "
			 "command (in the kernel)", timeout_ms);
		break;
	case EINTR:
		snprintf(buf, size, "a fatal signal ended the wait (in the kernel)");
		break;
	default:
		snprintf(buf, size, "failed with errno %d (in the kernel)", reason);
		break;
	}
}

int iofd_kvm_ioregion_failure(const struct kvm_run *run, uint32_t timeout_ms,
			      struct iofd_exit *info)
{
	struct kvm_ioregionfd_failure_exit f;
	char why[96];
	int err;

	memcpy(&f, run->padding, sizeof(f));
	/* A reason that is no errno would make a positive "error". */
	err = f.reason > 0 && f.reason < 4096 ? -(int)f.reason : -EIO;
	describe(why, sizeof(why), -err, timeout_ms);
	iofd_fail(err, "ioregion access at 0x%llx failed: %s",
		  (unsigned long long)f.addr, why);
	if (!info)
		return IOFD_FAILED;
	memset(info, 0, sizeof(*info));
	info->status = IOFD_FAILED;
	info->bus = f.pio ? IOFD_BUS_PIO : IOFD_BUS_MMIO;
	info->addr = f.addr;
	info->len = f.len;
	info->is_write = f.is_write;
	info->err = err;
	memcpy(info->reason, why, sizeof(info->reason));
	return IOFD_FAILED;
}
