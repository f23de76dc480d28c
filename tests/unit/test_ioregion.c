/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd without KVM: accesses are played with iofd_access(); the
 * device is a thread or a forked process (tests/common/tdev.h). Covers
 * registration errors, overlap in both directions, the wire format,
 * posted writes and their order, doorbells, pipes, fd lifetime, every
 * misbehaving peer (and the poison that follows), SIGPIPE, and two
 * threads sharing one fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "ioregion.h"
#include "vm.h"
#include "wire.h"
#include "testutil.h"
#include "tdev.h"

#define BASE		0x10000000ull
#define POSTED		IOFD_IOREGION_FLAG_POSTED_WRITES
#define DEASSIGN	IOFD_IOREGION_FLAG_DEASSIGN

struct fixture {
	struct iofd_vm *vm;
	struct tdev dev;
	int vmm_fd;		/* the VMM's end, given to iofd */
	struct tu_resources before;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm))
		return -1;
	f.vmm_fd = -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iofd_vm_destroy(f->vm);
	if (f->vmm_fd >= 0)
		close(f->vmm_fd);
	tdev_wait_threads(f->before.threads);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct iofd_ioregion region(uint64_t paddr, uint64_t size, int rfd,
				   int wfd, uint32_t flags)
{
	struct iofd_ioregion r;

	memset(&r, 0, sizeof(r));
	r.guest_paddr = paddr;
	r.memory_size = size;
	r.user_data = 0xc0ffee00 + size;
	r.read_fd = rfd;
	r.write_fd = wfd;
	r.flags = flags;
	return r;
}

/* A socketpair: sv[0] for the VMM (f->vmm_fd), sv[1] for the device. */
static void start_device(struct fixture *f, int type, enum tdev_mode mode,
			 bool process)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	f->vmm_fd = sv[0];
	f->dev.fd_cmd = f->dev.fd_resp = sv[1];
	f->dev.mode = mode;
	assert_int_equal(tdev_start(&f->dev, process), 0);
}

static int add_region(struct fixture *f, uint64_t paddr, uint64_t size,
		      uint32_t flags)
{
	struct iofd_ioregion r = region(paddr, size, f->vmm_fd, f->vmm_fd, flags);

	return iofd_set_ioregion(f->vm, &r);
}

static int del_region(struct fixture *f, uint64_t paddr, uint64_t size,
		      uint32_t flags)
{
	struct iofd_ioregion r = region(paddr, size, -1, -1, flags | DEASSIGN);

	return iofd_set_ioregion(f->vm, &r);
}

static int mmio(struct fixture *f, uint64_t addr, uint32_t len, bool is_write,
		uint64_t *val, struct iofd_exit *info)
{
	return iofd_access(f->vm, IOFD_BUS_MMIO, addr, len, is_write, val, info);
}

static uint64_t mmio_read(struct fixture *f, uint64_t addr, uint32_t len)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	assert_int_equal(mmio(f, addr, len, false, &v, NULL), IOFD_SERVED);
	if (len < 8)
		v &= (1ull << (8 * len)) - 1;	/* only len bytes are written */
	return v;
}

static void mmio_write_ok(struct fixture *f, uint64_t addr, uint32_t len, uint64_t v)
{
	assert_int_equal(mmio(f, addr, len, true, &v, NULL), IOFD_SERVED);
}

/* ---- registration ---- */

