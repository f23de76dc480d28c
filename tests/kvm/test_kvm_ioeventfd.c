/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioeventfd and iosignalfd groups with a real guest. The VMM (the test)
 * makes the VM and vCPU with plain ioctls; iofd adopts both, and every exit
 * goes through iofd_dispatch_exit() first, as an embedding VMM would do.
 * Each test counts the guest's userspace exits, the eventfd signals, and
 * the accesses iofd handed back, and checks those reached the VMM intact.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmutil.h"

#define MMIO_A (GUEST_MMIO_BASE + 0x2000)
#define PORT_A 0x610
#define N_WRITES 40

struct fixture {
	struct tu_resources before;
	struct guest_vm g;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	int efd[3];
	/* exit accounting, reset by run() */
	uint64_t exits, served, failed;
	unsigned nvmm;
	struct ku_access vmm[64];	/* accesses iofd did not claim */
	uint64_t read_answer;	/* what the VMM returns for unclaimed reads */
};

/* The VMM's own handling of an exit iofd left to it. */
static void vmm_handle(struct fixture *f, struct kvm_run *run)
{
	struct ku_access a;
	void *data = ku_access_of(run, &a);

	if (!data)
		return;		/* GOP_HLT: nothing to do */
	ku_access_complete(&a, data, f->read_answer);
	if (f->nvmm < sizeof(f->vmm) / sizeof(f->vmm[0]))
		f->vmm[f->nvmm] = a;
	f->nvmm++;
}

/* guest_run() handler: iofd first, the VMM for what iofd did not claim. */
static int dispatch(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct fixture *f = opaque;
	struct iofd_exit info;
	int st;

	(void)g;
	st = iofd_dispatch_exit(f->vcpu, &info);
	if (st == IOFD_SERVED) {
		f->served++;
		return 0;
	}
	if (st == IOFD_NOT_CLAIMED) {
		vmm_handle(f, run);
		return 0;
	}
	f->failed++;
	print_message("# dispatch: status %d: %s\n", st, info.reason);
	return -EIO;
}

static int setup_common(void **state, uint32_t vm_flags)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	*state = &f;
	if (!tu_kvm_available())
		return 0;	/* each test skips */
	tu_warm_up();
	f.before = tu_snapshot();
	if (ku_guest_adopted(&f.g, vm_flags, &f.vm, &f.vcpu))
		return -1;
	for (int i = 0; i < 3; i++)
		f.efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, 0);
}

static int setup_no_offload_vm(void **state)
{
	return setup_common(state, IOFD_VM_NO_OFFLOAD);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f->g.run)
		return 0;
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	guest_vm_destroy(&f->g);
	for (int i = 0; i < 3; i++)
		close(f->efd[i]);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

/* Run a script to END through iofd; the counters describe this run only. */
static void run(struct fixture *f, const struct guest_op *ops, size_t n)
{
	int err;

	f->served = f->failed = 0;
	f->nvmm = 0;
	assert_int_equal(guest_script_set(&f->g, ops, n), 0);
	err = guest_run(&f->g, dispatch, f, &f->exits);
	if (err)
		print_message("# guest_run: %d %s\n", err, guest_last_error());
	assert_int_equal(err, 0);
	assert_int_equal(f->failed, 0);
}

static int assign_ext(struct fixture *f, uint64_t addr, uint32_t len, int fd,
		      uint32_t flags, uint64_t datamatch)
{
	struct iofd_ioeventfd a = { .datamatch = datamatch, .addr = addr, .len = len,
				    .fd = fd, .flags = flags };

	return iofd_ioeventfd_ext(f->vm, &a);
}

static int path_of(struct fixture *f, uint64_t addr, uint32_t len, int fd,
		   uint32_t flags, uint64_t datamatch)
{
	struct iofd_ioeventfd a = { .datamatch = datamatch, .addr = addr, .len = len,
				    .fd = fd, .flags = flags };

	return iofd_ioeventfd_path(f->vm, &a);
}

