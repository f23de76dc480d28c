/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest runner and its host side, on a real KVM guest: every access
 * kind reaches the exit handler with the right address, width and value,
 * reads return what the handler supplies, RAM stores land, END restarts the
 * script, the in-kernel irqchip mode ends through its port, bad exits give
 * -EIO, and nothing leaks.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvmutil.h"

#define MMIO_ADDR (GUEST_MMIO_BASE + 0x1000)
#define PORT 0x510

struct recorder {
	struct ku_access log[64];
	unsigned n;
	uint64_t read_value;	/* answer for reads (low len bytes) */
	uint64_t answer_gpa;	/* if set, writes are echoed here (WAIT ops) */
};

static void record(struct recorder *r, struct ku_access a)
{
	if (r->n < sizeof(r->log) / sizeof(r->log[0]))
		r->log[r->n] = a;
	r->n++;
}

static int recording_handler(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct recorder *r = opaque;
	struct ku_access a;
	void *data = ku_access_of(run, &a);

	if (data)
		ku_access_complete(&a, data, r->read_value);
	if (data && a.is_write && r->answer_gpa)
		memcpy(g->ram + r->answer_gpa, &a.value, 8);
	record(r, a);
	return 0;
}

/* Skip without /dev/kvm; else count the resources, then make a guest. */
static void start_guest(struct guest_vm *g, struct tu_resources *before,
			unsigned flags)
{
	int err;

	TU_REQUIRE_KVM();
	*before = tu_snapshot();
	err = guest_vm_create(g, flags);
	if (err)
		print_message("# guest_vm_create: %d (%s)\n", err, guest_last_error());
	assert_int_equal(err, 0);
}

/* Destroy the guest and check that nothing it used is left open. */
static void end_guest(struct guest_vm *g, struct tu_resources before)
{
	guest_vm_destroy(g);
	TU_ASSERT_NO_LEAK(before);
}

/* MMIO writes and reads of every width reach the handler intact. */
static void test_mmio_round_trip(void **state)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	static const uint64_t vals[] = { 0xa5, 0xbeef, 0xdeadbeef, 0x0123456789abcdefull };
	struct tu_resources before;
	struct recorder rec = { .read_value = 0xfedcba9876543210ull };
	struct guest_op ops[8];
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	memset(ops, 0, sizeof(ops));
	for (int i = 0; i < 4; i++) {
		ops[2 * i] = (struct guest_op){ .kind = GOP_WRITE, .len = lens[i],
						.addr = MMIO_ADDR + 16 * i, .value = vals[i] };
		ops[2 * i + 1] = (struct guest_op){ .kind = GOP_READ, .len = lens[i],
						    .addr = MMIO_ADDR + 16 * i + 8,
						    .value = 0x5555 };
	}
	assert_int_equal(guest_script_set(&g, ops, 8), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 8);
	assert_int_equal(rec.n, 8);
	for (int i = 0; i < 4; i++) {
		uint64_t mask = lens[i] == 8 ? ~0ull : (1ull << (8 * lens[i])) - 1;

		ku_assert_access(&rec.log[2 * i], KVM_EXIT_MMIO, MMIO_ADDR + 16 * i,
				 lens[i], true, vals[i]);
		ku_assert_access(&rec.log[2 * i + 1], KVM_EXIT_MMIO, MMIO_ADDR + 16 * i + 8,
				 lens[i], false, rec.read_value & mask);
		/* The guest stored what it read, zero-extended. */
		assert_int_equal(g.script->ops[2 * i + 1].value, rec.read_value & mask);
	}
	assert_int_equal(g.script->done, 1);
	end_guest(&g, before);
}

/* Port I/O of widths 1, 2 and 4; 8-byte port I/O is refused up front. */
static void test_pio_widths(void **state)
{
	static const uint32_t lens[] = { 1, 2, 4 };
	static const uint64_t vals[] = { 0x5a, 0xcafe, 0x89abcdef };
	struct tu_resources before;
	struct recorder rec = { .read_value = 0x11223344 };
	struct guest_op ops[6], bad = { .kind = GOP_OUT, .len = 8, .addr = PORT };
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	for (int i = 0; i < 3; i++) {
		ops[2 * i] = (struct guest_op){ .kind = GOP_OUT, .len = lens[i],
						.addr = PORT + 4 * i, .value = vals[i] };
		ops[2 * i + 1] = (struct guest_op){ .kind = GOP_IN, .len = lens[i],
						    .addr = PORT + 4 * i + 2 };
	}
	assert_int_equal(guest_script_set(&g, ops, 6), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 6);
	assert_int_equal(rec.n, 6);
	for (int i = 0; i < 3; i++) {
		uint64_t mask = (1ull << (8 * lens[i])) - 1;

		ku_assert_access(&rec.log[2 * i], KVM_EXIT_IO, PORT + 4 * i, lens[i], true,
				 vals[i]);
		ku_assert_access(&rec.log[2 * i + 1], KVM_EXIT_IO, PORT + 4 * i + 2,
				 lens[i], false, rec.read_value & mask);
		assert_int_equal(g.script->ops[2 * i + 1].value, rec.read_value & mask);
	}
	assert_int_equal(guest_script_set(&g, &bad, 1), -EINVAL);
	bad.kind = GOP_IN;
	assert_int_equal(guest_script_set(&g, &bad, 1), -EINVAL);
	bad = (struct guest_op){ .kind = GOP_OUT, .len = 1, .addr = 0x10000 };
	assert_int_equal(guest_script_set(&g, &bad, 1), -EINVAL);
	bad = (struct guest_op){ .kind = GOP_WRITE, .len = 3, .addr = MMIO_ADDR };
	assert_int_equal(guest_script_set(&g, &bad, 1), -EINVAL);
	bad = (struct guest_op){ .kind = 99, .len = 1 };
	assert_int_equal(guest_script_set(&g, &bad, 1), -EINVAL);
	end_guest(&g, before);
}

