/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The error-reason walk: every public call (VMM side, device side,
 * handoff, errors) is driven into its failures, and each failure must
 * leave a reason that is its own. Before each call the walk either makes
 * a known, different failure (iofd_set_log() with a bad level) or clears
 * the reason (iofd_clear_error()), in turn; after the call the reason
 * must be non-empty, must not be the primed one, and must hold a text
 * that only this failure writes (the call's name for a bad argument). The
 * log callback must have received the same text at IOFD_LOG_ERROR (the
 * answers of iofd_device_region_status() record theirs without logging).
 *
 * The calls come from the symbol maps (the .map files of src/, given as the
 * program's argument):
 * every exported call must have been walked, or be one that cannot fail.
 * The kernel's own failures (KVM_CREATE_VCPU, KVM_RUN, KVM_IOEVENTFD) are
 * walked last, where /dev/kvm works; without it that case is left out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#include <iofd/device.h>
#include <iofd/handoff.h>

#include "handoff_wire.h"

/* ---- the walk's bookkeeping ------------------------------------------------ */

#define PRIMED	"iofd_set_log: unknown level 77"

static char walked[128][40];	/* calls driven into a failure */
static int nr_walked, nr_failures;
static char logged[16384];	/* IOFD_LOG_ERROR texts since the prime */
static const char *maps_dir;

static void on_log(void *opaque, enum iofd_log_level level, int err,
		   const char *msg)
{
	size_t n = strlen(logged);

	(void)opaque;
	(void)err;
	if (level == IOFD_LOG_ERROR)
		snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/* The call an expression makes: its first name, the helpers' calls for
 * this file's helpers. */
static void remember(const char *expr)
{
	static const char *const helper[][2] = {
		{ "ioev", "iofd_ioeventfd" }, { "group", "iofd_iosignalfd" },
		{ "region", "iofd_set_ioregion" }, { "irqfd", "iofd_irqfd" },
	};
	char name[40];
	size_t n = strcspn(expr, "( ");

	snprintf(name, sizeof(name), "%.*s", (int)n, expr);
	for (size_t i = 0; i < sizeof(helper) / sizeof(helper[0]); i++)
		if (!strcmp(name, helper[i][0]))
			snprintf(name, sizeof(name), "%s", helper[i][1]);
	assert_true(!strncmp(name, "iofd_", 5));
	for (int i = 0; i < nr_walked; i++)
		if (!strcmp(walked[i], name))
			return;
	assert_true(nr_walked < 128);
	snprintf(walked[nr_walked++], sizeof(walked[0]), "%s", name);
}

/* Before a call: a known other failure, or a cleared reason, in turn. */
static void prime(void)
{
	static unsigned turn;

	if (turn++ % 2) {
		iofd_clear_error();
		assert_string_equal(iofd_last_error(), "");
	} else {
		assert_int_equal(iofd_set_log(on_log, NULL,
					      (enum iofd_log_level)77), -EINVAL);
		assert_string_equal(iofd_last_error(), PRIMED);
	}
	logged[0] = '\0';
}

/* After a failure: the reason is this failure's, and was logged (quiet:
 * was not). */
static void check_reason(const char *expr, const char *text, bool quiet)
{
	const char *why = iofd_last_error();
	char line[300];
	bool ok;

	snprintf(line, sizeof(line), "%s\n", why);
	ok = *why && strcmp(why, PRIMED) != 0 && strstr(why, text) &&
	     (quiet ? !strstr(logged, line) : strstr(logged, line) != NULL);
	if (!ok)
		print_message("# %s: reason \"%s\", wanted \"%s\"%s; logged \"%s\"\n",
			      expr, why, text, quiet ? " (not logged)" : "", logged);
	assert_true(ok);
	remember(expr);
	nr_failures++;
}

/* expr (an int call) fails with err and a reason holding text. */
#define FAILS(expr, err, text)                                  \
	do {                                                    \
		prime();                                        \
		assert_int_equal((expr), (err));                \
		check_reason(#expr, (text), false);             \
	} while (0)

/* The same, for an answer recorded without logging. */
#define ANSWERS(expr, err, text)                                \
	do {                                                    \
		prime();                                        \
		assert_int_equal((expr), (err));                \
		check_reason(#expr, (text), true);              \
	} while (0)

/* expr (a pointer call) returns NULL with a reason holding text. */
#define NULLS(expr, text)                                       \
	do {                                                    \
		prime();                                        \
		assert_null((expr));                            \
		check_reason(#expr, (text), false);             \
	} while (0)

static int closed_fd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	close(fd);
	return fd;
}

static int sealed_memfd(size_t size)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static struct tu_resources before;

static int setup(void **state)
{
	(void)state;
	before = tu_snapshot();
	return iofd_set_log(on_log, NULL, IOFD_LOG_ERROR);
}

/* Failures leave nothing behind: the fd and thread counts are back. */
static int teardown(void **state)
{
	(void)state;
	TU_ASSERT_NO_LEAK(before);
	return iofd_set_log(NULL, NULL, IOFD_LOG_ERROR);
}

/* ---- errors ---------------------------------------------------------------- */

static void errors_api(void **state)
{
	(void)state;
	iofd_clear_error();
	assert_string_equal(iofd_last_error(), "");
	logged[0] = '\0';
	assert_int_equal(iofd_set_log(on_log, NULL, (enum iofd_log_level)4), -EINVAL);
	check_reason("iofd_set_log", "iofd_set_log: unknown level 4", false);
	iofd_clear_error();
	assert_string_equal(iofd_last_error(), "");
	remember("iofd_clear_error");
	remember("iofd_last_error");
}

/* ---- VMs ------------------------------------------------------------------- */

static void vms(void **state)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_NONE };
	struct iofd_caps caps;
	struct iofd_vm *vm;
	int efd = eventfd(0, EFD_CLOEXEC), p[2], saved0 = dup(0);

	(void)state;
	FAILS(iofd_vm_create(NULL, NULL), -EINVAL, "iofd_vm_create: NULL out");
	o.kvm_vm_fd = -3;
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "is neither an fd");
	o.kvm_vm_fd = IOFD_KVM_NONE;
	o.flags = 1u << 7;
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "unknown flags 0x80");
	o.flags = 0;
	o.reserved[4] = 1;
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "reserved fields not 0");
	o.reserved[4] = 0;
	o.kvm_vm_fd = efd;
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "is not a KVM VM (anon_inode:[eventfd])");
	o.kvm_vm_fd = closed_fd();
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "is not an open file descriptor");
	/* a zero-initialised iofd_vm_options: fd 0, here a pipe, then closed */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(dup2(p[0], 0), 0);
	memset(&o, 0, sizeof(o));
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "a zero-initialised iofd_vm_options adopts fd 0");
	close(0);
	FAILS(iofd_vm_create(&o, &vm), -EINVAL, "a zero-initialised iofd_vm_options adopts fd 0");
	assert_int_equal(dup2(saved0, 0), 0);
	close(saved0);
	close(p[0]);
	close(p[1]);

	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	FAILS(iofd_vm_kvm_fd(NULL), -EINVAL, "iofd_vm_kvm_fd: NULL vm");
	FAILS(iofd_vm_kvm_fd(vm), -ENODEV, "iofd_vm_kvm_fd: the VM has no KVM VM");
	FAILS(iofd_quiesce(NULL), -EINVAL, "iofd_quiesce: NULL vm");
	FAILS(iofd_query_caps(NULL, &caps), -EINVAL, "iofd_query_caps");
	FAILS(iofd_query_caps(vm, NULL), -EINVAL, "iofd_query_caps");
	FAILS(iofd_vm_set_ioregion_timeout(NULL, 5), -EINVAL,
	      "iofd_vm_set_ioregion_timeout: NULL vm");
	FAILS(iofd_batch_begin(NULL), -EINVAL, "iofd_batch_begin: NULL vm");
	assert_int_equal(iofd_batch_begin(vm), 0);
	FAILS(iofd_batch_begin(vm), -EBUSY, "iofd_batch_begin: this thread has a batch");
	assert_int_equal(iofd_batch_commit(vm), 0);
	FAILS(iofd_batch_commit(vm), -EINVAL, "iofd_batch_commit: no batch open");
	FAILS(iofd_batch_commit(NULL), -EINVAL, "iofd_batch_commit");
	iofd_vm_destroy(vm);
	remember("iofd_vm_destroy");
	close(efd);
}