/* Plain KVM_IOEVENTFD on the VM fd, bypassing iofd: 0 or -errno. */
static int kernel_ioeventfd(struct fixture *f, uint64_t addr, uint32_t len, int fd,
			    uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd k = { .datamatch = datamatch, .addr = addr, .len = len,
				   .fd = fd, .flags = flags };

	return ioctl(f->g.vm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
}

static struct guest_op wr(uint32_t kind, uint64_t addr, uint32_t len, uint64_t v,
			  uint64_t count)
{
	return (struct guest_op){ .kind = kind, .addr = addr, .len = len, .value = v,
				  .count = count };
}

/* ---- offloaded paths ------------------------------------------------------ */

/* N offloaded MMIO writes: N signals, not one exit. */
static void offloaded_mmio_write_never_exits(void **state)
{
	struct fixture *f = *state;
	struct guest_op op = wr(GOP_WRITE, MMIO_A, 4, 0x12345678, N_WRITES);

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(path_of(f, MMIO_A, 4, f->efd[0], 0, 0), IOFD_PATH_KERNEL);
	run(f, &op, 1);
	print_message("# offloaded MMIO: %d writes, %llu exits\n", N_WRITES,
		      (unsigned long long)f->exits);
	assert_int_equal(f->exits, 0);
	assert_int_equal(tu_efd_count(f->efd[0]), N_WRITES);
}

/* N offloaded PIO writes: N signals, not one exit. */
static void offloaded_pio_write_never_exits(void **state)
{
	struct fixture *f = *state;
	struct guest_op op = wr(GOP_OUT, PORT_A, 2, 0xbeef, N_WRITES);

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, PORT_A, 2, f->efd[0], KVM_IOEVENTFD_FLAG_PIO, 0),
			 0);
	assert_int_equal(path_of(f, PORT_A, 2, f->efd[0], KVM_IOEVENTFD_FLAG_PIO, 0),
			 IOFD_PATH_KERNEL);
	run(f, &op, 1);
	assert_int_equal(f->exits, 0);
	assert_int_equal(tu_efd_count(f->efd[0]), N_WRITES);
}

/* ---- userspace path ------------------------------------------------------- */

/* NO_OFFLOAD: one exit per write, each served by iofd, none for the VMM. */
static void userspace_path_one_exit_per_write(void **state)
{
	struct fixture *f = *state;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 8, 0x1122334455667788ull, N_WRITES),
		wr(GOP_OUT, PORT_A, 4, 0xcafef00d, N_WRITES),
	};
	struct iofd_vcpu_stats st;

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 8, f->efd[0], NO, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 4, f->efd[1], NO | PIO, 0), 0);
	assert_int_equal(path_of(f, MMIO_A, 8, f->efd[0], NO, 0), IOFD_PATH_USERSPACE);
	assert_int_equal(path_of(f, PORT_A, 4, f->efd[1], PIO, 0), IOFD_PATH_USERSPACE);
	run(f, ops, 2);
	assert_int_equal(f->exits, 2 * N_WRITES);
	assert_int_equal(f->served, 2 * N_WRITES);
	assert_int_equal(f->nvmm, 0);
	assert_int_equal(tu_efd_count(f->efd[0]), N_WRITES);
	assert_int_equal(tu_efd_count(f->efd[1]), N_WRITES);
	iofd_vcpu_get_stats(f->vcpu, &st);
	assert_int_equal(st.exits, 2 * N_WRITES);
	assert_int_equal(st.served, 2 * N_WRITES);
	assert_int_equal(st.unclaimed, 0);
}

/* A VM created with IOFD_VM_NO_OFFLOAD serves everything in userspace. */
static void no_offload_vm_serves_in_userspace(void **state)
{
	struct fixture *f = *state;
	struct kvm_ioeventfd k = { .addr = MMIO_A, .len = 2, .fd = f->efd[0] };
	struct guest_op op = wr(GOP_WRITE, MMIO_A, 2, 7, N_WRITES);
	struct iofd_caps caps;

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_false(caps.flags & IOFD_CAP_IOEVENTFD_OFFLOAD);
	assert_int_equal(iofd_ioeventfd(f->vm, &k), 0);
	assert_int_equal(path_of(f, MMIO_A, 2, f->efd[0], 0, 0), IOFD_PATH_USERSPACE);
	/* the kernel never heard of it */
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 2, f->efd[0],
					  KVM_IOEVENTFD_FLAG_DEASSIGN, 0), -ENOENT);
	run(f, &op, 1);
	assert_int_equal(f->exits, N_WRITES);
	assert_int_equal(f->served, N_WRITES);
	assert_int_equal(tu_efd_count(f->efd[0]), N_WRITES);
}

/* ---- len 0 ---------------------------------------------------------------- */

