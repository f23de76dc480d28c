/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Post-write ("shadow") ioeventfd with a real guest: the guest's store
 * lands at post_addr (exactly its width, neighbours untouched), the value
 * is visible before the eventfd moves (100,000 doorbells), DATAMATCH still
 * decides, deassign stops it, the memfd form reaches a device in another
 * process, and the path is the kernel where the kernel serves POST_WRITE
 * (no exit at all), userspace elsewhere (one exit per write, served by
 * iofd). Whether the kernel has it is asked of the kernel directly, so
 * every count below states the rule: exits are 0 or the number of writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "kvmutil.h"

#define DOORBELL	(GUEST_MMIO_BASE + 0x3000)
#define POST		IOFD_IOEVENTFD_FLAG_POST_WRITE

struct fixture {
	struct tu_resources before;
	bool kvm;
	struct guest_vm g;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	int efd;
	uint8_t *shadow;	/* a page of VMM memory for post targets */
	uint64_t served, unclaimed;
	uint64_t vmm_writes[8];	/* values of unclaimed writes */
	bool kernel_pw;		/* the kernel serves POST_WRITE (raw probe) */
};

/* Writes iofd serves itself: none where the kernel has POST_WRITE. */
#define USER(f, n)	((f)->kernel_pw ? 0 : (n))

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	*state = &f;
	if (!tu_kvm_available())
		return 0;
	f.kvm = true;
	tu_warm_up();
	f.before = tu_snapshot();
	if (ku_guest_adopted(&f.g, 0, &f.vm, &f.vcpu))
		return -1;
	f.kernel_pw = ku_kernel_has_post_write(f.g.vm_fd);
	f.efd = eventfd(0, EFD_CLOEXEC);
	f.shadow = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return f.efd < 0 || f.shadow == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f->kvm)
		return 0;
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	guest_vm_destroy(&f->g);
	close(f->efd);
	munmap(f->shadow, 4096);
	for (int i = 0; i < 200 && tu_threads() != f->before.threads; i++)
		usleep(10000);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static int dispatch(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct fixture *f = opaque;
	int st = iofd_dispatch_exit(f->vcpu, NULL);

	(void)g;
	if (st == IOFD_SERVED) {
		f->served++;
		return 0;
	}
	if (st != IOFD_NOT_CLAIMED)
		return 1;
	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
	    f->unclaimed < 8)
		memcpy(&f->vmm_writes[f->unclaimed], run->mmio.data, run->mmio.len);
	f->unclaimed++;
	return 0;
}

static int post(struct fixture *f, uint64_t addr, uint32_t len, uint32_t flags,
		void *target, uint64_t datamatch)
{
	struct iofd_ioeventfd a;

	memset(&a, 0, sizeof(a));
	a.addr = addr;
	a.len = len;
	a.fd = f->efd;
	a.flags = POST | flags;
	a.datamatch = datamatch;
	a.post_addr = (uint64_t)(uintptr_t)target;
	return iofd_ioeventfd_ext(f->vm, &a);
}

static struct guest_op gwrite(uint64_t addr, uint32_t len, uint64_t v)
{
	struct guest_op o = { .kind = GOP_WRITE, .len = len, .addr = addr, .value = v };

	return o;
}

