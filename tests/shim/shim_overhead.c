/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the shim costs, in counts (TAP on stdout, the figures as comments
 * and one stderr line each):
 *
 *  1. instructions per exit of the KVM_RUN wrapper, counted by callgrind on
 *     a native loop fed recorded exits (KVM_RUN never reaches the kernel;
 *     the vCPU fd is a real one, of a VM never run, since iofd adopts
 *     nothing else, so this needs /dev/kvm too): doorbells served inside
 *     the shim's loop, and unclaimed exits through the whole ioctl()
 *     path; beside them the same exits through libiofd linked directly
 *     (iofd_dispatch_exit() after each recorded exit);
 *  2. with /dev/kvm: a guest rings a post-write doorbell N times; the
 *     kernel entries (KVM_RUN) and exits per doorbell through the shim
 *     (this program run again with libiofd-shim.so preloaded, raw uapi)
 *     and through libiofd linked directly (iofd_vcpu_run()), and the time
 *     per doorbell of each (medians of interleaved runs; a ratio on this
 *     machine, nothing more).
 *
 * Usage: shim_overhead <path of libiofd-shim.so>
 * (--bells-shim under LD_PRELOAD, or --bells-direct, runs one doorbell
 * loop alone, for `strace -c`.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iofd/iofd.h>
#include <iofd/kvm-unmerged.h>

#include "obj.h"
#include "rawvm.h"
#include "run.h"
#include "shim.h"

#define CG_EXITS	20000ul
#define DOORBELLS	20000u
#define BELL_OFF	0x40u
#define REPS		5

static int tap_n, tap_failed;

static void tap(int ok, const char *what)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++tap_n, what);
	tap_failed += !ok;
}

/* ---- 1. recorded exits ---------------------------------------------------- */

static struct kvm_run *feed_run;
static unsigned long feed_left;

/* The recorded exits: a doorbell write while feed_left lasts, then HLT. */
static int feed_enter(int fd)
{
	static const uint32_t v = 1;

	(void)fd;
	if (feed_left == 0) {
		feed_run->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	feed_left--;
	feed_run->exit_reason = KVM_EXIT_MMIO;
	feed_run->mmio.phys_addr = 0x1000;
	feed_run->mmio.len = 4;
	feed_run->mmio.is_write = 1;
	memcpy(feed_run->mmio.data, &v, sizeof(v));
	return 0;
}

/* An unclaimed exit every time. */
static int feed_unclaimed(int fd)
{
	(void)fd;
	feed_run->exit_reason = KVM_EXIT_MMIO;
	feed_run->mmio.phys_addr = 0x9000;
	feed_run->mmio.len = 4;
	feed_run->mmio.is_write = 1;
	return 0;
}

struct cg_vm {
	struct iofd_vm *vm;
	struct shim_vcpu *v;
	uint32_t slot;
	int efd, fd, kvm, vm_fd;
};

static int cg_open(struct cg_vm *c)
{
	struct iofd_ioeventfd pw = {
		.addr = 0x1000, .len = 4, .flags = IOFD_IOEVENTFD_FLAG_POST_WRITE,
	};

	feed_run = aligned_alloc(4096, 4096);
	c->v = calloc(1, sizeof(*c->v));
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* a vCPU of a scratch VM, never run: its exits are fed */
	c->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	c->vm_fd = c->kvm < 0 ? -1 : ioctl(c->kvm, KVM_CREATE_VM, 0);
	c->fd = c->vm_fd < 0 ? -1 : ioctl(c->vm_fd, KVM_CREATE_VCPU, 0);
	if (!feed_run || !c->v || c->efd < 0 || c->fd < 0 ||
	    iofd_vm_create(NULL, &c->vm))
		return -1;
	memset(feed_run, 0, 4096);
	pw.fd = c->efd;
	pw.post_addr = (uintptr_t)&c->slot;
	if (iofd_ioeventfd_ext(c->vm, &pw) ||
	    iofd_vcpu_adopt(c->vm, c->fd, feed_run, &c->v->iofd))
		return -1;
	c->v->o.kind = 3;	/* SHIM_FD_VCPU */
	c->v->run = feed_run;
	c->v->enter = feed_enter;
	return 0;
}

/* Measured: N doorbells served inside one call of the shim's loop. */
__attribute__((noinline)) void cg_shim_served(struct shim_vcpu *v, unsigned long n)
{
	feed_left = n;
	shim_vcpu_run(v, -1);
}

/* Measured: N doorbells through libiofd directly, the loop a VMM writes. */
__attribute__((noinline)) void cg_direct_served(struct iofd_vcpu *v, unsigned long n)
{
	feed_left = n;
	do
		feed_enter(-1);
	while (iofd_dispatch_exit(v, NULL) == IOFD_SERVED);
}

/* Measured: N unclaimed exits, each a program ioctl(KVM_RUN) through the
 * whole shim (lookup, reference, loop). */
__attribute__((noinline)) void cg_shim_unclaimed(int fd, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		shim_ioctl(fd, KVM_RUN, 0);
}

/* Measured: N unclaimed exits through libiofd directly. */
__attribute__((noinline)) void cg_direct_unclaimed(struct iofd_vcpu *v, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		feed_unclaimed(-1);
		iofd_dispatch_exit(v, NULL);
	}
}