/* len 0: every width at the address fires, offloaded (no exit) or not. */
static void len0_matches_every_width(void **state)
{
	struct fixture *f = *state;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	const uint64_t MMIO_B = MMIO_A + 0x100, PORT_B = PORT_A + 0x10;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 1, 1, 1), wr(GOP_WRITE, MMIO_A, 2, 2, 1),
		wr(GOP_WRITE, MMIO_A, 4, 3, 1), wr(GOP_WRITE, MMIO_A, 8, 4, 1),
		wr(GOP_WRITE, MMIO_B, 1, 1, 1), wr(GOP_WRITE, MMIO_B, 8, 2, 1),
		wr(GOP_OUT, PORT_B, 1, 1, 1), wr(GOP_OUT, PORT_B, 2, 2, 1),
		wr(GOP_OUT, PORT_B, 4, 3, 1),
	};

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 0, f->efd[0], 0, 0), 0);
	assert_int_equal(assign_ext(f, MMIO_B, 0, f->efd[1], NO, 0), 0);
	assert_int_equal(assign_ext(f, PORT_B, 0, f->efd[2], NO | PIO, 0), 0);
	assert_int_equal(path_of(f, MMIO_A, 0, f->efd[0], 0, 0), IOFD_PATH_KERNEL);
	run(f, ops, 9);
	assert_int_equal(tu_efd_count(f->efd[0]), 4);
	assert_int_equal(tu_efd_count(f->efd[1]), 2);
	assert_int_equal(tu_efd_count(f->efd[2]), 3);
	assert_int_equal(f->exits, 5);	/* the userspace ones only */
	assert_int_equal(f->served, 5);
	assert_int_equal(f->nvmm, 0);
}

/* len 0 on PIO, offloaded: every width fires without an exit. */
static void len0_pio_offloaded(void **state)
{
	struct fixture *f = *state;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	struct guest_op ops[] = {
		wr(GOP_OUT, PORT_A, 1, 1, 1), wr(GOP_OUT, PORT_A, 2, 2, 1),
		wr(GOP_OUT, PORT_A, 4, 3, 1),
	};
	uint64_t fired;

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, PORT_A, 0, f->efd[0], PIO, 0), 0);
	assert_int_equal(path_of(f, PORT_A, 0, f->efd[0], PIO, 0), IOFD_PATH_KERNEL);
	run(f, ops, 3);
	fired = tu_efd_count(f->efd[0]);
	print_message("# offloaded PIO len 0: fired %llu of 3, %llu exits, %llu served\n",
		      (unsigned long long)fired, (unsigned long long)f->exits,
		      (unsigned long long)f->served);
	assert_int_equal(fired, 3);
	assert_int_equal(f->exits, 0);
}

/* ---- datamatch -------------------------------------------------------------- */

static void datamatch_case(struct fixture *f, uint32_t extra, bool offloaded)
{
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 4, 0x1234, 3), wr(GOP_WRITE, MMIO_A, 4, 0x1235, 2),
		wr(GOP_OUT, PORT_A, 1, 0x42, 2), wr(GOP_OUT, PORT_A, 1, 0x43, 1),
		/* datamatch wider than len: never matches (not masked) */
		wr(GOP_WRITE, MMIO_A + 8, 2, 0x5678, 1),
	};
	uint64_t expect_exits = offloaded ? 4 : 9;

	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], DM | extra, 0x1234), 0);
	assert_int_equal(assign_ext(f, PORT_A, 1, f->efd[1], DM | PIO | extra, 0x42), 0);
	assert_int_equal(assign_ext(f, MMIO_A + 8, 2, f->efd[2], DM | extra, 0x15678),
			 0);
	assert_int_equal(path_of(f, MMIO_A, 4, f->efd[0], DM, 0x1234),
			 offloaded ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE);
	run(f, ops, 5);
	assert_int_equal(tu_efd_count(f->efd[0]), 3);
	assert_int_equal(tu_efd_count(f->efd[1]), 2);
	assert_int_equal(tu_efd_count(f->efd[2]), 0);
	assert_int_equal(f->exits, expect_exits);
	assert_int_equal(f->served, expect_exits - 4);
	/* the misses reached the VMM, in order and intact */
	assert_int_equal(f->nvmm, 4);
	ku_assert_access(&f->vmm[0], KVM_EXIT_MMIO, MMIO_A, 4, true, 0x1235);
	ku_assert_access(&f->vmm[1], KVM_EXIT_MMIO, MMIO_A, 4, true, 0x1235);
	ku_assert_access(&f->vmm[2], KVM_EXIT_IO, PORT_A, 1, true, 0x43);
	ku_assert_access(&f->vmm[3], KVM_EXIT_MMIO, MMIO_A + 8, 2, true, 0x5678);
}

static void datamatch_hit_and_miss_offloaded(void **state)
{
	struct fixture *f = *state;

	KU_REQUIRE_GUEST(f->g.run);
	datamatch_case(f, 0, true);
}

static void datamatch_hit_and_miss_userspace(void **state)
{
	struct fixture *f = *state;

	KU_REQUIRE_GUEST(f->g.run);
	datamatch_case(f, IOFD_IOEVENTFD_FLAG_NO_OFFLOAD, false);
}

