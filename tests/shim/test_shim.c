/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libiofd-shim's logic, linked in and called directly (shim_ioctl(),
 * shim_close()), so these run under the sanitizers: fd classification,
 * pass-through of every other ioctl, errno mapping, bad input, the
 * release on the last close, and the KVM_RUN loop fed recorded exits.
 * Cases that need /dev/kvm are TAP skips without it: all but the first
 * (the recorded exits need real vCPU fds to adopt: vCPUs of a scratch VM,
 * never run, stand for the program's).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <spawn.h>
#include <pthread.h>
#include <unistd.h>

extern char **environ;

#include <cmocka.h>

#include <iofd/iofd.h>
#include <iofd/kvm-unmerged.h>

#include "fdtab.h"
#include "obj.h"
#include "real.h"
#include "run.h"
#include "shim.h"

static int have_kvm(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

/* A scratch VM, made once by main(), whose vCPUs are never run. */
static int scratch_vm = -1;

static void open_scratch_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	scratch_vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
}

/* A stand-in for one of the program's vCPUs: a new vCPU of the scratch
 * VM (a file of its own, as the shim tells vCPUs apart by file). */
static int stand_in_vcpu(void)
{
	static int next_id;
	int fd = ioctl(scratch_vm, KVM_CREATE_VCPU, next_id++);

	assert_true(fd >= 0);
	return fd;
}

/* ioctl through the shim; -errno or the result. */
static long sh(int fd, unsigned long req, unsigned long arg)
{
	int r = shim_ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

/* ioctl straight to the kernel; -errno or the result. */
static long kern(int fd, unsigned long req, unsigned long arg)
{
	int r = shim_real_ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

struct kvmfds {
	int kvm, vm;
};

static void kvm_open(struct kvmfds *k)
{
	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	assert_true(k->kvm >= 0);
	k->vm = (int)kern(k->kvm, KVM_CREATE_VM, 0);
	assert_true(k->vm >= 0);
}

static void kvm_close(struct kvmfds *k)
{
	shim_close(k->vm);
	shim_close(k->kvm);
	assert_int_equal(shim_objs_live(), 0);
}

/* ---- classification ------------------------------------------------------ */

static void classify_links(void **state)
{
	(void)state;
	assert_int_equal(shim_fd_kind_of_link("/dev/kvm"), SHIM_FD_KVM);
	assert_int_equal(shim_fd_kind_of_link("anon_inode:kvm-vm"), SHIM_FD_VM);
	assert_int_equal(shim_fd_kind_of_link("anon_inode:kvm-vcpu:0"), SHIM_FD_VCPU);
	assert_int_equal(shim_fd_kind_of_link("anon_inode:kvm-vcpu:17"), SHIM_FD_VCPU);
	assert_int_equal(shim_fd_kind_of_link("anon_inode:kvm-vm2"), SHIM_FD_OTHER);
	assert_int_equal(shim_fd_kind_of_link("anon_inode:[eventfd]"), SHIM_FD_OTHER);
	assert_int_equal(shim_fd_kind_of_link("/dev/kvmx"), SHIM_FD_OTHER);
	assert_int_equal(shim_fd_kind_of_link(""), SHIM_FD_OTHER);
}

static void classify_fds(void **state)
{
	int p[2], gone;
	struct kvmfds k;
	int vcpu, dup_vm;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(shim_fd_classify(p[0]), SHIM_FD_OTHER);
	assert_int_equal(shim_fd_classify(-1), -EBADF);
	gone = dup(p[0]);
	close(gone);
	assert_int_equal(shim_fd_classify(gone), -EBADF);
	close(p[0]);
	close(p[1]);
	kvm_open(&k);
	vcpu = (int)kern(k.vm, KVM_CREATE_VCPU, 0);
	dup_vm = fcntl(k.vm, F_DUPFD_CLOEXEC, 100);
	assert_int_equal(shim_fd_classify(k.kvm), SHIM_FD_KVM);
	assert_int_equal(shim_fd_classify(k.vm), SHIM_FD_VM);
	assert_int_equal(shim_fd_classify(dup_vm), SHIM_FD_VM);
	assert_int_equal(shim_fd_classify(vcpu), SHIM_FD_VCPU);
	close(vcpu);
	close(dup_vm);
	kvm_close(&k);
}

/* ---- pass-through and capabilities ---------------------------------------- */

static void other_ioctls_pass_through(void **state)
{
	int p[2], avail = -1;
	struct kvmfds k;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(sh(p[0], FIONREAD, (unsigned long)&avail), 0);
	assert_int_equal(avail, 3);
	/* KVM's numbers on fds that are not KVM's: the kernel's errno */
	assert_int_equal(sh(p[0], KVM_RUN, 0), kern(p[0], KVM_RUN, 0));
	assert_int_equal(sh(p[0], KVM_RUN, 0), -ENOTTY);
	assert_int_equal(sh(p[0], KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE),
			 -ENOTTY);
	assert_int_equal(sh(p[0], KVM_IOEVENTFD, 0), -ENOTTY);
	assert_int_equal(sh(p[0], KVM_SET_IOREGION, 0), -ENOTTY);
	assert_int_equal(sh(p[0], KVM_CREATE_VCPU, 0), -ENOTTY);
	assert_int_equal(sh(-1, KVM_RUN, 0), -EBADF);
	assert_int_equal(sh(-1, KVM_IOEVENTFD, 0), -EBADF);
	assert_int_equal(sh(-1, KVM_SET_IOREGION, 0), -EBADF);
	assert_int_equal(sh(-1, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD), -EBADF);
	assert_int_equal(sh(100000, KVM_RUN, 0), -EBADF);
	close(p[0]);
	close(p[1]);
	kvm_open(&k);
	assert_int_equal(sh(k.kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	assert_int_equal(sh(k.kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
			 kern(k.kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	assert_int_equal(sh(k.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD),
			 kern(k.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD));
	assert_int_equal(sh(k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS),
			 kern(k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
	/* an ioctl number KVM does not know */
	assert_int_equal(sh(k.vm, _IO(KVMIO, 0xfe), 0), kern(k.vm, _IO(KVMIO, 0xfe), 0));
	/* KVM_IOEVENTFD on /dev/kvm itself is the kernel's business */
	assert_int_equal(sh(k.kvm, KVM_IOEVENTFD, 0), kern(k.kvm, KVM_IOEVENTFD, 0));
	kvm_close(&k);
}

static void capabilities_answer_one(void **state)
{
	struct kvmfds k;

	(void)state;
	kvm_open(&k);
	assert_int_equal(sh(k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE), 1);
	assert_int_equal(sh(k.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE), 1);
	assert_int_equal(sh(k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD), 1);
	assert_int_equal(sh(k.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD), 1);
	kvm_close(&k);
}

/* ---- KVM_IOEVENTFD and KVM_SET_IOREGION: errno mapping ------------------ */

static long ioeventfd(int vm, uint64_t addr, uint32_t len, int fd,
		      uint32_t flags, uint64_t post)
{
	struct kvm_ioeventfd_post a = {
		.addr = addr, .len = len, .fd = fd, .flags = flags, .post_addr = post,
	};

	return sh(vm, KVM_IOEVENTFD, (unsigned long)&a);
}

static void ioeventfd_errnos(void **state)
{
	static uint32_t slot;
	uint64_t post = (uintptr_t)&slot;
	uint32_t pw = KVM_IOEVENTFD_FLAG_POST_WRITE;
	struct kvmfds k;
	int efd = eventfd(0, EFD_CLOEXEC), p[2];
	void *hole;

	(void)state;
	kvm_open(&k);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(sh(k.vm, KVM_IOEVENTFD, 0), -EFAULT);
	assert_int_equal(sh(k.vm, KVM_IOEVENTFD, (unsigned long)hole), -EFAULT);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, -1, pw, post), -EBADF);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, p[0], pw, post), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw | (1u << 6), post), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw | (1u << 31), post), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, 1u << 30, 0), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 0, efd, pw, post), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw, 0), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw, (uintptr_t)hole), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, -2ull, 4, efd, pw, post), -EINVAL);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw, post), 0);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw, post), -EEXIST);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, 0, 0), -EEXIST);
	/* plain ioeventfds: to iofd, which offloads them, kernel errnos */
	assert_int_equal(ioeventfd(k.vm, 0x2000, 4, efd, 0, 0xdead), 0);
	assert_int_equal(ioeventfd(k.vm, 0x2000, 4, efd, 0, 0), -EEXIST);
	assert_int_equal(ioeventfd(k.vm, 0x2000, 4, efd, KVM_IOEVENTFD_FLAG_DEASSIGN, 0), 0);
	/* deassign: unknown bits ignored, identity includes post_addr */
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw | KVM_IOEVENTFD_FLAG_DEASSIGN,
				   post + 4), -ENOENT);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, -1, pw | KVM_IOEVENTFD_FLAG_DEASSIGN,
				   post), -EBADF);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw | KVM_IOEVENTFD_FLAG_DEASSIGN |
				   (1u << 6) | (1u << 30), post), 0);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, pw | KVM_IOEVENTFD_FLAG_DEASSIGN,
				   post), -ENOENT);
	munmap(hole, 4096);
	close(p[0]);
	close(p[1]);
	close(efd);
	kvm_close(&k);
}

