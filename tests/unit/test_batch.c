/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Batches that remove and re-add the same registrations: results come back
 * at once in the writer's view, readers keep the old state until commit,
 * eventfd dups stay one per object, and after iofd_quiesce() the fd and
 * thread counts are exactly what they were. Other threads' registrations
 * wait for the commit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "vmfixture.h"

#define DM	KVM_IOEVENTFD_FLAG_DATAMATCH
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN

static int group(struct vmf *f, uint64_t addr, uint32_t len, int fd,
		 uint32_t flags)
{
	struct iofd_iosignalfd a = { .addr = addr, .len = len, .fd = fd,
				     .flags = flags };

	return iofd_iosignalfd(f->vm, &a);
}

/* Fired eventfds since the last call, as a bit mask over the fixture's. */
static unsigned fired(struct vmf *f)
{
	unsigned mask = 0;

	for (int i = 0; i < 3; i++)
		if (tu_efd_count(f->efd[i]))
			mask |= 1u << i;
	return mask;
}

/* Within one batch: add, remove and add again the same address. */
static void add_remove_add_in_one_batch(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[0], DEASSIGN, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[0], DEASSIGN, 0), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[1], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[2], 0, 0), -EEXIST);
	assert_int_equal(vmf_mmio_write(f, 0x1000, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(vmf_mmio_write(f, 0x1000, 4, 0), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 1);
	iofd_quiesce(f->vm);
	/* only the surviving eventfd still has a dup */
	assert_int_equal(tu_open_fds(), f->fds_with_efds + 1);
}

/* A published entry removed and replaced in a batch keeps firing the old
 * eventfd until the commit, then only the new one. */
static void replace_published_entry(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[0], DM, 7), 0);
	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[0], DEASSIGN | DM, 7), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[1], DM, 7), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[2], 0, 0), -EEXIST);
	assert_int_equal(vmf_mmio_write(f, 0x2000, 2, 7), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 0);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(vmf_mmio_write(f, 0x2000, 2, 7), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 1);
	/* the old registration is gone for deassign as well */
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[0], DEASSIGN | DM, 7), -ENOENT);
	iofd_quiesce(f->vm);
	assert_int_equal(tu_open_fds(), f->fds_with_efds + 1);
}

/* Removing and re-adding the very same registration many times in a batch
 * leaves one registration and one dup. */
static void churn_of_one_entry_keeps_one_dup(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x3000, 8, f->efd[0], DM, 1), 0);
	assert_int_equal(iofd_batch_begin(f->vm), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(vmf_ioeventfd(f, 0x3000, 8, f->efd[0], DEASSIGN | DM, 1), 0);
		assert_int_equal(vmf_ioeventfd(f, 0x3000, 8, f->efd[0], DM, 1), 0);
	}
	assert_int_equal(vmf_mmio_write(f, 0x3000, 8, 1), IOFD_SERVED);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(vmf_mmio_write(f, 0x3000, 8, 1), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 2);
	iofd_quiesce(f->vm);
	assert_int_equal(tu_open_fds(), f->fds_with_efds + 1);
	assert_int_equal(vmf_ioeventfd(f, 0x3000, 8, f->efd[0], DEASSIGN | DM, 1), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x3000, 8, f->efd[0], DEASSIGN | DM, 1), -ENOENT);
	iofd_quiesce(f->vm);
	assert_int_equal(tu_open_fds(), f->fds_with_efds);
}

/* Groups and ioeventfds trade an address range inside one batch. */
static void group_and_ioeventfd_trade_places(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x4000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(group(f, 0x5000, 4, f->efd[1], 0), 0);
	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x4000, 4, f->efd[0], DEASSIGN, 0), 0);
	assert_int_equal(group(f, 0x4000, 4, f->efd[0], 0), 0);
	assert_int_equal(group(f, 0x5000, 4, f->efd[1], IOFD_IOSIGNALFD_FLAG_DEASSIGN), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x5002, 1, f->efd[1], 0, 0), 0);
	/* the writer's view already refuses what collides with the new state */
	assert_int_equal(vmf_ioeventfd(f, 0x4000, 4, f->efd[2], 0, 0), -EEXIST);
	assert_int_equal(group(f, 0x5000, 4, f->efd[2], 0), -EEXIST);
	/* readers still see the old state */
	assert_int_equal(vmf_mmio_write(f, 0x4001, 1, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x5002, 1, 0), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 1);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(vmf_mmio_write(f, 0x4001, 1, 0), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 0);
	assert_int_equal(vmf_mmio_write(f, 0x5000, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x5002, 1, 0), IOFD_SERVED);
	assert_int_equal(fired(f), 1u << 1);
}