/* ---- ioeventfd ------------------------------------------------------------- */

static int ioev(struct iofd_vm *vm, uint64_t addr, uint32_t len, int fd,
		uint32_t flags)
{
	struct kvm_ioeventfd a = { .addr = addr, .len = len, .fd = fd,
				   .flags = flags };

	return iofd_ioeventfd(vm, &a);
}

static int group(struct iofd_vm *vm, uint64_t addr, uint32_t len, int fd,
		 uint32_t flags, const void *trigger)
{
	struct iofd_iosignalfd a = { .trigger = (uintptr_t)trigger, .addr = addr,
				     .len = len, .fd = fd, .flags = flags };

	return iofd_iosignalfd(vm, &a);
}

/* Fill every fd number below the limit, which is lowered to fd + 1. */
struct no_fds {
	struct rlimit old;
	int fill[64], n;
};

static void use_up_fds(struct no_fds *s, int fd)
{
	struct rlimit low;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &s->old), 0);
	low = s->old;
	low.rlim_cur = (rlim_t)fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (s->n = 0; s->n < 64 && (s->fill[s->n] = dup(fd)) >= 0; s->n++)
		;
}

static void give_back_fds(struct no_fds *s)
{
	while (s->n > 0)
		close(s->fill[--s->n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &s->old), 0);
}

