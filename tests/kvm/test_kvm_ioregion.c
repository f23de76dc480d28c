/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd with a real guest. The VMM (the test) makes the VM and vCPU
 * with plain ioctls; iofd adopts both and serves the guest's accesses on
 * the vCPU thread; the device is a thread or a forked process
 * (tests/common/tdev.h). Covers round trips on MMIO and PIO, posted
 * writes in order, doorbells, every misbehaving peer, kicks and signals
 * during a wait (a wait for the reply runs to its end; an access kicked
 * before its command went out is pending, made by the next run without
 * being sent twice, or handed back when the region went away), and a
 * guest vCPU sharing one fd with two other threads.
 *
 * On a kernel with the ioregionfd series iofd registers the regions in
 * the kernel, which serves them without exits; the same cases then check
 * the kernel's behaviour through iofd (no exits, the failure exit mapped to
 * IOFD_FAILED). Where the kernel documents a difference, a case says so:
 * its failure reasons name the errno only; a failed access is complete
 * (a read gets all ones, a write is dropped), so the guest goes on and a
 * later access shows the poison; a wait the kernel holds is not iofd's
 * PENDING access; iofd_access() cannot reach a region the kernel owns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "kvmutil.h"
#include "tdev.h"

#define REGION		(GUEST_MMIO_BASE + 0x10000)
#define REGION_SIZE	0x1000
#define PORTS		0x700
#define POSTED		IOFD_IOREGION_FLAG_POSTED_WRITES
#define DEASSIGN	IOFD_IOREGION_FLAG_DEASSIGN

struct peer_case;

struct fixture {
	struct tu_resources before;
	bool kvm;
	struct guest_vm g;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	struct tdev dev;
	bool dev_running;
	bool kernel;			/* the kernel serves the regions */
	int vmm_fd;
	/* exit accounting */
	uint64_t served, unclaimed, failed;
	struct iofd_exit last;		/* of the last non-SERVED dispatch */
	uint64_t vmm_answer;		/* the VMM's answer to unclaimed reads */
	const struct peer_case *peer;	/* a table-driven test's case */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Does the kernel serve this VM's ioregions (iofd offloads them)? */
static bool kernel_serves(struct iofd_vm *vm)
{
	struct iofd_caps caps;

	if (iofd_query_caps(vm, &caps))
		return false;
	return caps.flags & IOFD_CAP_IOREGIONFD_OFFLOAD;
}

/* *state comes in as the test's case (NULL for most) and goes out as the
 * fixture. */
static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.peer = *state;
	f.vmm_fd = -1;
	*state = &f;
	if (!tu_kvm_available())
		return 0;
	f.kvm = true;
	tu_warm_up();
	f.before = tu_snapshot();
	if (ku_guest_adopted(&f.g, 0, &f.vm, &f.vcpu))
		return -1;
	f.kernel = kernel_serves(f.vm);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f->kvm)
		return 0;
	iofd_vcpu_destroy(f->vcpu);
	iofd_vm_destroy(f->vm);
	if (f->dev_running)
		tdev_stop(&f->dev);
	if (f->vmm_fd >= 0)
		close(f->vmm_fd);
	guest_vm_destroy(&f->g);
	tdev_wait_threads(f->before.threads);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static void start_device(struct fixture *f, int type, enum tdev_mode mode,
			 bool process)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	f->vmm_fd = sv[0];
	f->dev.fd_cmd = f->dev.fd_resp = sv[1];
	f->dev.mode = mode;
	assert_int_equal(tdev_start(&f->dev, process), 0);
	f->dev_running = true;
}

static int set_region(struct fixture *f, uint64_t paddr, uint64_t size,
		      uint32_t flags)
{
	struct iofd_ioregion r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.guest_paddr = paddr;
	r.memory_size = size;
	r.user_data = 0x5eed;
	r.read_fd = r.write_fd = f->vmm_fd;
	r.flags = flags;
	ret = iofd_set_ioregion(f->vm, &r);
	if (!ret && !(flags & DEASSIGN))
		assert_int_equal(iofd_ioregion_path(f->vm, &r),
				 f->kernel ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE);
	return ret;
}

/* A device (as start_device()) serving REGION, registered without flags. */
static void start_region(struct fixture *f, int type, enum tdev_mode mode,
			 bool process)
{
	start_device(f, type, mode, process);
	assert_int_equal(set_region(f, REGION, REGION_SIZE, 0), 0);
}

static struct guest_op op(uint32_t kind, uint64_t addr, uint32_t len, uint64_t v)
{
	struct guest_op o = { .kind = kind, .len = len, .addr = addr, .value = v };

	return o;
}

static uint64_t mask(uint32_t len)
{
	return len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
}

/* The VMM's handling of an exit iofd left to it. */
static void vmm_handle(struct fixture *f, struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memcpy(run->mmio.data, &f->vmm_answer, run->mmio.len);
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN)
		memcpy((char *)run + run->io.data_offset, &f->vmm_answer, run->io.size);
}