/* The child under callgrind: run the measured function named @what. */
static int cg_child(const char *what, unsigned long n)
{
	struct cg_vm c;

	if (cg_open(&c))
		return 1;
	/* warm up every path once, outside the measured functions */
	feed_left = 2;
	shim_vcpu_run(c.v, -1);
	if (strcmp(what, "shim_served") == 0) {
		cg_shim_served(c.v, n);
	} else if (strcmp(what, "direct_served") == 0) {
		cg_direct_served(c.v->iofd, n);
	} else {
		c.v->enter = feed_unclaimed;
		/* a vCPU object in the table needs only the fd: the shim
		 * keeps it for the life of this process */
		if (shim_vcpu_attach(c.fd, c.v))
			return 1;
		shim_ioctl(c.fd, KVM_RUN, 0);
		if (strcmp(what, "shim_unclaimed") == 0)
			cg_shim_unclaimed(c.fd, n);
		else
			cg_direct_unclaimed(c.v->iofd, n);
	}
	return c.slot == 1 || strstr(what, "unclaimed") ? 0 : 1;
}

/* Whether a callgrind "fn=" or "cfn=" line names an allocator. */
static int names_allocator(const char *line)
{
	static const char *const fns[] = { " malloc\n", " calloc\n", " realloc\n",
					   " aligned_alloc\n", " posix_memalign\n" };

	if (strncmp(line, "fn=", 3) != 0 && strncmp(line, "cfn=", 4) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (strstr(line, fns[i]))
			return 1;
	return 0;
}

/* The "summary:"/"totals:" line of a callgrind output file; *allocs
 * counts the allocator functions that ran inside the measured one. */
static double cg_total(const char *path, int *allocs)
{
	char line[512];
	double total = NAN;
	FILE *f = fopen(path, "re");

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0)
			total = strtod(strchr(line, ':') + 1, NULL);
		*allocs += names_allocator(line);
	}
	fclose(f);
	return total;
}

/* Instructions per exit of the function cg_<what>, or NAN. */
static double cg_measure(const char *self, const char *what, unsigned long n,
			 int *allocs)
{
	char out[64], toggle[80], count[24];
	double total;
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "/tmp/shim-cg.%d.%s", (int)getpid(), what);
	snprintf(toggle, sizeof(toggle), "--toggle-collect=cg_%s", what);
	snprintf(count, sizeof(count), "%lu", n);
	pid = fork();
	if (pid == 0) {
		char of[96];
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		snprintf(of, sizeof(of), "--callgrind-out-file=%s", out);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execlp("valgrind", "valgrind", "--tool=callgrind", of, toggle,
		       self, "--cg-child", what, count, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		unlink(out);
		return NAN;
	}
	total = cg_total(out, allocs);
	unlink(out);
	return total / (double)n;
}