/* ---- ccw ---------------------------------------------------------------------- */

/* virtio-ccw notify entries exist on x86 but never fire, offloaded or not. */
static void ccw_never_fires(void **state)
{
	struct fixture *f = *state;
	const uint32_t CCW = KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 4, 1, 1), wr(GOP_OUT, PORT_A, 4, 2, 1),
		wr(GOP_WRITE, MMIO_A, 8, 3, 1),
	};

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 0, f->efd[0], CCW, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 4, f->efd[1], CCW | NO, 0), 0);
	assert_int_equal(path_of(f, MMIO_A, 0, f->efd[0], CCW, 0), IOFD_PATH_KERNEL);
	assert_int_equal(path_of(f, PORT_A, 4, f->efd[1], CCW, 0), IOFD_PATH_USERSPACE);
	run(f, ops, 3);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(f->exits, 3);
	assert_int_equal(f->served, 0);
	assert_int_equal(f->nvmm, 3);
	ku_assert_access(&f->vmm[0], KVM_EXIT_MMIO, MMIO_A, 4, true, 1);
	ku_assert_access(&f->vmm[1], KVM_EXIT_IO, PORT_A, 4, true, 2);
	ku_assert_access(&f->vmm[2], KVM_EXIT_MMIO, MMIO_A, 8, true, 3);
	/* they exist: deassign finds them */
	assert_int_equal(assign_ext(f, MMIO_A, 0, f->efd[0],
				    CCW | KVM_IOEVENTFD_FLAG_DEASSIGN, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 4, f->efd[1],
				    CCW | KVM_IOEVENTFD_FLAG_DEASSIGN, 0), 0);
}

/* ---- what iofd leaves to the VMM ------------------------------------------- */

/* Reads of ioeventfd addresses and writes that match nothing reach the VMM. */
static void unclaimed_accesses_reach_the_vmm(void **state)
{
	struct fixture *f = *state;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	const uint64_t MMIO_U = MMIO_A + 0x40;	/* userspace entry */
	struct guest_op ops[] = {
		{ .kind = GOP_READ, .addr = MMIO_A, .len = 4 },
		{ .kind = GOP_READ, .addr = MMIO_U, .len = 8 },
		{ .kind = GOP_IN, .addr = PORT_A, .len = 2 },
		wr(GOP_WRITE, MMIO_A, 1, 0xab, 1),	/* wrong width */
		wr(GOP_WRITE, MMIO_U, 2, 0xabcd, 1),	/* wrong width */
		wr(GOP_WRITE, MMIO_A + 1, 4, 0x01020304, 1), /* wrong address */
		wr(GOP_OUT, PORT_A, 1, 0x99, 1),	/* wrong width */
	};

	KU_REQUIRE_GUEST(f->g.run);
	f->read_answer = 0x8877665544332211ull;
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(assign_ext(f, MMIO_U, 4, f->efd[1], NO, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 2, f->efd[2], PIO, 0), 0);
	run(f, ops, 7);
	assert_int_equal(f->exits, 7);
	assert_int_equal(f->served, 0);
	assert_int_equal(f->nvmm, 7);
	ku_assert_access(&f->vmm[0], KVM_EXIT_MMIO, MMIO_A, 4, false, 0x44332211);
	ku_assert_access(&f->vmm[1], KVM_EXIT_MMIO, MMIO_U, 8, false, 0x8877665544332211ull);
	ku_assert_access(&f->vmm[2], KVM_EXIT_IO, PORT_A, 2, false, 0x2211);
	ku_assert_access(&f->vmm[3], KVM_EXIT_MMIO, MMIO_A, 1, true, 0xab);
	ku_assert_access(&f->vmm[4], KVM_EXIT_MMIO, MMIO_U, 2, true, 0xabcd);
	ku_assert_access(&f->vmm[5], KVM_EXIT_MMIO, MMIO_A + 1, 4, true, 0x01020304);
	ku_assert_access(&f->vmm[6], KVM_EXIT_IO, PORT_A, 1, true, 0x99);
	/* the guest saw exactly what the VMM answered */
	assert_int_equal(f->g.script->ops[0].value, 0x44332211);
	assert_int_equal(f->g.script->ops[1].value, 0x8877665544332211ull);
	assert_int_equal(f->g.script->ops[2].value, 0x2211);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tu_efd_count(f->efd[i]), 0);
}

/*
 * Reads are never claimed by an ioeventfd, len 0 included. (An offloaded
 * len-0 MMIO entry is the kernel's business: on Intel EPT hosts its fast
 * MMIO path may fire on a read. What this host does is printed.)
 */
