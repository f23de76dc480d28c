/* SPDX-License-Identifier: BSD-3-Clause */
/* The guest side of a row: create, script, run, and a watchdog. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "guest.h"

int bench_guest_open(struct bench_guest *bg, enum bench_bus bus, bool with_iofd,
		     unsigned guest_flags, uint32_t iofd_flags, char *why,
		     size_t len)
{
	struct iofd_vm_options opts = { .kvm_vm_fd = -1, .flags = iofd_flags };
	int err;

	memset(bg, 0, sizeof(*bg));
	bg->bus = bus;
	err = guest_vm_create(&bg->g, guest_flags);
	if (err) {
		snprintf(why, len, "guest_vm_create: %s", guest_last_error());
		return err;
	}
	bg->answer = (volatile uint64_t *)(bg->g.ram + BENCH_ANSWER_GPA);
	if (!with_iofd)
		return 0;
	opts.kvm_vm_fd = bg->g.vm_fd;
	err = iofd_vm_create(&opts, &bg->iofd);
	if (!err)
		err = iofd_vcpu_adopt(bg->iofd, bg->g.vcpu_fd, bg->g.run, &bg->vcpu);
	if (err) {
		snprintf(why, len, "adopting the guest into iofd: %s", iofd_last_error());
		bench_guest_close(bg);
	}
	return err;
}

void bench_guest_close(struct bench_guest *bg)
{
	iofd_vcpu_destroy(bg->vcpu);
	iofd_vm_destroy(bg->iofd);
	guest_vm_destroy(&bg->g);
	bg->vcpu = NULL;
	bg->iofd = NULL;
}

int bench_guest_doorbells(struct bench_guest *bg, uint64_t n)
{
	struct guest_op op = {
		.kind = bg->bus == BENCH_PIO ? GOP_OUT : GOP_WRITE,
		.len = BENCH_DOORBELL_LEN,
		.addr = bg->bus == BENCH_PIO ? BENCH_DOORBELL_PORT : BENCH_DOORBELL_MMIO,
		.value = BENCH_DOORBELL_VALUE,
		.count = n,
	};

	return guest_script_set(&bg->g, &op, 1);
}

int bench_guest_roundtrips(struct bench_guest *bg, uint64_t n, uint64_t first)
{
	struct guest_op op = {
		.kind = bg->bus == BENCH_PIO ? GOP_OUT_WAIT : GOP_WRITE_WAIT,
		.len = BENCH_DOORBELL_LEN,
		.addr = bg->bus == BENCH_PIO ? BENCH_DOORBELL_PORT : BENCH_DOORBELL_MMIO,
		.value = first,
		.count = n,
		.arg = BENCH_ANSWER_GPA,
	};

	__atomic_store_n(bg->answer, 0, __ATOMIC_RELEASE);
	return guest_script_set(&bg->g, &op, 1);
}

int bench_guest_reads(struct bench_guest *bg, uint64_t n)
{
	struct guest_op *ops = calloc(n, sizeof(*ops));
	int err;

	if (!ops)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		ops[i] = (struct guest_op){
			.kind = bg->bus == BENCH_PIO ? GOP_IN : GOP_READ,
			.len = BENCH_DOORBELL_LEN,
			.addr = bg->bus == BENCH_PIO ? BENCH_DOORBELL_PORT :
						      BENCH_DOORBELL_MMIO,
		};
	err = guest_script_set(&bg->g, ops, n);
	free(ops);
	return err;
}

uint64_t bench_guest_wrong_reads(const struct bench_guest *bg, uint64_t n,
				 uint64_t want)
{
	uint64_t wrong = 0;

	for (uint64_t i = 0; i < n; i++)
		wrong += bg->g.script->ops[i].value != want;
	return wrong;
}

bool bench_exit_is_read(const struct bench_guest *bg, const struct kvm_run *run)
{
	if (bg->bus == BENCH_MMIO)
		return run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write &&
		       run->mmio.phys_addr == BENCH_DOORBELL_MMIO &&
		       run->mmio.len == BENCH_DOORBELL_LEN;
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN &&
	       run->io.port == BENCH_DOORBELL_PORT &&
	       run->io.size == BENCH_DOORBELL_LEN && run->io.count == 1;
}

void bench_exit_read_value(struct kvm_run *run, uint64_t value)
{
	if (run->exit_reason == KVM_EXIT_MMIO)
		memcpy(run->mmio.data, &value, run->mmio.len);
	else
		memcpy((char *)run + run->io.data_offset, &value, run->io.size);
}

bool bench_exit_is_doorbell(const struct bench_guest *bg, const struct kvm_run *run,
			    uint64_t *value)
{
	uint64_t v = 0;

	if (bg->bus == BENCH_MMIO) {
		if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write ||
		    run->mmio.phys_addr != BENCH_DOORBELL_MMIO ||
		    run->mmio.len != BENCH_DOORBELL_LEN)
			return false;
		memcpy(&v, run->mmio.data, BENCH_DOORBELL_LEN);
	} else {
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.port != BENCH_DOORBELL_PORT ||
		    run->io.size != BENCH_DOORBELL_LEN || run->io.count != 1)
			return false;
		memcpy(&v, (const char *)run + run->io.data_offset, BENCH_DOORBELL_LEN);
	}
	*value = v;
	return true;
}

void bench_exit_default(struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	else if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN)
		memset((char *)run + run->io.data_offset, 0,
		       (size_t)run->io.size * run->io.count);
}

static int run_failed(int err, char *why, size_t len, const char *what)
{
	if (bench_watchdog_fired())
		snprintf(why, len, "%s: the guest did not finish in time "
			 "(a lost answer?)", what);
	else
		snprintf(why, len, "%s: %s", what, strerror(-err));
	return err;
}

int bench_guest_run(struct bench_guest *bg, guest_exit_fn fn, void *opaque,
		    uint64_t *exits, char *why, size_t len)
{
	int err = guest_run(&bg->g, fn, opaque, exits);

	if (err > 0)
		return -EPROTO;	/* the handler stopped it; its reason is in `why` */
	if (err == -EINTR || bench_watchdog_fired())
		return run_failed(err, why, len, "guest_run");
	if (err < 0)
		snprintf(why, len, "guest_run: %s", guest_last_error());
	return err;
}