/* Without a handler, writes are dropped and reads return 0. */
static void test_null_handler(void **state)
{
	struct tu_resources before;
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .len = 4, .addr = MMIO_ADDR, .value = 1 },
		{ .kind = GOP_READ, .len = 8, .addr = MMIO_ADDR, .value = 0x77 },
		{ .kind = GOP_IN, .len = 2, .addr = PORT, .value = 0x77 },
	};
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(guest_script_set(&g, ops, 3), 0);
	assert_int_equal(guest_run(&g, NULL, NULL, &exits), 0);
	assert_int_equal(exits, 3);
	assert_int_equal(g.script->ops[1].value, 0);
	assert_int_equal(g.script->ops[2].value, 0);
	end_guest(&g, before);
}

/* RAM stores land in the memfd-backed RAM without any exit. */
static void test_write_mem(void **state)
{
	struct tu_resources before;
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE_MEM, .len = 8, .addr = GUEST_DATA_GPA,
		  .value = 0x1122334455667788ull },
		{ .kind = GOP_WRITE_MEM, .len = 2, .addr = GUEST_DATA_GPA + 8,
		  .value = 0xabcd, .count = 3 },
		{ .kind = GOP_READ, .len = 4, .addr = GUEST_DATA_GPA + 4 },
	};
	struct guest_vm g;
	uint64_t exits = 1, v64 = 0;
	uint16_t v16 = 0;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(guest_script_set(&g, ops, 3), 0);
	assert_int_equal(guest_run(&g, NULL, NULL, &exits), 0);
	assert_int_equal(exits, 0);
	memcpy(&v64, g.ram + GUEST_DATA_GPA, 8);
	memcpy(&v16, g.ram + GUEST_DATA_GPA + 8, 2);
	assert_int_equal(v64, 0x1122334455667788ull);
	assert_int_equal(v16, 0xabcd);
	assert_int_equal(g.script->ops[2].value, 0x11223344);
	end_guest(&g, before);
}

/* END halts; the next run starts over at op 0, with the script rewritten. */
static void test_end_restarts(void **state)
{
	struct tu_resources before;
	struct guest_op op = { .kind = GOP_WRITE, .len = 2, .addr = MMIO_ADDR,
			       .value = 0x1234, .count = 5 };
	struct recorder rec = { 0 };
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(guest_script_set(&g, &op, 1), 0);
	for (unsigned round = 1; round <= 3; round++) {
		assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
		assert_int_equal(exits, 5);
		assert_int_equal(g.script->done, round);
	}
	assert_int_equal(rec.n, 15);
	op.value = 0x4321;
	op.count = 2;
	assert_int_equal(guest_script_set(&g, &op, 1), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 2);
	assert_int_equal(rec.n, 17);
	ku_assert_access(&rec.log[16], KVM_EXIT_MMIO, MMIO_ADDR, 2, true, 0x4321);
	assert_int_equal(g.script->done, 4);
	/* An empty script just reaches END. */
	assert_int_equal(guest_script_set(&g, NULL, 0), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 0);
	assert_int_equal(g.script->done, 5);
	/* Resetting the vCPU mid-way is harmless: the script starts over. */
	assert_int_equal(guest_vm_reset_cpu(&g), 0);
	assert_int_equal(guest_run(&g, NULL, NULL, &exits), 0);
	assert_int_equal(g.script->done, 6);
	end_guest(&g, before);
}

/* GOP_HLT stops once and goes to the handler; the script then goes on. */
static void test_hlt_op(void **state)
{
	struct tu_resources before;
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE, .len = 1, .addr = MMIO_ADDR, .value = 1 },
		{ .kind = GOP_HLT },
		{ .kind = GOP_WRITE, .len = 1, .addr = MMIO_ADDR, .value = 2 },
	};
	struct recorder rec = { 0 };
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(guest_script_set(&g, ops, 3), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 2);
	assert_int_equal(rec.n, 3);
	ku_assert_access(&rec.log[0], KVM_EXIT_MMIO, MMIO_ADDR, 1, true, 1);
	assert_int_equal(rec.log[1].reason, KVM_EXIT_HLT);
	ku_assert_access(&rec.log[2], KVM_EXIT_MMIO, MMIO_ADDR, 1, true, 2);
	end_guest(&g, before);
}

