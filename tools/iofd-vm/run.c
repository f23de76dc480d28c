/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vCPU loop of iofd-vm: KVM_RUN, let iofd serve what it claims, handle
 * the rest, count every exit by kind, and give up after a timeout or when
 * a device process dies. A guest that waits for an answer nobody writes
 * spins without exiting: a periodic SIGALRM with kvm_run->immediate_exit
 * gets the vCPU out to look at the clock and at the devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define TICK_MS 250

static volatile sig_atomic_t ticked;
static struct kvm_run *volatile watched_run;

static void on_tick(int sig)
{
	(void)sig;
	ticked = 1;
	if (watched_run)
		watched_run->immediate_exit = 1;
}

const char *vmm_exit_kind_name(enum vmm_exit_kind k)
{
	static const char *const names[VMM_NR_EXIT_KINDS] = {
		[VMM_EXIT_DOORBELL] = "doorbell (post-write ioeventfd)",
		[VMM_EXIT_REGION_READ] = "ioregion read (device replied)",
		[VMM_EXIT_REGION_WRITE] = "ioregion write (device acknowledged)",
		[VMM_EXIT_REGION_POSTED] = "ioregion posted write",
		[VMM_EXIT_UNCLAIMED_MMIO] = "unclaimed MMIO",
		[VMM_EXIT_UNCLAIMED_PIO] = "unclaimed PIO",
		[VMM_EXIT_FAILED] = "failed iofd access",
		[VMM_EXIT_HLT] = "HLT",
		[VMM_EXIT_OTHER] = "other",
	};

	return k < VMM_NR_EXIT_KINDS ? names[k] : "?";
}

static const struct vmm_region *region_at(const struct vmm *m, uint64_t addr,
					  bool pio)
{
	for (int i = 0; i < m->nregions; i++) {
		const struct vmm_region *r = &m->region[i];
		uint64_t span = r->size ? r->size : 8;

		if (!!(r->flags & IOFD_IOREGION_FLAG_PIO) == pio &&
		    addr >= r->gpa && addr - r->gpa < span)
			return r;
	}
	return NULL;
}

static bool doorbell_at(const struct vmm *m, uint64_t addr, bool pio)
{
	for (int i = 0; i < m->ndoorbells; i++)
		if (m->doorbell[i].gpa == addr && m->doorbell[i].pio == pio)
			return true;
	return false;
}

/* What iofd did with an access at addr, for the counters. */
static enum vmm_exit_kind classify(const struct vmm *m, uint64_t addr, bool pio,
				   bool is_write, int status)
{
	const struct vmm_region *r;

	if (status == IOFD_FAILED)
		return VMM_EXIT_FAILED;
	if (status != IOFD_SERVED)
		return pio ? VMM_EXIT_UNCLAIMED_PIO : VMM_EXIT_UNCLAIMED_MMIO;
	if (is_write && doorbell_at(m, addr, pio))
		return VMM_EXIT_DOORBELL;
	r = region_at(m, addr, pio);
	if (!r)
		return VMM_EXIT_OTHER;	/* served by something else of iofd */
	if (!is_write)
		return VMM_EXIT_REGION_READ;
	return r->flags & IOFD_IOREGION_FLAG_POSTED_WRITES ? VMM_EXIT_REGION_POSTED
							   : VMM_EXIT_REGION_WRITE;
}

/* An access nobody claimed: writes are dropped, reads see all-ones. */
static void unclaimed(struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	else if (run->exit_reason == KVM_EXIT_IO &&
		 run->io.direction == KVM_EXIT_IO_IN)
		memset((char *)run + run->io.data_offset, 0xff,
		       (size_t)run->io.size * run->io.count);
}

static int check_tick(struct vmm *m);