/* Handle what iofd_vcpu_run() handed back; 1 at END, 0 to go on. */
static int iofd_returned(struct bench_guest *bg, uint32_t done_at_start,
			 uint64_t *unclaimed, char *why, size_t len)
{
	struct kvm_run *run = bg->g.run;

	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		return __atomic_load_n(&bg->g.script->done, __ATOMIC_ACQUIRE) !=
		       done_at_start;
	case KVM_EXIT_MMIO:
	case KVM_EXIT_IO:
		(*unclaimed)++;
		bench_exit_default(run);
		return 0;
	default:
		snprintf(why, len, "unexpected exit reason %u", run->exit_reason);
		return -EIO;
	}
}

int bench_guest_run_iofd(struct bench_guest *bg, uint64_t *exits,
			 uint64_t *unclaimed, char *why, size_t len)
{
	uint32_t done_at_start = __atomic_load_n(&bg->g.script->done, __ATOMIC_ACQUIRE);
	struct iofd_vcpu_stats before, after;
	uint64_t halts = 0;
	int st, ret = 0;

	*unclaimed = 0;
	iofd_vcpu_get_stats(bg->vcpu, &before);
	while (!ret) {
		st = iofd_vcpu_run(bg->vcpu, NULL);
		if (st < 0) {
			ret = run_failed(st, why, len, "iofd_vcpu_run");
			break;
		}
		if (st != IOFD_NOT_CLAIMED) {
			snprintf(why, len, "iofd_vcpu_run: status %d: %s", st,
				 iofd_last_error());
			ret = -EIO;
			break;
		}
		if (bg->g.run->exit_reason == KVM_EXIT_HLT)
			halts++;
		ret = iofd_returned(bg, done_at_start, unclaimed, why, len);
	}
	iofd_vcpu_get_stats(bg->vcpu, &after);
	/* Dispatch saw every exit; the runner's HLTs are not the script's. */
	*exits = after.exits - before.exits - halts;
	return ret < 0 ? ret : 0;
}

/* ---- watchdog ---------------------------------------------------------- */

static struct kvm_run *volatile watch_run;
static volatile sig_atomic_t watch_fired;
static timer_t watch_timer;
static bool watch_ready;

static void watchdog_signal(int sig)
{
	(void)sig;
	watch_fired = 1;
	if (watch_run)
		watch_run->immediate_exit = 1;
}

static int watchdog_init(void)
{
	struct sigaction sa;
	struct sigevent sev;

	if (watch_ready)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_signal;	/* no SA_RESTART: KVM_RUN returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &watch_timer) < 0)
		return -errno;
	watch_ready = true;
	return 0;
}

int bench_watchdog_arm(struct bench_guest *bg, double seconds)
{
	struct itimerspec its;
	int err = watchdog_init();

	if (err)
		return err;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (seconds <= 0) {
		timer_settime(watch_timer, 0, &its, NULL);	/* disarm */
		watch_run = NULL;
		if (bg && bg->g.run)
			bg->g.run->immediate_exit = 0;
		return 0;
	}
	watch_fired = 0;
	watch_run = bg->g.run;
	return timer_settime(watch_timer, 0, &its, NULL) < 0 ? -errno : 0;
}

bool bench_watchdog_fired(void)
{
	return watch_fired != 0;
}