static void run_script(struct fixture *f, const struct guest_op *ops, size_t n)
{
	assert_int_equal(guest_script_set(&f->g, ops, n), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	f->served = f->unclaimed = 0;
	assert_int_equal(guest_run(&f->g, dispatch, f, NULL), 0);
}

/* Widths 1/2/4/8, each at two targets aligned to it (the second, but for
 * width 8, not to twice the width): exactly len bytes. */
static void widths_leave_neighbours_untouched(void **state)
{
	struct fixture *f = *state;
	const uint64_t v = 0x8877665544332211ull;
	struct guest_op ops[8];
	uint8_t expect[256];
	size_t n = 0;

	KU_REQUIRE_GUEST(f->kvm);
	memset(f->shadow, 0xcc, 256);
	memset(expect, 0xcc, sizeof(expect));
	for (uint32_t w = 1; w <= 8; w *= 2) {
		for (uint32_t second = 0; second < 2; second++) {
			uint32_t off = 32 * (uint32_t)n + 8 + second * w;
			uint64_t addr = DOORBELL + 0x100 * n;

			assert_int_equal(post(f, addr, w, 0, f->shadow + off, 0), 0);
			ops[n++] = gwrite(addr, w, v);
			memcpy(expect + off, &v, w);
		}
	}
	run_script(f, ops, n);
	assert_int_equal(f->served, USER(f, 8));
	assert_int_equal(f->unclaimed, 0);
	assert_memory_equal(f->shadow, expect, sizeof(expect));
	assert_int_equal(tu_efd_count(f->efd), 8);
}

struct watcher {
	int efd;
	const _Atomic uint64_t *slot;
	uint64_t expected;
	uint64_t total, behind, wakeups;
};

static void *watch_main(void *arg)
{
	struct watcher *w = arg;

	while (w->total < w->expected) {
		uint64_t n, v;

		if (read(w->efd, &n, sizeof(n)) != sizeof(n))
			break;
		w->total += n;
		w->wakeups++;
		v = atomic_load_explicit(w->slot, memory_order_acquire);
		if (v < w->total)
			w->behind++;
	}
	return NULL;
}

/* Doorbell i carries the value i: whenever the device sees the counter at
 * N, the slot holds at least N (the store came before the signal). */
static void doorbells_value_before_signal(void **state)
{
	struct fixture *f = *state;
	enum { N = 100000 };
	struct watcher w = { .efd = f->efd, .expected = N,
			     .slot = (const _Atomic uint64_t *)(f->shadow + 64) };
	static struct guest_op ops[N];
	struct timespec t0, t1;
	pthread_t t;

	KU_REQUIRE_GUEST(f->kvm);
	assert_int_equal(post(f, DOORBELL, 8, 0, f->shadow + 64, 0), 0);
	for (uint64_t i = 0; i < N; i++)
		ops[i] = gwrite(DOORBELL, 8, i + 1);
	assert_int_equal(pthread_create(&t, NULL, watch_main, &w), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_script(f, ops, N);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	assert_int_equal(f->served, USER(f, N));
	assert_int_equal(f->unclaimed, 0);
	assert_int_equal(w.total, N);
	assert_int_equal(w.behind, 0);
	assert_int_equal(*(uint64_t *)(f->shadow + 64), N);
	print_message("# %d guest doorbells (%s) in %.0f ms, %llu device wake-ups, "
		      "the value never behind the counter\n", N,
		      f->kernel_pw ? "kernel" : "userspace",
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
		      (unsigned long long)w.wakeups);
}

static void datamatch_decides(void **state)
{
	struct fixture *f = *state;
	struct guest_op ops[3] = { gwrite(DOORBELL, 4, 0x10), gwrite(DOORBELL, 4, 0x42),
				   gwrite(DOORBELL, 2, 0x42) };

	KU_REQUIRE_GUEST(f->kvm);
	memset(f->shadow + 128, 0xee, 8);
	assert_int_equal(post(f, DOORBELL, 4, IOFD_IOEVENTFD_FLAG_DATAMATCH,
			      f->shadow + 128, 0x42), 0);
	run_script(f, ops, 1);
	assert_int_equal(f->unclaimed, 1);		/* the VMM got it */
	assert_int_equal(f->vmm_writes[0], 0x10);
	assert_int_equal(*(uint32_t *)(f->shadow + 128), 0xeeeeeeee);
	assert_int_equal(tu_efd_count(f->efd), 0);
	run_script(f, ops + 1, 2);
	assert_int_equal(f->served, USER(f, 1));
	assert_int_equal(f->unclaimed, 1);		/* other width */
	assert_int_equal(*(uint32_t *)(f->shadow + 128), 0x42);
	assert_int_equal(f->shadow[132], 0xee);
	assert_int_equal(tu_efd_count(f->efd), 1);
}

/*
 * A plain ioeventfd on this VM goes to the kernel (no exit at all); a
 * post-write one goes there exactly when the kernel serves POST_WRITE, and
 * caps say so; elsewhere every write to it is an exit iofd serves.
 */
static void kernel_path_where_the_kernel_has_it(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioeventfd plain, pw;
	struct guest_op ops[2] = { gwrite(DOORBELL, 4, 1), gwrite(DOORBELL + 8, 4, 2) };
	struct iofd_caps caps;
	uint64_t exits;

	KU_REQUIRE_GUEST(f->kvm);
	print_message("# this kernel %s POST_WRITE ioeventfds\n",
		      f->kernel_pw ? "serves" : "does not serve");
	ops[0].count = ops[1].count = 50;
	memset(&plain, 0, sizeof(plain));
	plain.addr = DOORBELL;
	plain.len = 4;
	plain.fd = f->efd;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &plain), 0);
	assert_int_equal(post(f, DOORBELL + 8, 4, 0, f->shadow + 256, 0), 0);
	pw = plain;
	pw.addr = DOORBELL + 8;
	pw.flags = POST;
	pw.post_addr = (uint64_t)(uintptr_t)(f->shadow + 256);
	assert_int_equal(iofd_ioeventfd_path(f->vm, &plain), IOFD_PATH_KERNEL);
	assert_int_equal(iofd_ioeventfd_path(f->vm, &pw),
			 f->kernel_pw ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE);
	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_true(caps.flags & IOFD_CAP_POST_WRITE);
	assert_int_equal(!!(caps.flags & IOFD_CAP_POST_WRITE_OFFLOAD), f->kernel_pw);
	assert_int_equal(guest_script_set(&f->g, ops, 2), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	f->served = 0;
	assert_int_equal(guest_run(&f->g, dispatch, f, &exits), 0);
	assert_int_equal(exits, USER(f, 50));	/* only userspace post-writes exit */
	assert_int_equal(f->served, USER(f, 50));
	assert_int_equal(tu_efd_count(f->efd), 100);
	assert_int_equal(*(uint32_t *)(f->shadow + 256), 2);
}

/* NO_OFFLOAD keeps a post-write registration in userspace on any kernel. */
static void no_offload_forces_userspace(void **state)
{
	struct fixture *f = *state;
	struct guest_op op = gwrite(DOORBELL, 8, 0x1122334455667788ull);
	struct iofd_ioeventfd a;

	KU_REQUIRE_GUEST(f->kvm);
	assert_int_equal(post(f, DOORBELL, 8, IOFD_IOEVENTFD_FLAG_NO_OFFLOAD,
			      f->shadow + 512, 0), 0);
	memset(&a, 0, sizeof(a));
	a.addr = DOORBELL;
	a.len = 8;
	a.fd = f->efd;
	a.flags = POST | IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	a.post_addr = (uint64_t)(uintptr_t)(f->shadow + 512);
	assert_int_equal(iofd_ioeventfd_path(f->vm, &a), IOFD_PATH_USERSPACE);
	op.count = 10;
	run_script(f, &op, 1);
	assert_int_equal(f->served, 10);
	assert_int_equal(*(uint64_t *)(f->shadow + 512), 0x1122334455667788ull);
	assert_int_equal(tu_efd_count(f->efd), 10);
}

/* After deassign (which names post_addr too) the write is the VMM's again,
 * on either path: no signal, the target untouched. A deassign naming
 * another post_addr removes nothing. */
static void deassign_stops_posting(void **state)
{
	struct fixture *f = *state;
	struct guest_op op = gwrite(DOORBELL, 4, 7);
	struct iofd_ioeventfd a;

	KU_REQUIRE_GUEST(f->kvm);
	memset(f->shadow + 768, 0, 8);
	assert_int_equal(post(f, DOORBELL, 4, 0, f->shadow + 768, 0), 0);
	memset(&a, 0, sizeof(a));
	a.addr = DOORBELL;
	a.len = 4;
	a.fd = f->efd;
	a.flags = POST | IOFD_IOEVENTFD_FLAG_DEASSIGN;
	a.post_addr = (uint64_t)(uintptr_t)(f->shadow + 776);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -ENOENT);
	run_script(f, &op, 1);
	assert_int_equal(tu_efd_count(f->efd), 1);
	assert_int_equal(*(uint32_t *)(f->shadow + 768), 7);
	a.post_addr = (uint64_t)(uintptr_t)(f->shadow + 768);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	op.value = 9;
	run_script(f, &op, 1);
	assert_int_equal(f->served, 0);
	assert_int_equal(f->unclaimed, 1);
	assert_int_equal(f->vmm_writes[0], 9);
	assert_int_equal(tu_efd_count(f->efd), 0);
	assert_int_equal(*(uint32_t *)(f->shadow + 768), 7);
}