static void ioeventfds(void **state)
{
	struct iofd_vm *vm;
	struct iofd_ioeventfd x = { .addr = 0x9000, .len = 4 };
	struct kvm_ioeventfd k = { .addr = 0x1000, .len = 4 };
	int e = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC), p[2];
	int memfd = sealed_memfd(4096), plain = memfd_create("u", MFD_CLOEXEC);
	struct no_fds nf;
	void *hole;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	k.fd = e;
	FAILS(iofd_ioeventfd(NULL, &k), -EINVAL, "iofd_ioeventfd: NULL vm");
	FAILS(iofd_ioeventfd(vm, NULL), -EINVAL, "iofd_ioeventfd: NULL args");
	FAILS(ioev(vm, 0x1000, 3, e, 0), -EINVAL, "len 3 is not 0, 1, 2, 4 or 8");
	FAILS(ioev(vm, UINT64_MAX - 1, 4, e, 0), -EINVAL, "wraps");
	FAILS(ioev(vm, 0x1000, 4, e, 1u << 30), -EINVAL, "has unknown bits");
	FAILS(ioev(vm, 0x1000, 0, e, KVM_IOEVENTFD_FLAG_DATAMATCH), -EINVAL,
	      "len 0 cannot use DATAMATCH");
	FAILS(ioev(vm, 0x1000, 4, -1, 0), -EBADF, "fd -1 is not an open file descriptor");
	FAILS(ioev(vm, 0x1000, 4, p[0], 0), -EINVAL, "is not an eventfd (pipe:");
	assert_int_equal(ioev(vm, 0x1000, 4, e, 0), 0);
	FAILS(ioev(vm, 0x1000, 4, e2, 0), -EEXIST, "already claims bus 0 addr 0x1000");
	assert_int_equal(group(vm, 0x2000, 4, e, 0, NULL), 0);
	FAILS(ioev(vm, 0x2000, 4, e2, 0), -EEXIST, "lies in an iosignalfd group");
	FAILS(ioev(vm, 0x3000, 4, e, KVM_IOEVENTFD_FLAG_DEASSIGN), -ENOENT,
	      "no ioeventfd on bus 0 at 0x3000");
	/* no fd left: a new eventfd cannot be kept, a known one cannot be read */
	use_up_fds(&nf, e2 > e ? e2 : e);
	FAILS(ioev(vm, 0x4000, 4, e2, 0), -EMFILE, "cannot read the fdinfo");
	FAILS(ioev(vm, 0x1000, 4, e, KVM_IOEVENTFD_FLAG_DEASSIGN), -EMFILE,
	      "cannot read the fdinfo");
	give_back_fds(&nf);

	x.fd = e2;
	FAILS(iofd_ioeventfd_ext(NULL, &x), -EINVAL, "iofd_ioeventfd_ext: NULL vm");
	x.flags = IOFD_IOEVENTFD_FLAG_POST_MEMFD;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "POST_MEMFD needs POST_WRITE");
	x.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE;
	x.len = 0;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "POST_WRITE needs len > 0");
	x.len = 4;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "POST_WRITE needs a post_addr");
	hole = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	x.post_addr = (uintptr_t)hole;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "is not mapped writable");
	x.flags |= IOFD_IOEVENTFD_FLAG_POST_MEMFD;
	x.post_fd = closed_fd();
	x.post_addr = 0;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EBADF, "is not an open file");
	x.post_fd = plain;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "is not a memfd sealed");
	x.post_fd = memfd;
	x.post_addr = 4094;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "is not aligned to len 4");
	x.post_addr = 4096;
	FAILS(iofd_ioeventfd_ext(vm, &x), -EINVAL, "beyond the memfd");

	x = (struct iofd_ioeventfd){ .addr = 0x5000, .len = 4, .fd = e };
	FAILS(iofd_ioeventfd_path(NULL, &x), -EINVAL, "iofd_ioeventfd_path: NULL vm");
	FAILS(iofd_ioeventfd_path(vm, &x), -ENOENT, "no ioeventfd on bus 0 at 0x5000");
	x.fd = -1;
	FAILS(iofd_ioeventfd_path(vm, &x), -EBADF, "is not an open file descriptor");
	x.fd = p[1];
	FAILS(iofd_ioeventfd_path(vm, &x), -EINVAL, "is not an eventfd");

	iofd_vm_destroy(vm);
	munmap(hole, 4096);
	close(memfd);
	close(plain);
	close(p[0]);
	close(p[1]);
	close(e);
	close(e2);
}

/* ---- iosignalfd ------------------------------------------------------------ */

static void iosignalfds(void **state)
{
	struct iofd_vm *vm;
	struct iofd_iosignalfd a = { .addr = 0x1000, .len = 4 };
	int e = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC), p[2];
	uint32_t trig = 7;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	FAILS(iofd_iosignalfd(NULL, &a), -EINVAL, "iofd_iosignalfd: NULL vm");
	FAILS(group(vm, 0x1000, 3, e, 0, NULL), -EINVAL, "len 3 is not 1, 2, 4 or 8");
	FAILS(group(vm, 0x1000, 4, e, 1u << 9, NULL), -EINVAL, "has unknown bits");
	FAILS(group(vm, UINT64_MAX - 1, 4, e, 0, NULL), -EINVAL, "addr + len wraps");
	FAILS(group(vm, 0x1000, 4, -1, 0, NULL), -EBADF, "is not an open file descriptor");
	FAILS(group(vm, 0x1000, 4, p[0], 0, NULL), -EINVAL, "is not an eventfd");
	FAILS(group(vm, 0x1000, 4, e, IOFD_IOSIGNALFD_FLAG_TRIGGER, NULL), -EFAULT,
	      "is not readable for 4 bytes");
	assert_int_equal(group(vm, 0x1000, 4, e, 0, NULL), 0);
	FAILS(group(vm, 0x1000, 2, e2, 0, NULL), -EINVAL, "has len 4, not 2");
	FAILS(group(vm, 0x1002, 4, e2, 0, NULL), -EEXIST, "overlaps another registration");
	FAILS(group(vm, 0x1000, 4, e, 0, NULL), -EEXIST, "already has eventfd");
	assert_int_equal(group(vm, 0x1000, 4, e, IOFD_IOSIGNALFD_FLAG_TRIGGER, &trig), 0);
	FAILS(group(vm, 0x1000, 4, e, IOFD_IOSIGNALFD_FLAG_TRIGGER, &trig), -EEXIST,
	      "with this trigger");
	FAILS(group(vm, 0x8000, 4, e, IOFD_IOSIGNALFD_FLAG_DEASSIGN, NULL), -EINVAL,
	      "no iosignalfd group at 0x8000");
	iofd_vm_destroy(vm);
	close(p[0]);
	close(p[1]);
	close(e);
	close(e2);
}

