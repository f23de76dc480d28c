/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iosignalfd group mode: validation, the group's (bus, addr, len) identity,
 * overlap rules against ioeventfds and other groups, triggers, deassign of
 * every item of an eventfd, duplicate items, reads, and the seed's own
 * acceptance test.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "vmfixture.h"

#define TRIG	IOFD_IOSIGNALFD_FLAG_TRIGGER
#define GPIO	IOFD_IOSIGNALFD_FLAG_PIO
#define GDEL	IOFD_IOSIGNALFD_FLAG_DEASSIGN

/* One group item; trigger (len bytes) only with TRIG. */
static int group(struct vmf *f, uint64_t addr, uint32_t len, int fd,
		 uint32_t flags, const void *trigger)
{
	struct iofd_iosignalfd a = { .trigger = (uintptr_t)trigger, .addr = addr,
				     .len = len, .fd = fd, .flags = flags };

	return iofd_iosignalfd(f->vm, &a);
}

/* The seed's acceptance test: fd0 wildcard, fd1 trigger 0xa5, fd2 trigger
 * 0x42 at one 1-byte MMIO address; writes 0x00, 0xa5, 0x42 -> 3, 1, 1. */
static void seed_test_counts_3_1_1(void **state)
{
	struct vmf *f = *state;
	uint8_t match_a = 0xa5, match_b = 0x42;

	assert_int_equal(group(f, 0xd0000000, 1, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0xd0000000, 1, f->efd[1], TRIG, &match_a), 0);
	assert_int_equal(group(f, 0xd0000000, 1, f->efd[2], TRIG, &match_b), 0);
	assert_int_equal(vmf_mmio_write(f, 0xd0000000, 1, 0x00), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0xd0000000, 1, 0xa5), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0xd0000000, 1, 0x42), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 3);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
}

static void validation(void **state)
{
	struct vmf *f = *state;
	int pipefd[2];

	static const uint32_t bad_lens[] = { 0, 3, 5, 16, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++)
		assert_int_equal(group(f, 0x100, bad_lens[i], f->efd[0], 0, NULL), -EINVAL);
	assert_int_equal(group(f, 0x100, 4, f->efd[0], 1u << 3, NULL), -EINVAL);
	assert_int_equal(group(f, 0x100, 4, f->efd[0], 1u << 31, NULL), -EINVAL);
	assert_int_equal(group(f, UINT64_MAX - 1, 4, f->efd[0], 0, NULL), -EINVAL);
	assert_int_equal(group(f, 0x100, 4, -1, 0, NULL), -EBADF);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(group(f, 0x100, 4, pipefd[1], 0, NULL), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* nothing was registered by the failures */
	assert_int_equal(vmf_mmio_write(f, 0x100, 4, 0), IOFD_NOT_CLAIMED);
	assert_true(strlen(iofd_last_error()) > 0);
}

/* A trigger pointer that cannot be read gives -EFAULT and registers nothing. */
static void unreadable_trigger_is_efault(void **state)
{
	struct vmf *f = *state;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p + page, (size_t)page), 0);
	assert_int_equal(group(f, 0x200, 4, f->efd[0], TRIG, NULL), -EFAULT);
	assert_int_equal(group(f, 0x200, 4, f->efd[0], TRIG, p + page), -EFAULT);
	/* straddles the end of the mapping: only 2 of 4 bytes readable */
	assert_int_equal(group(f, 0x200, 4, f->efd[0], TRIG, p + page - 2), -EFAULT);
	assert_int_equal(vmf_mmio_write(f, 0x200, 4, 0), IOFD_NOT_CLAIMED);
	/* the last readable bytes are fine */
	memcpy(p + page - 4, "\x01\x02\x03\x04", 4);
	assert_int_equal(group(f, 0x200, 4, f->efd[0], TRIG, p + page - 4), 0);
	munmap(p, (size_t)page);
	assert_int_equal(vmf_mmio_write(f, 0x200, 4, 0x04030201), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
}

