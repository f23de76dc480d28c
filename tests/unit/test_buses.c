/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The three buses and the corner cases of matching: the ccw bus is its own
 * address space, PIO|CCW is PIO, len 0 works on PIO as on MMIO, and a
 * datamatch value wider than len is accepted but never matches.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vmfixture.h"

#define DM	KVM_IOEVENTFD_FLAG_DATAMATCH
#define PIO	KVM_IOEVENTFD_FLAG_PIO
#define CCW	KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN

/* An entry on the ccw bus coexists with MMIO and PIO entries at the same
 * address and is never reached by an MMIO or PIO write. */
static void ccw_bus_is_separate(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[0], CCW, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 4, f->efd[1], CCW, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[1], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[2], PIO, 0), 0);
	assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, 0x100, 4, 1), IOFD_SERVED);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0x100, 2, 1), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
	/* deassign names the bus: without CCW it looks on MMIO and misses */
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[0], DEASSIGN, 0), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[0], DEASSIGN | PIO, 0), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[0], DEASSIGN | CCW, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x100, 0, f->efd[0], DEASSIGN | CCW, 0), -ENOENT);
	/* the MMIO and PIO entries were left alone */
	assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, 0x100, 1, 1), IOFD_SERVED);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0x100, 1, 1), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[1]), 1);
	assert_int_equal(tu_efd_count(f->efd[2]), 1);
}

/* PIO|CCW registers, fires and deassigns on the PIO bus. */
static void pio_with_ccw_flag_is_pio(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[0], PIO | CCW, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[1], CCW, 0), 0);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0x60, 1, 9), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
	assert_int_equal(tu_efd_count(f->efd[1]), 0);
	/* a plain PIO deassign finds it */
	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[0], DEASSIGN | PIO, 0), 0);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0x60, 1, 9), IOFD_NOT_CLAIMED);
	/* and a PIO entry is found by a PIO|CCW deassign */
	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[0], PIO, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[0], DEASSIGN | PIO | CCW, 0), 0);
	/* the ccw entry is still there */
	assert_int_equal(vmf_ioeventfd(f, 0x60, 1, f->efd[1], DEASSIGN | CCW, 0), 0);
}

/* len 0 on PIO: any width at exactly that port, nothing at the next ones. */
static void len0_on_pio_matches_any_width_at_the_port(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0xcf8, 0, f->efd[0], PIO, 0), 0);
	for (uint32_t len = 1; len <= 8; len *= 2)
		assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0xcf8, len, len),
				 IOFD_SERVED);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0xcf9, 1, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_write(f, IOFD_BUS_PIO, 0xcf7, 2, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, 0xcf8, 4, 0), IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[0]), 4);
	/* it blocks every other len at the port, and is blocked by them */
	for (uint32_t len = 1; len <= 8; len *= 2)
		assert_int_equal(vmf_ioeventfd(f, 0xcf8, len, f->efd[1], PIO, 0), -EEXIST);
	assert_int_equal(vmf_ioeventfd(f, 0xcfc, 4, f->efd[1], PIO | DM, 3), 0);
	assert_int_equal(vmf_ioeventfd(f, 0xcfc, 0, f->efd[2], PIO, 0), -EEXIST);
	/* reads are not claimed */
	uint64_t v = 0x55;
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_PIO, 0xcf8, 4, false, &v, NULL),
			 IOFD_NOT_CLAIMED);
	assert_int_equal(tu_efd_count(f->efd[0]), 0);
}

/* A datamatch above the len's bits is accepted, collides only with its exact
 * value, can be deassigned, and never matches any guest write. */
static void datamatch_wider_than_len_never_matches(void **state)
{
	struct vmf *f = *state;
	static const struct { uint32_t len; uint64_t dm; } cases[] = {
		{ 1, 0x1a5 }, { 2, 0x1beef }, { 4, 0x100000001ull }, { 1, ~0ull },
	};

	for (size_t i = 0; i < 4; i++) {
		uint64_t addr = 0x7000 + 0x10 * i, low;
		uint32_t len = cases[i].len;

		low = cases[i].dm & ((1ull << (8 * len)) - 1);
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[0], DM, cases[i].dm), 0);
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[1], PIO | DM,
						       cases[i].dm), 0);
		/* the truncated value is another datamatch: it coexists */
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[2], DM, low), 0);
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[3], DM, cases[i].dm),
				 -EEXIST);
		/* the low bytes fire only the truncated entry */
		assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, addr, len, low), IOFD_SERVED);
		assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, addr, 8, cases[i].dm),
				 IOFD_NOT_CLAIMED);
		assert_int_equal(vmf_write(f, IOFD_BUS_PIO, addr, len, low),
				 IOFD_NOT_CLAIMED);
		assert_int_equal(tu_efd_count(f->efd[0]), 0);
		assert_int_equal(tu_efd_count(f->efd[1]), 0);
		assert_int_equal(tu_efd_count(f->efd[2]), 1);
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[0], DEASSIGN | DM,
						       cases[i].dm), 0);
		assert_int_equal(vmf_ioeventfd(f, addr, len, f->efd[0], DEASSIGN | DM,
						       cases[i].dm), -ENOENT);
	}
}

/* Deassign's wildcard-ness must agree: a DATAMATCH deassign does not remove
 * a wildcard entry and vice versa; a datamatch deassign needs the value. */
static void deassign_matches_wildcardness_and_value(void **state)
{
	struct vmf *f = *state;

	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], 0, 0), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DEASSIGN | DM, 0), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DEASSIGN, 77), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DM, 5), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DM, 6), 0);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DEASSIGN, 5), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DEASSIGN | DM, 7), -ENOENT);
	assert_int_equal(vmf_ioeventfd(f, 0x8000, 4, f->efd[0], DEASSIGN | DM, 6), 0);
	assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, 0x8000, 4, 6), IOFD_NOT_CLAIMED);
	assert_int_equal(vmf_write(f, IOFD_BUS_MMIO, 0x8000, 4, 5), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd[0]), 1);
}

/* iofd_access rejects what no bus can carry. */
static void access_rejects_bad_bus_and_len(void **state)
{
	struct vmf *f = *state;
	uint64_t v = 0;

	assert_int_equal(iofd_access(f->vm, IOFD_NR_BUSES, 0, 4, true, &v, NULL),
			 -EINVAL);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0, 0, true, &v, NULL),
			 -EINVAL);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, 0, 9, true, &v, NULL),
			 -EINVAL);
	assert_int_equal(iofd_access(NULL, IOFD_BUS_MMIO, 0, 4, true, &v, NULL),
			 -EINVAL);
	assert_true(strlen(iofd_last_error()) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMF_TEST(ccw_bus_is_separate),
		VMF_TEST(pio_with_ccw_flag_is_pio),
		VMF_TEST(len0_on_pio_matches_any_width_at_the_port),
		VMF_TEST(datamatch_wider_than_len_never_matches),
		VMF_TEST(deassign_matches_wildcardness_and_value),
		VMF_TEST(access_rejects_bad_bus_and_len),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("buses", tests, NULL, NULL);
}