/* ---- ioregions -------------------------------------------------------------- */

static int region(struct iofd_vm *vm, uint64_t gpa, uint64_t size, int rfd,
		  int wfd, uint32_t flags)
{
	struct iofd_ioregion r = { .guest_paddr = gpa, .memory_size = size,
				   .read_fd = rfd, .write_fd = wfd, .flags = flags };

	return iofd_set_ioregion(vm, &r);
}

static void ioregions(void **state)
{
	struct iofd_ioregion r = { .guest_paddr = 0x7000, .memory_size = 0x100 };
	struct iofd_vm *vm;
	int s[2], s2[2], p[2], e = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	FAILS(iofd_set_ioregion(NULL, &r), -EINVAL, "iofd_set_ioregion: NULL vm");
	FAILS(region(vm, 0x1000, 0x100, s[0], s[0], 1u << 12), -EINVAL,
	      "ioregion flags 0x1000 has unknown bits");
	FAILS(region(vm, UINT64_MAX - 0xff, 0x200, s[0], s[0], 0), -EINVAL, "overflows");
	FAILS(region(vm, 0x1000, (uint64_t)INT_MAX + 1, s[0], s[0], 0), -EINVAL,
	      "is above INT_MAX");
	FAILS(region(vm, 0x1000, 0, -1, s[0], 0), -EINVAL, "needs POSTED_WRITES");
	FAILS(region(vm, 0x1000, 0x100, s[0], -1, 0), -EBADF, "write_fd -1 is not an open fd");
	FAILS(region(vm, 0x1000, 0x100, p[1], s[0], 0), -EBADF, "is not open for reading");
	FAILS(region(vm, 0x1000, 0x100, e, s[0], 0), -EINVAL, "is not a pipe, FIFO or socket");
	assert_int_equal(region(vm, 0x1000, 0x100, s[0], s[0], 0), 0);
	FAILS(region(vm, 0x1080, 0x100, s2[0], s2[0], 0), -EEXIST, "on bus 0");
	FAILS(region(vm, 0x3000, 0x100, s2[0], s[0], 0), -EINVAL, "an fd belongs");
	FAILS(region(vm, 0x5000, 0x100, s[0], s[0], IOFD_IOREGION_FLAG_DEASSIGN), -ENOENT,
	      "no ioregion on bus 0 at 0x5000");
	FAILS(iofd_ioregion_path(NULL, &r), -EINVAL, "iofd_ioregion_path: NULL vm");
	FAILS(iofd_ioregion_path(vm, &r), -ENOENT, "no ioregion at 0x7000");
	r.flags = 1u << 13;
	FAILS(iofd_ioregion_path(vm, &r), -EINVAL, "has unknown bits");
	iofd_vm_destroy(vm);
	close(s[0]);
	close(s[1]);
	close(s2[0]);
	close(s2[1]);
	close(p[0]);
	close(p[1]);
	close(e);
}

/* ---- access, vCPUs ----------------------------------------------------------- */

static void access_and_vcpus(void **state)
{
	struct iofd_vcpu_stats st;
	struct kvm_run run;
	struct iofd_vcpu *vcpu;
	struct iofd_vm *vm;
	uint64_t v = 0;
	int e = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	FAILS(iofd_access(NULL, IOFD_BUS_MMIO, 0, 4, true, &v, NULL), -EINVAL, "iofd_access");
	FAILS(iofd_access(vm, IOFD_BUS_MMIO, 0, 9, true, &v, NULL), -EINVAL,
	      "iofd_access: bad vm, bus 0, len 9");
	FAILS(iofd_access(vm, (enum iofd_bus)7, 0, 4, true, &v, NULL), -EINVAL,
	      "iofd_access: bad vm, bus 7");
	FAILS(iofd_access(vm, IOFD_BUS_MMIO, 0, 4, true, NULL, NULL), -EINVAL, "iofd_access");
	FAILS(iofd_vcpu_create(NULL, 0, &vcpu), -EINVAL, "iofd_vcpu_create: NULL vm");
	FAILS(iofd_vcpu_create(vm, 0, &vcpu), -ENODEV, "iofd_vcpu_create: this iofd VM has no KVM");
	FAILS(iofd_vcpu_adopt(vm, e, NULL, &vcpu), -EINVAL, "iofd_vcpu_adopt: NULL vm, run");
	FAILS(iofd_vcpu_adopt(vm, e, &run, &vcpu), -EINVAL, "is not a KVM vCPU (anon_inode:[eventfd])");
	FAILS(iofd_vcpu_adopt(vm, closed_fd(), &run, &vcpu), -EINVAL,
	      "is not an open file descriptor");
	FAILS(iofd_vcpu_fd(NULL), -EINVAL, "iofd_vcpu_fd: NULL vcpu");
	NULLS(iofd_vcpu_kvm_run(NULL), "iofd_vcpu_kvm_run: NULL vcpu");
	FAILS(iofd_vcpu_get_stats(NULL, &st), -EINVAL, "iofd_vcpu_get_stats");
	FAILS(iofd_dispatch_exit(NULL, NULL), -EINVAL, "iofd_dispatch_exit: NULL vcpu");
	FAILS(iofd_vcpu_run(NULL, NULL), -EINVAL, "iofd_vcpu_run: NULL vcpu");
	iofd_vcpu_destroy(NULL);
	remember("iofd_vcpu_destroy");
	iofd_vm_destroy(vm);
	close(e);
}