/* guest_run() handler: iofd first; a failure stops the run. */
static int dispatch(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct fixture *f = opaque;
	int st;

	(void)g;
	do
		st = iofd_dispatch_exit(f->vcpu, &f->last);
	while (st == IOFD_PENDING);
	if (st == IOFD_SERVED) {
		f->served++;
		return 0;
	}
	if (st == IOFD_NOT_CLAIMED) {
		f->unclaimed++;
		vmm_handle(f, run);
		return 0;
	}
	f->failed++;
	return 1;
}

/* n accesses were the regions': iofd served n exits, or the kernel served
 * them without any. */
static void assert_served(const struct fixture *f, uint64_t n)
{
	assert_int_equal(f->served, f->kernel ? 0 : n);
}

static void run_script(struct fixture *f, const struct guest_op *ops, size_t n)
{
	assert_int_equal(guest_script_set(&f->g, ops, n), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	f->served = f->unclaimed = f->failed = 0;
	assert_int_equal(guest_run(&f->g, dispatch, f, NULL), 0);
}

/* ---- round trips ---- */

static void roundtrip(void **state, bool process)
{
	struct fixture *f = *state;
	const uint64_t v = 0x1122334455667788ull;
	struct guest_op ops[14];
	size_t n = 0;

	KU_REQUIRE_GUEST(f->kvm);
	start_region(f, SOCK_STREAM, TDEV_NORMAL, process);
	assert_int_equal(set_region(f, PORTS, 0x10, IOFD_IOREGION_FLAG_PIO), 0);
	for (uint32_t w = 1; w <= 8; w *= 2) {
		ops[n++] = op(GOP_WRITE, REGION + 0x10 * w + 1, w, v);	/* unaligned */
		ops[n++] = op(GOP_READ, REGION + 0x10 * w + 1, w, 0);
	}
	for (uint32_t w = 1; w <= 4; w *= 2) {
		ops[n++] = op(GOP_OUT, PORTS + w, w, ~v);
		ops[n++] = op(GOP_IN, PORTS + w, w, 0);
	}
	run_script(f, ops, n);
	assert_served(f, n);
	assert_int_equal(f->unclaimed, 0);
	for (size_t i = 0; i < 8; i += 2)
		assert_int_equal(f->g.script->ops[i + 1].value, v & mask(ops[i].len));
	assert_int_equal(f->g.script->ops[9].value, ~v & 0xff);
	assert_int_equal(f->g.script->ops[11].value, ~v & 0xffff);
	assert_int_equal(f->g.script->ops[13].value, ~v & 0xffffffff);
	if (f->kernel) {
		/* the kernel owns the wire: iofd_access() leaves it alone */
		uint64_t x = 0;

		assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, REGION, 4, false,
					     &x, NULL), IOFD_NOT_CLAIMED);
	}
}

static void roundtrip_thread(void **state) { roundtrip(state, false); }
static void roundtrip_process(void **state) { roundtrip(state, true); }

/* 1,000 posted writes and a read: all delivered in order, one reply. */
static void posted_writes_then_read_in_order(void **state)
{
	struct fixture *f = *state;
	static struct guest_op ops[1001];

	KU_REQUIRE_GUEST(f->kvm);
	start_device(f, SOCK_STREAM, TDEV_NORMAL, false);
	assert_int_equal(set_region(f, REGION, REGION_SIZE, POSTED), 0);
	for (uint64_t i = 0; i < 1000; i++)
		ops[i] = op(GOP_WRITE, REGION + 8 * (i % 32), 8, i + 1);
	ops[1000] = op(GOP_READ, REGION + 8 * (999 % 32), 8, 0);
	run_script(f, ops, 1001);
	assert_served(f, 1001);
	assert_int_equal(f->g.script->ops[1000].value, 1000);
	assert_int_equal(tdev_stop(&f->dev), 0);
	f->dev_running = false;
	assert_int_equal(f->dev.nlog, 1001);
	assert_int_equal(f->dev.replies, 1);
	assert_int_equal(f->dev.malformed, 0);
	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(f->dev.log[i].data, i + 1);
		assert_int_equal(f->dev.log[i].offset, 8 * (i % 32));
		assert_int_equal(f->dev.log[i].info & IOFD_IOREGIONFD_INFO_RESP, 0);
		assert_int_equal(f->dev.log[i].user_data, 0x5eed);
	}
	assert_int_equal(f->dev.log[1000].cmd, IOFD_IOREGIONFD_CMD_READ);
}

#define EXIT_WRITES	1000

/* EXIT_WRITES posted writes through a new REGION of f's VM: all reach the
 * device in order; returns the KVM exits they cost, per write. */