/* Another len at a group's (bus, addr) is -EINVAL; the same len is one more
 * item; the same addr on the other bus is another group. */
static void group_identity_is_bus_addr_len(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(group(f, 0x300, 4, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0x300, 2, f->efd[1], 0, NULL), -EINVAL);
	assert_int_equal(group(f, 0x300, 8, f->efd[1], 0, NULL), -EINVAL);
	assert_int_equal(group(f, 0x300, 1, f->efd[1], 0, NULL), -EINVAL);
	assert_int_equal(group(f, 0x300, 4, f->efd[1], 0, NULL), 0);
	/* the same eventfd twice as a wildcard is a duplicate */
	assert_int_equal(group(f, 0x300, 4, f->efd[1], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x300, 2, f->efd[2], GPIO, NULL), 0);
	assert_int_equal(vmf_mmio_write(f, 0x300, 4, 0), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 0);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_PIO, 0x301, 1, true,
				     &(uint64_t){ 0 }, NULL), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
}

/* No group shares bytes with an ioeventfd or another group, either way
 * round, whatever the start addresses; adjacent ranges are fine. */
static void overlaps_are_eexist_both_ways(void **state)
{
	struct vmf *f = *state;

	/* group [0x1000, 0x1004) first */
	assert_int_equal(group(f, 0x1000, 4, f->efd[0], 0, NULL), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1000, 4, f->efd[1], 0, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x1002, 1, f->efd[1], 0, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x1003, 2, f->efd[1], 0, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x0ffc, 8, f->efd[1], 0, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x0ffd, 0, f->efd[1], 0, 0), -EEXIST); /* 8 bytes */
	assert_int_equal(vmf_ioeventfd(f, 0x0ffc, 4, f->efd[1], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1004, 0, f->efd[1], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x1002, 1, f->efd[1], KVM_IOEVENTFD_FLAG_PIO, 0), 0);
	/* groups overlapping the group at another start address */
	assert_int_equal(group(f, 0x1002, 1, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x0ffe, 4, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x0ff8, 8, f->efd[2], 0, NULL), -EEXIST); /* ioeventfd */
	assert_int_equal(group(f, 0x0ff8, 4, f->efd[2], 0, NULL), 0);
	/* ioeventfd first: groups covering it are refused */
	assert_int_equal(vmf_ioeventfd(f, 0x2004, 2, f->efd[1], 0, 0), 0);
	assert_int_equal(group(f, 0x2000, 8, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x2005, 1, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x2004, 2, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x2000, 4, f->efd[2], 0, NULL), 0);
	assert_int_equal(group(f, 0x2006, 2, f->efd[2], 0, NULL), 0);
	/* a len-0 ioeventfd covers 8 bytes */
	assert_int_equal(vmf_ioeventfd(f, 0x3000, 0, f->efd[1], 0, 0), 0);
	assert_int_equal(group(f, 0x3007, 1, f->efd[2], 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0x3008, 1, f->efd[2], 0, NULL), 0);
	/* the refused registrations changed nothing */
	assert_int_equal(vmf_mmio_write(f, 0x1002, 1, 0), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 0);
}

/* Wildcards fire on any write inside the range; a trigger item needs a write
 * of exactly len bytes equal to the trigger, wherever in the range it starts. */
static void triggers_need_width_and_value(void **state)
{
	struct vmf *f = *state;
	uint16_t trig = 0xbeef;

	assert_int_equal(group(f, 0x4000, 2, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0x4000, 2, f->efd[1], TRIG, &trig), 0);
	assert_int_equal(vmf_mmio_write(f, 0x4000, 2, 0xbeef), IOFD_SERVED);   /* both */
	assert_int_equal(vmf_mmio_write(f, 0x4000, 1, 0xef), IOFD_SERVED);     /* width */
	assert_int_equal(vmf_mmio_write(f, 0x4000, 4, 0xbeef), IOFD_SERVED);   /* width */
	assert_int_equal(vmf_mmio_write(f, 0x4000, 2, 0xbeee), IOFD_SERVED);   /* value */
	assert_int_equal(vmf_mmio_write(f, 0x4001, 2, 0xbeef), IOFD_SERVED);   /* both */
	assert_int_equal(vmf_mmio_write(f, 0x4001, 1, 0xbe), IOFD_SERVED);     /* wild */
	assert_int_equal(vmf_mmio_write(f, 0x4002, 2, 0xbeef), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_mmio_write(f, 0x3fff, 2, 0xbeef), IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[0]), 6);
	assert_int_equal(tu_efd_count(f->efd[1]), 2);
}