/* ---- interrupts -------------------------------------------------------------- */

static void set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static int irqfd(struct iofd_vm *vm, int fd, uint32_t gsi, uint32_t flags, int rfd)
{
	struct kvm_irqfd a = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags,
			       .resamplefd = (uint32_t)rfd };

	return iofd_irqfd(vm, &a);
}

static void interrupts(void **state)
{
	static const struct iofd_irq_controller ctl = { .set_level = set_level };
	struct iofd_irq_controller bad = { 0 };
	struct iofd_intx *x;
	struct kvm_irqfd k = { 0 };
	struct iofd_vm *vm;
	int e = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC), p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	FAILS(iofd_irqfd(NULL, &k), -EINVAL, "iofd_irqfd: NULL vm");
	FAILS(irqfd(vm, e, 5, 1u << 9, -1), -EINVAL, "unknown irqfd flags");
	FAILS(irqfd(vm, e, 5, 0, -1), -EINVAL, "no in-kernel irqchip and no controller set");
	FAILS(iofd_intx_create(vm, 5, &x), -EINVAL, "no in-kernel irqchip and no controller");
	FAILS(iofd_irq_set_controller(NULL, &ctl, NULL), -EINVAL, "iofd_irq_set_controller");
	FAILS(iofd_irq_set_controller(vm, &bad, NULL), -EINVAL,
	      "iofd_irq_set_controller: NULL vm, or a controller without set_level");
	bad.set_level = set_level;
	bad.reserved[0] = (void (*)(void))set_level;
	FAILS(iofd_irq_set_controller(vm, &bad, NULL), -EINVAL, "reserved calls");
	assert_int_equal(iofd_irq_set_controller(vm, &ctl, NULL), 0);
	FAILS(irqfd(vm, -1, 5, 0, -1), -EBADF, "is not an open file descriptor");
	FAILS(irqfd(vm, p[0], 5, 0, -1), -EINVAL, "is not an eventfd");
	FAILS(irqfd(vm, e, 5, KVM_IRQFD_FLAG_RESAMPLE, p[0]), -EINVAL, "is not an eventfd");
	assert_int_equal(irqfd(vm, e, 5, 0, -1), 0);
	FAILS(irqfd(vm, e, 6, 0, -1), -EBUSY, "already backs an irqfd");
	FAILS(iofd_irq_set_controller(vm, NULL, NULL), -EBUSY, "use the controller");
	FAILS(iofd_intx_create(NULL, 5, &x), -EINVAL, "iofd_intx_create: NULL vm");
	FAILS(iofd_irq_eoi(NULL, 5), -EINVAL, "iofd_irq_eoi: NULL vm");
	FAILS(iofd_irq_fd(NULL), -EINVAL, "iofd_irq_fd: NULL vm");
	FAILS(iofd_irq_process(NULL), -EINVAL, "iofd_irq_process: NULL vm");
	FAILS(iofd_intx_assert(NULL), -EINVAL, "iofd_intx_assert: NULL");
	FAILS(iofd_intx_deassert(NULL), -EINVAL, "iofd_intx_deassert: NULL");
	FAILS(iofd_intx_eoi_fd(NULL), -EINVAL, "iofd_intx_eoi_fd: NULL");
	FAILS(iofd_intx_trigger_fd(NULL), -EINVAL, "iofd_intx_trigger_fd: NULL");
	/* a helper whose irqfd went, then whose VM went */
	assert_int_equal(iofd_intx_create(vm, 9, &x), 0);
	assert_int_equal(irqfd(vm, iofd_intx_trigger_fd(x), 9, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	FAILS(iofd_intx_assert(x), -ENOTCONN, "irqfd was deassigned");
	FAILS(iofd_intx_deassert(x), -ENOTCONN, "irqfd was deassigned");
	iofd_vm_destroy(vm);
	FAILS(iofd_intx_assert(x), -ENODEV, "VM was destroyed");
	iofd_intx_destroy(x);
	iofd_intx_destroy(NULL);
	remember("iofd_intx_destroy");
	close(p[0]);
	close(p[1]);
	close(e);
	close(e2);
}

/* ---- device side ----------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal in 20 ms that interrupts a blocking call (no SA_RESTART). */
static void alarm_soon(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval t = { .it_value = { 0, 20000 } };

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &t, NULL);
}

static struct iofd_device_region dregion(int fd)
{
	return (struct iofd_device_region){ .cmd_fd = fd, .resp_fd = fd,
					    .size = 0x100 };
}