static void report_callgrind(const char *self)
{
	static const char *const what[] = {
		"shim_served", "direct_served", "shim_unclaimed", "direct_unclaimed",
	};
	double ins[4];
	int ok = 1, allocs[4] = { 0 };

	if (system("valgrind --version >/dev/null 2>&1") != 0) {
		printf("ok %d - callgrind instruction counts # SKIP valgrind not found\n",
		       ++tap_n);
		return;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("ok %d - callgrind instruction counts # SKIP no usable /dev/kvm "
		       "(the recorded exits need a real vCPU fd)\n", ++tap_n);
		return;
	}
	for (int i = 0; i < 4; i++) {
		ins[i] = cg_measure(self, what[i], CG_EXITS, &allocs[i]);
		ok = ok && !isnan(ins[i]) && ins[i] > 0;
	}
	tap(ok, "callgrind counted the KVM_RUN wrapper on recorded exits");
	if (!ok)
		return;
	tap(allocs[0] == 0 && allocs[2] == 0,
	    "the shim's KVM_RUN path calls no allocator (served and unclaimed exits)");
	printf("# instructions per exit (callgrind, %lu recorded exits each):\n", CG_EXITS);
	printf("#   served doorbell:  shim loop %.1f, libiofd directly %.1f, shim adds %.1f\n",
	       ins[0], ins[1], ins[0] - ins[1]);
	printf("#   unclaimed exit:   shim ioctl() %.1f, libiofd directly %.1f, shim adds %.1f\n",
	       ins[2], ins[3], ins[2] - ins[3]);
	fprintf(stderr, "shim overhead: instructions per exit: served %.1f (direct %.1f, +%.1f), "
		"unclaimed %.1f (direct %.1f, +%.1f)\n", ins[0], ins[1], ins[0] - ins[1],
		ins[2], ins[3], ins[2] - ins[3]);
}

/* ---- 2. doorbells on real KVM ------------------------------------------- */

struct bell_counts {
	unsigned long long program_runs;	/* KVM_RUN the program issued */
	unsigned long long kernel_runs;		/* KVM_RUN that reached the kernel */
	unsigned long long served;		/* exits served in userspace */
	double ns;				/* per doorbell */
	int ok;
};

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The guest: `mov cx, n; l: mov dword [BELL_OFF], 1; loop l; hlt`. */
static void bell_code(struct rawcode *c, uint16_t n)
{
	uint8_t head[3] = { 0xb9, (uint8_t)n, (uint8_t)(n >> 8) };
	uint8_t loop[2] = { 0xe2, 0 };
	size_t body;

	memcpy(c->b, head, 3);
	c->n = 3;
	rawcode_mmio_write(c, BELL_OFF, 4, 1);
	body = c->n - 3;
	loop[1] = (uint8_t)-(int)(body + 2);
	memcpy(c->b + c->n, loop, 2);
	c->n += 2;
}

static int bell_register(struct rawvm *m, int efd, uint32_t *slot)
{
	struct kvm_ioeventfd_post a = {
		.addr = RAWVM_MMIO + BELL_OFF, .len = 4, .fd = efd,
		.flags = KVM_IOEVENTFD_FLAG_POST_WRITE, .post_addr = (uintptr_t)slot,
	};

	return ioctl(m->vm, KVM_IOEVENTFD, &a);
}

/* Through the shim (this process has it preloaded): raw uapi only. */
static int bells_shim(void)
{
	int (*counters)(int, unsigned long long *, unsigned long long *) =
		(int (*)(int, unsigned long long *, unsigned long long *))
			dlsym(RTLD_DEFAULT, "iofd_shim_counters");
	struct bell_counts b = { 0 };
	struct rawcode c = { .n = 0 };
	struct rawvm m;
	uint32_t slot = 0;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), r;
	double t0;

	if (!counters || rawvm_open(&m) || bell_register(&m, efd, &slot))
		return 1;
	bell_code(&c, DOORBELLS);
	rawvm_start(&m, &c);
	t0 = now_ns();
	do {
		r = rawvm_run(&m);
		b.program_runs++;
	} while (r == KVM_EXIT_MMIO || r == -EINTR);
	b.ns = (now_ns() - t0) / DOORBELLS;
	counters(m.vcpu, &b.kernel_runs, &b.served);
	printf("%llu %llu %llu %.1f %d\n", b.program_runs, b.kernel_runs, b.served,
	       b.ns, r == KVM_EXIT_HLT && slot == 1);
	rawvm_close(&m);
	return 0;
}