/* A batch that adds and removes a whole set publishes nothing lasting. */
static void batch_that_undoes_itself(void **state)
{
	struct vmf *f = *state;
	struct tu_resources start = tu_snapshot();

	assert_int_equal(iofd_batch_begin(f->vm), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(vmf_ioeventfd(f, 0x10000 + 4 * i, 4, f->efd[i % 3], 0, 0), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(vmf_ioeventfd(f, 0x10000 + 4 * i, 4, f->efd[i % 3],
						       DEASSIGN, 0), 0);
	assert_int_equal(group(f, 0x20000, 8, f->efd[0], 0), 0);
	assert_int_equal(group(f, 0x20000, 8, f->efd[0], IOFD_IOSIGNALFD_FLAG_DEASSIGN),
			 0);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(vmf_mmio_write(f, 0x10000 + 4 * i, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x20000, 8, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(fired(f), 0);
	iofd_quiesce(f->vm);
	TU_ASSERT_NO_LEAK(start);
}

/* Destroying a VM with an open batch releases everything it held. */
static void destroy_with_open_batch(void **state)
{
	struct vmf *f = *state;
	struct tu_resources start = tu_snapshot();
	struct iofd_vm *vm;
	struct kvm_ioeventfd a = { .addr = 0x6000, .len = 4, .fd = f->efd[0] };

	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	assert_int_equal(iofd_ioeventfd(vm, &a), 0);
	assert_int_equal(iofd_batch_begin(vm), 0);
	a.addr = 0x6004;
	a.fd = f->efd[1];
	assert_int_equal(iofd_ioeventfd(vm, &a), 0);
	iofd_vm_destroy(vm);
	TU_ASSERT_NO_LEAK(start);
}

struct other {
	struct vmf *f;
	uint64_t addr;
	int efd;
	int result;
	_Atomic bool done;
};

static void *register_from_another_thread(void *arg)
{
	struct other *o = arg;

	o->result = vmf_ioeventfd(o->f, o->addr, 4, o->efd, 0, 0);
	atomic_store(&o->done, true);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * As iofd_batch_begin(3) says: another thread's registration waits for the
 * commit and then runs against the committed state (a collision with a
 * batched entry is -EEXIST); guest accesses do not wait; the batch's own
 * thread gets -EBUSY for a second begin.
 */
static void other_threads_wait_for_the_commit(void **state)
{
	struct vmf *f = *state;
	struct other same = { f, 0x7000, f->efd[1], 1, false };
	struct other apart = { f, 0x7100, f->efd[2], 1, false };
	pthread_t t1, t2;

	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(iofd_batch_begin(f->vm), -EBUSY);
	assert_int_equal(vmf_ioeventfd(f, 0x7000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(pthread_create(&t1, NULL, register_from_another_thread,
					&same), 0);
	assert_int_equal(pthread_create(&t2, NULL, register_from_another_thread,
					&apart), 0);
	sleep_ms(200);
	assert_false(atomic_load(&same.done));
	assert_false(atomic_load(&apart.done));
	assert_int_equal(vmf_mmio_write(f, 0x7000, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(same.result, -EEXIST);
	assert_int_equal(apart.result, 0);
	assert_int_equal(vmf_mmio_write(f, 0x7000, 4, 0), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0x7100, 4, 0), IOFD_SERVED);
	assert_int_equal(fired(f), (1u << 0) | (1u << 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMF_TEST(add_remove_add_in_one_batch),
		VMF_TEST(replace_published_entry),
		VMF_TEST(churn_of_one_entry_keeps_one_dup),
		VMF_TEST(group_and_ioeventfd_trade_places),
		VMF_TEST(batch_that_undoes_itself),
		VMF_TEST(destroy_with_open_batch),
		VMF_TEST(other_threads_wait_for_the_commit),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
