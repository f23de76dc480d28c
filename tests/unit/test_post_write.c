/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Post-write ("shadow") ioeventfd without KVM: guest writes are played with
 * iofd_access(). Validation at assign (alignment, zero padding with the
 * flag), exactly-len stores, one atomic store, the store visible before the
 * signal, DATAMATCH, deassign by post target (address and memfd forms), and
 * the offload answer on a KVM VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "testutil.h"

#define DM	IOFD_IOEVENTFD_FLAG_DATAMATCH
#define POST	IOFD_IOEVENTFD_FLAG_POST_WRITE
#define MEMFD	IOFD_IOEVENTFD_FLAG_POST_MEMFD

struct fixture {
	struct iofd_vm *vm;
	int efd;
	uint8_t *page;		/* a writable page for post targets */
	struct tu_resources before;
};

static int setup(void **state)
{
	static struct fixture f;

	f.before = tu_snapshot();
	if (iofd_vm_create(NULL, &f.vm))
		return -1;
	f.efd = eventfd(0, EFD_CLOEXEC);
	f.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.efd < 0 || f.page == MAP_FAILED)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iofd_vm_destroy(f->vm);
	close(f->efd);
	munmap(f->page, 4096);
	/* a joined thread may linger in /proc/self/task for a moment */
	for (int i = 0; i < 200 && tu_threads() != f->before.threads; i++)
		usleep(10000);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

static struct iofd_ioeventfd post_args(uint64_t addr, uint32_t len, int fd,
				       uint32_t flags, uint64_t post_addr)
{
	struct iofd_ioeventfd a;

	memset(&a, 0, sizeof(a));
	a.addr = addr;
	a.len = len;
	a.fd = fd;
	a.flags = flags;
	a.post_addr = post_addr;
	return a;
}

static int mmio_write(struct iofd_vm *vm, uint64_t addr, uint32_t len, uint64_t v)
{
	return iofd_access(vm, IOFD_BUS_MMIO, addr, len, true, &v, NULL);
}

static uint64_t ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void assign_checks_len_and_post_addr(void **state)
{
	struct fixture *f = *state;
	uint8_t *ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *gap = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iofd_ioeventfd a;

	assert_ptr_not_equal(ro, MAP_FAILED);
	assert_ptr_not_equal(gap, MAP_FAILED);
	assert_int_equal(munmap(gap + 4096, 4096), 0);	/* [gap, gap+4096) only */

	a = post_args(0x1000, 0, f->efd, POST, ptr(f->page));
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* len 0 */
	a = post_args(0x1000, 4, f->efd, POST, 0);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* NULL */
	a = post_args(0x1000, 4, f->efd, POST, ptr(ro));
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* read-only */
	a = post_args(0x1000, 8, f->efd, POST, ptr(gap) + 4092);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* unaligned */
	a = post_args(0x1000, 4, f->efd, POST, ptr(gap) + 4096);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* unmapped */
	a = post_args(0x1000, 8, f->efd, POST, UINT64_MAX - 7);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* wraps */
	a = post_args(0x1000, 4, f->efd, MEMFD, 0);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);	/* no POST */
	assert_true(strlen(iofd_last_error()) > 0);
	/* nothing was registered by the failures */
	assert_int_equal(mmio_write(f->vm, 0x1000, 4, 1), IOFD_NOT_CLAIMED);

	a = post_args(0x1000, 4, f->efd, POST, ptr(gap) + 4092);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);	/* last 4 bytes */
	assert_int_equal(mmio_write(f->vm, 0x1000, 4, 0xfeedf00d), IOFD_SERVED);
	assert_int_equal(*(uint32_t *)(gap + 4092), 0xfeedf00d);
	assert_int_equal(tu_efd_count(f->efd), 1);
	a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	munmap(ro, 8192);
	munmap(gap, 4096);
}