static double exits_per_posted_write(struct fixture *f)
{
	static struct guest_op ops[EXIT_WRITES];
	uint64_t exits = 0;

	start_device(f, SOCK_STREAM, TDEV_NORMAL, false);
	assert_int_equal(set_region(f, REGION, REGION_SIZE, POSTED), 0);
	for (uint64_t i = 0; i < EXIT_WRITES; i++)
		ops[i] = op(GOP_WRITE, REGION + 8 * (i % 32), 8, i + 1);
	assert_int_equal(guest_script_set(&f->g, ops, EXIT_WRITES), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	assert_int_equal(guest_run(&f->g, dispatch, f, &exits), 0);
	assert_int_equal(tdev_stop(&f->dev), 0);
	f->dev_running = false;
	assert_int_equal(f->dev.nlog, EXIT_WRITES);
	for (uint64_t i = 0; i < EXIT_WRITES; i++)
		assert_int_equal(f->dev.log[i].data, i + 1);
	return (double)exits / EXIT_WRITES;
}

/*
 * Posted writes cost no exit where the kernel serves the region and one
 * each where iofd does: the fixture's VM takes the kernel's path where
 * there is one, a second VM with IOFD_VM_NO_OFFLOAD always iofd's.
 */
static void exits_per_posted_write_both_paths(void **state)
{
	struct fixture *f = *state, u;
	double k, y;

	KU_REQUIRE_GUEST(f->kvm);
	k = exits_per_posted_write(f);
	memset(&u, 0, sizeof(u));
	u.vmm_fd = -1;
	assert_int_equal(ku_guest_adopted(&u.g, IOFD_VM_NO_OFFLOAD, &u.vm, &u.vcpu), 0);
	u.kernel = kernel_serves(u.vm);
	assert_false(u.kernel);			/* NO_OFFLOAD forces userspace */
	y = exits_per_posted_write(&u);
	iofd_vcpu_destroy(u.vcpu);
	iofd_vm_destroy(u.vm);
	close(u.vmm_fd);
	guest_vm_destroy(&u.g);
	if (f->kernel)
		print_message("# ioregionfd exits per posted write: kernel %.2f, "
			      "userspace %.2f\n", k, y);
	else
		print_message("# ioregionfd exits per posted write: kernel n/a "
			      "(no in-kernel ioregionfd here), userspace %.2f\n", y);
	assert_true(y == 1.0);
	assert_true(k == (f->kernel ? 0.0 : 1.0));
}

static void doorbell(void **state)
{
	struct fixture *f = *state;
	struct guest_op ops[6];

	KU_REQUIRE_GUEST(f->kvm);
	start_device(f, SOCK_SEQPACKET, TDEV_NORMAL, false);
	assert_int_equal(set_region(f, REGION, 0, POSTED), 0);
	for (uint32_t i = 0; i < 4; i++)
		ops[i] = op(GOP_WRITE, REGION, 1u << i, 0xa0 + i);
	ops[4] = op(GOP_WRITE, REGION + 4, 4, 1);	/* not at guest_paddr */
	ops[5] = op(GOP_READ, REGION, 4, 0);		/* doorbells take no reads */
	f->vmm_answer = 0x77;
	run_script(f, ops, 6);
	assert_served(f, 4);
	assert_int_equal(f->unclaimed, 2);
	assert_int_equal(f->g.script->ops[5].value, 0x77);
	assert_int_equal(tdev_stop(&f->dev), 0);
	f->dev_running = false;
	assert_int_equal(f->dev.nlog, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(f->dev.log[i].offset, 0);
		/* the info byte: size exponent i, resp (bit 4) clear */
		assert_int_equal(f->dev.log[i].info, i);
		assert_int_equal(f->dev.log[i].data, 0xa0 + i);
	}
}

/* ---- misbehaving peers ---- */

/* Wall-clock backstop for an access that fails at once. */
#define POISONED_BOUND_MS	1000

/* The fd is poisoned: the next access fails at once with err. In
 * userspace the failed exit is still there and is retried; the kernel
 * completed it, so the guest makes the access again. */
static void access_is_poisoned(struct fixture *f, const struct guest_op *o,
			       int err, const char *why)
{
	size_t sent = tdev_count(&f->dev);
	double t0 = now_ms();

	if (f->kernel) {
		assert_int_equal(guest_script_set(&f->g, o, 1), 0);
		assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
		assert_int_equal(guest_run(&f->g, dispatch, f, NULL), 1);
	} else {
		assert_int_equal(iofd_dispatch_exit(f->vcpu, &f->last), IOFD_FAILED);
	}
	/* Nothing was sent, so nothing was waited for (the failed access's
	 * own command may reach a device that was slow to read it: at most
	 * one); the time bound is only a backstop, since a loaded machine
	 * may not run this thread for a while. */
	assert_true(tdev_count(&f->dev) <= (sent > 1 ? sent : 1));
	assert_true(now_ms() - t0 < POISONED_BOUND_MS);
	assert_int_equal(f->last.err, err);
	assert_int_equal(f->last.addr, o->addr);
	/* the kernel's poisoned failure repeats its reason, without saying so */
	if (!f->kernel)
		assert_non_null(strstr(f->last.reason, "poisoned"));
	assert_non_null(strstr(f->last.reason, why));
}

/*
 * The guest reads (or writes) REGION+0x18; the access must fail with err
 * and a reason containing why (kwhy where the kernel serves it: its exit
 * names the errno only), within max_ms; then the fd is poisoned.
 */
static void guest_access_fails(struct fixture *f, bool is_write, int err,
			       const char *why, const char *kwhy, double max_ms)
{
	struct guest_op o = op(is_write ? GOP_WRITE : GOP_READ, REGION + 0x18, 4,
			       0xabcd);
	double t0, t;

	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	t0 = now_ms();
	assert_int_equal(guest_run(&f->g, dispatch, f, NULL), 1);
	t = now_ms() - t0;
	print_message("# failed after %.1f ms (bound %.0f ms): err %d, \"%s\"\n",
		      t, max_ms, f->last.err, f->last.reason);
	assert_true(t < max_ms);
	assert_int_equal(f->failed, 1);
	assert_int_equal(f->last.status, IOFD_FAILED);
	assert_int_equal(f->last.err, err);
	assert_int_equal(f->last.bus, IOFD_BUS_MMIO);
	assert_int_equal(f->last.addr, REGION + 0x18);
	assert_int_equal(f->last.len, 4);
	assert_int_equal(f->last.is_write, is_write);
	if (f->kernel && kwhy)
		why = kwhy;
	assert_non_null(strstr(f->last.reason, why));
	access_is_poisoned(f, &o, err, why);
}

/* A device that fails the guest's access, and what the access gets. */
struct peer_case {
	const char *name;
	int type;		/* of the socket pair */
	enum tdev_mode mode;
	bool process;		/* the device runs in a child process */
	bool is_write;		/* the guest's access */
	uint32_t timeout_ms;	/* the VM's ioregion timeout; 0: default */
	int err;		/* what the access fails with */
	const char *why;	/* in its reason */
	const char *kwhy;	/* in the kernel's, if it words it otherwise */
	double min_ms;		/* it takes at least that long */
};

static const struct peer_case peer_cases[] = {
	{ "peer_closes_thread", SOCK_STREAM, TDEV_CLOSE, false, false, 0,
	  -EPIPE, "closed", NULL, 0 },
	{ "peer_closes_process", SOCK_STREAM, TDEV_CLOSE, true, true, 0,
	  -EPIPE, "closed", NULL, 0 },
	{ "peer_dies_mid_request", SOCK_STREAM, TDEV_DIE, true, false, 0,
	  -EPIPE, "closed", NULL, 0 },
	{ "peer_replies_7_bytes", SOCK_STREAM, TDEV_SHORT, false, false, 200,
	  -EPROTO, "short reply: 7 of 32", "short reply", 0 },
	{ "peer_replies_7_byte_message", SOCK_SEQPACKET, TDEV_SHORT, true, true, 0,
	  -EPROTO, "7-byte message", "short reply", 0 },
	{ "peer_replies_garbage", SOCK_STREAM, TDEV_GARBAGE, true, false, 0,
	  -EBADMSG, "malformed reply", NULL, 0 },
	{ "peer_never_replies", SOCK_STREAM, TDEV_SILENT, false, false, 150,
	  -ETIMEDOUT, "no reply within 150 ms", NULL, 145 },
};

/* Margin over a case's own timeout for its wall-clock bound (the emulated
 * host is slow, not that slow). */
#define BOUND_MARGIN_MS	1000

#define NR_PEER_CASES (sizeof(peer_cases) / sizeof(peer_cases[0]))

/* One case of peer_cases: the access fails as the case says. */
static void peer_fails_the_access(void **state)
{
	struct fixture *f = *state;
	const struct peer_case *c = f->peer;
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	if (c->timeout_ms)
		iofd_vm_set_ioregion_timeout(f->vm, c->timeout_ms);
	start_region(f, c->type, c->mode, c->process);
	t0 = now_ms();
	guest_access_fails(f, c->is_write, c->err, c->why, c->kwhy,
			   c->timeout_ms + BOUND_MARGIN_MS);
	assert_true(now_ms() - t0 >= c->min_ms);
}

/* A reply that comes after the timeout is never taken as an answer. */
static void peer_replies_late(void **state)
{
	struct fixture *f = *state;
	struct guest_op o[2] = { op(GOP_WRITE, REGION + 0x18, 4, 0xabcd),
				 op(GOP_READ, REGION + 0x18, 4, 0) };

	KU_REQUIRE_GUEST(f->kvm);
	iofd_vm_set_ioregion_timeout(f->vm, 100);
	f->dev.delay_ms = 300;
	start_region(f, SOCK_STREAM, TDEV_LATE, true);
	guest_access_fails(f, true, -ETIMEDOUT, "no reply within 100 ms", NULL,
			   100 + BOUND_MARGIN_MS);
	tdev_sleep_ms(400);		/* the late reply is waiting in the fd */
	access_is_poisoned(f, &o[0], -ETIMEDOUT, "no reply within 100 ms");
	/* registered again on the same fds: the stale reply is dropped and
	 * the guest's read gets the device's real answer */
	assert_int_equal(set_region(f, REGION, REGION_SIZE, DEASSIGN), 0);
	assert_int_equal(set_region(f, REGION, REGION_SIZE, 0), 0);
	if (f->kernel) {
		/* the failed write was dropped: the guest writes again */
		run_script(f, o, 2);
	} else {
		/* the failed exit is still there: it is served now */
		assert_int_equal(iofd_dispatch_exit(f->vcpu, &f->last), IOFD_SERVED);
		assert_int_equal(guest_run(&f->g, dispatch, f, NULL), 0); /* END */
		run_script(f, &o[1], 1);
	}
	assert_int_equal(f->failed, 0);
	assert_int_equal(f->g.script->ops[f->kernel ? 1 : 0].value, 0xabcd);
}

/* ---- kicks and signals ---- */

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

struct kick {
	pthread_t vcpu_thread;
	struct kvm_run *run;
	unsigned int after_ms;
	bool set_immediate_exit;
	const struct tdev *dev;		/* if set: kick once it has a command */
};

static void *kick_main(void *arg)
{
	struct kick *k = arg;

	while (k->dev && tdev_count(k->dev) < 1)
		tdev_sleep_ms(1);
	tdev_sleep_ms(k->after_ms);
	if (k->set_immediate_exit)
		__atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(k->vcpu_thread, SIGUSR1);
	return NULL;
}

static void install_usr1(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */

	assert_int_equal(sigaction(SIGUSR1, &sa, old), 0);
	usr1_seen = 0;
}

/* A case about iofd's own userspace mechanism (why: what the kernel's
 * path lacks); main() does not run it where the kernel serves. */
#define USERSPACE_ONLY(f, why) assert_false((f)->kernel)

struct holder {
	struct iofd_vm *vm;
	uint64_t addr;
	int status;
	struct iofd_exit info;
	double ms;
};

static void *hold_main(void *arg)
{
	struct holder *h = arg;
	uint64_t v = 0;
	double t0 = now_ms();

	h->status = iofd_access(h->vm, IOFD_BUS_MMIO, h->addr, 4, false, &v, &h->info);
	h->ms = now_ms() - t0;
	return NULL;
}

/* Another thread's access holds the fd (its command out, its reply due
 * after the device's delay_ms): start it and wait until the device has
 * its command. */
static void hold_fd(struct fixture *f, struct holder *h, pthread_t *t,
		    uint64_t addr)
{
	size_t base = tdev_count(&f->dev);

	h->vm = f->vm;
	h->addr = addr;
	assert_int_equal(pthread_create(t, NULL, hold_main, h), 0);
	while (tdev_count(&f->dev) < base + 1)
		tdev_sleep_ms(1);
}

/*
 * Leave the script's first access pending with nothing sent: another
 * access holds the fd, and a kick ends the vCPU's wait for its turn.
 * immediate_exit stays set: a pending access is made whatever it says.
 */
static void pend_access(struct fixture *f, struct holder *h, pthread_t *t,
			struct iofd_exit *info)
{
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	hold_fd(f, h, t, REGION + 0x400);
	assert_int_equal(ioctl(f->g.vcpu_fd, KVM_RUN, 0), 0);
	f->g.run->immediate_exit = 1;
	assert_int_equal(iofd_dispatch_exit(f->vcpu, info), IOFD_PENDING);
	assert_non_null(strstr(info->reason, "before the command was sent"));
	assert_int_equal(tdev_count(&f->dev), 1);	/* the holder's only */
}

/* Run with iofd_vcpu_run() until END (an unclaimed HLT). */
static int run_to_end(struct fixture *f, struct iofd_exit *info)
{
	int st;

	for (;;) {
		st = iofd_vcpu_run(f->vcpu, info);
		if (st != IOFD_NOT_CLAIMED)
			return st;
		if (f->g.run->exit_reason == KVM_EXIT_HLT)
			return 0;
		vmm_handle(f, f->g.run);
	}
}

/* The usual kick (immediate_exit, then a signal) during the wait for the
 * reply does not end it: the access completes, its command sent once,
 * and only then does the run return -EINTR, on both paths. */
static void kick_during_wait(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x40, 8, 0);
	struct kick k = { pthread_self(), NULL, 60, true, NULL };
	struct iofd_exit info;
	struct sigaction old;
	pthread_t kt;
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	install_usr1(&old);
	f->dev.delay_ms = 400;
	memcpy(f->dev.mem + 0x40, &(uint64_t){ 0x0123456789abcdefull }, 8);
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	k.run = f->g.run;
	assert_int_equal(pthread_create(&kt, NULL, kick_main, &k), 0);
	t0 = now_ms();
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	assert_true(now_ms() - t0 >= 300);
	pthread_join(kt, NULL);
	assert_int_equal(usr1_seen, 1);
	if (!f->kernel)		/* the kernel's wait is not iofd's */
		assert_non_null(strstr(info.reason, "the access completed"));
	assert_int_equal(tdev_count(&f->dev), 1);
	/* still kicked: the next run returns at once */
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	f->g.run->immediate_exit = 0;
	assert_int_equal(run_to_end(f, &info), 0);
	assert_int_equal(f->g.script->ops[0].value, 0x0123456789abcdefull);
	assert_int_equal(tdev_count(&f->dev), 1);	/* never sent twice */
	sigaction(SIGUSR1, &old, NULL);
}

