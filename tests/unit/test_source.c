/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The event-source contract: a source defined here, in the tests (a
 * counter, tests/common/counter_source.c), plugs into a VM's bus, its irq
 * epoll set and a GSI line, a device's epoll set and a vCPU's pending
 * slot, and the library's own code (the dispatch, the vCPU, the lines,
 * the device loop) serves it through its ops without knowing it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "counter_source.h"
#include "testutil.h"
#include "vcpu.h"

#define BASE 0xfee00000ull
#define GSI 9

/* The userspace controller's view: the last level per GSI. */
struct levels {
	int level[32];
	unsigned calls;
};

static void set_level(void *opaque, uint32_t gsi, int level)
{
	struct levels *l = opaque;

	if (gsi < 32)
		l->level[gsi] = level;
	l->calls++;
}

struct fixture {
	struct iofd_vm *vm;
	struct iofd_device *dev;
	struct counter_source c;
	struct levels levels;
	struct tu_resources before;
};

static int setup(void **state)
{
	static struct fixture f;
	struct iofd_irq_controller ctl = { .set_level = set_level };

	memset(&f, 0, sizeof(f));
	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm) || iofd_device_create(&f.dev) ||
	    iofd_irq_set_controller(f.vm, &ctl, &f.levels) ||
	    counter_init(&f.c, BASE, GSI))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iofd_device_destroy(f->dev);
	iofd_vm_destroy(f->vm);
	counter_fini(&f->c);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static int access32(struct iofd_vm *vm, uint64_t addr, bool is_write,
		    uint32_t *val)
{
	return iofd_access(vm, IOFD_BUS_MMIO, addr, 4, is_write, val, NULL);
}

/* On the bus: iofd_access() reaches the counter through its access op;
 * overlap rules hold against it; it leaves through unplug and release. */
static void a_source_of_the_tests_serves_bus_accesses(void **state)
{
	struct fixture *f = *state;
	struct counter_source other;
	uint32_t v = 0x1234;

	assert_int_equal(counter_plug_bus(f->vm, &f->c), 0);
	assert_int_equal(access32(f->vm, BASE, true, &v), IOFD_SERVED);
	v = 0x5678;
	assert_int_equal(access32(f->vm, BASE + 4, true, &v), IOFD_SERVED);
	assert_int_equal(f->c.writes, 2);
	assert_int_equal(f->c.last, 0x5678);
	v = 0;
	assert_int_equal(access32(f->vm, BASE, false, &v), IOFD_SERVED);
	assert_int_equal(v, 2);
	assert_int_equal(access32(f->vm, BASE + 8, true, &v), IOFD_NOT_CLAIMED);
	/* A second source over it is refused, as any overlapping range. */
	assert_int_equal(counter_init(&other, BASE + 4, GSI), 0);
	assert_int_equal(counter_plug_bus(f->vm, &other), -EEXIST);
	counter_fini(&other);
	/* A deferred write without a vCPU is served by the serve op. */
	f->c.pend_next = true;
	v = 7;
	assert_int_equal(access32(f->vm, BASE, true, &v), IOFD_SERVED);
	assert_int_equal(f->c.served_outside, 1);
	assert_int_equal(f->c.writes, 3);
	assert_int_equal(counter_unplug_bus(f->vm, &f->c), 0);
	assert_int_equal(f->c.unplugged, 1);
	assert_int_equal(f->c.released, 1);
	assert_int_equal(access32(f->vm, BASE, true, &v), IOFD_NOT_CLAIMED);
	assert_int_equal(f->c.writes, 3);
}

/* In the irq set and on a line: iofd_irq_process() calls its event op
 * (which raises the GSI), iofd_irq_eoi() its ack op. */
