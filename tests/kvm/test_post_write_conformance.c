/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential test of post-write ioeventfds: a kernel with the POST_WRITE
 * series against iofd's userspace path.
 *
 * Two guest VMs: on one, every operation is a raw KVM_IOEVENTFD with the
 * series' layout (the kernel serves it); the other is adopted by iofd with
 * offload off, so iofd serves everything itself (iofd_ioeventfd_ext(), the
 * same 64 bytes). Each side has its own eventfds, twin for twin, and its
 * own page of post targets: a registration posting at offset o of the page
 * names kpage + o on the kernel side and upage + o on iofd's.
 *
 * Random assigns and deassigns, POST_WRITE mixed with plain ones: every
 * width and bad lens (0 with POST_WRITE too), NULL, non-canonical, kernel-
 * half and wrapping post_addr, targets not aligned to len, DATAMATCH, MMIO
 * and PIO, deassigns that name another post_addr, drop or add the flag, and
 * garbage in post_addr and the padding of registrations without the flag
 * (ignored by both) and in the padding of some with it (refused by both, the
 * uapi's pad[0..3] being iofd's post_fd). Return codes
 * must agree at every step. Every few hundred operations the same guest
 * writes of every width run in both VMs; then every twin pair of eventfds
 * must count alike and the two pages of targets must hold the same bytes.
 *
 * Left out, as documented divergences (SPEC 2): a canonical user address
 * that is not mapped (the kernel accepts it, iofd refuses it) and a target
 * unmapped while registered (the kernel exits, iofd's store would fault).
 *
 * Registrations are 16 bytes apart, as in phase 2 of test_conformance.c
 * (the kernel's bus lookup can miss overlapping entries that start at
 * different addresses). On a kernel without the series the program skips.
 * A second case counts exits per doorbell: 0 offloaded, 1 in userspace.
 *
 * IOFD_CONFORMANCE_SEED replays another seed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "conformance.h"
#include "kvmutil.h"

#define TOTAL_OPS	12000
#define OPS_PER_ROUND	300
#define WRITES_PER_ROUND 96
#define NR_EFDS		6
#define HIST		64
#define PAGE		4096
#define DEFAULT_SEED	0x9057c0f0ull

/* fd selectors beyond the eventfds 0..NR_EFDS-1 */
enum { FD_PIPE = NR_EFDS, FD_VMFD, FD_MINUS1, FD_BEYOND, NR_FDSEL };

#define DM	KVM_IOEVENTFD_FLAG_DATAMATCH
#define PIO	KVM_IOEVENTFD_FLAG_PIO
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN
#define POSTW	KVM_IOEVENTFD_FLAG_POST_WRITE

#define MMIO_BASE	(GUEST_MMIO_BASE + 0x2000)
#define PORT_BASE	0x6000u

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint64_t addr_offsets[] = { 0x100, 0x110, 0x120, 0x130, 0x140 };
static const uint64_t dm_pool[] = {
	0, 1, 0xa5, 0x1a5, 0xbeef, 0x12345678, 0x100000000ull,
	0x0123456789abcdefull, UINT64_MAX,
};
static const uint32_t bad_lens[] = { 3, 5, 7, 16, UINT32_MAX };
/* Bits neither accepts (iofd's own bits 30 and 31 stay out: they are
 * valid for iofd_ioeventfd_ext()). */
static const uint32_t bad_bits[] = { 1u << 6, 1u << 7, 1u << 12, 1u << 29 };
/* post_addr values both refuse: NULL, non-canonical (4- and 5-level
 * paging alike), the kernel half, a range that wraps. */
static const uint64_t bad_posts[] = {
	0, 0x8000000000000000ull, 0xdead000000000000ull,
	0xffff800000000000ull, UINT64_MAX - 3,
};
/* Target offsets in the page: aligned to every len, to some, and to none
 * but 1. */
static const uint32_t post_offsets[] = { 0, 8, 16, 32, 40, 64, 3, 77, 128, 250 };

/* One operation, before it is given a side's fds and target page. */
struct op {
	uint8_t image[64];	/* struct kvm_ioeventfd_post, garbage included */
	int fdsel;
	int post;		/* -1: post_addr as in image; else offset index */
};

struct conf {
	struct tu_resources before;
	struct guest_vm g[2];
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	int efd[2][NR_EFDS], pipe_rd[2];
	uint8_t *page[2];
	uint64_t rng;
	uint64_t ops, signals, posted_writes, writes, post_assigns;
	struct cf_mismatches mm;
	struct op hist[HIST];
	int nhist;
};

static struct kvm_ioeventfd_post *img(struct op *o)
{
	return (struct kvm_ioeventfd_post *)o->image;
}

static int fd_for(const struct conf *c, enum cf_side s, int sel)
{
	switch (sel) {
	case FD_PIPE: return c->pipe_rd[s];
	case FD_VMFD: return c->g[s].vm_fd;
	case FD_MINUS1: return -1;
	case FD_BEYOND: return 1 << 20;
	default: return c->efd[s][sel];
	}
}

/* The 64 bytes a side hands over: its fd and its own target page. */
static void realize(const struct conf *c, enum cf_side s, const struct op *o,
		    void *out)
{
	struct kvm_ioeventfd_post k;

	memcpy(&k, o->image, sizeof(k));
	k.fd = fd_for(c, s, o->fdsel);
	if (o->post >= 0)
		k.post_addr = (uint64_t)(uintptr_t)(c->page[s] + post_offsets[o->post]);
	memcpy(out, &k, sizeof(k));
}

static void remember(struct conf *c, const struct op *o)
{
	int i = c->nhist < HIST ? c->nhist++ : (int)cf_pick(&c->rng, HIST);

	c->hist[i] = *o;
}

/* Apply one operation to both sides and compare the results. */
static void apply(struct conf *c, const struct op *o)
{
	struct kvm_ioeventfd_post k;
	struct iofd_ioeventfd u;
	int kr, ur;

	_Static_assert(sizeof(u) == sizeof(k), "same 64 bytes on both sides");
	realize(c, KSIDE, o, &k);
	realize(c, USIDE, o, &u);
	kr = ioctl(c->g[KSIDE].vm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
	ur = iofd_ioeventfd_ext(c->vm, &u);
	c->ops++;
	if (kr != ur)
		cf_mismatch(&c->mm, "operation %llu: %s addr 0x%llx len %u flags 0x%x "
			    "datamatch 0x%llx fd selector %d post %s 0x%llx: kernel %d "
			    "(%s), iofd %d (%s)", (unsigned long long)c->ops,
			    k.flags & DEASSIGN ? "deassign" : "assign",
			    (unsigned long long)k.addr, k.len, k.flags,
			    (unsigned long long)k.datamatch, o->fdsel,
			    o->post >= 0 ? "offset" : "value",
			    (unsigned long long)(o->post >= 0 ? post_offsets[o->post]
							      : k.post_addr),
			    kr, strerror(-kr), ur, ur ? iofd_last_error() : "");
	if (kr == 0 && !(k.flags & DEASSIGN)) {
		remember(c, o);
		c->post_assigns += !!(k.flags & POSTW);
	}
}

static void fill_garbage(struct conf *c, struct op *o)
{
	for (size_t i = 0; i < sizeof(o->image); i += 8) {
		uint64_t r = cf_rnd(&c->rng);

		memcpy(o->image + i, &r, 8);
	}
}

static int random_fdsel(struct conf *c)
{
	uint64_t r = cf_pick(&c->rng, 100);

	return r < 90 ? (int)cf_pick(&c->rng, NR_EFDS)
		      : NR_EFDS + (int)cf_pick(&c->rng, NR_FDSEL - NR_EFDS);
}

/* The post-write part: a good target mostly, else a value both refuse. */
static void random_post(struct conf *c, struct op *o)
{
	if (cf_pick(&c->rng, 100) < 85) {
		o->post = (int)cf_pick(&c->rng, ARRAY_SIZE(post_offsets));
	} else {
		o->post = -1;
		img(o)->post_addr = bad_posts[cf_pick(&c->rng, ARRAY_SIZE(bad_posts))];
	}
}

/* A deassign of something assigned, sometimes altered. */
static void random_deassign(struct conf *c, struct op *o)
{
	*o = c->hist[cf_pick(&c->rng, (uint64_t)c->nhist)];
	img(o)->flags |= DEASSIGN;
	switch (cf_pick(&c->rng, 14)) {
	case 0:
		img(o)->len = (uint32_t[]){ 0, 1, 2, 4, 8, 3 }[cf_pick(&c->rng, 6)];
		break;
	case 1:
		img(o)->datamatch = dm_pool[cf_pick(&c->rng, ARRAY_SIZE(dm_pool))];
		break;
	case 2: img(o)->flags ^= DM; break;
	case 3: o->fdsel = random_fdsel(c); break;
	case 4:				/* another post_addr */
		if (o->post >= 0)
			o->post = (o->post + 1) % (int)ARRAY_SIZE(post_offsets);
		break;
	case 5:				/* drop or add the flag */
		img(o)->flags ^= POSTW;
		if (img(o)->flags & POSTW)
			random_post(c, o);
		else
			o->post = -1;
		break;
	case 6:	/* new garbage: ignored without the flag, refused with it */
		if (!(img(o)->flags & POSTW)) {
			img(o)->post_addr = cf_rnd(&c->rng);
			memset(img(o)->pad, (int)cf_pick(&c->rng, 256),
			       sizeof(img(o)->pad));
		}
		img(o)->pad0[0] ^= 0x5a;
		break;
	case 7:
		img(o)->flags |= bad_bits[cf_pick(&c->rng, ARRAY_SIZE(bad_bits))];
		break;
	default: break;
	}
}

static void random_assign(struct conf *c, struct op *o)
{
	struct kvm_ioeventfd_post *k = img(o);
	bool pio = cf_pick(&c->rng, 3) == 0;

	fill_garbage(c, o);		/* padding and an unused post_addr */
	o->post = -1;
	k->flags = pio ? PIO : 0;
	if (cf_pick(&c->rng, 2))
		k->flags |= DM;
	if (cf_pick(&c->rng, 100) < 60)
		k->flags |= POSTW;
	if (cf_pick(&c->rng, 12) == 0)
		k->flags |= DEASSIGN;
	if (cf_pick(&c->rng, 25) == 0)
		k->flags |= bad_bits[cf_pick(&c->rng, ARRAY_SIZE(bad_bits))];
	k->len = cf_pick(&c->rng, 100) < 85
		 ? (uint32_t[]){ 0, 1, 2, 4, 8, 8 }[cf_pick(&c->rng, 6)]
		 : bad_lens[cf_pick(&c->rng, ARRAY_SIZE(bad_lens))];
	k->addr = (pio ? PORT_BASE : MMIO_BASE) +
		  addr_offsets[cf_pick(&c->rng, ARRAY_SIZE(addr_offsets))];
	if (cf_pick(&c->rng, 100) < 2)
		k->addr = UINT64_MAX - cf_pick(&c->rng, 4);	/* addr + len wraps */
	k->datamatch = dm_pool[cf_pick(&c->rng, ARRAY_SIZE(dm_pool))];
	o->fdsel = random_fdsel(c);
	if (k->flags & POSTW) {
		random_post(c, o);
		/* Mostly zero padding, which the flag requires. */
		if (cf_pick(&c->rng, 100) < 90) {
			memset(k->pad0, 0, sizeof(k->pad0));
			memset(k->pad, 0, sizeof(k->pad));
		}
	}
}

static void random_op(struct conf *c)
{
	struct op o;

	if (c->nhist && cf_pick(&c->rng, 100) < 40)
		random_deassign(c, &o);
	else
		random_assign(c, &o);
	apply(c, &o);
}

/* ---- guest writes ------------------------------------------------------ */

static void random_writes(struct conf *c, struct guest_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool pio = cf_pick(&c->rng, 3) == 0;

		ops[i] = (struct guest_op){
			.kind = pio ? GOP_OUT : GOP_WRITE,
			.len = cf_write_len(&c->rng, pio),
			.addr = (pio ? PORT_BASE : MMIO_BASE) +
				addr_offsets[cf_pick(&c->rng, ARRAY_SIZE(addr_offsets))],
			.value = cf_write_value(&c->rng, dm_pool, ARRAY_SIZE(dm_pool)),
		};
	}
}

/* The same writes in both guests; then twins count alike, pages agree. */
static void guest_round(struct conf *c, int round)
{
	struct guest_op ops[WRITES_PER_ROUND];

	random_writes(c, ops, WRITES_PER_ROUND);
	cf_run_both(c->g, c->vcpu, ops, WRITES_PER_ROUND);
	c->writes += WRITES_PER_ROUND;
	for (int i = 0; i < NR_EFDS; i++) {
		uint64_t kc = tu_efd_count(c->efd[KSIDE][i]);
		uint64_t uc = tu_efd_count(c->efd[USIDE][i]);

		c->signals += kc;
		if (kc != uc)
			cf_mismatch(&c->mm, "round %d (after operation %llu): eventfd "
				    "%d signalled %llu times by the kernel, %llu by "
				    "iofd", round, (unsigned long long)c->ops, i,
				    (unsigned long long)kc, (unsigned long long)uc);
	}
	for (int b = 0; b < PAGE; b++)
		if (c->page[KSIDE][b] != c->page[USIDE][b]) {
			cf_mismatch(&c->mm, "round %d (after operation %llu): target "
				    "byte %d is 0x%02x on the kernel side, 0x%02x on "
				    "iofd's", round, (unsigned long long)c->ops, b,
				    c->page[KSIDE][b], c->page[USIDE][b]);
			break;
		}
}

/* ---- set-up ---------------------------------------------------------------- */

static int sides_create(struct conf *c)
{
	for (int side = 0; side < 2; side++) {
		int p[2];

		if (guest_vm_create(&c->g[side], 0)) {
			print_message("# guest_vm_create: %s\n", guest_last_error());
			return -1;
		}
		for (int i = 0; i < NR_EFDS; i++)
			c->efd[side][i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (pipe2(p, O_CLOEXEC))
			return -1;
		c->pipe_rd[side] = p[0];
		close(p[1]);
		c->page[side] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c->page[side] == MAP_FAILED)
			return -1;
	}
	return ku_adopt(&c->g[USIDE], IOFD_VM_NO_OFFLOAD, &c->vm, &c->vcpu);
}

static int setup(void **state)
{
	static struct conf c;

	memset(&c, 0, sizeof(c));
	*state = &c;
	tu_warm_up();
	c.before = tu_snapshot();
	c.rng = cf_seed(DEFAULT_SEED);
	return sides_create(&c);
}

static int teardown(void **state)
{
	struct conf *c = *state;

	iofd_vcpu_destroy(c->vcpu);
	iofd_vm_destroy(c->vm);
	for (int side = 0; side < 2; side++) {
		guest_vm_destroy(&c->g[side]);
		for (int i = 0; i < NR_EFDS; i++)
			close(c->efd[side][i]);
		close(c->pipe_rd[side]);
		munmap(c->page[side], PAGE);
	}
	TU_ASSERT_NO_LEAK(c->before);
	return 0;
}

static void post_write_agrees_with_the_kernel(void **state)
{
	struct conf *c = *state;
	uint64_t seed = cf_seed(DEFAULT_SEED);
	struct iofd_ioeventfd any = { 0 };
	int round = 0;

	print_message("# seed 0x%llx (IOFD_CONFORMANCE_SEED replays another)\n",
		      (unsigned long long)seed);
	while (c->ops < TOTAL_OPS) {
		uint64_t target = c->ops + OPS_PER_ROUND;

		while (c->ops < target)
			random_op(c);
		guest_round(c, round++);
	}
	/* iofd's side really served everything itself */
	for (int i = 0; i < c->nhist; i++) {
		int p;

		realize(c, USIDE, &c->hist[i], &any);
		p = iofd_ioeventfd_path(c->vm, &any);
		if (p != -ENOENT && p != IOFD_PATH_USERSPACE)
			cf_mismatch(&c->mm, "iofd's side (NO_OFFLOAD) reports path %d",
				    p);
	}
	print_message("# %d rounds, %llu guest writes per VM, %llu successful "
		      "post-write assigns, %llu signals counted on each side\n", round,
		      (unsigned long long)c->writes, (unsigned long long)c->post_assigns,
		      (unsigned long long)c->signals);
	cf_report("post-write", c->ops, &c->mm, seed);
	assert_int_equal(c->mm.n, 0);
	assert_true(c->ops >= 10000);
	/* the guests really exercised post-write registrations */
	assert_true(c->post_assigns > 100);
	assert_true(c->signals > 0);
}

/* ---- exits per doorbell ------------------------------------------------- */

/* Exits of n doorbells to one post-write registration on an iofd VM. */
static double exits_per_doorbell(uint32_t vm_flags, int expect_path)
{
	enum { N = 2000 };
	static struct guest_op op;
	uint64_t slot = 0, exits = 0;
	struct iofd_vcpu *vcpu;
	struct iofd_vm *vm;
	struct guest_vm g;
	struct iofd_ioeventfd a = { .addr = MMIO_BASE, .len = 8,
				    .flags = POSTW };

	a.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a.post_addr = (uint64_t)(uintptr_t)&slot;
	assert_int_equal(ku_guest_adopted(&g, vm_flags, &vm, &vcpu), 0);
	assert_int_equal(iofd_ioeventfd_ext(vm, &a), 0);
	assert_int_equal(iofd_ioeventfd_path(vm, &a), expect_path);
	op = (struct guest_op){ .kind = GOP_WRITE, .len = 8, .addr = MMIO_BASE,
				.value = 0xd00be11ull, .count = N };
	assert_int_equal(guest_script_set(&g, &op, 1), 0);
	assert_int_equal(guest_run(&g, cf_iofd_exit, vcpu, &exits), 0);
	assert_int_equal(tu_efd_count(a.fd), N);
	assert_int_equal(slot, 0xd00be11ull);
	iofd_vcpu_destroy(vcpu);
	iofd_vm_destroy(vm);
	guest_vm_destroy(&g);
	close(a.fd);
	return (double)exits / N;
}

static void exits_per_doorbell_kernel_0_userspace_1(void **state)
{
	struct tu_resources before;
	double k, u;

	(void)state;
	tu_warm_up();
	before = tu_snapshot();
	k = exits_per_doorbell(0, IOFD_PATH_KERNEL);
	u = exits_per_doorbell(IOFD_VM_NO_OFFLOAD, IOFD_PATH_USERSPACE);
	print_message("# post-write exits per doorbell: kernel %.2f, userspace %.2f\n",
		      k, u);
	fprintf(stderr, "post-write exits per doorbell: kernel %.2f, userspace %.2f\n",
		k, u);
	assert_true(k == 0.0);
	assert_true(u == 1.0);
	TU_ASSERT_NO_LEAK(before);
}

/* Skip the whole program unless the kernel serves POST_WRITE. */
static bool kernel_or_skip_all(void)
{
	struct guest_vm g;
	bool has;

	if (!tu_kvm_or_skip_all())
		return false;
	if (guest_vm_create(&g, 0)) {
		printf("1..0 # SKIP cannot create a guest VM: %s\n", guest_last_error());
		return false;
	}
	has = ku_kernel_has_post_write(g.vm_fd);
	guest_vm_destroy(&g);
	if (!has)
		printf("1..0 # SKIP this kernel does not serve POST_WRITE ioeventfds "
		       "(capability 248 and a probe registration): nothing to "
		       "compare iofd's userspace path with\n");
	return has;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(post_write_agrees_with_the_kernel, setup,
						teardown),
		cmocka_unit_test(exits_per_doorbell_kernel_0_userspace_1),
	};

	if (!kernel_or_skip_all())
		return 0;
	return cmocka_run_group_tests_name("post_write_conformance", tests, NULL, NULL);
}