/* Only signals the vCPU thread does not block are seen. */
static void blocked_signal_does_not_interrupt(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_WRITE, REGION + 0x50, 2, 0x4321);
	struct kick k = { pthread_self(), NULL, 50, false, NULL };
	struct iofd_exit info;
	struct sigaction old;
	sigset_t usr1, prev;
	pthread_t kt;
	struct timespec zero = { 0, 0 };

	KU_REQUIRE_GUEST(f->kvm);
	install_usr1(&old);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &prev);
	f->dev.delay_ms = 250;
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	k.run = f->g.run;
	assert_int_equal(pthread_create(&kt, NULL, kick_main, &k), 0);
	assert_int_equal(run_to_end(f, &info), 0);	/* not interrupted */
	pthread_join(kt, NULL);
	assert_int_equal(sigtimedwait(&usr1, NULL, &zero), SIGUSR1); /* pending */
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	assert_int_equal(usr1_seen, 0);
	assert_int_equal(tdev_count(&f->dev), 1);
	sigaction(SIGUSR1, &old, NULL);
}

/* A plain signal (no immediate_exit) during the wait for the reply: the
 * write completes, then the run returns -EINTR; the next run goes on. */
static void unblocked_signal_interrupts(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_WRITE, REGION + 0x58, 4, 0x600d);
	struct kick k = { pthread_self(), NULL, 50, false, NULL };
	struct iofd_exit info;
	struct sigaction old;
	pthread_t kt;
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	install_usr1(&old);
	f->dev.delay_ms = 250;
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	k.run = f->g.run;
	assert_int_equal(pthread_create(&kt, NULL, kick_main, &k), 0);
	t0 = now_ms();
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	assert_true(now_ms() - t0 >= 200);
	pthread_join(kt, NULL);
	assert_int_equal(usr1_seen, 1);
	assert_int_equal(tdev_count(&f->dev), 1);
	assert_int_equal(f->dev.mem[0x58], 0x0d);
	assert_int_equal(run_to_end(f, &info), 0);
	assert_int_equal(tdev_count(&f->dev), 1);
	sigaction(SIGUSR1, &old, NULL);
}