/* WRITE_WAIT: one round trip per iteration; the next value is kept. */
static void test_write_wait(void **state)
{
	struct tu_resources before;
	struct guest_op ops[] = {
		{ .kind = GOP_WRITE_WAIT, .len = 4, .addr = MMIO_ADDR, .value = 10,
		  .count = 4, .arg = GUEST_DATA_GPA },
		{ .kind = GOP_OUT_WAIT, .len = 1, .addr = PORT, .value = 0xfe,
		  .count = 3, .arg = GUEST_DATA_GPA },
	};
	struct recorder rec = { .answer_gpa = GUEST_DATA_GPA };
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(guest_script_set(&g, ops, 2), 0);
	assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
	assert_int_equal(exits, 7);
	for (int i = 0; i < 4; i++)
		ku_assert_access(&rec.log[i], KVM_EXIT_MMIO, MMIO_ADDR, 4, true, 10 + i);
	/* 0xfe, 0xff, then 0x100 written as one byte: 0x00. */
	ku_assert_access(&rec.log[4], KVM_EXIT_IO, PORT, 1, true, 0xfe);
	ku_assert_access(&rec.log[5], KVM_EXIT_IO, PORT, 1, true, 0xff);
	ku_assert_access(&rec.log[6], KVM_EXIT_IO, PORT, 1, true, 0x00);
	assert_int_equal(g.script->ops[0].value, 14);
	assert_int_equal(g.script->ops[1].value, 0x101);
	ops[0].arg = GUEST_RAM_SIZE;	/* answer outside RAM */
	assert_int_equal(guest_script_set(&g, ops, 1), -EINVAL);
	end_guest(&g, before);
}

/* With an in-kernel irqchip END arrives through GUEST_DONE_PORT. */
static void test_irqchip_mode(void **state)
{
	struct tu_resources before;
	struct guest_op ops[] = {
		{ .kind = GOP_OUT, .len = 2, .addr = PORT, .value = 0x77 },
		{ .kind = GOP_HLT },
		{ .kind = GOP_WRITE, .len = 8, .addr = MMIO_ADDR, .value = 3 },
	};
	struct recorder rec = { 0 };
	struct guest_vm g;
	uint64_t exits = 0;

	(void)state;
	start_guest(&g, &before, GUEST_VM_IRQCHIP);
	assert_int_equal(guest_script_set(&g, ops, 3), 0);
	for (unsigned round = 1; round <= 2; round++) {
		assert_int_equal(guest_run(&g, recording_handler, &rec, &exits), 0);
		assert_int_equal(exits, 2);
		assert_int_equal(g.script->done, round);
	}
	assert_int_equal(rec.n, 6);
	ku_assert_access(&rec.log[0], KVM_EXIT_IO, PORT, 2, true, 0x77);
	ku_assert_access(&rec.log[1], KVM_EXIT_IO, GUEST_HLT_PORT, 1, true, 0);
	ku_assert_access(&rec.log[2], KVM_EXIT_MMIO, MMIO_ADDR, 8, true, 3);
	end_guest(&g, before);
}

/* A guest that triple-faults makes guest_run() return -EIO with a reason. */
static void test_shutdown_is_eio(void **state)
{
	struct tu_resources before;
	struct kvm_regs regs;
	struct guest_vm g;

	(void)state;
	start_guest(&g, &before, 0);
	assert_int_equal(ioctl(g.vcpu_fd, KVM_GET_REGS, &regs), 0);
	regs.rip = 1ull << 40;	/* unmapped: #PF without an IDT */
	assert_int_equal(ioctl(g.vcpu_fd, KVM_SET_REGS, &regs), 0);
	assert_int_equal(guest_run(&g, NULL, NULL, NULL), -EIO);
	print_message("# guest_run: %s\n", guest_last_error());
	assert_non_null(strstr(guest_last_error(), "rip"));
	end_guest(&g, before);
}

/* Bad arguments fail cleanly and leave nothing open. */
static void test_create_bad_flags(void **state)
{
	struct tu_resources before;
	struct guest_vm g;

	(void)state;
	before = tu_snapshot();
	assert_int_equal(guest_vm_create(&g, 0x80), -EINVAL);
	assert_int_equal(g.vm_fd, -1);
	end_guest(&g, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_round_trip),
		cmocka_unit_test(test_pio_widths),
		cmocka_unit_test(test_null_handler),
		cmocka_unit_test(test_write_mem),
		cmocka_unit_test(test_end_restarts),
		cmocka_unit_test(test_hlt_op),
		cmocka_unit_test(test_write_wait),
		cmocka_unit_test(test_irqchip_mode),
		cmocka_unit_test(test_shutdown_is_eio),
		cmocka_unit_test(test_create_bad_flags),
	};

	if (!tu_kvm_or_skip_all())
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
