/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scale: 100,000 ioeventfd registrations over 1,000 eventfds, in userspace
 * (no KVM), loaded one by one and in batches. Every registration must
 * dispatch to its own eventfd (exact counts), misses must stay misses, the
 * whole set must fit in 1,000 dups (checked under a lowered fd limit), and
 * after deregistration and iofd_quiesce() the fd count is back at its start.
 * The load times are printed as TAP comments, not asserted.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>

#include "testutil.h"

#define NR_REGS		100000u
#define NR_EFDS		1000u
#define BATCH		1000u
#define HITS_PER_EFD	(NR_REGS / NR_EFDS)

struct fixture {
	struct iofd_vm *vm;
	int efd[NR_EFDS];
	struct tu_resources before;
	int fds_with_efds;
	struct rlimit old_limit;
};

/* Registration k: scattered unique addresses, mixed lens, buses, datamatch. */
static struct kvm_ioeventfd reg(struct fixture *f, uint32_t k)
{
	static const uint32_t lens[5] = { 4, 1, 2, 8, 0 };
	struct kvm_ioeventfd a = { 0 };
	uint32_t len = lens[k % 5];

	/* k * odd mod 2^20 is a bijection: unique, well-spread addresses */
	a.addr = 0x100000000ull + (uint64_t)((k * 0x9e3bu) & 0xfffffu) * 8;
	a.len = len;
	a.fd = f->efd[k % NR_EFDS];
	if (k % 7 == 3)
		a.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (len && k % 2 == 0) {
		a.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
		a.datamatch = (k * 2654435761u) & (len == 8 ? ~0ull : (1ull << (8 * len)) - 1);
	}
	return a;
}

static enum iofd_bus reg_bus(const struct kvm_ioeventfd *a)
{
	return a->flags & KVM_IOEVENTFD_FLAG_PIO ? IOFD_BUS_PIO : IOFD_BUS_MMIO;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	static struct fixture f;
	struct rlimit lim;

	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm))
		return -1;
	for (uint32_t i = 0; i < NR_EFDS; i++) {
		f.efd[i] = eventfd(0, EFD_CLOEXEC);
		if (f.efd[i] < 0)
			return -1;
	}
	f.fds_with_efds = tu_open_fds();
	/* Room for one dup per eventfd and a little slack, not one per
	 * registration. */
	getrlimit(RLIMIT_NOFILE, &f.old_limit);
	lim = f.old_limit;
	lim.rlim_cur = (rlim_t)f.fds_with_efds + NR_EFDS + 32;
	if (lim.rlim_cur < f.old_limit.rlim_cur && setrlimit(RLIMIT_NOFILE, &lim))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	setrlimit(RLIMIT_NOFILE, &f->old_limit);
	iofd_vm_destroy(f->vm);
	for (uint32_t i = 0; i < NR_EFDS; i++)
		close(f->efd[i]);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static void load_one_by_one(struct fixture *f)
{
	double t0 = now_s(), dt;

	for (uint32_t k = 0; k < NR_REGS; k++) {
		struct kvm_ioeventfd a = reg(f, k);

		assert_int_equal(iofd_ioeventfd(f->vm, &a), 0);
	}
	dt = now_s() - t0;
	printf("# %u one-by-one registrations: %.2f s (%.1f us each)\n", NR_REGS, dt,
	       dt * 1e6 / NR_REGS);
}

static void load_in_batches(struct fixture *f)
{
	double t0 = now_s(), dt;

	for (uint32_t k = 0; k < NR_REGS; k += BATCH) {
		assert_int_equal(iofd_batch_begin(f->vm), 0);
		for (uint32_t j = k; j < k + BATCH; j++) {
			struct kvm_ioeventfd a = reg(f, j);

			assert_int_equal(iofd_ioeventfd(f->vm, &a), 0);
		}
		assert_int_equal(iofd_batch_commit(f->vm), 0);
	}
	dt = now_s() - t0;
	printf("# %u registrations in batches of %u: %.2f s (%.1f us each)\n",
	       NR_REGS, BATCH, dt, dt * 1e6 / NR_REGS);
}