/* A kick that landed before the access started does not stop a command
 * that can go out at once: the access completes, and the kick stays for
 * the next KVM_RUN, which completes the exit and returns at once. */
static void kick_before_wait_is_not_lost(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x48, 4, 0);
	struct iofd_exit info;
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "the access never exits, so no dispatch to kick");
	f->dev.delay_ms = 200;
	memcpy(f->dev.mem + 0x48, &(uint32_t){ 0xfeedbeef }, 4);
	start_region(f, SOCK_STREAM, TDEV_LATE, true);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	assert_int_equal(ioctl(f->g.vcpu_fd, KVM_RUN, 0), 0);
	assert_int_equal(f->g.run->exit_reason, KVM_EXIT_MMIO);
	f->g.run->immediate_exit = 1;		/* the kick */
	t0 = now_ms();
	assert_int_equal(iofd_dispatch_exit(f->vcpu, &info), IOFD_SERVED);
	assert_true(now_ms() - t0 >= 150);
	assert_int_equal(*(uint32_t *)f->g.run->mmio.data, 0xfeedbeef);
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	f->g.run->immediate_exit = 0;
	assert_int_equal(run_to_end(f, &info), 0);
	assert_int_equal(f->g.script->ops[0].value, 0xfeedbeef);
}

/* Deassigned while pending (nothing sent): the access becomes the VMM's
 * ordinary exit. */