static long ioregion(int vm, uint64_t paddr, uint64_t size, int rfd, int wfd,
		     uint32_t flags)
{
	struct kvm_ioregion r = {
		.guest_paddr = paddr, .memory_size = size, .read_fd = rfd,
		.write_fd = wfd, .flags = flags,
	};

	return sh(vm, KVM_SET_IOREGION, (unsigned long)&r);
}

static void ioregion_errnos(void **state)
{
	struct kvmfds k;
	int s[2];

	(void)state;
	kvm_open(&k);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	assert_int_equal(sh(k.vm, KVM_SET_IOREGION, 0), -EFAULT);
	assert_int_equal(sh(k.vm, KVM_SET_IOREGION, 8), -EFAULT);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x100, s[0], s[0], 1u << 3), -EINVAL);
	assert_int_equal(ioregion(k.vm, -16ull, 0x100, s[0], s[0], 0), -EINVAL);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x100, -1, -1, 0), -EBADF);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x100, s[0], s[0], 0), 0);
	assert_int_equal(ioregion(k.vm, 0x1080, 0x100, s[0], s[0], 0), -EEXIST);
	assert_int_equal(ioeventfd(k.vm, 0x1010, 4, eventfd(0, EFD_CLOEXEC), 0, 0), -EEXIST);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x80, s[0], s[0], KVM_IOREGION_DEASSIGN),
			 -ENOENT);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x100, s[0], s[0], KVM_IOREGION_DEASSIGN), 0);
	/* the ioctl on /dev/kvm: the kernel's answer */
	assert_int_equal(ioregion(k.kvm, 0x1000, 0x100, s[0], s[0], 0),
			 kern(k.kvm, KVM_SET_IOREGION, 0));
	close(s[0]);
	close(s[1]);
	kvm_close(&k);
}