static void len0_reads_reach_the_vmm(void **state)
{
	struct fixture *f = *state;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	const uint64_t MMIO_K = MMIO_A + 0x80;	/* offloaded */
	struct guest_op ops[] = {
		{ .kind = GOP_READ, .addr = MMIO_A, .len = 4 },
		{ .kind = GOP_IN, .addr = PORT_A, .len = 1 },
		{ .kind = GOP_READ, .addr = MMIO_K, .len = 2 },
	};
	uint64_t kernel_fired;

	KU_REQUIRE_GUEST(f->g.run);
	f->read_answer = 0xa1b2c3d4;
	assert_int_equal(assign_ext(f, MMIO_A, 0, f->efd[0], NO, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 0, f->efd[1], NO | PIO, 0), 0);
	assert_int_equal(assign_ext(f, MMIO_K, 0, f->efd[2], 0, 0), 0);
	run(f, ops, 3);
	kernel_fired = tu_efd_count(f->efd[2]);
	print_message("# read of an offloaded len-0 MMIO address: %s\n",
		      kernel_fired ? "the kernel fired the eventfd" : "an exit");
	assert_int_equal(f->served, 0);
	assert_int_equal(f->nvmm, 3 - kernel_fired);
	ku_assert_access(&f->vmm[0], KVM_EXIT_MMIO, MMIO_A, 4, false, 0xa1b2c3d4);
	ku_assert_access(&f->vmm[1], KVM_EXIT_IO, PORT_A, 1, false, 0xd4);
	assert_int_equal(f->g.script->ops[0].value, 0xa1b2c3d4);
	assert_int_equal(f->g.script->ops[1].value, 0xd4);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
}

/* ---- registration while the guest runs ------------------------------------- */

struct toggler {
	struct fixture *f;
	atomic_bool stop;
	unsigned rounds;
	int err;
};

/*
 * Assign and deassign one entry, alternately offloaded and not, holding it
 * a little while so that guest writes meet every state.
 */
static void *toggle_registration(void *opaque)
{
	struct toggler *t = opaque;
	struct fixture *f = t->f;

	while (!atomic_load(&t->stop) && !t->err) {
		uint32_t flags = (t->rounds & 1) ? IOFD_IOEVENTFD_FLAG_NO_OFFLOAD : 0;

		t->err = assign_ext(f, MMIO_A, 4, f->efd[0], flags, 0);
		usleep(300);
		if (!t->err)
			t->err = assign_ext(f, MMIO_A, 4, f->efd[0],
					    flags | KVM_IOEVENTFD_FLAG_DEASSIGN, 0);
		t->rounds++;
	}
	return NULL;
}

/*
 * While another thread registers and removes an ioeventfd over and over,
 * every guest write either signals the eventfd exactly once (in the kernel
 * or on the vCPU thread) or reaches the VMM intact; never both, never none.
 */
static void writes_during_registration_changes(void **state)
{
	struct fixture *f = *state;
	const unsigned writes = 3000;
	struct guest_op op = wr(GOP_WRITE, MMIO_A, 4, 0x600d, writes);
	struct toggler t = { .f = f };
	uint64_t fired;
	pthread_t th;

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(pthread_create(&th, NULL, toggle_registration, &t), 0);
	run(f, &op, 1);
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(t.err, 0);
	fired = tu_efd_count(f->efd[0]);
	print_message("# %u writes during %u assign/deassign rounds: %llu signalled "
		      "(%llu on the vCPU thread), %u to the VMM, %llu exits\n",
		      writes, t.rounds, (unsigned long long)fired,
		      (unsigned long long)f->served, f->nvmm,
		      (unsigned long long)f->exits);
	assert_int_equal(fired + f->nvmm, writes);
	assert_int_equal(f->exits, f->served + f->nvmm);
	assert_true(f->served <= fired);
	for (unsigned i = 0; i < f->nvmm && i < 64; i++)
		ku_assert_access(&f->vmm[i], KVM_EXIT_MMIO, MMIO_A, 4, true, 0x600d);
}

/* ---- deassign and teardown undo the kernel registration ------------------- */

