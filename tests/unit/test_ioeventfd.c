/* SPDX-License-Identifier: BSD-3-Clause */
/* ioeventfd in userspace: validation, collisions, matching, deassign, identity. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vmfixture.h"

static void validation_order_matches_kernel(void **state)
{
	struct vmf *f = *state;
	int pipefd[2];

	assert_int_equal(vmf_ioeventfd(f, 0x1000, 3, f->efd[0], 0, 0), -EINVAL);
	/* a bad len is reported before a bad fd */
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 3, -1, 0, 0), -EINVAL);
	assert_int_equal(vmf_ioeventfd(f, UINT64_MAX - 1, 4, f->efd[0], 0, 0), -EINVAL);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[0], 1u << 5, 0), -EINVAL);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 0, f->efd[0], KVM_IOEVENTFD_FLAG_DATAMATCH, 0),
			 -EINVAL);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, -1, 0, 0), -EBADF);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, 999, 0, 0), -EBADF);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, pipefd[0], 0, 0), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* bit 4 (fast_mmio) is valid and has no effect */
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[0], 1u << 4, 0), 0);
	assert_true(strlen(iofd_last_error()) > 0);
}

static void collisions_follow_kernel_rule(void **state)
{
	struct vmf *f = *state;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;

	assert_int_equal(vmf_ioeventfd(f, 0x2000, 4, f->efd[0], DM, 1), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 4, f->efd[1], DM, 2), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 4, f->efd[2], DM, 1), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 4, f->efd[2], 0, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 2, f->efd[2], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 0, f->efd[3], 0, 0), -EEXIST);
	/* other buses are separate */
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 0, f->efd[3], KVM_IOEVENTFD_FLAG_PIO, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 0, f->efd[3],
						 KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 4, f->efd[3], KVM_IOEVENTFD_FLAG_PIO, 0),
			 -EEXIST);
	/* PIO|CCW is the PIO bus */
	assert_int_equal(vmf_ioeventfd(f, 0x2000, 1, f->efd[3], KVM_IOEVENTFD_FLAG_PIO |
						 KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0), -EEXIST);
}

static void matching_width_and_datamatch(void **state)
{
	struct vmf *f = *state;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;

	assert_int_equal(vmf_ioeventfd(f, 0x3000, 4, f->efd[0], DM, 0x1234), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x3000, 1, f->efd[1], DM, 0x1ff), 0); /* never */
	assert_int_equal(vmf_ioeventfd(f, 0x3008, 0, f->efd[2], 0, 0), 0);
	assert_int_equal(vmf_mmio_write(f, 0x3000, 4, 0x1234), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0x3000, 4, 0x1235), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x3000, 2, 0x1234), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x3000, 1, 0xff), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x3001, 4, 0x1234), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x3008, 1, 7), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0x3008, 8, 7), IOFD_SERVED);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_PIO, 0x3008, 1, true,
				     &(uint64_t){ 0 }, NULL), IOFD_NOT_CLAIMED);
	/* reads are never claimed by an ioeventfd */
	uint64_t v = 0;
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0x3008, 4, false, &v, NULL),
			 IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(tu_efd_count(f->efd[2]), 2);
}

static void deassign_checks_only_the_fd(void **state)
{
	struct vmf *f = *state;
	struct kvm_ioeventfd d = { .addr = 0x4000, .len = 4, .fd = f->efd[0],
				   .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };

	assert_int_equal(iofd_ioeventfd(f->vm, &d), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x4000, 4, f->efd[0], 0, 0), 0);
	d.fd = -1;
	assert_int_equal(iofd_ioeventfd(f->vm, &d), -EBADF);
	d.fd = f->efd[1];	/* another eventfd: no match */
	assert_int_equal(iofd_ioeventfd(f->vm, &d), -ENOENT);
	d.fd = f->efd[0];
	d.len = 3;		/* not validated: simply finds nothing */
	assert_int_equal(iofd_ioeventfd(f->vm, &d), -ENOENT);
	d.len = 4;
	d.flags |= 1u << 7;	/* unknown bit: not validated either */
	assert_int_equal(iofd_ioeventfd(f->vm, &d), 0);
	assert_int_equal(vmf_mmio_write(f, 0x4000, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_ioeventfd(f->vm, &d), -ENOENT);
}

static void identity_is_the_eventfd_object(void **state)
{
	struct vmf *f = *state;
	int a = eventfd(0, 0), dupa = dup(a), b;
	struct kvm_ioeventfd d = { .addr = 0x5000, .len = 4,
				   .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };

	assert_int_equal(vmf_ioeventfd(f, 0x5000, 4, a, 0, 0), 0);
	/* closing the caller's fd changes nothing; a dup still matches */
	close(a);
	assert_int_equal(vmf_mmio_write(f, 0x5000, 4, 1), IOFD_SERVED);
	assert_int_equal(tu_efd_count(dupa), 1);
	/* a new eventfd that reuses the number is another object */
	b = eventfd(0, 0);
	assert_int_equal(b, a);
	d.fd = b;
	assert_int_equal(iofd_ioeventfd(f->vm, &d), -ENOENT);
	d.fd = dupa;
	assert_int_equal(iofd_ioeventfd(f->vm, &d), 0);
	close(b);
	close(dupa);
}