static void ioregion_timeout_from_env(void **state)
{
	struct iofd_exit info = { 0 };
	struct shim_vm *vm = NULL;
	struct kvmfds k;
	uint8_t buf[4];
	int s[2];

	(void)state;
	kvm_open(&k);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	setenv("IOFD_SHIM_IOREGION_TIMEOUT_MS", "100", 1);
	assert_int_equal(ioregion(k.vm, 0x1000, 0x100, s[0], s[0], 0), 0);
	unsetenv("IOFD_SHIM_IOREGION_TIMEOUT_MS");
	assert_int_equal(shim_vm_get(k.vm, &vm), 0);
	assert_non_null(vm);
	/* the device (s[1]) never answers: the access fails after 100 ms */
	assert_int_equal(iofd_access(vm->iofd, IOFD_BUS_MMIO, 0x1004, 4, false, buf,
				     &info), IOFD_FAILED);
	assert_int_equal(info.err, -ETIMEDOUT);
	shim_obj_put(&vm->o);
	close(s[0]);
	close(s[1]);
	kvm_close(&k);
}

/* ---- vCPUs: adoption, unseen fds, release ------------------------------ */

static void vcpu_adopted_and_dups_recognised(void **state)
{
	unsigned long long runs = 1, served = 1;
	struct kvmfds k;
	int vcpu, dup_vcpu, fds = count_fds();

	(void)state;
	kvm_open(&k);
	vcpu = (int)sh(k.vm, KVM_CREATE_VCPU, 0);
	assert_true(vcpu >= 0);
	assert_int_equal(shim_objs_live(), 2);
	assert_int_equal(shim_counters(vcpu, &runs, &served), 0);
	assert_int_equal(runs + served, 0);
	dup_vcpu = fcntl(vcpu, F_DUPFD_CLOEXEC, 200);	/* behind the shim's back */
	assert_int_equal(shim_counters(dup_vcpu, &runs, &served), 0);
	/* a failing KVM_CREATE_VCPU keeps the kernel's errno */
	assert_int_equal(sh(k.vm, KVM_CREATE_VCPU, 0), kern(k.vm, KVM_CREATE_VCPU, 0));
	shim_close(vcpu);
	assert_int_equal(shim_objs_live(), 2);	/* the dup still holds it */
	assert_int_equal(shim_counters(dup_vcpu, &runs, &served), 0);
	shim_close(dup_vcpu);
	assert_int_equal(shim_objs_live(), 1);
	kvm_close(&k);
	assert_int_equal(count_fds(), fds);
}