static void registration_errors(void **state)
{
	struct fixture *f = *state;
	int sv[2], p[2], efd = eventfd(0, EFD_CLOEXEC);
	struct iofd_ioregion r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);

	r = region(BASE, 0x1000, sv[0], sv[0], 1u << 3);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);	/* flag */
	r = region(UINT64_MAX - 0xff, 0x1000, sv[0], sv[0], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);	/* wraps */
	r = region(0xfffffffffffff000ull, 0x1000, sv[0], sv[0], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);	/* to 2^64 */
	r = region(BASE, 0, -1, sv[0], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);	/* doorbell */
	r = region(BASE, 0x1000, sv[0], -1, 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EBADF);
	r = region(BASE, 0x1000, 999, sv[0], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EBADF);
	r = region(BASE, 0x1000, p[0], p[0], 0);		/* read end as write_fd */
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EBADF);
	r = region(BASE, 0x1000, p[1], p[1], 0);		/* write end as read_fd */
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EBADF);
	r = region(BASE, 0x1000, efd, efd, 0);			/* not a pipe/socket */
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);
	assert_true(strlen(iofd_last_error()) > 0);

	/* a doorbell needs no read_fd; a pipe pair works */
	r = region(BASE, 0, -1, p[1], POSTED);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	r = region(BASE + 0x1000, 0x100, p[0], p[1], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	/* an fd belongs to one pair */
	r = region(BASE + 0x2000, 0x100, sv[0], p[1], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);
	r = region(BASE + 0x2000, 0x100, p[0], sv[0], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);

	/* deassign: by bus + guest_paddr + memory_size */
	r = region(BASE + 0x1000, 0x80, -1, -1, DEASSIGN);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -ENOENT);	/* size */
	r = region(BASE + 0x1000, 0x100, -1, -1, DEASSIGN | IOFD_IOREGION_FLAG_PIO);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -ENOENT);	/* bus */
	r = region(BASE + 0x1000, 0x100, -1, -1, DEASSIGN | (1u << 9));
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -EINVAL);	/* flag */
	r = region(BASE + 0x1000, 0x100, -1, -1, DEASSIGN);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), -ENOENT);
	r = region(BASE, 0, -1, -1, DEASSIGN);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	iofd_quiesce(f->vm);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(efd);
}

static int ioeventfd_at(struct iofd_vm *vm, uint64_t addr, uint32_t len, int efd)
{
	struct kvm_ioeventfd a = { .addr = addr, .len = len, .fd = efd };

	return iofd_ioeventfd(vm, &a);
}

static int group_at(struct iofd_vm *vm, uint64_t addr, uint32_t len, int efd)
{
	struct iofd_iosignalfd g = { .addr = addr, .len = len, .fd = efd };

	return iofd_iosignalfd(vm, &g);
}

static void overlap_both_directions(void **state)
{
	struct fixture *f = *state;
	int sv[2], efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->vmm_fd = sv[0];

	/* a region first: the others are refused */
	assert_int_equal(add_region(f, 0x1000, 0x1000, 0), 0);
	assert_int_equal(ioeventfd_at(f->vm, 0x1ffc, 4, efd), -EEXIST);
	assert_int_equal(ioeventfd_at(f->vm, 0x0ffc, 8, efd), -EEXIST);
	assert_int_equal(ioeventfd_at(f->vm, 0x0ff9, 0, efd), -EEXIST); /* covers 8 */
	assert_int_equal(ioeventfd_at(f->vm, 0x0ff8, 0, efd), 0);	 /* just below */
	assert_int_equal(ioeventfd_at(f->vm, 0x2000, 4, efd), 0);	 /* just above */
	assert_int_equal(group_at(f->vm, 0x1fff, 2, efd), -EEXIST);
	assert_int_equal(group_at(f->vm, 0x0fff, 1, efd), -EEXIST); /* the len-0 one */
	assert_int_equal(group_at(f->vm, 0x0ff0, 4, efd), 0);
	assert_int_equal(add_region(f, 0x1800, 0x1000, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x0800, 0x0801, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x1000, 0, POSTED), -EEXIST);
	assert_int_equal(add_region(f, 0x2004, 0x100, 0), 0);		 /* adjacent */
	/* the other bus is separate */
	assert_int_equal(add_region(f, 0x1000, 0x1000, IOFD_IOREGION_FLAG_PIO), 0);

	/* ioeventfds and groups first: the region is refused */
	assert_int_equal(ioeventfd_at(f->vm, 0x5000, 4, efd), 0);
	assert_int_equal(add_region(f, 0x4000, 0x1001, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x5003, 0x10, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x5004, 0x10, 0), 0);
	assert_int_equal(ioeventfd_at(f->vm, 0x6000, 0, efd), 0);	/* covers 8 */
	assert_int_equal(add_region(f, 0x6007, 1, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x6008, 1, 0), 0);
	assert_int_equal(group_at(f->vm, 0x7000, 4, efd), 0);
	assert_int_equal(add_region(f, 0x7003, 0x10, 0), -EEXIST);
	assert_int_equal(add_region(f, 0x6ff0, 0x11, 0), -EEXIST);

	/* a doorbell covers 8 bytes */
	assert_int_equal(add_region(f, 0x8000, 0, POSTED), 0);
	assert_int_equal(ioeventfd_at(f->vm, 0x8007, 1, efd), -EEXIST);
	assert_int_equal(add_region(f, 0x8004, 0, POSTED), -EEXIST);
	assert_int_equal(add_region(f, 0x7ff9, 0, POSTED), -EEXIST);
	assert_int_equal(add_region(f, 0x8008, 0, POSTED), 0);
	assert_int_equal(group_at(f->vm, 0x8006, 2, efd), -EEXIST);
	/* ... and one at the very top, whose 8 bytes pass 2^64, is still
	 * found by its deassign (as by the kernel) */
	assert_int_equal(add_region(f, UINT64_MAX, 0, POSTED), 0);
	assert_int_equal(del_region(f, UINT64_MAX, 0, POSTED), 0);
	assert_int_equal(del_region(f, UINT64_MAX, 0, POSTED), -ENOENT);

	/* after deassign the place is free again */
	assert_int_equal(del_region(f, 0x1000, 0x1000, 0), 0);
	assert_int_equal(ioeventfd_at(f->vm, 0x1ffc, 4, efd), 0);
	close(sv[1]);
	close(efd);
}