/* The memfd form: a device process maps the memfd on its own and checks,
 * each time it sees the counter move, that the slot is not behind. */
static void memfd_form_reaches_a_device_process(void **state)
{
	struct fixture *f = *state;
	enum { N = 2000 };
	static struct guest_op ops[N];
	struct iofd_ioeventfd a;
	int mfd, report[2], status;
	uint64_t result[2] = { 0, 0 };
	pid_t pid;

	KU_REQUIRE_GUEST(f->kvm);
	mfd = memfd_create("iofd-shadow", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 4096), 0);
	assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const _Atomic uint64_t *slot;
		uint64_t total = 0, behind = 0, n;
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);

		if (m == MAP_FAILED)
			_exit(2);
		slot = (const _Atomic uint64_t *)((char *)m + 1024);
		while (total < N && read(f->efd, &n, sizeof(n)) == sizeof(n)) {
			total += n;
			if (atomic_load_explicit(slot, memory_order_acquire) < total)
				behind++;
		}
		uint64_t out[2] = { total, behind };
		_exit(write(report[1], out, sizeof(out)) == sizeof(out) ? 0 : 3);
	}
	close(report[1]);
	memset(&a, 0, sizeof(a));
	a.addr = DOORBELL;
	a.len = 8;
	a.fd = f->efd;
	a.flags = POST | IOFD_IOEVENTFD_FLAG_POST_MEMFD;
	a.post_fd = mfd;
	a.post_addr = 1024;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	close(mfd);			/* iofd mapped the slot itself */
	for (uint64_t i = 0; i < N; i++)
		ops[i] = gwrite(DOORBELL, 8, i + 1);
	run_script(f, ops, N);
	assert_int_equal(f->served, USER(f, N));
	assert_int_equal(read(report[0], result, sizeof(result)), sizeof(result));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(result[0], N);
	assert_int_equal(result[1], 0);
	close(report[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(widths_leave_neighbours_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(doorbells_value_before_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(datamatch_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(kernel_path_where_the_kernel_has_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(no_offload_forces_userspace, setup, teardown),
		cmocka_unit_test_setup_teardown(deassign_stops_posting, setup, teardown),
		cmocka_unit_test_setup_teardown(memfd_form_reaches_a_device_process, setup, teardown),
	};

	if (!tu_kvm_or_skip_all())
		return 0;
	return cmocka_run_group_tests_name("kvm_post_write", tests, NULL, NULL);
}