static void vm_lives_while_a_dup_does(void **state)
{
	static uint32_t slot;
	uint64_t post = (uintptr_t)&slot;
	uint32_t pw = KVM_IOEVENTFD_FLAG_POST_WRITE;
	struct kvmfds k;
	int fds = count_fds(), efd = eventfd(0, EFD_CLOEXEC), dup_vm, moved;

	(void)state;
	kvm_open(&k);
	dup_vm = fcntl(k.vm, F_DUPFD_CLOEXEC, 300);
	assert_int_equal(ioeventfd(k.vm, 0x3000, 4, efd, pw, post), 0);
	assert_int_equal(ioeventfd(dup_vm, 0x3000, 4, efd, pw, post), -EEXIST);
	shim_close(k.vm);
	assert_int_equal(shim_objs_live(), 1);
	/* dup2 over the last fd releases it; the fd moved there is not a VM */
	moved = shim_dup3(efd, 301, -1);
	assert_int_equal(moved, 301);
	assert_int_equal(ioeventfd(dup_vm, 0x3000, 4, efd, pw, post), -EEXIST);
	assert_int_equal(shim_dup3(efd, dup_vm, -1), dup_vm);
	assert_int_equal(shim_objs_live(), 0);
	assert_int_equal(sh(dup_vm, KVM_IOEVENTFD, 0), -ENOTTY);
	shim_close(dup_vm);
	shim_close(moved);
	shim_close(k.kvm);
	close(efd);
	assert_int_equal(count_fds(), fds);
}

static void vm_released_after_its_vcpus(void **state)
{
	struct kvmfds k;
	int vcpu, fds = count_fds();

	(void)state;
	kvm_open(&k);
	vcpu = (int)sh(k.vm, KVM_CREATE_VCPU, 0);
	assert_true(vcpu >= 0);
	shim_close(k.vm);
	assert_int_equal(shim_objs_live(), 1);	/* the vCPU keeps its VM */
	shim_close(vcpu);
	assert_int_equal(shim_objs_live(), 0);
	shim_close(k.kvm);
	assert_int_equal(count_fds(), fds);
}

static void close_range_releases(void **state)
{
	struct kvmfds k;
	int vcpu, fds = count_fds();

	(void)state;
	kvm_open(&k);
	vcpu = (int)sh(k.vm, KVM_CREATE_VCPU, 0);
	assert_true(vcpu > k.vm);
	assert_int_equal(shim_objs_live(), 2);
	/* CLOSE_RANGE_CLOEXEC closes nothing */
	assert_int_equal(shim_close_range((unsigned)k.vm, ~0u, 1u << 2), 0);
	assert_int_equal(shim_objs_live(), 2);
	assert_int_equal(shim_close_range((unsigned)vcpu, (unsigned)vcpu, 0), 0);
	assert_int_equal(shim_objs_live(), 1);
	assert_int_equal(shim_close_range((unsigned)k.vm, (unsigned)k.vm, 0), 0);
	assert_int_equal(shim_objs_live(), 0);
	shim_close(k.kvm);
	assert_int_equal(count_fds(), fds);
}