/* ---- the wire ---- */

static void commands_carry_offset_size_data_and_user_data(void **state)
{
	struct fixture *f = *state;
	static const uint32_t widths[] = { 1, 2, 4, 8 };

	start_device(f, SOCK_STREAM, TDEV_NORMAL, false);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	for (size_t i = 0; i < 4; i++) {
		uint32_t w = widths[i];
		uint64_t v = 0x1122334455667788ull;

		/* the access carries only w bytes: upper bytes never reach
		 * the device (data is zero-extended) */
		mmio_write_ok(f, BASE + 0x100 * (i + 1) + 1, w, v);
		assert_int_equal(mmio_read(f, BASE + 0x100 * (i + 1) + 1, w),
				 w == 8 ? v : v & ((1ull << (8 * w)) - 1));
	}
	/* an access that runs past the end is not the region's */
	uint64_t v = 0;
	assert_int_equal(mmio(f, BASE + 0xffe, 4, false, &v, NULL), IOFD_NOT_CLAIMED);
	assert_int_equal(mmio(f, BASE + 0x1000, 1, true, &v, NULL), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_PIO, BASE, 1, true, &v, NULL),
			 IOFD_NOT_CLAIMED);
	assert_int_equal(tdev_stop(&f->dev), 0);

	assert_int_equal(f->dev.nlog, 8);
	assert_int_equal(f->dev.malformed, 0);
	for (size_t i = 0; i < 4; i++) {
		const struct iofd_ioregionfd_cmd *wr = &f->dev.log[2 * i];
		const struct iofd_ioregionfd_cmd *rd = &f->dev.log[2 * i + 1];

		assert_int_equal(wr->cmd, IOFD_IOREGIONFD_CMD_WRITE);
		assert_int_equal(rd->cmd, IOFD_IOREGIONFD_CMD_READ);
		/* byte 1 of the wire: size exponent in bits 0-3, resp in
		 * bit 4 (set: not posted) */
		assert_int_equal(((const uint8_t *)wr)[1], 0x10 | i);
		assert_int_equal(((const uint8_t *)rd)[1], 0x10 | i);
		assert_int_equal(wr->info, IOFD_IOREGIONFD_INFO(i, true));
		assert_int_equal(wr->offset, 0x100 * (i + 1) + 1);
		assert_int_equal(wr->user_data, 0xc0ffee00 + 0x1000);
		assert_int_equal(rd->data, 0);
	}
	assert_int_equal(f->dev.log[0].data, 0x88);
	assert_int_equal(f->dev.log[2].data, 0x7788);
	assert_int_equal(f->dev.log[4].data, 0x55667788);
	assert_int_equal(f->dev.log[6].data, 0x1122334455667788ull);
}

/* 1,000 posted writes then a read: delivered in order, none waited for. */
static void posted_writes_in_order(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	start_device(f, SOCK_STREAM, TDEV_NORMAL, false);
	assert_int_equal(add_region(f, BASE, 0x1000, POSTED), 0);
	for (uint64_t i = 0; i < 1000; i++)
		mmio_write_ok(f, BASE + 8 * (i % 16), 8, i);
	v = mmio_read(f, BASE + 8 * (999 % 16), 8);
	assert_int_equal(v, 999);
	assert_int_equal(tdev_stop(&f->dev), 0);
	assert_int_equal(f->dev.nlog, 1001);
	assert_int_equal(f->dev.replies, 1);	/* only the read was answered */
	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(f->dev.log[i].cmd, IOFD_IOREGIONFD_CMD_WRITE);
		assert_int_equal(f->dev.log[i].info & IOFD_IOREGIONFD_INFO_RESP, 0);
		assert_int_equal(f->dev.log[i].data, i);
		assert_int_equal(f->dev.log[i].offset, 8 * (i % 16));
	}
	assert_int_equal(f->dev.log[1000].cmd, IOFD_IOREGIONFD_CMD_READ);
	assert_int_equal(f->dev.log[1000].info & IOFD_IOREGIONFD_INFO_RESP,
			 IOFD_IOREGIONFD_INFO_RESP);
}

