/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-vm's device watch without a guest: the --device-fault spec, how a
 * failed access is completed for the guest (bus error), the verdict line,
 * and injecting and noticing faults on a real child process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/kvm.h>
#include <iofd/kvm-unmerged.h>

#include "device_watch.h"

#define RUN_SIZE 4096

static void parse_specs(void **state)
{
	enum dw_action a;
	double at;
	static const char *const bad[] = {
		"", "kil", "kills", "kill@", "kill@x", "kill@-1", "stop@1s",
		"@3", "pause@1", "kill@1e9",
	};

	(void)state;
	assert_int_equal(device_watch_parse("kill", &a, &at), 0);
	assert_int_equal(a, DW_KILL);
	assert_true(at == 0);
	assert_int_equal(device_watch_parse("stop@2.5", &a, &at), 0);
	assert_int_equal(a, DW_STOP);
	assert_true(at == 2.5);
	assert_int_equal(device_watch_parse("kill@0", &a, &at), 0);
	assert_true(at == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(device_watch_parse(bad[i], &a, &at), -EINVAL);
	assert_int_equal(device_watch_parse(NULL, &a, &at), -EINVAL);
}

static void describe_states(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(device_watch_describe(CLD_KILLED, 9, buf, sizeof(buf)),
			    "killed by signal 9");
	assert_string_equal(device_watch_describe(CLD_DUMPED, 11, buf, sizeof(buf)),
			    "killed by signal 11 (core dumped)");
	assert_string_equal(device_watch_describe(CLD_EXITED, 3, buf, sizeof(buf)),
			    "exited with status 3");
	assert_string_equal(device_watch_describe(CLD_STOPPED, 19, buf, sizeof(buf)),
			    "stopped by signal 19");
}

static struct kvm_run *new_run(uint32_t reason)
{
	struct kvm_run *run = malloc(RUN_SIZE);

	assert_non_null(run);
	memset(run, 0x5a, RUN_SIZE);
	run->exit_reason = reason;
	return run;
}

static void bus_error_fills_reads_only(void **state)
{
	struct kvm_run *run = new_run(KVM_EXIT_MMIO);
	uint8_t *io;

	(void)state;
	run->mmio.is_write = 0;
	device_watch_bus_error(run);
	for (size_t i = 0; i < sizeof(run->mmio.data); i++)
		assert_int_equal(run->mmio.data[i], 0xff);
	/* a write is dropped: nothing changes */
	memset(run->mmio.data, 0x11, sizeof(run->mmio.data));
	run->mmio.is_write = 1;
	device_watch_bus_error(run);
	assert_int_equal(run->mmio.data[0], 0x11);
	free(run);

	/* port input: exactly size * count bytes at data_offset */
	run = new_run(KVM_EXIT_IO);
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.size = 2;
	run->io.count = 3;
	run->io.data_offset = 1024;
	device_watch_bus_error(run);
	io = (uint8_t *)run + 1024;
	for (int i = 0; i < 6; i++)
		assert_int_equal(io[i], 0xff);
	assert_int_equal(io[-1], 0x5a);
	assert_int_equal(io[6], 0x5a);
	run->io.direction = KVM_EXIT_IO_OUT;
	memset(io, 0x22, 6);
	device_watch_bus_error(run);
	assert_int_equal(io[0], 0x22);
	free(run);

	/* the kernel's failure exit was completed by the kernel */
	run = new_run(KVM_EXIT_IOREGIONFD_FAILURE);
	device_watch_bus_error(run);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)&run->mmio)[i], 0x5a);
	free(run);
}

static void verdict_counts_failures(void **state)
{
	struct device_watch w;
	struct iofd_exit info = { .status = IOFD_FAILED, .addr = 0xfe00001c,
				  .len = 4, .is_write = false };
	char buf[256];

	(void)state;
	device_watch_init(&w);
	device_watch_start(&w, 0, "/usr/bin/nvme-device");
	assert_false(device_watch_verdict(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	strcpy(info.reason, "no reply within 1000 ms");
	device_watch_failed_access(&w, &info);
	info.addr = 0xfe000014;
	info.is_write = true;
	strcpy(info.reason, "later");
	device_watch_failed_access(&w, &info);
	assert_true(device_watch_verdict(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "device nvme-device: 2 register accesses failed "
			    "(first: read of 4 bytes at 0xfe00001c: no reply "
			    "within 1000 ms)");
	device_watch_destroy(&w);
}

static pid_t child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* Tick until the watch sees a fault (at most ~5 s). */
static bool tick_until_fault(struct device_watch *w)
{
	for (int i = 0; i < 500; i++) {
		if (device_watch_tick(w, 1.0 + i * 0.01))
			return true;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return false;
}

static void planned_kill_is_seen_not_reaped(void **state)
{
	struct device_watch w;
	pid_t pid = child();
	char buf[256];
	int status;

	(void)state;
	device_watch_init(&w);
	device_watch_start(&w, pid, "dev");
	device_watch_plan(&w, DW_KILL, 5.0);
	assert_false(device_watch_tick(&w, 4.0));	/* not due yet */
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	device_watch_plan(&w, DW_KILL, 0.5);
	assert_true(tick_until_fault(&w));
	assert_false(device_watch_tick(&w, 9.0));	/* seen once */
	assert_true(device_watch_verdict(&w, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "device dev: killed by signal 9 at t="));
	assert_non_null(strstr(buf, "; 0 register accesses failed"));
	assert_false(device_watch_release(&w));		/* dead, not stopped */
	/* the watch looked without reaping: the child is still ours to wait */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	device_watch_destroy(&w);
}

static void stop_is_seen_and_killed_at_release(void **state)
{
	struct device_watch w;
	pid_t pid = child();
	char buf[256];
	int status;

	(void)state;
	device_watch_init(&w);
	device_watch_start(&w, pid, "dev");
	assert_int_equal(device_watch_inject(&w, DW_STOP), 0);
	assert_true(tick_until_fault(&w));
	assert_true(device_watch_verdict(&w, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "stopped by signal 19 at t="));
	assert_true(device_watch_release(&w));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	device_watch_destroy(&w);
}

static void nothing_to_inject_without_a_process(void **state)
{
	struct device_watch w;

	(void)state;
	device_watch_init(&w);
	assert_int_equal(device_watch_inject(&w, DW_KILL), -ESRCH);
	device_watch_plan(&w, DW_STOP, 0);
	assert_false(device_watch_tick(&w, 1.0));
	assert_false(device_watch_release(&w));
	device_watch_destroy(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_specs),
		cmocka_unit_test(describe_states),
		cmocka_unit_test(bus_error_fills_reads_only),
		cmocka_unit_test(verdict_counts_failures),
		cmocka_unit_test(planned_kill_is_seen_not_reaped),
		cmocka_unit_test(stop_is_seen_and_killed_at_release),
		cmocka_unit_test(nothing_to_inject_without_a_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