static void run_on_unseen_vcpu_is_the_kernels(void **state)
{
	unsigned long long runs, served;
	struct kvmfds k, other;
	int seen, unseen;
	long r;

	(void)state;
	kvm_open(&k);
	kvm_open(&other);
	seen = (int)sh(k.vm, KVM_CREATE_VCPU, 0);	/* so the shim has objects */
	unseen = (int)kern(other.vm, KVM_CREATE_VCPU, 0);
	assert_true(seen >= 0 && unseen >= 0);
	r = sh(unseen, KVM_RUN, 0);	/* no memory: whatever the kernel says */
	assert_true(r == 0 || r < 0);
	assert_int_equal(shim_counters(unseen, &runs, &served), -ENOENT);
	assert_int_equal(sh(unseen, KVM_RUN, 0), r);
	shim_close(unseen);
	shim_close(seen);
	kvm_close(&k);
	kvm_close(&other);
}

/* The child of a fork: a VM of its own, served and released; the
 * parent's VM is not the child's. Exit status 0 on success. */
static int forked_child(int parent_vm)
{
	static uint32_t slot;
	struct kvmfds k;
	int efd = eventfd(0, EFD_CLOEXEC);

	alarm(20);	/* a hang is a failure, not a stuck test */
	if (shim_objs_live() != 0)
		return 1;
	k.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	k.vm = (int)kern(k.kvm, KVM_CREATE_VM, 0);
	if (ioeventfd(k.vm, 0x1000, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE,
		      (uintptr_t)&slot) != 0 ||
	    ioeventfd(k.vm, 0x1000, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE |
		      KVM_IOEVENTFD_FLAG_DEASSIGN, (uintptr_t)&slot) != 0)
		return 2;
	shim_close(k.vm);
	shim_close(parent_vm);
	return shim_objs_live() == 0 ? 0 : 3;
}

static __attribute__((unused)) void fork_child_starts_empty(void **state)
{
	static uint32_t slot;
	struct kvmfds k;
	int efd = eventfd(0, EFD_CLOEXEC), st = -1;
	pid_t pid;

	(void)state;
	kvm_open(&k);
	/* registrations retire memory: liburcu's call_rcu worker starts */
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE,
				   (uintptr_t)&slot), 0);
	assert_int_equal(ioeventfd(k.vm, 0x1000, 4, efd, KVM_IOEVENTFD_FLAG_POST_WRITE |
				   KVM_IOEVENTFD_FLAG_DEASSIGN, (uintptr_t)&slot), 0);
	pid = fork();
	if (pid == 0)
		_exit(forked_child(k.vm));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(shim_objs_live(), 1);	/* the parent's is intact */
	close(efd);
	kvm_close(&k);
}

/* Under IOFD_SHIM_PASSTHROUGH (as on a kernel with both features): every
 * answer is the kernel's, nothing is adopted, KVM_RUN is not wrapped. */
static int passthrough_child(void)
{
	static uint32_t slot;
	unsigned long long runs, served;
	struct kvm_ioeventfd_post a = {
		.addr = 0x1000, .len = 4, .flags = KVM_IOEVENTFD_FLAG_POST_WRITE,
		.post_addr = (uintptr_t)&slot,
	};
	struct kvm_ioregion r = { .guest_paddr = 0x2000, .memory_size = 8,
				  .read_fd = -1, .write_fd = -1 };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu, bad = 0;

	vm = (int)kern(kvm, KVM_CREATE_VM, 0);
	a.fd = eventfd(0, EFD_CLOEXEC);
	bad |= sh(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE) !=
	       kern(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE);
	bad |= (sh(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD) !=
		kern(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD)) << 1;
	/* the same call twice: what the kernel says, then the same again */
	bad |= (sh(vm, KVM_SET_IOREGION, (unsigned long)&r) !=
		kern(vm, KVM_SET_IOREGION, (unsigned long)&r)) << 2;
	if (kern(vm, KVM_IOEVENTFD, (unsigned long)&a) == 0) {
		a.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;	/* a patched kernel */
		bad |= (sh(vm, KVM_IOEVENTFD, (unsigned long)&a) != 0) << 3;
	} else {
		bad |= (sh(vm, KVM_IOEVENTFD, (unsigned long)&a) !=
			kern(vm, KVM_IOEVENTFD, (unsigned long)&a)) << 3;
	}
	vcpu = (int)sh(vm, KVM_CREATE_VCPU, 0);
	bad |= (vcpu < 0 || shim_objs_live() != 0) << 4;
	bad |= (shim_counters(vcpu, &runs, &served) != -ENOENT) << 5;
	return bad;
}