static void post_addr_ignored_without_flag(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioeventfd a = post_args(0x2000, 4, f->efd, 0, 0xdeadbeef);

	a.post_fd = 12345;	/* ignored too */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	assert_int_equal(mmio_write(f->vm, 0x2000, 4, 7), IOFD_SERVED);
	assert_int_equal(tu_efd_count(f->efd), 1);
	/* deassign need not repeat the ignored fields */
	a.post_addr = 0;
	a.post_fd = -1;
	a.flags = IOFD_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
}

/* A target not aligned to len is refused, in both forms; a byte is aligned
 * anywhere. */
static void assign_refuses_unaligned_targets(void **state)
{
	struct fixture *f = *state;
	int mfd = memfd_create("iofd-post-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct iofd_ioeventfd a;

	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 4096), 0);
	assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	for (uint32_t len = 2; len <= 8; len *= 2) {
		for (uint32_t off = 1; off < len; off++) {
			a = post_args(0x1000, len, f->efd, POST, ptr(f->page + 64 + off));
			assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
			assert_non_null(strstr(iofd_last_error(), "aligned"));
			a = post_args(0x1000, len, f->efd, POST | MEMFD, 64 + off);
			a.post_fd = mfd;
			assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
			assert_non_null(strstr(iofd_last_error(), "aligned"));
		}
	}
	assert_int_equal(mmio_write(f->vm, 0x1000, 4, 1), IOFD_NOT_CLAIMED);
	for (uint32_t off = 0; off < 8; off++) {
		a = post_args(0x1000, 1, f->efd, POST, ptr(f->page + 64 + off));
		assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
		a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
		assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	}
	close(mfd);
}

/* With POST_WRITE, a non-zero byte of pad0, pad or (without POST_MEMFD)
 * post_fd is refused, on assign and deassign; without it, ignored. */
static void post_write_requires_zero_padding(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioeventfd a = post_args(0x1000, 4, f->efd, POST, ptr(f->page + 64));

	a.pad0 = 1;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.pad0 = 0;
	for (size_t i = 0; i < sizeof(a.pad); i++) {
		a.pad[i] = 0x80;
		assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
		assert_non_null(strstr(iofd_last_error(), "zero"));
		a.pad[i] = 0;
	}
	a.post_fd = -1;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_fd = 0;
	assert_int_equal(mmio_write(f->vm, 0x1000, 4, 1), IOFD_NOT_CLAIMED);

	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	a.pad[19] = 1;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.pad[19] = 0;
	a.post_fd = 3;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_fd = 0;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);

	/* without the flag, the same garbage is ignored */
	a = post_args(0x1000, 4, f->efd, 0, 0);
	a.pad0 = 7;
	a.post_fd = -1;
	memset(a.pad, 0x5a, sizeof(a.pad));
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
}

/* Widths 1/2/4/8 at offsets aligned to each: exactly len bytes change. */
static void stores_exactly_len_bytes(void **state)
{
	struct fixture *f = *state;
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	const uint64_t val = 0x8877665544332211ull;

	for (size_t w = 0; w < 4; w++) {
		const uint32_t offsets[] = { 0, widths[w], 2 * widths[w], 8, 24 };

		for (size_t o = 0; o < 5; o++) {
			uint32_t len = widths[w], off = 64 + offsets[o];
			struct iofd_ioeventfd a = post_args(0x3000, len, f->efd, POST,
							    ptr(f->page + off));
			uint8_t expect[96];

			memset(f->page, 0xaa, 256);
			memset(expect, 0xaa, sizeof(expect));
			memcpy(expect + off, &val, len);
			assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
			/* the access carries only len bytes of val */
			assert_int_equal(mmio_write(f->vm, 0x3000, len, val), IOFD_SERVED);
			assert_memory_equal(f->page, expect, sizeof(expect));
			assert_int_equal(f->page[off + len], 0xaa);
			assert_int_equal(f->page[off - 1], 0xaa);
			/* another width is not a match: nothing stored */
			memset(f->page + off, 0xaa, len);
			assert_int_equal(mmio_write(f->vm, 0x3000, len == 8 ? 4 : 8, val),
					 IOFD_NOT_CLAIMED);
			assert_int_equal(f->page[off], 0xaa);
			a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
			assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
		}
	}
	assert_int_equal(tu_efd_count(f->efd), 20);
}