static void deassigned_while_pending(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x60, 4, 0);
	struct holder h;
	struct iofd_exit info;
	pthread_t ht;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	f->dev.delay_ms = 200;
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	pend_access(f, &h, &ht, &info);
	assert_int_equal(set_region(f, REGION, REGION_SIZE, DEASSIGN), 0);
	assert_int_equal(iofd_dispatch_exit(f->vcpu, &info), IOFD_NOT_CLAIMED);
	assert_int_equal(f->g.run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(f->g.run->mmio.phys_addr, REGION + 0x60);
	f->g.run->immediate_exit = 0;
	f->vmm_answer = 0x99;
	vmm_handle(f, f->g.run);
	assert_int_equal(run_to_end(f, &info), 0);
	assert_int_equal(f->g.script->ops[0].value, 0x99);
	pthread_join(ht, NULL);
	assert_int_equal(h.status, IOFD_SERVED);	/* the holder's own reply */
	assert_int_equal(tdev_count(&f->dev), 1);
}

/* A pending access (nothing sent) is made by the next dispatch whatever
 * the kick says: it waits for its turn, then for its reply. */
static void pending_access_is_made_despite_the_kick(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x68, 4, 0);
	struct holder h;
	struct iofd_exit info;
	pthread_t ht;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	f->dev.delay_ms = 200;
	memcpy(f->dev.mem + 0x68, &(uint32_t){ 0x5eed5eed }, 4);
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	pend_access(f, &h, &ht, &info);
	assert_int_equal(iofd_dispatch_exit(f->vcpu, &info), IOFD_SERVED);
	assert_int_equal(*(uint32_t *)f->g.run->mmio.data, 0x5eed5eed);
	pthread_join(ht, NULL);
	assert_int_equal(h.status, IOFD_SERVED);
	assert_int_equal(tdev_count(&f->dev), 2);
	f->g.run->immediate_exit = 0;
	assert_int_equal(run_to_end(f, &info), 0);
	assert_int_equal(f->g.script->ops[0].value, 0x5eed5eed);
	assert_int_equal(tdev_count(&f->dev), 2);
}