static void passthrough_answers_are_the_kernels(void **state)
{
	static char *child_argv[] = { "test_shim", "--passthrough-child", NULL };
	int st = -1;
	pid_t pid;

	(void)state;
	/* posix_spawn, not fork: ThreadSanitizer refuses a multi-threaded
	 * fork's child; this process's shim has decided already */
	setenv("IOFD_SHIM_PASSTHROUGH", "1", 1);
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv,
				     environ), 0);
	unsetenv("IOFD_SHIM_PASSTHROUGH");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- many vCPU threads, and closes, at once (no KVM) ------------------- */

#define CONC_THREADS	4
#define CONC_RUNS	5000
#define CONC_CHURN	300
#define CONC_FDS	4096

/* Per fd: its kvm_run and whether the next entry is a doorbell or HLT. */
static struct kvm_run *conc_run[CONC_FDS];
static int conc_phase[CONC_FDS];

static int conc_enter(int fd)
{
	struct kvm_run *run = conc_run[fd];
	static const uint32_t v = 7;

	if (conc_phase[fd] ^= 1) {
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = 0x1000;
		run->mmio.len = 4;
		run->mmio.is_write = 1;
		memcpy(run->mmio.data, &v, sizeof(v));
	} else {
		run->exit_reason = KVM_EXIT_HLT;
	}
	return 0;
}

/* A heap vCPU object for @fd, as KVM_CREATE_VCPU would have made it. */
static struct shim_vcpu *conc_vcpu(struct iofd_vm *vm, int fd)
{
	struct shim_vcpu *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	assert_true(fd < CONC_FDS);
	conc_run[fd] = calloc(1, 4096);
	conc_phase[fd] = 0;
	v->o.kind = SHIM_FD_VCPU;
	v->o.own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	v->run = conc_run[fd];
	v->enter = conc_enter;
	assert_int_equal(iofd_vcpu_adopt(vm, fd, v->run, &v->iofd), 0);
	assert_int_equal(shim_vcpu_attach(fd, v), 0);
	return v;
}

static void *conc_runner(void *arg)
{
	int fd = (int)(intptr_t)arg, bad = 0;

	for (int i = 0; i < CONC_RUNS; i++)
		bad += shim_ioctl(fd, KVM_RUN, 0) != 0 ||
		       conc_run[fd]->exit_reason != KVM_EXIT_HLT;
	return (void *)(intptr_t)bad;
}