struct tear_ctx {
	_Atomic uint64_t *slot;
	_Atomic bool stop;
	_Atomic bool reading;	/* the reader is in its loop */
	uint64_t torn, reads;
};

static void *tear_reader(void *arg)
{
	struct tear_ctx *c = arg;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(c->slot, memory_order_relaxed);

		if (v != 0 && v != UINT64_MAX)
			c->torn++;
		c->reads++;
		atomic_store_explicit(&c->reading, true, memory_order_relaxed);
	}
	return NULL;
}

/* A naturally aligned 8-byte slot is stored at once: a concurrent reader
 * sees all-zeros or all-ones, never a mix. */
static void aligned_store_is_one_atomic_store(void **state)
{
	struct fixture *f = *state;
	struct tear_ctx c = { .slot = (_Atomic uint64_t *)(f->page + 128) };
	struct iofd_ioeventfd a = post_args(0x4000, 8, f->efd, POST,
					    ptr(f->page + 128));
	pthread_t t;

	*(uint64_t *)(f->page + 128) = 0;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	assert_int_equal(pthread_create(&t, NULL, tear_reader, &c), 0);
	/* On a loaded machine the reader may not run at all before the
	 * writer is done: start writing once it reads. */
	while (!atomic_load_explicit(&c.reading, memory_order_relaxed))
		sched_yield();
	for (int i = 0; i < 200000; i++)
		assert_int_equal(mmio_write(f->vm, 0x4000, 8, i & 1 ? UINT64_MAX : 0),
				 IOFD_SERVED);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	assert_true(c.reads > 0);
	assert_int_equal(c.torn, 0);
	printf("# aligned 8-byte stores: %llu concurrent reads, %llu torn\n",
	       (unsigned long long)c.reads, (unsigned long long)c.torn);
}

struct order_ctx {
	int efd;
	const _Atomic uint64_t *slot;
	uint64_t total;
	uint64_t behind;	/* times the value lagged the counter */
	uint64_t wakeups;
};

static void *order_device(void *arg)
{
	struct order_ctx *c = arg;

	while (c->total < 100000) {
		uint64_t n, v;

		if (read(c->efd, &n, sizeof(n)) != sizeof(n))
			break;
		c->total += n;
		c->wakeups++;
		v = atomic_load_explicit(c->slot, memory_order_acquire);
		if (v < c->total)
			c->behind++;
	}
	return NULL;
}

/* The value of the i-th doorbell is i: whenever the device has seen the
 * counter reach N, the slot holds at least N. */
static void store_visible_before_signal(void **state)
{
	struct fixture *f = *state;
	struct order_ctx c = { .efd = f->efd,
			       .slot = (const _Atomic uint64_t *)(f->page + 256) };
	struct iofd_ioeventfd a = post_args(0x5000, 8, f->efd, POST,
					    ptr(f->page + 256));
	pthread_t t;

	*(uint64_t *)(f->page + 256) = 0;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	assert_int_equal(pthread_create(&t, NULL, order_device, &c), 0);
	for (uint64_t i = 1; i <= 100000; i++)
		assert_int_equal(mmio_write(f->vm, 0x5000, 8, i), IOFD_SERVED);
	pthread_join(t, NULL);
	assert_int_equal(c.total, 100000);
	assert_int_equal(c.behind, 0);
	assert_int_equal(*(uint64_t *)(f->page + 256), 100000);
	printf("# 100000 post-write doorbells, %llu device wake-ups, value never "
	       "behind the counter\n", (unsigned long long)c.wakeups);
}