/* A vCPU destroyed with an access pending lets go of everything; nothing
 * was sent, so nothing is owed and the fd pair stays usable. */
static void vcpu_destroyed_while_pending(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x70, 4, 0);
	struct holder h;
	struct iofd_exit info;
	pthread_t ht;
	uint64_t v = 0;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	f->dev.delay_ms = 100;
	memcpy(f->dev.mem + 0x70, &(uint32_t){ 0x70707070 }, 4);
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	pend_access(f, &h, &ht, &info);
	iofd_vcpu_destroy(f->vcpu);
	f->vcpu = NULL;
	pthread_join(ht, NULL);
	assert_int_equal(h.status, IOFD_SERVED);
	assert_int_equal(iofd_access(f->vm, IOFD_BUS_MMIO, REGION + 0x70, 4, false,
				     &v, &info), IOFD_SERVED);
	assert_int_equal(v, 0x70707070);
	assert_int_equal(tdev_count(&f->dev), 2);
	/* the region and its fds go with the VM (teardown counts them) */
}

/* A vCPU waiting for its turn on a busy fd can be kicked; nothing was
 * sent, so nothing is owed, and the next run makes the access. */
static void kick_while_waiting_for_the_fd(void **state)
{
	struct fixture *f = *state;
	struct guest_op o = op(GOP_READ, REGION + 0x80, 4, 0);
	struct holder h;
	struct kick k = { pthread_self(), NULL, 50, true, NULL };
	struct iofd_exit info;
	struct sigaction old;
	pthread_t ht, kt;
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	install_usr1(&old);
	iofd_vm_set_ioregion_timeout(f->vm, 300);
	start_region(f, SOCK_STREAM, TDEV_SILENT, false);
	hold_fd(f, &h, &ht, REGION + 0x88);
	assert_int_equal(guest_script_set(&f->g, &o, 1), 0);
	assert_int_equal(guest_vm_reset_cpu(&f->g), 0);
	k.run = f->g.run;
	assert_int_equal(pthread_create(&kt, NULL, kick_main, &k), 0);
	t0 = now_ms();
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), -EINTR);
	assert_true(now_ms() - t0 < 250);
	pthread_join(kt, NULL);
	assert_int_equal(info.status, IOFD_PENDING);
	assert_non_null(strstr(info.reason, "before the command was sent"));
	pthread_join(ht, NULL);
	assert_int_equal(h.status, IOFD_FAILED);
	assert_int_equal(h.info.err, -ETIMEDOUT);
	assert_int_equal(tdev_count(&f->dev), 1);	/* the vCPU sent nothing */
	f->g.run->immediate_exit = 0;
	assert_int_equal(iofd_vcpu_run(f->vcpu, &info), IOFD_FAILED);
	assert_non_null(strstr(info.reason, "poisoned"));
	assert_int_equal(info.addr, REGION + 0x80);
	assert_int_equal(tdev_count(&f->dev), 1);
	sigaction(SIGUSR1, &old, NULL);
}

/* The wait for the turn has no deadline of its own, as in the kernel: an
 * access behind a slow but healthy holder waits for it, then is served;
 * nothing is poisoned. */
static void wait_for_the_fd_follows_the_holder(void **state)
{
	struct fixture *f = *state;
	struct holder a, b;
	pthread_t at, bt;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	iofd_vm_set_ioregion_timeout(f->vm, 1000);
	f->dev.delay_ms = 500;
	start_region(f, SOCK_STREAM, TDEV_LATE, false);
	hold_fd(f, &a, &at, REGION + 0x90);
	iofd_vm_set_ioregion_timeout(f->vm, 200);
	b.vm = f->vm;
	b.addr = REGION + 0x98;
	assert_int_equal(pthread_create(&bt, NULL, hold_main, &b), 0);
	pthread_join(at, NULL);
	pthread_join(bt, NULL);
	print_message("# waited %.0f ms behind a %.0f ms holder\n", b.ms, a.ms);
	assert_int_equal(a.status, IOFD_SERVED);
	assert_int_equal(b.status, IOFD_SERVED);
	assert_true(b.ms >= 300);
	assert_int_equal(tdev_count(&f->dev), 2);
}

/* ---- one fd, a guest vCPU and two more threads ---- */

struct sharer {
	struct iofd_vm *vm;
	uint64_t base;
	uint64_t wrong, done;
};