/* Reads of a group's range are served with zeros and signal nothing. */
static void reads_return_zeros(void **state)
{
	struct vmf *f = *state;
	uint64_t v = ~0ull;

	assert_int_equal(group(f, 0x5000, 8, f->efd[0], 0, NULL), 0);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0x5004, 4, false, &v, NULL),
			 IOFD_SERVED);
	assert_int_equal(v, 0xffffffff00000000ull); /* only len bytes written */
	v = ~0ull;
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0x5000, 8, false, &v, NULL),
			 IOFD_SERVED);
	assert_int_equal(v, 0);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0x5008, 8, false, &v, NULL),
			 IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
}

/* Deassign removes every item using the eventfd object (dups included) and
 * returns 0 even when none did; an unknown group is -EINVAL. */
static void deassign_removes_all_items_of_the_eventfd(void **state)
{
	struct vmf *f = *state;
	uint8_t t1 = 1, t2 = 2;
	int dup0 = dup(f->efd[0]);

	assert_int_equal(group(f, 0x6000, 1, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0x6000, 1, f->efd[0], TRIG, &t1), 0);
	assert_int_equal(group(f, 0x6000, 1, dup0, TRIG, &t2), 0);
	assert_int_equal(group(f, 0x6000, 1, f->efd[1], 0, NULL), 0);
	assert_int_equal(vmf_mmio_write(f, 0x6000, 1, 2), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 2);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	/* unknown groups: other address, inside the range, other len, other bus */
	assert_int_equal(group(f, 0x6001, 1, f->efd[0], GDEL, NULL), -EINVAL);
	assert_int_equal(group(f, 0x6000, 2, f->efd[0], GDEL, NULL), -EINVAL);
	assert_int_equal(group(f, 0x6000, 1, f->efd[0], GDEL | GPIO, NULL), -EINVAL);
	/* an eventfd with no item here, one iofd never saw: 0, nothing removed */
	assert_int_equal(group(f, 0x6000, 1, f->efd[2], GDEL, NULL), 0);
	assert_int_equal(group(f, 0x6000, 1, -1, GDEL, NULL), -EBADF);
	/* through the dup: all three items of that object go */
	assert_int_equal(group(f, 0x6000, 1, dup0, GDEL, NULL), 0);
	assert_int_equal(vmf_mmio_write(f, 0x6000, 1, 1), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(group(f, 0x6000, 1, f->efd[0], GDEL, NULL), 0);
	close(dup0);
}

/* A group whose last item goes disappears: its range is free again. */
static void empty_group_disappears(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(group(f, 0x7000, 4, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0x7000, 4, f->efd[1], 0, NULL), 0);
	assert_int_equal(group(f, 0x7000, 4, f->efd[0], GDEL, NULL), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x7000, 4, f->efd[2], 0, 0), -EEXIST);
	assert_int_equal(group(f, 0x7000, 4, f->efd[1], GDEL, NULL), 0);
	assert_int_equal(vmf_mmio_write(f, 0x7000, 4, 0), IOFD_NOT_CLAIMED);
	uint64_t v = 5;
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0x7000, 4, false, &v, NULL),
			 IOFD_NOT_CLAIMED);
	/* gone: deassign is -EINVAL, another len may start a new group */
	assert_int_equal(group(f, 0x7000, 4, f->efd[1], GDEL, NULL), -EINVAL);
	assert_int_equal(group(f, 0x7000, 8, f->efd[1], 0, NULL), 0);
	assert_int_equal(group(f, 0x7000, 8, f->efd[1], GDEL, NULL), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x7000, 4, f->efd[2], 0, 0), 0);
	assert_int_equal(vmf_mmio_write(f, 0x7000, 4, 0), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
}