static void datamatch_still_applies(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioeventfd a = post_args(0x6000, 4, f->efd, POST | DM,
					    ptr(f->page + 512));

	a.datamatch = 0x42;
	memset(f->page + 512, 0x5a, 4);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	assert_int_equal(mmio_write(f->vm, 0x6000, 4, 0x43), IOFD_NOT_CLAIMED);
	assert_int_equal(*(uint32_t *)(f->page + 512), 0x5a5a5a5a);
	assert_int_equal(tu_efd_count(f->efd), 0);
	assert_int_equal(mmio_write(f->vm, 0x6000, 4, 0x42), IOFD_SERVED);
	assert_int_equal(*(uint32_t *)(f->page + 512), 0x42);
	assert_int_equal(tu_efd_count(f->efd), 1);
	/* a second datamatch value at the same address posts elsewhere */
	struct iofd_ioeventfd b = post_args(0x6000, 4, f->efd, POST | DM,
					    ptr(f->page + 516));
	b.datamatch = 0x43;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &b), 0);
	assert_int_equal(mmio_write(f->vm, 0x6000, 4, 0x43), IOFD_SERVED);
	assert_int_equal(*(uint32_t *)(f->page + 512), 0x42);
	assert_int_equal(*(uint32_t *)(f->page + 516), 0x43);
}

static void deassign_matches_post_addr(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioeventfd a = post_args(0x7000, 2, f->efd, POST,
					    ptr(f->page + 600));
	struct iofd_ioeventfd d = a;

	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	d.flags = POST | IOFD_IOEVENTFD_FLAG_DEASSIGN;
	d.post_addr = ptr(f->page + 602);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
	d.flags = IOFD_IOEVENTFD_FLAG_DEASSIGN;		/* not as a plain one */
	d.post_addr = a.post_addr;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
	struct kvm_ioeventfd k = { .addr = 0x7000, .len = 2, .fd = f->efd,
				   .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };
	assert_int_equal(iofd_ioeventfd(f->vm, &k), -ENOENT);
	assert_int_equal(mmio_write(f->vm, 0x7000, 2, 9), IOFD_SERVED);
	d.flags = POST | IOFD_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_path(f->vm, &d), IOFD_PATH_USERSPACE);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), 0);
	assert_int_equal(mmio_write(f->vm, 0x7000, 2, 9), IOFD_NOT_CLAIMED);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
}

static int sealed_memfd(size_t size, unsigned int seals)
{
	int fd = memfd_create("iofd-post-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	if (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
		return -1;
	return fd;
}

/* Mappings of our memfds in this process, from /proc/self/maps. */
static int memfd_mappings(void)
{
	FILE *m = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	while (m && fgets(line, sizeof(line), m))
		if (strstr(line, "memfd:iofd-post-test"))
			n++;
	if (m)
		fclose(m);
	return n;
}

static void memfd_form_validation(void **state)
{
	struct fixture *f = *state;
	int unsealed = sealed_memfd(8192, 0), sealed = sealed_memfd(8192, F_SEAL_SHRINK);
	int wsealed = sealed_memfd(8192, F_SEAL_SHRINK | F_SEAL_WRITE), p[2];
	struct iofd_ioeventfd a = post_args(0x8000, 4, f->efd, POST | MEMFD, 16);

	assert_true(unsealed >= 0 && sealed >= 0 && wsealed >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	a.post_fd = -1;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EBADF);
	a.post_fd = unsealed;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_fd = p[1];
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_fd = wsealed;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_fd = sealed;
	a.post_addr = 8192;			/* slot past the end */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.post_addr = UINT64_MAX - 3;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.len = 0;
	a.post_addr = 0;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), -EINVAL);
	a.len = 4;
	a.post_addr = 8188;			/* the last 4 bytes: fine */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	a.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);
	close(unsealed);
	close(sealed);
	close(wsealed);
	close(p[0]);
	close(p[1]);
}