static void device_regions(void **state)
{
	struct iofd_device_region r;
	struct iofd_device_stats st;
	struct iofd_device *dev;
	int s[2], gone[2], dg[2], e = eventfd(0, EFD_CLOEXEC), id, id_gone;
	uint8_t junk[32];

	(void)state;
	memset(junk, 0xee, sizeof(junk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, gone), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg), 0);
	FAILS(iofd_device_create(NULL), -EINVAL, "iofd_device_create: NULL out");
	assert_int_equal(iofd_device_create(&dev), 0);
	FAILS(iofd_device_fd(NULL), -EINVAL, "iofd_device_fd: NULL device");
	r = dregion(s[1]);
	FAILS(iofd_device_add_region(NULL, &r), -EINVAL, "iofd_device_add_region: NULL");
	r.flags = 1u << 5;
	FAILS(iofd_device_add_region(dev, &r), -EINVAL, "unknown region flags 0x20");
	r = dregion(e);
	FAILS(iofd_device_add_region(dev, &r), -EINVAL, "is neither a socket nor a pipe");
	r = dregion(dg[1]);
	FAILS(iofd_device_add_region(dev, &r), -EINVAL, "stream or seqpacket needed");
	r = dregion(closed_fd());
	FAILS(iofd_device_add_region(dev, &r), -EBADF, "is not an open file descriptor");
	r = dregion(s[1]);
	id = iofd_device_add_region(dev, &r);
	r = dregion(gone[1]);
	id_gone = iofd_device_add_region(dev, &r);
	assert_true(id >= 0 && id_gone >= 0);
	FAILS(iofd_device_region_status(NULL, id), -ENOENT, "iofd_device_region_status: NULL");
	FAILS(iofd_device_region_status(dev, 1234), -ENOENT,
	      "iofd_device_region_status: no region 1234 (the device has 2)");
	FAILS(iofd_device_region_status(dev, -1), -ENOENT, "no region -1");
	/* a malformed command poisons its region; a closed one is closed */
	assert_int_equal(send(s[0], junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(gone[0]);
	FAILS(iofd_device_process(dev), -EPROTO, "region 0: ");
	ANSWERS(iofd_device_region_status(dev, id), -EPROTO, "region 0 was poisoned: ");
	iofd_device_process(dev);
	ANSWERS(iofd_device_region_status(dev, id_gone), -ENOTCONN,
		"region 1 was closed by the VMM");
	FAILS(iofd_device_process(NULL), -EINVAL, "iofd_device_process: NULL device");
	FAILS(iofd_device_wait(NULL, 0), -EINVAL, "iofd_device_wait: NULL device");
	FAILS(iofd_device_run(NULL), -EINVAL, "iofd_device_run: NULL device");
	FAILS(iofd_device_stop(NULL), -EINVAL, "iofd_device_stop: NULL device");
	FAILS(iofd_device_get_stats(NULL, &st), -EINVAL, "iofd_device_get_stats");
	FAILS(iofd_device_get_stats(dev, NULL), -EINVAL, "iofd_device_get_stats");
	iofd_device_destroy(dev);
	remember("iofd_device_destroy");

	/* waits a signal interrupts say so (iofd_device_run needs a source) */
	assert_int_equal(iofd_device_create(&dev), 0);
	prime();
	alarm_soon();
	assert_int_equal(iofd_device_wait(dev, -1), -EINTR);
	check_reason("iofd_device_wait", "epoll_wait: Interrupted system call", false);
	r = dregion(s[1]);
	assert_true(iofd_device_add_region(dev, &r) >= 0);
	prime();
	alarm_soon();
	assert_int_equal(iofd_device_run(dev), -EINTR);
	check_reason("iofd_device_run", "epoll_wait: Interrupted system call", false);
	iofd_device_destroy(dev);
	close(s[0]);
	close(s[1]);
	close(gone[1]);
	close(dg[0]);
	close(dg[1]);
	close(e);
}

static void device_memory(void **state)
{
	struct iofd_device_doorbell db = { .shadow_offset = 0, .len = 4 };
	struct iofd_device *dev, *dev2;
	int e = eventfd(0, EFD_CLOEXEC), p[2], ram = sealed_memfd(1 << 16);
	int empty = sealed_memfd(0), shadow = sealed_memfd(4096);
	uint64_t v;
	char buf[8];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(iofd_device_create(&dev), 0);
	assert_int_equal(iofd_device_create(&dev2), 0);
	FAILS(iofd_device_create_shadow(NULL, 4096), -EINVAL, "iofd_device_create_shadow: NULL");
	FAILS(iofd_device_create_shadow(dev, 0), -EINVAL, "size 0 is not 1 byte to 1 GiB");
	db.efd = e;
	FAILS(iofd_device_add_doorbell(NULL, &db), -EINVAL, "iofd_device_add_doorbell: NULL");
	FAILS(iofd_device_add_doorbell(dev, &db), -ENODEV, "a doorbell needs a shadow first");
	assert_int_equal(iofd_device_create_shadow(dev, 4096), 0);
	FAILS(iofd_device_create_shadow(dev, 4096), -EEXIST, "already has a shadow");
	FAILS(iofd_device_set_shadow(dev, shadow), -EEXIST, "already has a shadow");
	FAILS(iofd_device_set_shadow(NULL, shadow), -EINVAL, "iofd_device_set_shadow: NULL");
	FAILS(iofd_device_set_shadow(dev2, closed_fd()), -EBADF, "is not open");
	FAILS(iofd_device_set_shadow(dev2, p[0]), -EINVAL, "is not a memfd");
	FAILS(iofd_device_set_shadow(dev2, empty), -EINVAL, "is empty or larger");
	prime();
	assert_int_equal(iofd_device_shadow_fd(NULL), -1);
	check_reason("iofd_device_shadow_fd", "iofd_device_shadow_fd: NULL device", false);
	db.len = 3;
	FAILS(iofd_device_add_doorbell(dev, &db), -EINVAL, "doorbell len 3");
	db.len = 4;
	db.shadow_offset = 4096;
	FAILS(iofd_device_add_doorbell(dev, &db), -EINVAL, "lies outside the");
	db.shadow_offset = 2;
	FAILS(iofd_device_add_doorbell(dev, &db), -EINVAL, "is not aligned to its len 4");
	db.shadow_offset = 0;
	db.efd = p[0];
	FAILS(iofd_device_add_doorbell(dev, &db), -EINVAL, "is not an eventfd");
	db.efd = closed_fd();
	FAILS(iofd_device_add_doorbell(dev, &db), -EBADF, "is not an open file descriptor");
	FAILS(iofd_device_doorbell_value(dev, 3, &v), -ENOENT, "no doorbell 3");

	FAILS(iofd_device_add_ram(NULL, ram, 0, 4096, 0), -EINVAL, "iofd_device_add_ram: NULL");
	FAILS(iofd_device_add_ram(dev, ram, 0, 0, 0), -EINVAL, "size 0 or");
	FAILS(iofd_device_add_ram(dev, ram, 0, 4096, 100), -EINVAL, "offset 0x64 is invalid");
	FAILS(iofd_device_add_ram(dev, closed_fd(), 0, 4096, 0), -EBADF, "guest RAM: fd");
	FAILS(iofd_device_add_ram(dev, p[0], 0, 4096, 0), -EINVAL, "is not a memfd");
	FAILS(iofd_device_add_ram(dev, ram, 0, 1 << 20, 0), -EINVAL, "holds fewer than");
	for (int i = 0; i < IOFD_DEVICE_MAX_RAM; i++)
		assert_int_equal(iofd_device_add_ram(dev, ram, (uint64_t)i << 16,
						     4096, 0), 0);
	FAILS(iofd_device_add_ram(dev, ram, 0x100, 4096, 0), -EINVAL, "overlaps RAM at 0x0");
	FAILS(iofd_device_add_ram(dev, ram, 1ull << 40, 4096, 0), -ENOSPC,
	      "more than 8 guest RAM ranges");
	NULLS(iofd_device_dma(dev, 0x2000, 8), "not inside one guest RAM range");
	NULLS(iofd_device_dma(NULL, 0, 8), "asked of a NULL device");
	FAILS(iofd_device_dma_read(dev, 0x2000, buf, 8), -EFAULT, "DMA read of 8 bytes at 0x2000");
	FAILS(iofd_device_dma_write(dev, 0x2000, buf, 8), -EFAULT, "DMA write of 8 bytes at 0x2000");
	iofd_device_destroy(dev);
	iofd_device_destroy(dev2);
	close(p[0]);
	close(p[1]);
	close(e);
	close(ram);
	close(empty);
	close(shadow);
}

/* ---- handoff ------------------------------------------------------------------ */

static void handoffs(void **state)
{
	struct handoff_wire_hdr hdr = { .magic = IOFD_HANDOFF_MAGIC,
					.version = IOFD_HANDOFF_VERSION + 1,
					.kind = IOFD_HANDOFF_HELLO,
					.length = sizeof(hdr) };
	char *nope[] = { "/nonexistent/iofd-device", NULL };
	static struct iofd_handoff h;
	int sp[2], st[2], e = eventfd(0, EFD_CLOEXEC), sock;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st), 0);
	FAILS(iofd_handoff_init(NULL, IOFD_HANDOFF_HELLO), -EINVAL, "iofd_handoff_init: NULL");
	FAILS(iofd_handoff_init(&h, (enum iofd_handoff_kind)9), -EINVAL, "kind 9");
	assert_int_equal(iofd_handoff_init(&h, IOFD_HANDOFF_HELLO), 0);
	FAILS(iofd_handoff_send(sp[0], NULL), -EINVAL, "iofd_handoff_send: NULL message");
	FAILS(iofd_handoff_send(closed_fd(), &h), -EBADF, "is not open");
	FAILS(iofd_handoff_send(st[0], &h), -EINVAL, "is not a seqpacket socket");
	h.nr_ram = IOFD_HANDOFF_MAX_RAM + 1;
	FAILS(iofd_handoff_send(sp[0], &h), -EINVAL, "RAM ranges");
	h.nr_ram = 0;
	h.nr_doorbells = 1;
	FAILS(iofd_handoff_send(sp[0], &h), -EINVAL, "has no fd");
	h.nr_doorbells = 2;
	h.doorbells[0].efd = h.doorbells[1].efd = e;
	h.doorbells[0].len = h.doorbells[1].len = 4;
	FAILS(iofd_handoff_send(sp[0], &h), -EINVAL, "appears in");
	iofd_handoff_init(&h, IOFD_HANDOFF_REPLY);
	h.status = 5;
	FAILS(iofd_handoff_send(sp[0], &h), -EINVAL, "bad status 5");
	h.status = 0;
	h.kind = 7;
	FAILS(iofd_handoff_send(sp[0], &h), -EINVAL, "unknown kind 7");

	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, NULL, 0), -EINVAL,
	      "iofd_handoff_recv: bad arguments");
	FAILS(iofd_handoff_recv(closed_fd(), IOFD_HANDOFF_HELLO, &h, 0), -EBADF, "is not open");
	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, &h, 0), -ETIMEDOUT,
	      "no message within 0 ms");
	assert_int_equal(send(sp[0], "xx", 2, 0), 2);
	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, &h, 0), -EPROTO,
	      "2-byte message is shorter");
	assert_int_equal(send(sp[0], &hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, &h, 0), -EPROTONOSUPPORT,
	      "handoff: version 2");
	hdr.version = IOFD_HANDOFF_VERSION;
	hdr.magic = 0x12345678;
	assert_int_equal(send(sp[0], &hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, &h, 0), -EPROTO,
	      "bad magic 0x12345678");
	close(sp[0]);
	FAILS(iofd_handoff_recv(sp[1], IOFD_HANDOFF_HELLO, &h, 100), -ECONNRESET,
	      "the peer closed the socket");
	iofd_handoff_init(&h, IOFD_HANDOFF_REPLY);
	FAILS(iofd_handoff_send(sp[1], &h), -EPIPE, "sendmsg");
	iofd_handoff_close(&h);
	remember("iofd_handoff_close");

	FAILS(iofd_handoff_spawn(NULL, &sock, &pid), -EINVAL, "iofd_handoff_spawn: bad arguments");
	FAILS(iofd_handoff_spawn(nope, &sock, &pid), -ENOENT, "cannot start /nonexistent");
	unsetenv(IOFD_HANDOFF_ENV);
	FAILS(iofd_handoff_inherited(), -ENOENT, "IOFD_HANDOFF_FD is not set");
	setenv(IOFD_HANDOFF_ENV, "x3", 1);
	FAILS(iofd_handoff_inherited(), -EINVAL, "IOFD_HANDOFF_FD=x3 is not an fd number");
	setenv(IOFD_HANDOFF_ENV, "1000000", 1);
	FAILS(iofd_handoff_inherited(), -EBADF, "handoff socket 1000000 is not open");
	{
		char num[16];

		snprintf(num, sizeof(num), "%d", st[0]);
		setenv(IOFD_HANDOFF_ENV, num, 1);
		FAILS(iofd_handoff_inherited(), -EINVAL, "is not a seqpacket socket");
	}
	unsetenv(IOFD_HANDOFF_ENV);
	close(sp[1]);
	close(st[0]);
	close(st[1]);
	close(e);
}