static void concurrent_runs_and_closes(void **state)
{
	struct iofd_ioeventfd pw = {
		.addr = 0x1000, .len = 4, .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE,
	};
	int fds[CONC_THREADS], live = shim_objs_live();
	uint64_t n = 0, slot = 0;
	pthread_t t[CONC_THREADS];
	struct iofd_vm *vm;
	void *bad;

	(void)state;
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	pw.fd = eventfd(0, EFD_CLOEXEC);
	pw.post_addr = (uintptr_t)&slot;
	assert_int_equal(iofd_ioeventfd_ext(vm, &pw), 0);
	for (int i = 0; i < CONC_THREADS; i++) {
		fds[i] = stand_in_vcpu();
		conc_vcpu(vm, fds[i]);
		assert_int_equal(pthread_create(&t[i], NULL, conc_runner,
						(void *)(intptr_t)fds[i]), 0);
	}
	for (int i = 0; i < CONC_CHURN; i++) {	/* adopt, run, close */
		int fd = stand_in_vcpu();

		conc_vcpu(vm, fd);
		assert_int_equal(shim_ioctl(fd, KVM_RUN, 0), 0);
		free(conc_run[fd]);
		assert_int_equal(shim_close(fd), 0);
	}
	for (int i = 0; i < CONC_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
		assert_int_equal(shim_close(fds[i]), 0);
		free(conc_run[fds[i]]);
	}
	assert_int_equal(shim_objs_live(), live);
	assert_int_equal(read(pw.fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, CONC_THREADS * CONC_RUNS + CONC_CHURN);
	assert_int_equal(slot, 7);
	iofd_vm_destroy(vm);
	close(pw.fd);
}

/* ---- the KVM_RUN loop, fed recorded exits ------------------------------ */

struct recorded {
	uint32_t reason;	/* KVM_EXIT_MMIO, _IO, _HLT; 0 = fail */
	uint64_t addr;
	uint32_t len;
	int write;
	uint32_t data;
	int err;		/* enter fails with this errno */
};

static const struct recorded *feed;
static size_t feed_i;
static struct kvm_run *feed_run;

static int fake_enter(int fd)
{
	const struct recorded *r = &feed[feed_i++];

	(void)fd;
	if (r->err) {
		errno = r->err;
		return -1;
	}
	feed_run->exit_reason = r->reason;
	if (r->reason == KVM_EXIT_MMIO) {
		feed_run->mmio.phys_addr = r->addr;
		feed_run->mmio.len = r->len;
		feed_run->mmio.is_write = (uint8_t)r->write;
		memcpy(feed_run->mmio.data, &r->data, sizeof(r->data));
	}
	return 0;
}

struct harness {
	struct iofd_vm *vm;
	struct shim_vcpu v;
	int any_fd;
	uint32_t slot;
	int efd;
};

static void harness_open(struct harness *h)
{
	struct iofd_ioeventfd pw = {
		.addr = 0x1000, .len = 4, .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE,
	};

	memset(h, 0, sizeof(*h));
	feed_run = calloc(1, 4096);
	assert_non_null(feed_run);
	h->any_fd = stand_in_vcpu();
	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(iofd_vm_create(NULL, &h->vm), 0);
	pw.fd = h->efd;
	pw.post_addr = (uintptr_t)&h->slot;
	assert_int_equal(iofd_ioeventfd_ext(h->vm, &pw), 0);
	assert_int_equal(iofd_vcpu_adopt(h->vm, h->any_fd, feed_run, &h->v.iofd), 0);
	h->v.run = feed_run;
	h->v.enter = fake_enter;
	feed_i = 0;
}

static void harness_close(struct harness *h)
{
	iofd_vcpu_destroy(h->v.iofd);
	iofd_vm_destroy(h->vm);
	close(h->any_fd);
	close(h->efd);
	free(feed_run);
}

static void run_serves_claimed_exits(void **state)
{
	static const struct recorded exits[] = {
		{ KVM_EXIT_MMIO, 0x1000, 4, 1, 0x1234, 0 },
		{ KVM_EXIT_MMIO, 0x1000, 4, 1, 0x5678, 0 },
		{ KVM_EXIT_HLT, 0, 0, 0, 0, 0 },
		{ KVM_EXIT_MMIO, 0x2000, 4, 1, 1, 0 },
		{ 0, 0, 0, 0, 0, EINTR },
	};
	struct harness h;
	uint64_t n = 0;

	(void)state;
	harness_open(&h);
	feed = exits;
	assert_int_equal(shim_vcpu_run(&h.v, -1), 0);
	assert_int_equal(feed_run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(h.v.runs, 3);
	assert_int_equal(h.v.served, 2);
	assert_int_equal(h.slot, 0x5678);
	assert_int_equal(read(h.efd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 2);
	assert_int_equal(shim_vcpu_run(&h.v, -1), 0);	/* nobody's address */
	assert_int_equal(feed_run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(shim_vcpu_run(&h.v, -1), -EINTR);
	harness_close(&h);
}

/*
 * Open the harness with a region at 0x8000 whose device has closed, run
 * the recorded exits until the failure exit, and return its payload; the
 * region's fd is left in *fd for the caller to close.
 */
static struct kvm_ioregionfd_failure_exit
run_into_failure(struct harness *h, const struct recorded *exits, int *fd)
{
	struct iofd_ioregion r = { .guest_paddr = 0x8000, .memory_size = 0x10 };
	struct kvm_ioregionfd_failure_exit f;
	int s[2];

	harness_open(h);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	close(s[1]);	/* the device is gone */
	r.read_fd = r.write_fd = *fd = s[0];
	assert_int_equal(iofd_set_ioregion(h->vm, &r), 0);
	feed = exits;
	assert_int_equal(shim_vcpu_run(&h->v, -1), 0);
	assert_int_equal(feed_run->exit_reason, KVM_EXIT_IOREGIONFD_FAILURE);
	memcpy(&f, feed_run->padding, sizeof(f));
	assert_true(f.reason > 0);
	/* the padding, the tail's included, is 0 as in the kernel series */
	assert_int_equal(f.pad[0] | f.pad[1], 0);
	assert_int_equal(f.pad2, 0);
	return f;
}

static void run_failure_exit_and_bus_error(void **state)
{
	static const struct recorded exits[] = {
		{ KVM_EXIT_MMIO, 0x8004, 4, 0, 0, 0 },
		{ KVM_EXIT_HLT, 0, 0, 0, 0, 0 },
	};
	struct kvm_ioregionfd_failure_exit f;
	struct harness h;
	int fd;

	(void)state;
	f = run_into_failure(&h, exits, &fd);
	assert_int_equal(f.addr, 0x8004);
	assert_int_equal(f.len, 4);
	assert_int_equal(f.is_write, 0);
	assert_int_equal(f.pio, 0);
	assert_int_equal(f.data, 0);
	/* entering again: the original exit is back, the read gets all ones */
	feed_i = 1;
	assert_int_equal(h.v.failed, 1);
	assert_int_equal(shim_vcpu_run(&h.v, -1), 0);
	assert_int_equal(h.v.failed, 0);
	assert_int_equal(feed_run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(feed_run->mmio.phys_addr, 0x8004);
	assert_int_equal(feed_run->mmio.data[0], 0xff);
	close(fd);
	harness_close(&h);
}

/* A failed write's exit carries the value written. */
static void run_failure_exit_of_a_write(void **state)
{
	static const struct recorded exits[] = {
		{ KVM_EXIT_MMIO, 0x8008, 4, 1, 0xa5a5a5a5u, 0 },
	};
	struct kvm_ioregionfd_failure_exit f;
	struct harness h;
	int fd;

	(void)state;
	f = run_into_failure(&h, exits, &fd);
	assert_int_equal(f.addr, 0x8008);
	assert_int_equal(f.len, 4);
	assert_int_equal(f.is_write, 1);
	assert_int_equal(f.data, 0xa5a5a5a5u);
	close(fd);
	harness_close(&h);
}

int main(int argc, char **argv)
{
	/* Without KVM only the first runs (a per-case skip would print
	 * "not ok # SKIP", which meson counts as a failure). */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify_links),
		cmocka_unit_test(run_serves_claimed_exits),
		cmocka_unit_test(run_failure_exit_and_bus_error),
		cmocka_unit_test(run_failure_exit_of_a_write),
		cmocka_unit_test(concurrent_runs_and_closes),
		cmocka_unit_test(classify_fds),
		cmocka_unit_test(other_ioctls_pass_through),
		cmocka_unit_test(capabilities_answer_one),
		cmocka_unit_test(ioeventfd_errnos),
		cmocka_unit_test(ioregion_errnos),
		cmocka_unit_test(ioregion_timeout_from_env),
		cmocka_unit_test(vcpu_adopted_and_dups_recognised),
		cmocka_unit_test(vm_lives_while_a_dup_does),
		cmocka_unit_test(vm_released_after_its_vcpus),
		cmocka_unit_test(close_range_releases),
		cmocka_unit_test(run_on_unseen_vcpu_is_the_kernels),
		cmocka_unit_test(passthrough_answers_are_the_kernels),
#ifndef __SANITIZE_THREAD__
		/* ThreadSanitizer refuses threads in a multi-threaded fork's child */
		cmocka_unit_test(fork_child_starts_empty),
#endif
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (argc == 2 && strcmp(argv[1], "--passthrough-child") == 0)
		return passthrough_child();

	/* the shim's path whatever this kernel has */
	setenv("IOFD_SHIM_FORCE", "1", 1);
	if (have_kvm())
		open_scratch_vm();
	if (scratch_vm < 0) {
		printf("# SKIP: no usable /dev/kvm: %zu cases not run\n", n - 1);
		n = 1;
	}
	return _cmocka_run_group_tests("shim", tests, n, NULL, NULL);
}