static void doorbell_over_a_pipe(void **state)
{
	struct fixture *f = *state;
	int p[2];
	uint64_t v = 0x1234;
	struct iofd_ioregion r;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	f->dev.fd_cmd = f->dev.fd_resp = p[0];
	f->dev.mode = TDEV_NORMAL;
	assert_int_equal(tdev_start(&f->dev, false), 0);
	r = region(BASE + 0x40, 0, -1, p[1], POSTED);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	close(p[1]);		/* iofd keeps its own dup */
	for (uint32_t w = 1; w <= 8; w *= 2)
		assert_int_equal(mmio(f, BASE + 0x40, w, true, &v, NULL), IOFD_SERVED);
	/* only writes at exactly guest_paddr */
	assert_int_equal(mmio(f, BASE + 0x41, 1, true, &v, NULL), IOFD_NOT_CLAIMED);
	assert_int_equal(mmio(f, BASE + 0x40, 4, false, &v, NULL), IOFD_NOT_CLAIMED);
	r.flags |= DEASSIGN;
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	iofd_quiesce(f->vm);	/* our dup closed: the device sees EOF */
	assert_int_equal(tdev_stop(&f->dev), 0);
	assert_int_equal(f->dev.nlog, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(f->dev.log[i].offset, 0);
		/* the info byte: size exponent i, resp (bit 4) clear */
		assert_int_equal(f->dev.log[i].info, i);
		assert_int_equal(f->dev.log[i].data, 0x1234 & (i == 0 ? 0xff : 0xffff));
	}
}

/* Two pipes, the device in another process. */
static void pipes_with_a_process_device(void **state)
{
	struct fixture *f = *state;
	int to_dev[2], from_dev[2];
	struct iofd_ioregion r;

	assert_int_equal(pipe2(to_dev, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from_dev, O_CLOEXEC), 0);
	f->dev.fd_cmd = to_dev[0];
	f->dev.fd_resp = from_dev[1];
	f->dev.mode = TDEV_NORMAL;
	assert_int_equal(tdev_start(&f->dev, true), 0);
	r = region(BASE, 0x1000, from_dev[0], to_dev[1], 0);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	close(from_dev[0]);
	close(to_dev[1]);
	for (uint64_t i = 0; i < 200; i++) {
		mmio_write_ok(f, BASE + 8 * (i % 64), 8, i * 0x0101010101ull);
		assert_int_equal(mmio_read(f, BASE + 8 * (i % 64), 8), i * 0x0101010101ull);
	}
	r.flags |= DEASSIGN;
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(tdev_stop(&f->dev), 0);
}