static void deassign_undoes_kernel_registration(void **state)
{
	struct fixture *f = *state;
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	const uint32_t DEASSIGN = KVM_IOEVENTFD_FLAG_DEASSIGN;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 4, 5, 10), wr(GOP_OUT, PORT_A, 1, 6, 10),
	};

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 1, f->efd[1], PIO, 0), 0);
	run(f, ops, 2);
	assert_int_equal(f->exits, 0);
	assert_int_equal(tu_efd_count(f->efd[0]), 10);
	assert_int_equal(tu_efd_count(f->efd[1]), 10);

	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], DEASSIGN, 0), 0);
	assert_int_equal(assign_ext(f, PORT_A, 1, f->efd[1], PIO | DEASSIGN, 0), 0);
	assert_int_equal(path_of(f, MMIO_A, 4, f->efd[0], 0, 0), -ENOENT);
	/* the kernel has nothing left to deassign */
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 4, f->efd[0], DEASSIGN, 0), -ENOENT);
	assert_int_equal(kernel_ioeventfd(f, PORT_A, 1, f->efd[1], PIO | DEASSIGN, 0),
			 -ENOENT);
	run(f, ops, 2);
	assert_int_equal(f->exits, 20);
	assert_int_equal(f->nvmm, 20);
	ku_assert_access(&f->vmm[9], KVM_EXIT_MMIO, MMIO_A, 4, true, 5);
	ku_assert_access(&f->vmm[19], KVM_EXIT_IO, PORT_A, 1, true, 6);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
}

/* Destroying the iofd VM removes its kernel registrations from the VM fd. */
static void vm_destroy_undoes_kernel_registration(void **state)
{
	struct fixture *f = *state;
	struct guest_op op = wr(GOP_WRITE, MMIO_A, 4, 5, 3);
	struct iofd_vm_options opts = { .kvm_vm_fd = f->g.vm_fd };

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], 0, 0), 0);
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 4, f->efd[0],
					  KVM_IOEVENTFD_FLAG_DEASSIGN, 0), -ENOENT);
	assert_int_equal(iofd_vm_create(&opts, &f->vm), 0);
	assert_int_equal(iofd_vcpu_adopt(f->vm, f->g.vcpu_fd, f->g.run, &f->vcpu), 0);
	run(f, &op, 1);
	assert_int_equal(f->exits, 3);
	assert_int_equal(f->nvmm, 3);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
}

/* What the VMM registered itself with KVM_IOEVENTFD collides: -EEXIST. */
static void kernel_registration_outside_iofd_gives_eexist(void **state)
{
	struct fixture *f = *state;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	struct guest_op op = wr(GOP_WRITE, MMIO_A, 4, 9, 4);

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[1], 0, 0), -EEXIST);
	assert_non_null(strstr(iofd_last_error(), "outside iofd"));
	/* iofd kept nothing of the failed registration */
	assert_int_equal(path_of(f, MMIO_A, 4, f->efd[1], 0, 0), -ENOENT);
	/* the same eventfd, and a datamatch the wildcard covers, collide too */
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], 0, 0), -EEXIST);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[1], DM, 9), -EEXIST);
	/* another width at the same address does not (kernel rule) */
	assert_int_equal(assign_ext(f, MMIO_A, 2, f->efd[1], 0, 0), 0);
	/* the VMM's own registration still serves the guest in the kernel */
	run(f, &op, 1);
	assert_int_equal(f->exits, 0);
	assert_int_equal(tu_efd_count(f->efd[0]), 4);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 4, f->efd[0],
					  KVM_IOEVENTFD_FLAG_DEASSIGN, 0), 0);
	/* now the address is free for iofd */
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[1], 0, 0), 0);
}

/* ---- post-write ------------------------------------------------------------- */

/*
 * A post-write ioeventfd whose post_addr is the guest's own answer slot:
 * each WRITE_WAIT round trip completes without anyone else's help, which
 * shows the value is stored before the guest resumes: by the kernel, with
 * no exit, where it serves POST_WRITE; else by iofd on the vCPU thread,
 * one exit each. A datamatch miss leaves the slot alone and reaches the VMM.
 */
static void post_write_answers_the_guest(void **state)
{
	struct fixture *f = *state;
	const uint32_t POST = IOFD_IOEVENTFD_FLAG_POST_WRITE;
	uint64_t *answer = (uint64_t *)(f->g.ram + GUEST_DATA_GPA);
	struct iofd_ioeventfd a = { .addr = MMIO_A, .len = 4, .fd = f->efd[0],
				    .flags = POST,
				    .post_addr = (uintptr_t)answer };
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE_WAIT, .addr = MMIO_A, .len = 4, .value = 100,
		  .count = 20, .arg = GUEST_DATA_GPA },
	};
	struct guest_op miss = wr(GOP_WRITE, MMIO_A, 4, 7, 1);

	bool kernel;

	KU_REQUIRE_GUEST(f->g.run);
	kernel = ku_kernel_has_post_write(f->g.vm_fd);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	assert_int_equal(iofd_ioeventfd_path(f->vm, &a),
			 kernel ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE);
	run(f, ops, 1);
	assert_int_equal(f->exits, kernel ? 0 : 20);
	assert_int_equal(f->served, kernel ? 0 : 20);
	assert_int_equal(*answer, 119);
	assert_int_equal(tu_efd_count(f->efd[0]), 20);
	/* with DATAMATCH, a miss leaves the slot untouched */
	a.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	a.flags = POST | KVM_IOEVENTFD_FLAG_DATAMATCH;
	a.datamatch = 8;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	run(f, &miss, 1);
	assert_int_equal(f->nvmm, 1);
	assert_int_equal(*answer, 119);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
}