/* ---- every exported call was walked --------------------------------------- */

/* The exported calls of one symbol map, each checked off. */
static int check_map(const char *name)
{
	char path[512], line[256];
	int missing = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", maps_dir, name);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char sym[64];
		bool seen = false;

		if (sscanf(line, " %63[a-z0-9_];", sym) != 1 || strncmp(sym, "iofd_", 5))
			continue;
		for (int i = 0; i < nr_walked && !seen; i++)
			seen = !strcmp(walked[i], sym);
		if (!seen) {
			print_message("# %s exports %s: no failure of it was walked\n",
				      name, sym);
			missing++;
		}
	}
	fclose(f);
	return missing;
}

static void every_exported_call_was_walked(void **state)
{
	(void)state;
	assert_non_null(maps_dir);	/* tests/meson.build passes src/ */
	assert_int_equal(check_map("libiofd.map") + check_map("libiofd-device.map"), 0);
	print_message("# %d failures walked over %d calls\n", nr_failures, nr_walked);
}

/* ---- the kernel's failures (needs /dev/kvm) ----------------------------------- */

static void kernel_failures(void **state)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct kvm_ioeventfd k = { .addr = 0xd000, .len = 4 };
	struct iofd_vcpu *vcpu, *again;
	struct iofd_vm *vm;
	int e = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(iofd_vcpu_create(vm, 0, &vcpu), 0);
	FAILS(iofd_vcpu_create(vm, 0, &again), -EEXIST, "KVM_CREATE_VCPU 0: File exists");
	/* a colliding ioeventfd the kernel holds, registered outside iofd */
	k.fd = e;
	assert_int_equal(ioctl(iofd_vm_kvm_fd(vm), KVM_IOEVENTFD, &k), 0);
	FAILS(iofd_ioeventfd(vm, &k), -EEXIST, "registered outside iofd");
	/* KVM_RUN refusing the register sets kvm_run asks for */
	iofd_vcpu_kvm_run(vcpu)->kvm_valid_regs = 1ull << 63;
	FAILS(iofd_vcpu_run(vcpu, NULL), -EINVAL, "KVM_RUN on vCPU fd");
	/* the documented exception: an interrupted run leaves the reason */
	iofd_vcpu_kvm_run(vcpu)->kvm_valid_regs = 0;
	iofd_vcpu_kvm_run(vcpu)->immediate_exit = 1;
	assert_int_equal(iofd_set_log(on_log, NULL, (enum iofd_log_level)77), -EINVAL);
	assert_int_equal(iofd_vcpu_run(vcpu, NULL), -EINTR);
	assert_string_equal(iofd_last_error(), PRIMED);
	iofd_vcpu_destroy(vcpu);
	iofd_vm_destroy(vm);
	close(e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(errors_api, setup, teardown),
		cmocka_unit_test_setup_teardown(vms, setup, teardown),
		cmocka_unit_test_setup_teardown(ioeventfds, setup, teardown),
		cmocka_unit_test_setup_teardown(iosignalfds, setup, teardown),
		cmocka_unit_test_setup_teardown(ioregions, setup, teardown),
		cmocka_unit_test_setup_teardown(access_and_vcpus, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(device_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(device_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(handoffs, setup, teardown),
		cmocka_unit_test(every_exported_call_was_walked),
		/* last: left out without /dev/kvm (a per-case skip would
		 * read "not ok # SKIP", a failure to meson) */
		cmocka_unit_test_setup_teardown(kernel_failures, setup, teardown),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	maps_dir = argc > 1 ? argv[1] : NULL;
	tu_warm_up();
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# SKIP: no usable /dev/kvm: kernel_failures not run\n");
		n--;
	}
	return _cmocka_run_group_tests("errors", tests, n, NULL, NULL);
}