/* Group items keep their eventfd alive after the caller closes it, and
 * release it (fd count back to the start) once the items are gone. */
static void items_hold_the_eventfd_until_removed(void **state)
{
	struct vmf *f = *state;
	int start = tu_open_fds();
	int e = eventfd(0, EFD_CLOEXEC), watch = dup(e);

	assert_int_equal(group(f, 0x8000, 4, e, 0, NULL), 0);
	assert_int_equal(group(f, 0x9000, 4, e, 0, NULL), 0);
	close(e);
	assert_int_equal(vmf_mmio_write(f, 0x8000, 4, 0), IOFD_SERVED);
	assert_int_equal(vmf_mmio_write(f, 0x9002, 1, 0), IOFD_SERVED);
	assert_int_equal(tu_efd_count(watch), 2);
	assert_int_equal(group(f, 0x8000, 4, watch, GDEL, NULL), 0);
	assert_int_equal(group(f, 0x9000, 4, watch, GDEL, NULL), 0);
	iofd_quiesce(f->vm);
	close(watch);
	assert_int_equal(tu_open_fds(), start);
}

/*
 * The same eventfd object twice with the same trigger (or twice as a
 * wildcard) is -EEXIST, by any fd naming it, and changes nothing; with
 * different triggers, or a trigger beside a wildcard, it is legal.
 */
static void duplicate_items_are_eexist(void **state)
{
	struct vmf *f = *state;
	uint32_t t1 = 0x11, t2 = 0x22, t1_again = 0x11;
	int alias = dup(f->efd[0]);

	assert_int_equal(group(f, 0xa000, 4, f->efd[0], 0, NULL), 0);
	assert_int_equal(group(f, 0xa000, 4, f->efd[0], 0, NULL), -EEXIST);
	assert_non_null(strstr(iofd_last_error(), "as a wildcard"));
	assert_int_equal(group(f, 0xa000, 4, alias, 0, NULL), -EEXIST);
	assert_int_equal(group(f, 0xa000, 4, f->efd[0], TRIG, &t1), 0);
	assert_int_equal(group(f, 0xa000, 4, alias, TRIG, &t1_again), -EEXIST);
	assert_non_null(strstr(iofd_last_error(), "with this trigger"));
	assert_int_equal(group(f, 0xa000, 4, f->efd[0], TRIG, &t2), 0);
	assert_int_equal(group(f, 0xa000, 4, f->efd[1], TRIG, &t1), 0);
	/* a write of t1 signals efd[0] twice (wildcard, t1), efd[1] once */
	assert_int_equal(vmf_mmio_write(f, 0xa000, 4, 0x11), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 2);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(vmf_mmio_write(f, 0xa000, 4, 0x33), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	assert_int_equal(group(f, 0xa000, 4, f->efd[0], GDEL, NULL), 0);
	assert_int_equal(group(f, 0xa000, 4, f->efd[1], GDEL, NULL), 0);
	iofd_quiesce(f->vm);
	close(alias);
	assert_int_equal(tu_open_fds(), f->fds_with_efds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMF_TEST(seed_test_counts_3_1_1),
		VMF_TEST(validation),
		VMF_TEST(unreadable_trigger_is_efault),
		VMF_TEST(group_identity_is_bus_addr_len),
		VMF_TEST(overlaps_are_eexist_both_ways),
		VMF_TEST(triggers_need_width_and_value),
		VMF_TEST(reads_return_zeros),
		VMF_TEST(deassign_removes_all_items_of_the_eventfd),
		VMF_TEST(empty_group_disappears),
		VMF_TEST(items_hold_the_eventfd_until_removed),
		VMF_TEST(duplicate_items_are_eexist),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("iosignalfd", tests, NULL, NULL);
}