static void unload(struct fixture *f, bool batched)
{
	for (uint32_t k = 0; k < NR_REGS; k++) {
		struct kvm_ioeventfd a = reg(f, k);

		if (batched && k % BATCH == 0)
			assert_int_equal(iofd_batch_begin(f->vm), 0);
		a.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		assert_int_equal(iofd_ioeventfd(f->vm, &a), 0);
		if (batched && k % BATCH == BATCH - 1)
			assert_int_equal(iofd_batch_commit(f->vm), 0);
	}
}

static int write_at(struct fixture *f, enum iofd_bus bus, uint64_t addr,
		    uint32_t len, uint64_t v)
{
	return iofd_access(f->vm, bus, addr, len, true, &v, NULL);
}

/* Every registration hits once; its near misses claim nothing. */
static void check_dispatch(struct fixture *f)
{
	for (uint32_t k = 0; k < NR_REGS; k++) {
		struct kvm_ioeventfd a = reg(f, k);
		enum iofd_bus bus = reg_bus(&a);
		uint32_t width = a.len ? a.len : 4;

		assert_int_equal(write_at(f, bus, a.addr, width, a.datamatch), IOFD_SERVED);
		/* addresses are multiples of 8: +4 is never registered */
		assert_int_equal(write_at(f, bus, a.addr + 4, 4, a.datamatch),
				 IOFD_NOT_CLAIMED);
		assert_int_equal(write_at(f, bus ^ 1, a.addr, width, a.datamatch),
				 IOFD_NOT_CLAIMED);
		if (a.len)
			assert_int_equal(write_at(f, bus, a.addr, a.len == 8 ? 4 : 8,
						  a.datamatch), IOFD_NOT_CLAIMED);
		if (a.flags & KVM_IOEVENTFD_FLAG_DATAMATCH)
			assert_int_equal(write_at(f, bus, a.addr, a.len, a.datamatch ^ 1),
					 IOFD_NOT_CLAIMED);
	}
	for (uint32_t i = 0; i < NR_EFDS; i++)
		assert_int_equal(tu_efd_count(f->efd[i]), HITS_PER_EFD);
}

/* After removal nothing claims the registered addresses any more. */
static void check_empty(struct fixture *f)
{
	for (uint32_t k = 0; k < NR_REGS; k += 97) {
		struct kvm_ioeventfd a = reg(f, k);

		assert_int_equal(write_at(f, reg_bus(&a), a.addr, a.len ? a.len : 4,
					  a.datamatch), IOFD_NOT_CLAIMED);
	}
	for (uint32_t i = 0; i < NR_EFDS; i++)
		assert_int_equal(tu_efd_count(f->efd[i]), 0);
}

static void one_dup_per_eventfd(struct fixture *f)
{
	assert_int_equal(tu_open_fds(), f->fds_with_efds + (int)NR_EFDS);
}

static void fds_back_after_quiesce(struct fixture *f)
{
	iofd_quiesce(f->vm);
	assert_int_equal(tu_open_fds(), f->fds_with_efds);
}

static void hundred_thousand_one_by_one(void **state)
{
	struct fixture *f = *state;

	load_one_by_one(f);
	one_dup_per_eventfd(f);
	check_dispatch(f);
	unload(f, false);
	check_empty(f);
	fds_back_after_quiesce(f);
}

static void hundred_thousand_in_batches(void **state)
{
	struct fixture *f = *state;

	load_in_batches(f);
	one_dup_per_eventfd(f);
	check_dispatch(f);
	unload(f, true);
	check_empty(f);
	fds_back_after_quiesce(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hundred_thousand_one_by_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hundred_thousand_in_batches, setup,
						teardown),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