static void memfd_form_stores_and_deassigns(void **state)
{
	struct fixture *f = *state;
	int mfd = sealed_memfd(3 * 4096, F_SEAL_SHRINK), other = sealed_memfd(8192, F_SEAL_SHRINK);
	int maps_before = memfd_mappings(), dupfd;
	struct iofd_ioeventfd a = post_args(0x9000, 8, f->efd, POST | MEMFD, 4096 + 4088);
	struct iofd_ioeventfd d;
	uint8_t buf[16];
	uint64_t v;

	assert_true(mfd >= 0 && other >= 0);
	a.post_fd = mfd;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &a), 0);	/* 2nd page's end */
	assert_int_equal(memfd_mappings(), maps_before + 1);
	dupfd = dup(mfd);
	close(mfd);			/* iofd mapped it: the fd may go */
	assert_int_equal(mmio_write(f->vm, 0x9000, 8, 0x0102030405060708ull),
			 IOFD_SERVED);
	assert_int_equal(pread(dupfd, buf, sizeof(buf), 4096 + 4080), sizeof(buf));
	assert_int_equal(buf[7], 0);
	memcpy(&v, buf + 8, sizeof(v));
	assert_int_equal(v, 0x0102030405060708ull);
	assert_int_equal(pread(dupfd, buf, 1, 8192), 1);
	assert_int_equal(buf[0], 0);
	assert_int_equal(tu_efd_count(f->efd), 1);

	d = a;
	d.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	d.post_fd = other;		/* another memfd object */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
	d.post_fd = dupfd;
	d.post_addr = 4096 + 4080;	/* another offset */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
	d.post_addr = a.post_addr;
	d.flags &= ~MEMFD;		/* address form with the same number */
	d.post_fd = 0;			/* (padding there: zero) */
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -ENOENT);
	d.flags |= MEMFD;
	d.post_fd = 999;
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), -EBADF);
	d.post_fd = dupfd;		/* same object through a dup */
	assert_int_equal(iofd_ioeventfd_path(f->vm, &d), IOFD_PATH_USERSPACE);
	assert_int_equal(iofd_ioeventfd_ext(f->vm, &d), 0);
	assert_int_equal(mmio_write(f->vm, 0x9000, 8, 1), IOFD_NOT_CLAIMED);
	iofd_quiesce(f->vm);
	assert_int_equal(memfd_mappings(), maps_before);
	close(dupfd);
	close(other);
}

/* iofd says it serves post-write even without KVM (the kernel half of the
 * offload question is asserted with a guest in tests/kvm). */
static void caps_say_post_write(void **state)
{
	struct fixture *f = *state;
	struct iofd_caps caps;

	assert_int_equal(iofd_query_caps(f->vm, &caps), 0);
	assert_true(caps.flags & IOFD_CAP_POST_WRITE);
	assert_false(caps.flags & IOFD_CAP_IOEVENTFD_OFFLOAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(assign_checks_len_and_post_addr, setup, teardown),
		cmocka_unit_test_setup_teardown(post_addr_ignored_without_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(assign_refuses_unaligned_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(post_write_requires_zero_padding, setup, teardown),
		cmocka_unit_test_setup_teardown(stores_exactly_len_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(aligned_store_is_one_atomic_store, setup, teardown),
		cmocka_unit_test_setup_teardown(store_visible_before_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(datamatch_still_applies, setup, teardown),
		cmocka_unit_test_setup_teardown(deassign_matches_post_addr, setup, teardown),
		cmocka_unit_test_setup_teardown(memfd_form_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(memfd_form_stores_and_deassigns, setup, teardown),
		cmocka_unit_test_setup_teardown(caps_say_post_write, setup, teardown),
	};

	tu_warm_up();
	return cmocka_run_group_tests_name("post_write", tests, NULL, NULL);
}