static void *share_main(void *arg)
{
	struct sharer *s = arg;

	for (int i = 0; i < 600; i++) {
		uint64_t v = (s->base << 40) | (uint64_t)i, back = 0;
		uint64_t addr = REGION + s->base + 8 * (i % 16);

		if (iofd_access(s->vm, IOFD_BUS_MMIO, addr, 8, true, &v, NULL) !=
		    IOFD_SERVED ||
		    iofd_access(s->vm, IOFD_BUS_MMIO, addr, 8, false, &back, NULL) !=
		    IOFD_SERVED || back != v)
			s->wrong++;
		s->done++;
	}
	return NULL;
}

/*
 * The guest runner has one vCPU per VM; the two other "vCPUs" here are
 * threads calling iofd_access() on the same VM, region and socket at the
 * same time. Every reply must reach the access it answers.
 */
static void guest_and_two_threads_share_one_fd(void **state)
{
	struct fixture *f = *state;
	static struct guest_op ops[1200];
	struct sharer s[2] = { { NULL, 0x400, 0, 0 }, { NULL, 0x800, 0, 0 } };
	pthread_t t[2];
	double t0;

	KU_REQUIRE_GUEST(f->kvm);
	USERSPACE_ONLY(f, "iofd_access() cannot share the kernel's fd lock");
	start_region(f, SOCK_STREAM, TDEV_NORMAL, false);
	for (int i = 0; i < 600; i++) {
		ops[2 * i] = op(GOP_WRITE, REGION + 8 * (i % 16), 8,
				0x6000000000000000ull | (uint64_t)i);
		ops[2 * i + 1] = op(GOP_READ, REGION + 8 * (i % 16), 8, 0);
	}
	for (int i = 0; i < 2; i++) {
		s[i].vm = f->vm;
		assert_int_equal(pthread_create(&t[i], NULL, share_main, &s[i]), 0);
	}
	t0 = now_ms();
	run_script(f, ops, 1200);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	print_message("# guest 600 + 2 threads x 600 write/read pairs on one "
		      "socket: %.0f ms\n", now_ms() - t0);
	assert_int_equal(f->served, 1200);
	for (int i = 0; i < 600; i++)
		assert_int_equal(f->g.script->ops[2 * i + 1].value,
				 0x6000000000000000ull | (uint64_t)i);
	assert_int_equal(s[0].wrong + s[1].wrong, 0);
	assert_int_equal(s[0].done + s[1].done, 1200);
	assert_int_equal(tdev_stop(&f->dev), 0);
	f->dev_running = false;
	assert_int_equal(f->dev.malformed, 0);
}

/* The cases at the end of main()'s list that only iofd's path has. */
#define USERSPACE_CASES	7

/* Does this host's kernel serve ioregions (iofd's probe)? */
static bool host_kernel_serves(void)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct iofd_vm *vm;
	bool yes;

	if (iofd_vm_create(&o, &vm))
		return false;
	yes = kernel_serves(vm);
	iofd_vm_destroy(vm);
	return yes;
}

/* A test of the peer_cases table, under the case's own name. */
#define PEER(i) { peer_cases[i].name, peer_fails_the_access, setup, teardown, \
		  (void *)&peer_cases[i] }

int main(void)
{
	_Static_assert(NR_PEER_CASES == 7, "every peer case is listed in main()");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(roundtrip_process, setup, teardown),
		cmocka_unit_test_setup_teardown(posted_writes_then_read_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(doorbell, setup, teardown),
		cmocka_unit_test_setup_teardown(exits_per_posted_write_both_paths, setup, teardown),
		PEER(0), PEER(1), PEER(2), PEER(3), PEER(4), PEER(5), PEER(6),
		cmocka_unit_test_setup_teardown(peer_replies_late, setup, teardown),
		cmocka_unit_test_setup_teardown(kick_during_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(blocked_signal_does_not_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(unblocked_signal_interrupts, setup, teardown),
		/* iofd's userspace path only: last, see USERSPACE_CASES */
		cmocka_unit_test_setup_teardown(kick_before_wait_is_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(deassigned_while_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_access_is_made_despite_the_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(vcpu_destroyed_while_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(kick_while_waiting_for_the_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_for_the_fd_follows_the_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_and_two_threads_share_one_fd, setup, teardown),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (!tu_kvm_or_skip_all())
		return 0;
	if (host_kernel_serves()) {
		/* TAP on stdout: a skipped case would print "not ok # SKIP",
		 * which counts as a failure, so these are left out instead. */
		printf("# the kernel serves ioregions here; not run, being about "
		       "iofd's userspace path: kick_before_wait_is_not_lost (the "
		       "access never exits), deassigned_while_pending, pending_"
		       "access_is_made_despite_the_kick, vcpu_destroyed_while_"
		       "pending, kick_while_waiting_for_the_fd, wait_for_the_fd_"
		       "follows_the_holder, guest_and_two_threads_share_one_fd "
		       "(iofd_access() cannot share the kernel's fd lock; the "
		       "kernel selftest has these cases)\n");
		n -= USERSPACE_CASES;
	}
	return _cmocka_run_group_tests("kvm_ioregion", tests, n, NULL, NULL);
}