/* ---- iofd's own run loop ---------------------------------------------------- */

/* iofd_vcpu_run() serves what it can and returns the first unclaimed exit. */
static void vcpu_run_returns_unclaimed_exits(void **state)
{
	struct fixture *f = *state;
	const uint32_t NO = IOFD_IOEVENTFD_FLAG_NO_OFFLOAD;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 4, 1, 10),
		wr(GOP_WRITE, MMIO_A + 8, 2, 0x3344, 1),
	};
	struct iofd_vcpu_stats st;
	struct iofd_exit info;

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(assign_ext(f, MMIO_A, 4, f->efd[0], NO, 0), 0);
	assert_int_equal(guest_script_set(&f->g, ops, 2), 0);
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), IOFD_NOT_CLAIMED);
	assert_int_equal(f->g.run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(f->g.run->mmio.phys_addr, MMIO_A + 8);
	assert_int_equal(f->g.run->mmio.len, 2);
	assert_int_equal(f->g.run->mmio.data[0] | f->g.run->mmio.data[1] << 8, 0x3344);
	assert_int_equal(tu_efd_count(f->efd[0]), 10);
	/* immediate_exit interrupts the next run before the guest resumes */
	f->g.run->immediate_exit = 1;
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	f->g.run->immediate_exit = 0;
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), IOFD_NOT_CLAIMED);
	assert_int_equal(f->g.run->exit_reason, KVM_EXIT_HLT);	/* END */
	assert_int_equal(f->g.script->done, 1);
	iofd_vcpu_get_stats(f->vcpu, &st);
	assert_int_equal(st.runs, 13);
	assert_int_equal(st.served, 10);
	assert_int_equal(st.unclaimed, 2);
}

/* A KVM_RUN that fails (here: kvm_run asks for register sets the kernel
 * does not sync, -EINVAL) says why; a non-vCPU fd is not adopted. */
static void vcpu_run_failure_has_a_reason(void **state)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct tu_resources before = tu_snapshot();
	struct kvm_run fake_run;
	struct iofd_vcpu *vcpu;
	struct iofd_vm *vm;
	int not_a_vcpu = eventfd(0, EFD_CLOEXEC);

	(void)state;
	memset(&fake_run, 0, sizeof(fake_run));
	assert_int_equal(iofd_vm_create(&o, &vm), 0);
	assert_int_equal(iofd_vcpu_adopt(vm, not_a_vcpu, &fake_run, &vcpu), -EINVAL);
	assert_non_null(strstr(iofd_last_error(), "is not a KVM vCPU"));
	assert_int_equal(iofd_vcpu_create(vm, 0, &vcpu), 0);
	/* KVM refuses KVM_RUN from another process than the VM's (-EIO), on
	 * every kernel of the matrix: the child's iofd_vcpu_run() must fail
	 * with a reason that names the call. */
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(iofd_vcpu_run(vcpu, NULL) == -EIO &&
		      strstr(iofd_last_error(), "KVM_RUN") ? 0 : 1);
	int status = 0;

	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	iofd_vcpu_destroy(vcpu);
	iofd_vm_destroy(vm);
	close(not_a_vcpu);
	TU_ASSERT_NO_LEAK(before);
}

/* ---- the seed's iosignalfd test (seed 003) --------------------------------- */

static int iosignalfd(struct fixture *f, uint64_t addr, int fd, const uint8_t *trigger,
		      uint32_t flags)
{
	struct iofd_iosignalfd a = { .trigger = (uintptr_t)trigger, .addr = addr,
				     .len = 1, .fd = fd, .flags = flags };

	if (trigger)
		a.flags |= IOFD_IOSIGNALFD_FLAG_TRIGGER;
	return iofd_iosignalfd(f->vm, &a);
}