static void caller_may_close_its_fds(void **state)
{
	struct fixture *f = *state;
	int fds_before;

	start_device(f, SOCK_SEQPACKET, TDEV_NORMAL, false);
	fds_before = tu_open_fds();
	assert_int_equal(add_region(f, BASE, 0x100, 0), 0);
	assert_int_equal(add_region(f, BASE + 0x100, 0x100, 0), 0); /* shares the pair */
	/* one dup of the socket (read == write) and one wake-up eventfd */
	assert_int_equal(tu_open_fds(), fds_before + 2);
	close(f->vmm_fd);
	f->vmm_fd = -1;
	assert_int_equal(tu_open_fds(), fds_before + 1);
	mmio_write_ok(f, BASE + 0x10, 4, 0xabcd);
	assert_int_equal(mmio_read(f, BASE + 0x10, 4), 0xabcd);
	mmio_write_ok(f, BASE + 0x110, 2, 0x55);
	assert_int_equal(mmio_read(f, BASE + 0x110, 2), 0x55);
	assert_int_equal(del_region(f, BASE, 0x100, 0), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(mmio_read(f, BASE + 0x110, 2), 0x55);	/* still there */
	assert_int_equal(tu_open_fds(), fds_before + 1);	/* pair still used */
	assert_int_equal(del_region(f, BASE + 0x100, 0x100, 0), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(tdev_stop(&f->dev), 0);
	/* gone: our socket end, the device's end, its stop eventfd, and
	 * nothing of iofd's */
	assert_int_equal(tu_open_fds(), fds_before - 3);
}

/* ---- misbehaving peers ---- */

/* Expect a failed access and then the same failure, poisoned. */
static void expect_failure(struct fixture *f, bool is_write, int err,
			   const char *why, double max_ms)
{
	struct iofd_exit info;
	uint64_t v = 0x77;
	double t0 = now_ms(), t;

	memset(&info, 0xa5, sizeof(info));	/* iofd writes every byte */
	assert_int_equal(mmio(f, BASE + 0x18, 4, is_write, &v, &info), IOFD_FAILED);
	t = now_ms() - t0;
	printf("# failed after %.1f ms: err %d, \"%s\"\n", t, info.err, info.reason);
	assert_true(t < max_ms);
	assert_int_equal(info.status, IOFD_FAILED);
	assert_int_equal(info.err, err);
	assert_int_equal(info.bus, IOFD_BUS_MMIO);
	assert_int_equal(info.addr, BASE + 0x18);
	assert_int_equal(info.len, 4);
	assert_int_equal(info.is_write, is_write);
	assert_non_null(strstr(info.reason, why));
	/* no byte left as the caller had it: the padding is 0 too */
	assert_int_equal(info.pad0[0] | info.pad0[1] | info.pad0[2], 0);
	assert_int_equal(info.pad1, 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(info.reserved[i], 0);
	/* poisoned: the next access fails the same way, at once */
	memset(&info, 0, sizeof(info));
	t0 = now_ms();
	assert_int_equal(mmio(f, BASE + 0x20, 8, false, &v, &info), IOFD_FAILED);
	assert_true(now_ms() - t0 < 50);
	assert_int_equal(info.err, err);
	assert_non_null(strstr(info.reason, "poisoned"));
	assert_non_null(strstr(info.reason, why));
	assert_int_equal(info.addr, BASE + 0x20);
	assert_int_equal(info.len, 8);
}

/* Deassign and register again on fresh fds: served again. */
static void recover(struct fixture *f, bool process)
{
	/* The failing case may have set a short timeout; a new device process
	 * on a loaded machine (or under TSan) can take longer than that to
	 * answer its first command, and recovery is not what is timed here. */
	iofd_vm_set_ioregion_timeout(f->vm, 5000);
	assert_int_equal(del_region(f, BASE, 0x1000, 0), 0);
	iofd_quiesce(f->vm);
	tdev_stop(&f->dev);
	close(f->vmm_fd);
	memset(&f->dev, 0, sizeof(f->dev));
	start_device(f, SOCK_STREAM, TDEV_NORMAL, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	mmio_write_ok(f, BASE + 0x18, 4, 0x600d);
	assert_int_equal(mmio_read(f, BASE + 0x18, 4), 0x600d);
	assert_int_equal(del_region(f, BASE, 0x1000, 0), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(tdev_stop(&f->dev), 0);
}

static void peer_closes_its_end(void **state, bool process)
{
	struct fixture *f = *state;

	start_device(f, SOCK_STREAM, TDEV_CLOSE, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	expect_failure(f, false, -EPIPE, "closed", 2500);
	recover(f, process);
}

static void peer_closes_thread(void **state) { peer_closes_its_end(state, false); }
static void peer_closes_process(void **state) { peer_closes_its_end(state, true); }

static void peer_dies_mid_request(void **state)
{
	struct fixture *f = *state;

	start_device(f, SOCK_STREAM, TDEV_DIE, true);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	expect_failure(f, true, -EPIPE, "closed", 2500);
	recover(f, true);
}

static void peer_replies_7_bytes(void **state, bool process)
{
	struct fixture *f = *state;

	/* On a stream only the timeout tells a short reply: long enough for a
	 * device process on a loaded machine to send its 7 bytes. */
	iofd_vm_set_ioregion_timeout(f->vm, 1000);
	start_device(f, SOCK_STREAM, TDEV_SHORT, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	expect_failure(f, false, -EPROTO, "short reply: 7 of 32 bytes", 2500);
	recover(f, process);
}

static void short_reply_thread(void **state) { peer_replies_7_bytes(state, false); }
static void short_reply_process(void **state) { peer_replies_7_bytes(state, true); }

/* On a message socket a 7-byte reply is known short at once. */
static void short_message_fails_at_once(void **state)
{
	struct fixture *f = *state;

	start_device(f, SOCK_SEQPACKET, TDEV_SHORT, false);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	expect_failure(f, true, -EPROTO, "7-byte message", 2500);
	recover(f, false);
}

static void peer_replies_garbage(void **state, bool process)
{
	struct fixture *f = *state;

	start_device(f, SOCK_STREAM, TDEV_GARBAGE, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	expect_failure(f, false, -EBADMSG, "malformed reply", 2500);
	recover(f, process);
}

static void garbage_thread(void **state) { peer_replies_garbage(state, false); }
static void garbage_process(void **state) { peer_replies_garbage(state, true); }

static void peer_never_replies(void **state, bool process)
{
	struct fixture *f = *state;
	struct iofd_exit info;
	uint64_t v = 0;
	double t0;

	iofd_vm_set_ioregion_timeout(f->vm, 150);
	start_device(f, SOCK_STREAM, TDEV_SILENT, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	t0 = now_ms();
	assert_int_equal(mmio(f, BASE + 0x18, 4, false, &v, &info), IOFD_FAILED);
	assert_true(now_ms() - t0 >= 145);	/* it did wait the timeout */
	assert_int_equal(info.err, -ETIMEDOUT);
	assert_non_null(strstr(info.reason, "no reply within 150 ms"));
	expect_failure(f, false, -ETIMEDOUT, "no reply", 1000);
	recover(f, process);
}

static void silent_thread(void **state) { peer_never_replies(state, false); }
static void silent_process(void **state) { peer_never_replies(state, true); }

/* The late reply must never answer the next command: the fd is poisoned;
 * registering the same fds again drops the stale reply waiting in them. */
static void late_reply(void **state, bool process)
{
	struct fixture *f = *state;
	struct iofd_exit info;
	uint64_t v = 0;

	iofd_vm_set_ioregion_timeout(f->vm, 100);
	f->dev.delay_ms = 300;
	start_device(f, SOCK_STREAM, TDEV_LATE, process);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	/* the device holds the reply to this write for 300 ms */
	v = 0x5151;
	assert_int_equal(mmio(f, BASE + 0x18, 4, true, &v, &info), IOFD_FAILED);
	assert_int_equal(info.err, -ETIMEDOUT);
	tdev_sleep_ms(400);			/* the late reply is in the fd now */
	/* a read must not take it as its answer */
	v = 0;
	assert_int_equal(mmio(f, BASE + 0x18, 4, false, &v, &info), IOFD_FAILED);
	assert_int_equal(info.err, -ETIMEDOUT);
	assert_non_null(strstr(info.reason, "poisoned"));
	/* the same fds registered again: the stale reply is dropped, the
	 * device (which did apply the write) answers the read correctly */
	assert_int_equal(del_region(f, BASE, 0x1000, 0), 0);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	assert_int_equal(mmio_read(f, BASE + 0x18, 4), 0x5151);
	assert_int_equal(del_region(f, BASE, 0x1000, 0), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(tdev_stop(&f->dev), 0);
}

static void late_thread(void **state) { late_reply(state, false); }
static void late_process(void **state) { late_reply(state, true); }

static void unsolicited_data_fails(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	struct iofd_ioregionfd_resp junk = { .data = 1 };

	/* registered first (nothing to drop), junk arrives afterwards */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->vmm_fd = sv[0];
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	assert_int_equal(write(sv[1], &junk, sizeof(junk)), sizeof(junk));
	f->dev.fd_cmd = f->dev.fd_resp = sv[1];
	f->dev.mode = TDEV_NORMAL;
	assert_int_equal(tdev_start(&f->dev, false), 0);
	expect_failure(f, false, -EPROTO, "unsolicited", 1000);
	/* posted writes need no reply but the fd stays poisoned for them too */
	assert_int_equal(del_region(f, BASE, 0x1000, 0), 0);
	iofd_quiesce(f->vm);
	assert_int_equal(tdev_stop(&f->dev), 0);
}

/* A closed pipe reader must not kill the VMM with SIGPIPE, whatever its
 * SIGPIPE disposition (here the default: terminate). */
static void no_sigpipe_on_a_closed_pipe(void **state)
{
	struct fixture *f = *state;
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	struct iofd_exit info;
	sigset_t pending;
	int p[2];
	uint64_t v = 1;
	struct iofd_ioregion r;

	assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	r = region(BASE, 0, -1, p[1], POSTED);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	mmio_write_ok(f, BASE, 4, 1);
	close(p[0]);		/* the device goes away */
	assert_int_equal(mmio(f, BASE, 4, true, &v, &info), IOFD_FAILED);
	assert_int_equal(info.err, -EPIPE);
	assert_int_equal(mmio(f, BASE, 4, true, &v, &info), IOFD_FAILED);
	assert_non_null(strstr(info.reason, "poisoned"));
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	/* and on a socket */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	r = region(BASE + 0x100, 0, -1, sv[0], POSTED);
	assert_int_equal(iofd_set_ioregion(f->vm, &r), 0);
	close(sv[1]);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, BASE + 0x100, 2, true, &v,
				     &info), IOFD_FAILED);
	assert_int_equal(info.err, -EPIPE);
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	sigaction(SIGPIPE, &old, NULL);
	close(p[1]);
	close(sv[0]);
}

/* The pipe write itself, with the reader gone: EPIPE, no SIGPIPE left
 * behind; a SIGPIPE the caller already had pending stays pending. */
static void pipe_write_takes_back_its_sigpipe(void **state)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	sigset_t pipe_set, pending, oldmask;
	int p[2];
	char buf[32] = { 0 };

	(void)state;
	assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	errno = 0;
	assert_int_equal(iofd_wire_pipe_write(p[1], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EPIPE);
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &oldmask);
	raise(SIGPIPE);			/* the caller's own, pending */
	assert_int_equal(iofd_wire_pipe_write(p[1], buf, sizeof(buf)), -1);
	sigpending(&pending);
	assert_true(sigismember(&pending, SIGPIPE));	/* not taken */
	struct timespec zero = { 0, 0 };
	assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
	assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), -1);	/* only one */
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	sigaction(SIGPIPE, &old, NULL);
	close(p[1]);
}

/* A device that does not drain its fd: even a posted write gives up. */
static void undrained_fd_times_out(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	struct iofd_exit info;
	uint64_t v = 0, i;
	double t0;

	iofd_vm_set_ioregion_timeout(f->vm, 100);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->vmm_fd = sv[0];
	assert_int_equal(add_region(f, BASE, 0, POSTED), 0);
	t0 = now_ms();
	for (i = 0; i < 1000000; i++)
		if (mmio(f, BASE, 8, true, &v, &info) != IOFD_SERVED)
			break;
	printf("# %llu posted writes fit before the fd filled up\n",
	       (unsigned long long)i);
	assert_true(i < 1000000);
	assert_int_equal(info.err, -ETIMEDOUT);
	assert_non_null(strstr(info.reason, "took no command"));
	assert_true(now_ms() - t0 < 5000);
	close(sv[1]);
}

/* ---- sharing one fd ---- */

struct sharer {
	struct fixture *f;
	uint64_t base;
	uint64_t wrong;
	int iterations;
};

static void *share_main(void *arg)
{
	struct sharer *s = arg;

	for (int i = 0; i < s->iterations; i++) {
		uint64_t v = s->base ^ ((uint64_t)i << 32), back = 0;
		uint64_t addr = BASE + (s->base & 0xf00) + 8 * (i % 16);

		if (iofd_access(s->f->vm, IOFD_BUS_MMIO, addr, 8, true, &v, NULL) !=
		    IOFD_SERVED ||
		    iofd_access(s->f->vm, IOFD_BUS_MMIO, addr, 8, false, &back, NULL) !=
		    IOFD_SERVED || back != v)
			s->wrong++;
	}
	return NULL;
}

/* Two threads, two regions, one socket: every reply reaches the thread
 * whose command it answers; no command is torn or interleaved. */
static void two_threads_share_one_fd(void **state)
{
	struct fixture *f = *state;
	struct sharer s[2] = { { f, 0x100, 0, 2000 }, { f, 0x200, 0, 2000 } };
	pthread_t t[2];
	double t0;

	start_device(f, SOCK_STREAM, TDEV_NORMAL, false);
	assert_int_equal(add_region(f, BASE, 0x180, 0), 0);
	assert_int_equal(add_region(f, BASE + 0x180, 0x1000 - 0x180, 0), 0);
	t0 = now_ms();
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, share_main, &s[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("# 2 threads x 2000 write+read pairs on one socket: %.0f ms\n",
	       now_ms() - t0);
	assert_int_equal(s[0].wrong, 0);
	assert_int_equal(s[1].wrong, 0);
	assert_int_equal(tdev_stop(&f->dev), 0);
	assert_int_equal(f->dev.malformed, 0);
	assert_int_equal(f->dev.nlog, TDEV_LOG_MAX);	/* the log is full */
}

static volatile sig_atomic_t signals_seen;

static void on_sigusr1(int sig)
{
	(void)sig;
	signals_seen++;
}

struct kicker {
	pthread_t target;
	_Atomic bool stop;
};

static void *kick_main(void *arg)
{
	struct kicker *k = arg;

	while (!atomic_load(&k->stop)) {
		pthread_kill(k->target, SIGUSR1);
		tdev_sleep_ms(10);
	}
	return NULL;
}

/* Without a vCPU there is nothing to keep pending: signals only restart
 * the wait, and the access completes with the right value. */
static void access_without_vcpu_survives_signals(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa = { .sa_handler = on_sigusr1 }, old;	/* no SA_RESTART */
	struct kicker k = { .target = pthread_self() };
	pthread_t kt;

	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	f->dev.delay_ms = 150;
	start_device(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(add_region(f, BASE, 0x1000, 0), 0);
	signals_seen = 0;
	assert_int_equal(pthread_create(&kt, NULL, kick_main, &k), 0);
	mmio_write_ok(f, BASE + 8, 8, 0x4242);	/* its reply comes 150 ms late */
	atomic_store(&k.stop, true);
	pthread_join(kt, NULL);
	assert_true(signals_seen > 2);
	assert_int_equal(mmio_read(f, BASE + 8, 8), 0x4242);
	sigaction(SIGUSR1, &old, NULL);
	assert_int_equal(tdev_stop(&f->dev), 0);
}

static void capability_and_timeout_setter(void **state)
{
	struct fixture *f = *state;
	struct iofd_caps caps;

	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_true(caps.flags & IOFD_CAP_IOREGIONFD);
	assert_int_equal(iofd_vm_set_ioregion_timeout(NULL, 1), -EINVAL);
	assert_int_equal(iofd_vm_set_ioregion_timeout(f->vm, 0), 0);
	assert_int_equal(f->vm->ioregion->timeout_ms, IOFD_TIMEOUT_FOREVER);
	assert_int_equal(iofd_vm_set_ioregion_timeout(f->vm, 70), 0);
	assert_int_equal(f->vm->ioregion->timeout_ms, 70);
	assert_int_equal(iofd_vm_set_ioregion_timeout(f->vm, IOFD_TIMEOUT_FOREVER), 0);
	assert_int_equal(f->vm->ioregion->timeout_ms, IOFD_TIMEOUT_FOREVER);
}

static void timeout_option_zero_means_default_unless_explicit(void **state)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_NONE };
	struct iofd_vm *vm;

	(void)state;
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(vm->ioregion->timeout_ms, IOFD_TIMEOUT_DEFAULT_MS);
	iofd_vm_destroy(vm);
	o.flags = IOFD_VM_IOREGION_TIMEOUT;
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(vm->ioregion->timeout_ms, IOFD_TIMEOUT_FOREVER);
	iofd_vm_destroy(vm);
	o.ioregion_timeout_ms = 250;
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(vm->ioregion->timeout_ms, 250);
	iofd_vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_option_zero_means_default_unless_explicit),
		cmocka_unit_test_setup_teardown(registration_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(overlap_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(commands_carry_offset_size_data_and_user_data, setup, teardown),
		cmocka_unit_test_setup_teardown(posted_writes_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(doorbell_over_a_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(pipes_with_a_process_device, setup, teardown),
		cmocka_unit_test_setup_teardown(caller_may_close_its_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_closes_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_closes_process, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_dies_mid_request, setup, teardown),
		cmocka_unit_test_setup_teardown(short_reply_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(short_reply_process, setup, teardown),
		cmocka_unit_test_setup_teardown(short_message_fails_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_process, setup, teardown),
		cmocka_unit_test_setup_teardown(silent_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(silent_process, setup, teardown),
		cmocka_unit_test_setup_teardown(late_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(late_process, setup, teardown),
		cmocka_unit_test_setup_teardown(unsolicited_data_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(no_sigpipe_on_a_closed_pipe, setup, teardown),
		cmocka_unit_test(pipe_write_takes_back_its_sigpipe),
		cmocka_unit_test_setup_teardown(undrained_fd_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(two_threads_share_one_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(access_without_vcpu_survives_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(capability_and_timeout_setter, setup, teardown),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("ioregion", tests, NULL, NULL);
}
