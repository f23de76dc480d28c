/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential test of ioeventfd against the host kernel.
 *
 * Two guest VMs: on one, every operation goes to the kernel through
 * KVM_IOEVENTFD; the other is adopted by iofd with offload off, so iofd
 * serves everything itself. Each side has its own set of eventfds, twin for
 * twin: every eventfd object on the kernel side has one on the iofd side,
 * and every fd-table change (new eventfd, dup, pipe, close, a new eventfd
 * reusing a closed number) is made on both sides at numbers reserved for
 * it, so the same fd number "kind" is always seen by both.
 *
 * Phase 1: one long random sequence of assigns and deassigns over a few
 * addresses on all three buses, every len (valid and not), the kernel's
 * flag bits 0-4 plus bits both reject, datamatch values (wider than len
 * too) and good, bad, closed, duplicated and non-eventfd fds. Return codes
 * must agree at every step.
 * Phase 2, on two fresh VMs: rounds of more such operations, then the same
 * random guest writes (widths 1/2/4/8, values that hit datamatches and
 * values that do not) in both VMs; every twin pair of eventfds must count
 * the same.
 *
 * Phase 2 registers at addresses 16 bytes apart, so no two registrations
 * with different start addresses overlap. The kernel keeps each bus as an
 * array sorted by a comparison that orders len-0 entries by their start and
 * the others by their end; with overlapping entries at different start
 * addresses that order is not consistent, and its binary search can miss a
 * registered, matching ioeventfd (three entries suffice: len 0 at A, len 0
 * at A+2, len 1 at A+1; a 1-byte write at A+1 then exits to userspace
 * instead of signalling). iofd signals per the documented rule; with
 * offload on, it serves the exit the kernel let through
 * (kernel_bus_lookup_miss_is_served below). Phase 1 keeps the overlapping
 * addresses: registration results do not depend on that lookup.
 *
 * The seed is printed; IOFD_CONFORMANCE_SEED replays another one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

#include "conformance.h"
#include "kvmutil.h"

#define PHASE1_OPS	10000
#define ROUNDS		40
#define OPS_PER_ROUND	100
#define WRITES_PER_ROUND 128
#define NR_SLOTS	8	/* caller fd numbers the operations name */
#define MAX_OBJS	200	/* eventfd objects over the whole run */
#define HIST		64	/* recent successful assigns, for deassigns */
#define DEFAULT_SEED	0x10fdc0f0ull

enum slot_kind { SLOT_CLOSED, SLOT_EVENTFD, SLOT_PIPE };

/* fd selectors other than a slot index */
enum { FD_MINUS1 = -1, FD_BEYOND = -2, FD_INTMAX = -3, FD_VMFD = -4 };

#define DM	KVM_IOEVENTFD_FLAG_DATAMATCH
#define PIO	KVM_IOEVENTFD_FLAG_PIO
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN
#define CCW	KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY
#define FAST	(1u << 4)	/* in the kernel's mask, no macro, no effect */

#define MMIO_BASE	(GUEST_MMIO_BASE + 0x1000)
#define PORT_BASE	0x6000u