static void seed_iosignalfd_counts_3_1_1(void **state)
{
	struct fixture *f = *state;
	static const uint8_t match_a = 0xa5, match_b = 0x42;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	const uint32_t DEASSIGN = KVM_IOEVENTFD_FLAG_DEASSIGN;
	struct guest_op ops[] = {
		wr(GOP_WRITE, MMIO_A, 1, 0x00, 1),
		wr(GOP_WRITE, MMIO_A, 1, 0xa5, 1),
		wr(GOP_WRITE, MMIO_A, 1, 0x42, 1),
		{ .kind = GOP_READ, .addr = MMIO_A, .len = 1, .value = 0x77 },
	};
	uint64_t c[3];

	KU_REQUIRE_GUEST(f->g.run);
	/* Today's kernel refuses this shape: the wildcard collides. */
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 1, f->efd[0], 0, 0), 0);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 1, f->efd[1], DM, 0xa5), -EEXIST);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 1, f->efd[2], DM, 0x42), -EEXIST);
	assert_int_equal(kernel_ioeventfd(f, MMIO_A, 1, f->efd[0], DEASSIGN, 0), 0);

	assert_int_equal(iosignalfd(f, MMIO_A, f->efd[0], NULL, 0), 0);
	assert_int_equal(iosignalfd(f, MMIO_A, f->efd[1], &match_a, 0), 0);
	assert_int_equal(iosignalfd(f, MMIO_A, f->efd[2], &match_b, 0), 0);
	run(f, ops, 4);
	for (int i = 0; i < 3; i++)
		c[i] = tu_efd_count(f->efd[i]);
	/* The seed's own line, verbatim; on stderr so the TAP stream stays clean. */
	fprintf(stderr, "iosignalfd seed test: counts %llu %llu %llu\n",
		(unsigned long long)c[0], (unsigned long long)c[1],
		(unsigned long long)c[2]);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 1);
	/* every access was served on the vCPU thread; the read returned zeros */
	assert_int_equal(f->exits, 4);
	assert_int_equal(f->served, 4);
	assert_int_equal(f->nvmm, 0);
	assert_int_equal(f->g.script->ops[3].value, 0);
}

/* The same shape on PIO, and the group disappears with its last item. */
static void seed_iosignalfd_on_pio(void **state)
{
	struct fixture *f = *state;
	static const uint8_t match_a = 0xa5, match_b = 0x42;
	const uint32_t PIO = IOFD_IOSIGNALFD_FLAG_PIO;
	const uint32_t DEASSIGN = IOFD_IOSIGNALFD_FLAG_DEASSIGN;
	struct guest_op ops[] = {
		wr(GOP_OUT, PORT_A, 1, 0x00, 1),
		wr(GOP_OUT, PORT_A, 1, 0xa5, 1),
		wr(GOP_OUT, PORT_A, 1, 0x42, 1),
	};

	KU_REQUIRE_GUEST(f->g.run);
	assert_int_equal(iosignalfd(f, PORT_A, f->efd[0], NULL, PIO), 0);
	assert_int_equal(iosignalfd(f, PORT_A, f->efd[1], &match_a, PIO), 0);
	assert_int_equal(iosignalfd(f, PORT_A, f->efd[2], &match_b, PIO), 0);
	run(f, ops, 3);
	assert_int_equal(tu_efd_count(f->efd[0]), 3);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
	assert_int_equal(f->served, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(iosignalfd(f, PORT_A, f->efd[i], NULL, PIO | DEASSIGN), 0);
	run(f, ops, 3);
	assert_int_equal(f->served, 0);
	assert_int_equal(f->nvmm, 3);
	ku_assert_access(&f->vmm[1], KVM_EXIT_IO, PORT_A, 1, true, 0xa5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tu_efd_count(f->efd[i]), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(offloaded_mmio_write_never_exits),
		T(offloaded_pio_write_never_exits),
		T(userspace_path_one_exit_per_write),
		cmocka_unit_test_setup_teardown(no_offload_vm_serves_in_userspace,
						setup_no_offload_vm, teardown),
		T(len0_matches_every_width),
		T(len0_pio_offloaded),
		T(datamatch_hit_and_miss_offloaded),
		T(datamatch_hit_and_miss_userspace),
		T(ccw_never_fires),
		T(unclaimed_accesses_reach_the_vmm),
		T(len0_reads_reach_the_vmm),
		T(writes_during_registration_changes),
		T(deassign_undoes_kernel_registration),
		T(vm_destroy_undoes_kernel_registration),
		T(kernel_registration_outside_iofd_gives_eexist),
		T(post_write_answers_the_guest),
		T(vcpu_run_returns_unclaimed_exits),
		cmocka_unit_test(vcpu_run_failure_has_a_reason),
		T(seed_iosignalfd_counts_3_1_1),
		T(seed_iosignalfd_on_pio),
	};

	if (!tu_kvm_or_skip_all())
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