/* Through libiofd linked directly: the VMM's own loop. */
static void bells_direct(struct bell_counts *b)
{
	struct iofd_vm_options o = { .kvm_vm_fd = -1 };
	struct iofd_vcpu_stats st;
	struct rawcode c = { .n = 0 };
	struct iofd_vcpu *v = NULL;
	struct iofd_vm *vm = NULL;
	struct rawvm m;
	uint32_t slot = 0;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), r = -1;
	double t0;
	struct iofd_ioeventfd pw = {
		.addr = RAWVM_MMIO + BELL_OFF, .len = 4, .fd = efd,
		.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE, .post_addr = (uintptr_t)&slot,
	};

	memset(b, 0, sizeof(*b));
	if (rawvm_open(&m))
		return;
	o.kvm_vm_fd = m.vm;
	if (!iofd_vm_create(&o, &vm) && !iofd_ioeventfd_ext(vm, &pw) &&
	    !iofd_vcpu_adopt(vm, m.vcpu, m.run, &v)) {
		bell_code(&c, DOORBELLS);
		rawvm_start(&m, &c);
		t0 = now_ns();
		do {
			r = iofd_vcpu_run(v, NULL);
			b->program_runs++;
		} while (r == -EINTR || (r == IOFD_NOT_CLAIMED &&
					 m.run->exit_reason == KVM_EXIT_MMIO));
		b->ns = (now_ns() - t0) / DOORBELLS;
		iofd_vcpu_get_stats(v, &st);
		b->kernel_runs = st.runs;
		b->served = st.served;
		b->ok = m.run->exit_reason == KVM_EXIT_HLT && slot == 1;
	}
	iofd_vcpu_destroy(v);
	iofd_vm_destroy(vm);
	close(efd);
	rawvm_close(&m);
}

/* Run this program again with the shim preloaded and read its counts. */
static void bells_through_shim(const char *self, const char *so, struct bell_counts *b)
{
	char cmd[9000];
	FILE *p;

	memset(b, 0, sizeof(*b));
	if (snprintf(cmd, sizeof(cmd), "LD_PRELOAD='%s' '%s' --bells-shim", so, self) >=
	    (int)sizeof(cmd))
		return;
	p = popen(cmd, "re");
	if (!p)
		return;
	if (fscanf(p, "%llu %llu %llu %lf %d", &b->program_runs, &b->kernel_runs,
		   &b->served, &b->ns, &b->ok) != 5)
		b->ok = 0;
	if (pclose(p) != 0)
		b->ok = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, REPS, sizeof(*v), cmp_double);
	return v[REPS / 2];
}

static void report_bells(const char *self, const char *so)
{
	struct bell_counts s, d;
	double n = DOORBELLS, tn[REPS], ts[REPS];
	int ok = 1;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("ok %d - doorbells through KVM # SKIP no usable /dev/kvm\n", ++tap_n);
		return;
	}
	/* interleaved repetitions; the counts of the last, the median times */
	for (int i = 0; i < REPS; i++) {
		bells_direct(&d);
		bells_through_shim(self, so, &s);
		tn[i] = d.ns;
		ts[i] = s.ns;
		ok = ok && d.ok && s.ok;
	}
	d.ns = median(tn);
	s.ns = median(ts);
	d.ok = s.ok = ok;
	tap(d.ok, "libiofd directly: the guest's doorbells all served");
	tap(s.ok, "through the shim: the guest's doorbells all served");
	tap(s.ok && d.ok && s.kernel_runs == d.kernel_runs && s.served == d.served,
	    "the same KVM_RUN entries and exits per doorbell either way");
	printf("# %u doorbells (post-write, served in userspace on this kernel):\n", DOORBELLS);
	printf("#   KVM_RUN into the kernel per doorbell: shim %.4f, direct %.4f\n",
	       (double)s.kernel_runs / n, (double)d.kernel_runs / n);
	printf("#   exits served per doorbell:           shim %.4f, direct %.4f\n",
	       (double)s.served / n, (double)d.served / n);
	printf("#   ioctl(KVM_RUN) calls by the program:  shim %llu, direct-loop calls %llu\n",
	       s.program_runs, d.program_runs);
	printf("#   time per doorbell (median of %d, interleaved): shim %.0f ns, direct %.0f ns, ratio %.3f\n", REPS,
	       s.ns, d.ns, d.ns > 0 ? s.ns / d.ns : NAN);
	fprintf(stderr, "shim overhead: per doorbell: KVM_RUN %.4f vs %.4f, exits %.4f vs %.4f, "
		"time ratio %.3f (shim vs libiofd directly)\n",
		(double)s.kernel_runs / n, (double)d.kernel_runs / n,
		(double)s.served / n, (double)d.served / n,
		d.ns > 0 ? s.ns / d.ns : NAN);
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "--cg-child") == 0)
		return cg_child(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "--bells-shim") == 0)
		return bells_shim();
	if (argc == 2 && strcmp(argv[1], "--bells-direct") == 0) {
		struct bell_counts d;

		bells_direct(&d);	/* for strace -c beside --bells-shim */
		printf("%llu %llu %llu %.1f %d\n", d.program_runs, d.kernel_runs,
		       d.served, d.ns, d.ok);
		return !d.ok;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s <libiofd-shim.so>\n", argv[0]);
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	report_callgrind(self);
	report_bells(self, argv[1]);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