static void a_source_of_the_tests_is_an_interrupt_source(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	assert_int_equal(counter_plug_irq(f->vm, &f->c), 0);
	assert_int_equal(iofd_irq_process(f->vm), 0);
	assert_int_equal(write(f->c.irq_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(iofd_irq_process(f->vm), 1);
	assert_int_equal(f->c.irq_events, 1);
	assert_int_equal(f->levels.level[GSI], 1);
	assert_int_equal(iofd_irq_eoi(f->vm, GSI), 0);
	assert_int_equal(f->c.acks, 1);
	assert_int_equal(f->levels.level[GSI], 0);
	/* Another GSI's acknowledgement is not the counter's. */
	assert_int_equal(iofd_irq_eoi(f->vm, GSI + 1), 0);
	assert_int_equal(f->c.acks, 1);
	counter_unplug_irq(f->vm, &f->c);
	assert_int_equal(write(f->c.irq_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(iofd_irq_process(f->vm), 0);
	assert_int_equal(iofd_irq_eoi(f->vm, GSI), 0);
	assert_int_equal(f->c.irq_events, 1);
	assert_int_equal(f->c.acks, 1);
}

/* In a device's epoll set: iofd_device_process() calls its event op. */
static void a_source_of_the_tests_is_a_device_source(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	assert_int_equal(counter_plug_device(f->dev, &f->c), 0);
	assert_int_equal(iofd_device_process(f->dev), 0);
	assert_int_equal(write(f->c.dev_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(iofd_device_wait(f->dev, 1000), 1);
	assert_int_equal(f->c.dev_events, 1);
	assert_int_equal(iofd_device_process(f->dev), 0);
	/* Leaving the device is its unplug and release, the device the
	 * owner. */
	assert_int_equal(f->c.unplugged, 0);
	counter_unplug_device(f->dev, &f->c);
	assert_int_equal(f->c.unplugged, 1);
	assert_int_equal(f->c.released, 1);
	assert_ptr_equal(f->c.released_by, f->dev);
	assert_int_equal(write(f->c.dev_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(iofd_device_process(f->dev), 0);
	assert_int_equal(f->c.dev_events, 1);
}

/* iofd_device_run() waits as long as a source is in the set, whatever it
 * is: here the counter alone, which serves three events in a row (each
 * signals the next) and stops the run at the third. */
static void a_source_of_the_tests_keeps_a_device_running(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	assert_int_equal(counter_plug_device(f->dev, &f->c), 0);
	f->c.dev_chain = 3;
	assert_int_equal(write(f->c.dev_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(iofd_device_run(f->dev), 0);
	assert_int_equal(f->c.dev_events, 3);
	/* Out of the set, nothing is left to wait for. */
	counter_unplug_device(f->dev, &f->c);
	assert_int_equal(iofd_device_run(f->dev), 0);
	assert_int_equal(f->c.dev_events, 3);
}

/* A source with a peer (a region, whose VMM can leave) ends the run when
 * its peer has gone, even with the counter (no peer) still in the set. */
static void a_peer_leaving_ends_the_run_beside_a_source_of_the_tests(void **state)
{
	struct fixture *f = *state;
	struct iofd_device_region reg = { .size = 8 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	reg.cmd_fd = reg.resp_fd = sv[1];
	assert_int_equal(counter_plug_device(f->dev, &f->c), 0);
	assert_int_equal(iofd_device_add_region(f->dev, &reg), 0);
	close(sv[1]);
	close(sv[0]);		/* the VMM leaves */
	assert_int_equal(iofd_device_run(f->dev), 0);
	assert_int_equal(iofd_device_region_status(f->dev, 0), -ENOTCONN);
	assert_int_equal(f->c.dev_events, 0);
	assert_int_equal(f->c.unplugged, 0);
}

/* iofd_device_destroy() lets go of every source it holds through its ops:
 * the counter is unplugged, then released, with the device as owner, and
 * keeps its own fds. */
static void a_device_lets_go_of_a_source_of_the_tests_through_its_ops(void **state)
{
	struct fixture *f = *state;
	const void *dev = f->dev;

	assert_int_equal(counter_plug_device(f->dev, &f->c), 0);
	assert_int_equal(counter_plug_device(f->dev, &f->c), -EEXIST);
	iofd_device_destroy(f->dev);
	f->dev = NULL;
	assert_int_equal(f->c.unplugged, 1);
	assert_int_equal(f->c.released, 1);
	assert_false(f->c.released_before_unplug);
	assert_ptr_equal(f->c.unplugged_by, dev);
	assert_ptr_equal(f->c.released_by, dev);
	assert_true(fcntl(f->c.dev_efd, F_GETFD) >= 0);
}

/* A vCPU over a kvm_run of the library's own (no KVM needed): the exit
 * dispatch sees an MMIO exit as after KVM_RUN. */
static struct iofd_vcpu *fake_vcpu(struct iofd_vm *vm, struct kvm_run *run)
{
	struct iofd_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	assert_non_null(vcpu);
	vcpu->vm = vm;
	vcpu->fd = -1;
	vcpu->run = run;
	return vcpu;
}

static void mmio_exit(struct kvm_run *run, uint64_t addr, uint32_t value)
{
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, &value, 4);
}

/* In the vCPU's pending slot: iofd_dispatch_exit() leaves the write
 * pending, resumes it on the next call, and iofd_vcpu_destroy() cancels
 * one still pending. */
static void a_source_of_the_tests_keeps_an_access_pending(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct iofd_vcpu *vcpu = fake_vcpu(f->vm, run);
	struct iofd_vcpu_stats st;
	struct iofd_exit info;

	assert_int_equal(counter_plug_bus(f->vm, &f->c), 0);
	mmio_exit(run, BASE, 0xaa);
	assert_int_equal(iofd_dispatch_exit(vcpu, &info), IOFD_SERVED);
	assert_int_equal(f->c.writes, 1);
	f->c.pend_next = true;
	mmio_exit(run, BASE, 0xbb);
	assert_int_equal(iofd_dispatch_exit(vcpu, &info), IOFD_PENDING);
	assert_int_equal(info.status, IOFD_PENDING);
	assert_ptr_equal(vcpu->pending.src, &f->c.src);
	assert_int_equal(f->c.writes, 1);
	/* The next dispatch resumes it before looking at kvm_run. */
	run->exit_reason = KVM_EXIT_HLT;
	assert_int_equal(iofd_dispatch_exit(vcpu, &info), IOFD_SERVED);
	assert_int_equal(f->c.resumed, 1);
	assert_int_equal(f->c.writes, 2);
	assert_int_equal(f->c.last, 0xbb);
	assert_null(vcpu->pending.src);
	assert_int_equal(iofd_vcpu_get_stats(vcpu, &st), 0);
	assert_int_equal(st.served, 2);
	/* One still pending when the vCPU goes is cancelled. */
	f->c.pend_next = true;
	mmio_exit(run, BASE, 0xcc);
	assert_int_equal(iofd_dispatch_exit(vcpu, &info), IOFD_PENDING);
	iofd_vcpu_destroy(vcpu);
	assert_int_equal(f->c.cancelled, 1);
	assert_int_equal(f->c.writes, 2);
	free(run);
	assert_int_equal(counter_unplug_bus(f->vm, &f->c), 0);
}

/* All four at once, one object. */
static void one_source_everywhere_at_once(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;
	uint32_t v = 3;

	assert_int_equal(counter_plug_bus(f->vm, &f->c), 0);
	assert_int_equal(counter_plug_irq(f->vm, &f->c), 0);
	assert_int_equal(counter_plug_device(f->dev, &f->c), 0);
	assert_int_equal(access32(f->vm, BASE, true, &v), IOFD_SERVED);
	assert_int_equal(write(f->c.irq_efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(f->c.dev_efd, &one, sizeof(one)), sizeof(one));
	/* Either set's process call serves what is ready on its fd; the
	 * other fd's event was taken with it, the counts say so. */
	assert_int_equal(iofd_irq_process(f->vm), 2);
	assert_int_equal(iofd_device_process(f->dev), 0);
	assert_int_equal(f->c.irq_events, 1);
	assert_int_equal(f->c.dev_events, 1);
	assert_int_equal(iofd_irq_eoi(f->vm, GSI), 0);
	assert_int_equal(f->c.acks, 1);
	counter_unplug_device(f->dev, &f->c);
	counter_unplug_irq(f->vm, &f->c);
	assert_int_equal(counter_unplug_bus(f->vm, &f->c), 0);
	assert_int_equal(iofd_quiesce(f->vm), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_source_of_the_tests_serves_bus_accesses,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_source_of_the_tests_is_an_interrupt_source,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_source_of_the_tests_is_a_device_source,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_source_of_the_tests_keeps_a_device_running,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_peer_leaving_ends_the_run_beside_a_source_of_the_tests,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_device_lets_go_of_a_source_of_the_tests_through_its_ops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_source_of_the_tests_keeps_an_access_pending,
						setup, teardown),
		cmocka_unit_test_setup_teardown(one_source_everywhere_at_once,
						setup, teardown),
	};

	tu_warm_up();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