static void one_dup_per_eventfd_object(void **state)
{
	struct vmf *f = *state;
	int before = tu_open_fds();

	for (int i = 0; i < 100; i++)
		assert_int_equal(vmf_ioeventfd(f, 0x10000 + 8 * i, 4, f->efd[i % 2], 0, 0), 0);
	assert_int_equal(tu_open_fds(), before + 2);
	for (int i = 0; i < 100; i++) {
		struct kvm_ioeventfd d = { .addr = 0x10000 + 8 * i, .len = 4,
					   .fd = f->efd[i % 2],
					   .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };
		assert_int_equal(iofd_ioeventfd(f->vm, &d), 0);
	}
	iofd_quiesce(f->vm);
	assert_int_equal(tu_open_fds(), before);
}

static void batch_publishes_at_commit(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(iofd_batch_begin(f->vm), -EBUSY);
	assert_int_equal(vmf_ioeventfd(f, 0x6000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x6000, 4, f->efd[1], 0, 0), -EEXIST);
	assert_int_equal(vmf_mmio_write(f, 0x6000, 4, 1), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_batch_commit(f->vm), 0);
	assert_int_equal(iofd_batch_commit(f->vm), -EINVAL);
	assert_int_equal(vmf_mmio_write(f, 0x6000, 4, 1), IOFD_SERVED);
}

static void entries_sharing_an_address_unlink_in_any_order(void **state)
{
	struct vmf *f = *state;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	struct kvm_ioeventfd d = { .addr = 0x7000, .len = 4,
				   .flags = DM | KVM_IOEVENTFD_FLAG_DEASSIGN };

	for (int i = 0; i < 4; i++)
		assert_int_equal(vmf_ioeventfd(f, 0x7000, 4, f->efd[i], DM, i), 0);
	/* the first registered (the hash table's head), then a middle one */
	d.fd = f->efd[0];
	d.datamatch = 0;
	assert_int_equal(iofd_ioeventfd(f->vm, &d), 0);
	d.fd = f->efd[2];
	d.datamatch = 2;
	assert_int_equal(iofd_ioeventfd(f->vm, &d), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vmf_mmio_write(f, 0x7000, 4, i),
				 i == 1 || i == 3 ? IOFD_SERVED : IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[3]), 1);
	assert_int_equal(vmf_ioeventfd(f, 0x7000, 4, f->efd[0], DM, 0), 0);
	assert_int_equal(vmf_mmio_write(f, 0x7000, 4, 0), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
}

static void destroy_inside_a_batch_does_not_deadlock(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(iofd_batch_begin(f->vm), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], 0, 0), 0);
	iofd_vm_destroy(f->vm);
	assert_int_equal(iofd_vm_create(NULL, &f->vm), 0);
}

struct log_seen {
	int calls;
	enum iofd_log_level level;
	int err;
	char msg[256];
};

static void log_record(void *opaque, enum iofd_log_level level, int err,
		       const char *msg)
{
	struct log_seen *seen = opaque;

	seen->calls++;
	seen->level = level;
	seen->err = err;
	snprintf(seen->msg, sizeof(seen->msg), "%s", msg);
}

/* A failure is logged at ERROR with the reason iofd_last_error() gives;
 * a successful call leaves that reason alone; levels filter. */
static void log_levels_and_last_error(void **state)
{
	struct vmf *f = *state;
	struct log_seen seen = { 0 };

	assert_int_equal(iofd_set_log(log_record, &seen, IOFD_LOG_DEBUG + 1), -EINVAL);
	assert_int_equal(iofd_set_log(log_record, &seen, IOFD_LOG_DEBUG), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x9000, 3, f->efd[0], 0, 0), -EINVAL);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.level, IOFD_LOG_ERROR);
	assert_int_equal(seen.err, -EINVAL);
	assert_string_equal(seen.msg, iofd_last_error());
	/* success: no message, the reason of the failure stays */
	assert_int_equal(vmf_ioeventfd(f, 0x9000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.msg, iofd_last_error());
	assert_int_equal(iofd_set_log(NULL, NULL, IOFD_LOG_ERROR), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x9000, 3, f->efd[0], 0, 0), -EINVAL);
	assert_int_equal(seen.calls, 1);
}

static void set_level_none(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

/* Reserved space of the structs a caller fills must be zero. */
static void reserved_fields_must_be_zero(void **state)
{
	struct vmf *f = *state;
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_NONE };
	struct iofd_irq_controller ctl = { .set_level = set_level_none };
	struct iofd_vm *vm = NULL;

	o.reserved[4] = 1;
	assert_int_equal(iofd_vm_create(&o, &vm), -EINVAL);
	assert_null(vm);
	ctl.reserved[0] = (void (*)(void))set_level_none;
	assert_int_equal(iofd_irq_set_controller(f->vm, &ctl, NULL), -EINVAL);
	ctl.reserved[0] = NULL;
	assert_int_equal(iofd_irq_set_controller(f->vm, &ctl, NULL), 0);
	assert_int_equal(iofd_irq_set_controller(f->vm, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMF_TEST(validation_order_matches_kernel),
		VMF_TEST(collisions_follow_kernel_rule),
		VMF_TEST(matching_width_and_datamatch),
		VMF_TEST(deassign_checks_only_the_fd),
		VMF_TEST(identity_is_the_eventfd_object),
		VMF_TEST(one_dup_per_eventfd_object),
		VMF_TEST(batch_publishes_at_commit),
		VMF_TEST(entries_sharing_an_address_unlink_in_any_order),
		VMF_TEST(destroy_inside_a_batch_does_not_deadlock),
		VMF_TEST(log_levels_and_last_error),
		VMF_TEST(reserved_fields_must_be_zero),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("ioeventfd", tests, NULL, NULL);
}