/* Phase 1: overlapping neighbours. Phase 2: 16 bytes apart (see above). */
static const uint64_t addr_offsets[] = { 0, 1, 2, 4, 8 };
static const uint64_t spaced_offsets[] = { 0x100, 0x110, 0x120, 0x130 };
/* Phase 2 guest writes: at a registration's address, or just beside it. */
static const uint64_t write_offsets[] = { 0, 0, 0, 0, 1, 2, 4, 8 };
static const uint64_t wrap_addrs[] = { UINT64_MAX - 3, UINT64_MAX - 1, UINT64_MAX };
static const uint64_t dm_pool[] = {
	0, 1, 2, 0xa5, 0x1a5, 0xbeef, 0x12345678, 0x100000000ull,
	0x0123456789abcdefull, UINT64_MAX,
};
static const uint32_t bad_lens[] = { 3, 5, 6, 7, 9, 16, 0x80000000u, UINT32_MAX };
static const uint32_t bad_bits[] = { 1u << 6, 1u << 7, 1u << 12, 1u << 29 };

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct conf {
	struct tu_resources before;
	struct rlimit old_limit;
	struct guest_vm g[2];		/* g[KSIDE] kernel, g[USIDE] iofd */
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	int slot_base[2], obj_base[2];	/* reserved fd numbers per side */
	enum slot_kind slot[NR_SLOTS];
	int nobjs;
	bool spaced;			/* phase 2 address layout */
	uint64_t rng;
	/* results */
	uint64_t ops, signals, writes;
	struct cf_mismatches mm;
	uint64_t layout_errors;		/* reserved fd numbers taken by others */
	double kernel_s;
	/* recent successful assigns (fd as a selector) */
	struct kvm_ioeventfd hist[HIST];
	int hist_fd[HIST];
	int nhist;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the mirrored fd tables ---------------------------------------------- */

static int fd_for(const struct conf *c, enum cf_side s, int sel)
{
	switch (sel) {
	case FD_MINUS1: return -1;
	case FD_BEYOND: return 1 << 20;
	case FD_INTMAX: return INT_MAX;
	case FD_VMFD: return c->g[s].vm_fd;	/* open, not an eventfd */
	default: return c->slot_base[s] + sel;
	}
}

/* Move fd to number `to` (replacing what was there) and close fd. */
static void place(int fd, int to)
{
	assert_true(fd >= 0);
	assert_int_equal(dup3(fd, to, O_CLOEXEC), to);
	close(fd);
}

/* A new eventfd object in slot s on both sides (reusing the number). */
static bool fd_new(struct conf *c, int s)
{
	int o = c->nobjs;

	if (o == MAX_OBJS)
		return false;
	for (int side = 0; side < 2; side++) {
		int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		/* a private dup per object, to read its count at any time */
		assert_int_equal(dup3(e, c->obj_base[side] + o, O_CLOEXEC),
				 c->obj_base[side] + o);
		place(e, c->slot_base[side] + s);
	}
	c->nobjs++;
	c->slot[s] = SLOT_EVENTFD;
	return true;
}

static void fd_dup(struct conf *c, int from, int to)
{
	if (c->slot[from] == SLOT_CLOSED || from == to)
		return;
	for (int side = 0; side < 2; side++)
		assert_int_equal(dup3(c->slot_base[side] + from, c->slot_base[side] + to,
				      O_CLOEXEC), c->slot_base[side] + to);
	c->slot[to] = c->slot[from];
}

static void fd_pipe(struct conf *c, int s)
{
	for (int side = 0; side < 2; side++) {
		int p[2];

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		place(p[0], c->slot_base[side] + s);
		close(p[1]);
	}
	c->slot[s] = SLOT_PIPE;
}

static void fd_close(struct conf *c, int s)
{
	for (int side = 0; side < 2; side++)
		close(c->slot_base[side] + s);
	c->slot[s] = SLOT_CLOSED;
}

/* ---- operations ------------------------------------------------------------ */

static const char *fd_desc(const struct conf *c, int sel, char *buf, size_t n)
{
	static const char *kinds[] = { "closed", "eventfd", "pipe" };

	switch (sel) {
	case FD_MINUS1: return "-1";
	case FD_BEYOND: return "1<<20 (beyond the fd table)";
	case FD_INTMAX: return "INT_MAX";
	case FD_VMFD: return "the VM fd (not an eventfd)";
	default:
		snprintf(buf, n, "slot %d (%s)", sel, kinds[c->slot[sel]]);
		return buf;
	}
}

static void remember(struct conf *c, const struct kvm_ioeventfd *a, int sel)
{
	int i = c->nhist < HIST ? c->nhist++ : (int)cf_pick(&c->rng, HIST);

	c->hist[i] = *a;
	c->hist_fd[i] = sel;
}

/* Apply one KVM_IOEVENTFD to both sides and compare the results. */
static void apply(struct conf *c, const struct kvm_ioeventfd *a, int sel)
{
	struct kvm_ioeventfd k = *a, u = *a;
	int kr, ur;
	double t0;
	char buf[64];

	k.fd = fd_for(c, KSIDE, sel);
	u.fd = fd_for(c, USIDE, sel);
	/* A closed slot must be closed on both sides (nothing else took it). */
	if (sel >= 0 && c->slot[sel] == SLOT_CLOSED &&
	    (fcntl(k.fd, F_GETFD) >= 0 || fcntl(u.fd, F_GETFD) >= 0))
		c->layout_errors++;
	t0 = now_s();
	kr = ioctl(c->g[KSIDE].vm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
	c->kernel_s += now_s() - t0;
	ur = iofd_ioeventfd(c->vm, &u);
	c->ops++;
	if (kr != ur)
		cf_mismatch(&c->mm, "operation %llu: %s addr 0x%llx len %u flags 0x%x "
			    "datamatch 0x%llx fd %s: kernel %d (%s), iofd %d (%s: %s)",
			    (unsigned long long)c->ops,
			    a->flags & DEASSIGN ? "deassign" : "assign",
			    (unsigned long long)a->addr, a->len, a->flags,
			    (unsigned long long)a->datamatch,
			    fd_desc(c, sel, buf, sizeof(buf)), kr, strerror(-kr), ur,
			    strerror(-ur), ur ? iofd_last_error() : "");
	if (kr == 0 && !(a->flags & DEASSIGN))
		remember(c, a, sel);
}

static uint32_t random_bus_flags(struct conf *c)
{
	static const uint32_t buses[] = { 0, 0, 0, PIO, PIO, CCW, PIO | CCW };

	return buses[cf_pick(&c->rng, ARRAY_SIZE(buses))];
}

static uint64_t random_addr(struct conf *c, uint32_t flags)
{
	uint64_t base = flags & (PIO | CCW) ? PORT_BASE : MMIO_BASE;

	if (cf_pick(&c->rng, 100) < 3)
		return wrap_addrs[cf_pick(&c->rng, ARRAY_SIZE(wrap_addrs))];
	if (c->spaced)
		return base +
		       spaced_offsets[cf_pick(&c->rng, ARRAY_SIZE(spaced_offsets))];
	return base + addr_offsets[cf_pick(&c->rng, ARRAY_SIZE(addr_offsets))];
}

static int random_fd(struct conf *c)
{
	uint64_t r = cf_pick(&c->rng, 100);

	if (r < 84)
		return (int)cf_pick(&c->rng, NR_SLOTS);
	if (r < 90)
		return FD_MINUS1;
	if (r < 93)
		return FD_BEYOND;
	if (r < 95)
		return FD_INTMAX;
	return FD_VMFD;
}

static void random_ioeventfd(struct conf *c)
{
	struct kvm_ioeventfd a = { 0 };
	int sel;

	if (c->nhist && cf_pick(&c->rng, 100) < 40) {
		/* deassign something that was assigned, sometimes altered */
		int i = (int)cf_pick(&c->rng, (uint64_t)c->nhist);

		a = c->hist[i];
		sel = c->hist_fd[i];
		a.flags |= DEASSIGN;
		switch (cf_pick(&c->rng, 12)) {
		case 0:
			a.len = (uint32_t[]){ 0, 1, 2, 4, 8, 3 }[cf_pick(&c->rng, 6)];
			break;
		case 1:
			a.datamatch = dm_pool[cf_pick(&c->rng, ARRAY_SIZE(dm_pool))];
			break;
		case 2: a.flags ^= DM; break;
		case 3: sel = random_fd(c); break;
		case 4:
			a.flags |= bad_bits[cf_pick(&c->rng, ARRAY_SIZE(bad_bits))];
			break;
		case 5: a.flags ^= CCW; break;
		default: break;
		}
		apply(c, &a, sel);
		return;
	}
	a.flags = random_bus_flags(c);
	if (cf_pick(&c->rng, 2))
		a.flags |= DM;
	if (cf_pick(&c->rng, 5) == 0)
		a.flags |= FAST;
	if (cf_pick(&c->rng, 7) == 0)
		a.flags |= DEASSIGN;
	if (cf_pick(&c->rng, 20) == 0)
		a.flags |= bad_bits[cf_pick(&c->rng, ARRAY_SIZE(bad_bits))];
	a.len = cf_pick(&c->rng, 100) < 85
		? (uint32_t[]){ 0, 1, 2, 4, 8 }[cf_pick(&c->rng, 5)]
		: bad_lens[cf_pick(&c->rng, ARRAY_SIZE(bad_lens))];
	a.addr = random_addr(c, a.flags);
	a.datamatch = dm_pool[cf_pick(&c->rng, ARRAY_SIZE(dm_pool))];
	apply(c, &a, random_fd(c));
}

/* One random step: mostly KVM_IOEVENTFD, sometimes an fd-table change. */
static void random_step(struct conf *c)
{
	uint64_t r = cf_pick(&c->rng, 1000);
	int s = (int)cf_pick(&c->rng, NR_SLOTS);

	if (r < 12) {
		if (!fd_new(c, s))
			fd_close(c, s);
	} else if (r < 27) {
		fd_dup(c, (int)cf_pick(&c->rng, NR_SLOTS), s);
	} else if (r < 34) {
		fd_pipe(c, s);
	} else if (r < 49) {
		fd_close(c, s);
	} else {
		random_ioeventfd(c);
	}
}

/* ---- guest writes ------------------------------------------------------ */

static void random_writes(struct conf *c, struct guest_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool pio = cf_pick(&c->rng, 5) < 2;
		uint64_t off =
			spaced_offsets[cf_pick(&c->rng, ARRAY_SIZE(spaced_offsets))] +
			write_offsets[cf_pick(&c->rng, ARRAY_SIZE(write_offsets))];

		ops[i] = (struct guest_op){
			.kind = pio ? GOP_OUT : GOP_WRITE,
			.len = cf_write_len(&c->rng, pio),
			.addr = (pio ? PORT_BASE : MMIO_BASE) + off,
			.value = cf_write_value(&c->rng, dm_pool, ARRAY_SIZE(dm_pool)),
		};
	}
}

/* The same writes in both guests; then every twin pair must count alike. */
static void guest_round(struct conf *c, int round)
{
	struct guest_op ops[WRITES_PER_ROUND];

	random_writes(c, ops, WRITES_PER_ROUND);
	cf_run_both(c->g, c->vcpu, ops, WRITES_PER_ROUND);
	c->writes += WRITES_PER_ROUND;
	for (int o = 0; o < c->nobjs; o++) {
		uint64_t kc = tu_efd_count(c->obj_base[KSIDE] + o);
		uint64_t uc = tu_efd_count(c->obj_base[USIDE] + o);

		c->signals += kc;
		if (kc != uc)
			cf_mismatch(&c->mm, "round %d (after operation %llu): eventfd "
				    "object %d signalled %llu times by the kernel, %llu "
				    "by iofd", round, (unsigned long long)c->ops, o,
				    (unsigned long long)kc, (unsigned long long)uc);
	}
}

/* ---- set-up ---------------------------------------------------------------- */

/* Reserve the top of the fd table for the twins' fixed numbers. */
static int reserve_fd_numbers(struct conf *c)
{
	struct rlimit lim;
	int top;

	getrlimit(RLIMIT_NOFILE, &c->old_limit);
	lim = c->old_limit;
	if (lim.rlim_cur < 4096 && lim.rlim_max > lim.rlim_cur) {
		lim.rlim_cur = lim.rlim_max < 4096 ? lim.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	getrlimit(RLIMIT_NOFILE, &lim);
	if (lim.rlim_cur < 1024)
		return -1;
	top = lim.rlim_cur > 4096 ? 4096 : (int)lim.rlim_cur;
	c->slot_base[KSIDE] = top - 2 * MAX_OBJS - 2 * NR_SLOTS - 16;
	c->slot_base[USIDE] = c->slot_base[KSIDE] + NR_SLOTS;
	c->obj_base[KSIDE] = c->slot_base[USIDE] + NR_SLOTS;
	c->obj_base[USIDE] = c->obj_base[KSIDE] + MAX_OBJS;
	return 0;
}

/* The kernel-side VM and the iofd-side VM, both fresh. */
static int vms_create(struct conf *c)
{
	for (int side = 0; side < 2; side++)
		if (guest_vm_create(&c->g[side], 0)) {
			print_message("# guest_vm_create: %s\n", guest_last_error());
			return -1;
		}
	if (ku_adopt(&c->g[USIDE], IOFD_VM_NO_OFFLOAD, &c->vm, &c->vcpu))
		return -1;
	c->nhist = 0;
	return 0;
}

static void vms_destroy(struct conf *c)
{
	iofd_vcpu_destroy(c->vcpu);
	iofd_vm_destroy(c->vm);
	c->vcpu = NULL;
	c->vm = NULL;
	for (int side = 0; side < 2; side++)
		guest_vm_destroy(&c->g[side]);
}

static int setup(void **state)
{
	static struct conf c;

	memset(&c, 0, sizeof(c));
	*state = &c;
	if (!tu_kvm_available())
		return 0;
	tu_warm_up();
	c.before = tu_snapshot();
	if (reserve_fd_numbers(&c)) {
		print_message("# cannot reserve fd numbers (RLIMIT_NOFILE < 1024)\n");
		return -1;
	}
	if (vms_create(&c))
		return -1;
	c.rng = cf_seed(DEFAULT_SEED);
	for (int s = 0; s < NR_SLOTS; s++)
		fd_new(&c, s);
	return 0;
}

static int teardown(void **state)
{
	struct conf *c = *state;

	if (!c->slot_base[KSIDE])
		return 0;
	vms_destroy(c);
	for (int side = 0; side < 2; side++) {
		for (int s = 0; s < NR_SLOTS; s++)
			close(c->slot_base[side] + s);
		for (int o = 0; o < c->nobjs; o++)
			close(c->obj_base[side] + o);
	}
	setrlimit(RLIMIT_NOFILE, &c->old_limit);
	TU_ASSERT_NO_LEAK(c->before);
	return 0;
}

static void ioeventfd_agrees_with_the_kernel(void **state)
{
	struct conf *c = *state;
	uint64_t seed = cf_seed(DEFAULT_SEED);
	double t0, t1;

	if (!c->g[KSIDE].run) {
		TU_REQUIRE_KVM();
		fail();
	}
	print_message("# seed 0x%llx (IOFD_CONFORMANCE_SEED replays another)\n",
		      (unsigned long long)seed);
	t0 = now_s();
	while (c->ops < PHASE1_OPS)
		random_step(c);
	t1 = now_s();
	print_message("# phase 1: %llu operations in %.1f s (kernel side %.1f s), "
		      "%d eventfd objects\n", (unsigned long long)c->ops, t1 - t0,
		      c->kernel_s, c->nobjs);
	vms_destroy(c);
	assert_int_equal(vms_create(c), 0);
	c->spaced = true;
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t target = c->ops + OPS_PER_ROUND;

		while (c->ops < target)
			random_step(c);
		guest_round(c, round);
	}
	print_message("# phase 2: %d rounds, %llu guest writes per VM, %llu signals "
		      "counted on each side, %.1f s\n", ROUNDS,
		      (unsigned long long)c->writes, (unsigned long long)c->signals,
		      now_s() - t1);
	cf_report("ioeventfd", c->ops, &c->mm, seed);
	assert_int_equal(c->layout_errors, 0);
	assert_int_equal(c->mm.n, 0);
	/* the guests really exercised the registrations */
	assert_true(c->signals > 0);
}

/* ---- the kernel's bus lookup and offload --------------------------------- */

struct offload_run {
	struct iofd_vcpu *vcpu;
	uint64_t served, unclaimed;
};

static int offload_exit(struct guest_vm *g, struct kvm_run *run, void *opaque)
{
	struct offload_run *r = opaque;
	int st = iofd_dispatch_exit(r->vcpu, NULL);

	(void)g;
	(void)run;
	if (st == IOFD_SERVED)
		r->served++;
	else if (st == IOFD_NOT_CLAIMED)
		r->unclaimed++;
	else
		return -EIO;
	return 0;
}

/* Offloaded entries registered in this order (offset from the bus base,
 * len), and one write to each of the given width. */
struct bus_shape {
	const char *what;
	int n;
	uint64_t off[3];
	uint32_t len[3], width[3];
};

/*
 * Shapes that the kernel's bus array misorders, so that its lookup misses
 * an entry: len 0 at A, len 0 at A+2, then len 1 at A+1 (seen on 6.18);
 * len 0 at A+4, then len 4 at A, which ends where the first starts (seen
 * on 6.12 and 6.18; kernel/io-bus fixes it). On MMIO and on PIO, offloaded
 * through iofd, every write still signals its entry exactly once: what the
 * kernel misses exits to userspace, where iofd's own table serves it.
 */
static const struct bus_shape bus_shapes[] = {
	{ "overlapping len-0 and len-1 entries", 3,
	  { 0, 2, 1 }, { 0, 0, 1 }, { 2, 2, 1 } },
	{ "a len-4 entry ending where a len-0 one starts", 2,
	  { 4, 0 }, { 0, 4 }, { 2, 4 } },
};

static void run_bus_shape(const struct bus_shape *sh)
{
	struct tu_resources before;
	struct offload_run r = { 0 };
	struct guest_vm g;
	struct iofd_vm *vm;
	struct guest_op ops[6];
	int efd[2][3], nops = 0;

	tu_warm_up();
	before = tu_snapshot();
	assert_int_equal(ku_guest_adopted(&g, 0, &vm, &r.vcpu), 0);
	for (int bus = 0; bus < 2; bus++) {
		uint64_t base = bus ? PORT_BASE : MMIO_BASE;

		for (int i = 0; i < sh->n; i++) {
			struct iofd_ioeventfd a = { .addr = base + sh->off[i],
						    .len = sh->len[i],
						    .flags = bus ? PIO : 0 };

			efd[bus][i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			a.fd = efd[bus][i];
			assert_int_equal(iofd_ioeventfd_ext(vm, &a), 0);
			assert_int_equal(iofd_ioeventfd_path(vm, &a), IOFD_PATH_KERNEL);
			ops[nops++] = (struct guest_op){
				.kind = bus ? GOP_OUT : GOP_WRITE, .len = sh->width[i],
				.addr = base + sh->off[i], .value = 0x5a };
		}
	}
	assert_int_equal(guest_script_set(&g, ops, nops), 0);
	assert_int_equal(guest_run(&g, offload_exit, &r, NULL), 0);
	print_message("# %s: of %d writes to offloaded entries, the kernel let "
		      "%llu through to userspace (iofd served them), %llu "
		      "unclaimed\n", sh->what, nops,
		      (unsigned long long)r.served, (unsigned long long)r.unclaimed);
	for (int bus = 0; bus < 2; bus++)
		for (int i = 0; i < sh->n; i++) {
			assert_int_equal(tu_efd_count(efd[bus][i]), 1);
			close(efd[bus][i]);
		}
	assert_int_equal(r.unclaimed, 0);
	iofd_vcpu_destroy(r.vcpu);
	iofd_vm_destroy(vm);
	guest_vm_destroy(&g);
	TU_ASSERT_NO_LEAK(before);
}

static void kernel_bus_lookup_miss_is_served(void **state)
{
	(void)state;
	TU_REQUIRE_KVM();
	for (size_t i = 0; i < sizeof(bus_shapes) / sizeof(bus_shapes[0]); i++)
		run_bus_shape(&bus_shapes[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ioeventfd_agrees_with_the_kernel, setup,
						teardown),
		cmocka_unit_test(kernel_bus_lookup_miss_is_served),
	};

	if (!tu_kvm_or_skip_all())
		return 0;
	return cmocka_run_group_tests_name("conformance", tests, NULL, NULL);
}