static int serve_access(struct vmm *m, struct kvm_run *run)
{
	bool pio = run->exit_reason == KVM_EXIT_IO;
	uint64_t addr = pio ? run->io.port : run->mmio.phys_addr;
	bool is_write = pio ? run->io.direction == KVM_EXIT_IO_OUT
			    : run->mmio.is_write;
	struct iofd_exit info;
	int status;

	/* A tick interrupts a wait for a device: go on unless it is time to stop. */
	do
		status = iofd_dispatch_exit(m->vcpu, &info);
	while ((status == IOFD_PENDING || status == -EINTR) &&
	       !(ticked && check_tick(m)));
	if (status == IOFD_PENDING || status == -EINTR)
		return -1;	/* check_tick() said why */
	if (status < 0) {
		snprintf(m->failure, sizeof(m->failure), "dispatch of the access "
			 "at 0x%llx: %s", (unsigned long long)addr, iofd_last_error());
		return -1;
	}
	m->exits[classify(m, addr, pio, is_write, status)]++;
	if (status == IOFD_FAILED) {
		snprintf(m->failure, sizeof(m->failure), "%s of %u bytes at 0x%llx "
			 "failed: %s", info.is_write ? "write" : "read", info.len,
			 (unsigned long long)info.addr, info.reason);
		return -1;
	}
	if (status == IOFD_NOT_CLAIMED)
		unclaimed(run);
	return 0;
}

static void start_ticks(struct kvm_run *run)
{
	struct sigaction sa = { .sa_handler = on_tick };
	struct itimerval every = { { 0, TICK_MS * 1000 }, { 0, TICK_MS * 1000 } };

	ticked = 0;
	watched_run = run;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns */
	setitimer(ITIMER_REAL, &every, NULL);
}

static void stop_ticks(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	watched_run = NULL;
	signal(SIGALRM, SIG_DFL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A device process that went away closes its handoff socket. */
static int dead_device(const struct vmm *m)
{
	for (int i = 0; i < m->ndev; i++) {
		struct pollfd p = { .fd = m->dev[i].sock, .events = POLLRDHUP };

		if (!m->dev[i].in_process && poll(&p, 1, 0) == 1 &&
		    (p.revents & (POLLHUP | POLLRDHUP)))
			return i;
	}
	return -1;
}

/* On each tick: is it time to give up? */
static int check_tick(struct vmm *m)
{
	int dead;

	ticked = 0;
	if (now() > m->deadline) {
		snprintf(m->failure, sizeof(m->failure), "timeout: the guest did "
			 "not reach the end of its script in %u s", m->timeout_s);
		return -1;
	}
	dead = dead_device(m);
	if (dead >= 0) {
		snprintf(m->failure, sizeof(m->failure), "device %d exited while "
			 "the guest was running", dead);
		return -1;
	}
	return 0;
}

/* One KVM_RUN and what followed: 1 at END, 0 to go on, -1 on failure. */
static int step(struct vmm *m, struct kvm_run *run, uint32_t done_before)
{
	if (ioctl(m->g.vcpu_fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR) {
			run->immediate_exit = 0;
			return 0;
		}
		snprintf(m->failure, sizeof(m->failure), "KVM_RUN: %s",
			 strerror(errno));
		return -1;
	}
	m->kvm_runs++;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		m->exits[VMM_EXIT_HLT]++;
		return m->g.script->done != done_before;	/* END, or GOP_HLT */
	case KVM_EXIT_MMIO:
	case KVM_EXIT_IO:
		return serve_access(m, run);
	default:
		m->exits[VMM_EXIT_OTHER]++;
		snprintf(m->failure, sizeof(m->failure), "unexpected exit reason "
			 "%u (the guest crashed?)", run->exit_reason);
		return -1;
	}
}

int vmm_run(struct vmm *m)
{
	struct kvm_run *run = m->g.run;
	uint32_t done_before = m->g.script->done;
	double start = now();
	int r = 0;

	m->deadline = start + m->timeout_s;
	start_ticks(run);
	while (r == 0) {
		if (ticked && check_tick(m))
			r = -1;
		else
			r = step(m, run, done_before);
	}
	stop_ticks();
	m->seconds = now() - start;
	return r < 0 ? -1 : 0;
}
