/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme-device without a VM: the test is the VMM and a minimal NVMe driver.
 *
 * It spawns the device with iofd_handoff_spawn(), hands it a guest RAM
 * memfd, BAR0's register region (a socketpair it speaks ioregionfd on)
 * and the doorbell eventfds, takes the shadow memfd from the REPLY and
 * sends the vector eventfds. A doorbell write is what the kernel's
 * post-write ioeventfd does: the value stored at the doorbell's shadow
 * slot, then the eventfd signalled. The driver side follows Linux's
 * order: CAP/VS, AQA/ASQ/ACQ, CC.EN, CSTS.RDY, Identify, Number of Queues,
 * Create I/O CQ/SQ, I/O, shutdown, disable. Every case ends by closing the
 * VMM's ends and checking the device's exit status and its stats file
 * against what the case did.
 *
 * Usage: test_nvme PATH-TO-nvme-device
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <iofd/handoff.h>
#include <iofd/uapi.h>

#include "nvme_dbmode.h"
#include "nvme_defs.h"
#include "nvme_irq.h"

#define QUEUES		2
#define QUEUES_STR	"2"
#define NR_DB		(2 * (QUEUES + 1))
#define NR_VEC		(QUEUES + 1)
#define RAM_GPA		0x100000ull		/* guest RAM: [1 MiB, 17 MiB) */
#define RAM_SIZE	(16ull << 20)
#define BAR0		0xfe000000ull
#define NS_SIZE		(8ull << 20)		/* 16384 blocks of 512 B */
#define LBA		512u
#define PAGE		4096u
#define AQ_DEPTH	32
#define IOQ_DEPTH	64
#define REG_TOKEN	0x5eed

/* Guest addresses the driver uses. */
#define G(off)		(RAM_GPA + (off))
#define ASQ_GPA		G(0x0000)
#define ACQ_GPA		G(0x1000)
#define SQ_GPA(q)	G(0x10000 + 0x2000 * (uint64_t)(q))
#define CQ_GPA(q)	G(0x11000 + 0x2000 * (uint64_t)(q))
#define IDENT_GPA	G(0x20000)
#define LIST_GPA	G(0x80000)		/* PRP list pages */
#define DATA_GPA	G(0x100000)		/* 1 MiB of data buffers */
#define OUTSIDE_GPA	0x40000000ull		/* not guest RAM */

static const char *device_path;

struct queue {
	uint16_t qid;
	uint32_t size, cq_size, sq_tail, cq_head;
	uint8_t phase;
	uint64_t sq_gpa, cq_gpa;
	uint16_t next_cid;
	bool dbbuf;		/* doorbells through the shadow buffer */
};

/* What the case did, to compare with the device's stats file. */
struct expect {
	uint64_t admin[256], io[256];
	uint64_t failed, prp_list, sq_db, cq_db, invalid_db;
	uint64_t bytes_read, bytes_written, events;
	uint64_t enables, resets, shutdowns;
	uint64_t eois, dbbuf_configs;
	uint64_t dbmode_requests, dbmode_refusals;
	uint64_t bad_cid, aborted;	/* bad-CID completions, Aborts that aborted */
	uint64_t shadow_updates[2], mmio_updates[2];	/* [0] SQ, [1] CQ */
};

struct fx {
	pid_t pid;
	int sock;			/* handoff */
	int regs;			/* VMM end of BAR0's register region */
	int ram_fd;
	uint8_t *ram;
	int db_efd[NR_DB];
	int vec_efd[NR_VEC];
	uint64_t vec_count[NR_VEC];
	unsigned nr_vec;		/* NR_VEC, or 1 with --intx */
	bool intx;
	int resample_efd;		/* --intx: the resample eventfd */
	uint32_t vmm_flags;		/* NVME_IRQ_F_* sent after the handoff */
	bool plain_io_db;		/* I/O doorbells as plain ioeventfds */
	uint32_t *shadow;
	size_t shadow_size;
	char backing[64], stats[80];
	int backing_fd;
	struct queue aq, ioq[QUEUES + 1];
	struct expect ex;
};

/* ---- plumbing ------------------------------------------------------------------ */

static void *ram_at(struct fx *f, uint64_t gpa)
{
	assert_true(gpa >= RAM_GPA && gpa < RAM_GPA + RAM_SIZE);
	return f->ram + (gpa - RAM_GPA);
}

static void sock_pair(int type, int *a, int *b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	*a = sv[0];
	*b = sv[1];
}

static struct iofd_handoff hello_for(struct fx *f, int regs_dev)
{
	struct iofd_handoff h;

	iofd_handoff_init(&h, IOFD_HANDOFF_HELLO);
	h.nr_ram = 1;
	h.ram[0] = (struct iofd_handoff_ram){ .gpa = RAM_GPA, .size = RAM_SIZE,
					      .fd = f->ram_fd };
	h.nr_regions = 1;
	h.regions[0] = (struct iofd_handoff_region){ .gpa = BAR0, .size = NVME_REGS_SIZE,
		.user_data = REG_TOKEN, .cmd_fd = regs_dev, .resp_fd = regs_dev };
	h.nr_doorbells = NR_DB;
	for (int i = 0; i < NR_DB; i++)
		h.doorbells[i] = (struct iofd_handoff_doorbell){
			.gpa = BAR0 + NVME_DB_OFFSET + 4ull * i, .len = 4,
			.shadow_offset = 8ull * i, .efd = f->db_efd[i] };
	return h;
}

static void spawn(struct fx *f, const char *extra)
{
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)device_path;
	argv[n++] = "--queues";
	argv[n++] = QUEUES_STR;
	argv[n++] = "--size";
	argv[n++] = "8388608";
	argv[n++] = "--backing";
	argv[n++] = f->backing;
	argv[n++] = "--stats";
	argv[n++] = f->stats;
	argv[n++] = "--serial";
	argv[n++] = "TEST-SN-42";
	argv[n++] = "--vid";
	argv[n++] = "0x1234";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	assert_int_equal(iofd_handoff_spawn(argv, &f->sock, &f->pid), 0);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->backing, sizeof(f->backing), "/tmp/test_nvme.XXXXXX");
	f->backing_fd = mkstemp(f->backing);
	snprintf(f->stats, sizeof(f->stats), "%s.stats", f->backing);
	f->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f->backing_fd < 0 || f->ram_fd < 0 || ftruncate(f->ram_fd, RAM_SIZE) < 0)
		return -1;
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->ram_fd, 0);
	if (f->ram == MAP_FAILED)
		return -1;
	for (int i = 0; i < NR_DB; i++)
		f->db_efd[i] = eventfd(0, EFD_CLOEXEC);
	for (int i = 0; i < NR_VEC; i++)
		f->vec_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->resample_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->nr_vec = NR_VEC;
	f->regs = f->sock = -1;
	*state = f;
	return 0;
}

/*
 * The handoff's first half: the device started with option @extra (or
 * none), its HELLO sent (with @nr_doorbells doorbells instead of all when
 * not 0), its REPLY received into @reply (the caller closes it). Returns
 * the REPLY's status.
 */
static int32_t hello_reply(struct fx *f, const char *extra, uint32_t nr_doorbells,
			   struct iofd_handoff *reply)
{
	struct iofd_handoff h;
	int regs_dev;

	spawn(f, extra);
	sock_pair(SOCK_SEQPACKET, &f->regs, &regs_dev);
	h = hello_for(f, regs_dev);
	if (nr_doorbells)
		h.nr_doorbells = nr_doorbells;
	assert_int_equal(iofd_handoff_send(f->sock, &h), 0);
	close(regs_dev);
	assert_int_equal(iofd_handoff_recv(f->sock, IOFD_HANDOFF_REPLY, reply, 5000), 0);
	return reply->status;
}

/* The whole handoff: HELLO, REPLY (shadow), interrupt packet; the device
 * started with option @extra (or none): with "--intx" the packet is the
 * INTx one (trigger = vec_efd[0], resample_efd). */
static void attach_with(struct fx *f, const char *extra)
{
	struct iofd_handoff reply;

	f->intx = extra && strcmp(extra, "--intx") == 0;
	f->nr_vec = f->intx ? 1 : NR_VEC;
	assert_int_equal(hello_reply(f, extra, 0, &reply), 0);
	assert_true(reply.shadow_fd >= 0);
	f->shadow_size = 8 * NR_DB;
	f->shadow = mmap(NULL, f->shadow_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 reply.shadow_fd, 0);
	assert_true(f->shadow != MAP_FAILED);
	iofd_handoff_close(&reply);
	if (f->intx)
		assert_int_equal(nvme_irq_send_intx(f->sock, f->vec_efd[0],
						    f->resample_efd, f->vmm_flags), 0);
	else
		assert_int_equal(nvme_irq_send(f->sock, f->vec_efd, NR_VEC,
					       f->vmm_flags), 0);
}

static void attach(struct fx *f)
{
	attach_with(f, NULL);
}

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	return v;
}

/* The key's value in the stats file, or UINT64_MAX. */
static uint64_t stat_of(const char *path, const char *key)
{
	char line[128], k[64];
	unsigned long long v;
	FILE *fp = fopen(path, "re");
	uint64_t out = UINT64_MAX;

	if (!fp)
		return out;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%63s %llu", k, &v) == 2 && strcmp(k, key) == 0)
			out = v;
	fclose(fp);
	return out;
}

#define CHECK_STAT(f, key, want)                                              \
	do {                                                                  \
		uint64_t got_ = stat_of((f)->stats, key);                     \
		if (got_ != (uint64_t)(want))                                 \
			fail_msg("stat %s: %llu, want %llu", key,             \
				 (unsigned long long)got_,                    \
				 (unsigned long long)(want));                 \
	} while (0)

static const char *const admin_keys[256] = {
	[0x00] = "admin_delete_sq", [0x01] = "admin_create_sq",
	[0x02] = "admin_get_log_page", [0x04] = "admin_delete_cq",
	[0x05] = "admin_create_cq", [0x06] = "admin_identify",
	[0x08] = "admin_abort", [0x09] = "admin_set_features",
	[0x0a] = "admin_get_features", [0x0c] = "admin_async_event",
	[0x7c] = "admin_doorbell_buffer_config",
};

/*
 * The device counts each new value it took from the shadow buffer that
 * was not the value of the MMIO doorbell it was handling: never more than
 * the values the test wrote there (@kind 0 SQ tails, 1 CQ heads), and some
 * when the test wrote many without ringing (not all: the device sees only
 * the latest of those written while it was busy). A wake-up doorbell
 * announces whatever the shadow holds, so with those there may be none.
 */
static void check_shadow_only(struct fx *f, const char *key, int kind)
{
	uint64_t got = stat_of(f->stats, key);
	uint64_t written = f->ex.shadow_updates[kind] + f->ex.mmio_updates[kind];
	bool wakeups = stat_of(f->stats, "doorbell_wakeups_only") > 0;

	if (got > written ||
	    (!wakeups && f->ex.shadow_updates[kind] >= 10 && got == 0))
		fail_msg("stat %s: %llu; the test wrote %llu, %llu without MMIO",
			 key, (unsigned long long)got, (unsigned long long)written,
			 (unsigned long long)f->ex.shadow_updates[kind]);
}

static void check_stats(struct fx *f)
{
	uint64_t other = 0, vectors = 0;

	for (int op = 0; op < 256; op++) {
		if (admin_keys[op])
			CHECK_STAT(f, admin_keys[op], f->ex.admin[op]);
		else
			other += f->ex.admin[op];
	}
	CHECK_STAT(f, "admin_other", other);
	CHECK_STAT(f, "io_flush", f->ex.io[NVME_IO_FLUSH]);
	CHECK_STAT(f, "io_write", f->ex.io[NVME_IO_WRITE]);
	CHECK_STAT(f, "io_read", f->ex.io[NVME_IO_READ]);
	other = 0;
	for (int op = 3; op < 256; op++)
		other += f->ex.io[op];
	CHECK_STAT(f, "io_other", other);
	CHECK_STAT(f, "commands_failed", f->ex.failed);
	CHECK_STAT(f, "prp_list_commands", f->ex.prp_list);
	CHECK_STAT(f, "doorbell_sq_tail", f->ex.sq_db);
	CHECK_STAT(f, "doorbell_cq_head", f->ex.cq_db);
	CHECK_STAT(f, "doorbell_invalid", f->ex.invalid_db);
	CHECK_STAT(f, "bytes_read", f->ex.bytes_read);
	CHECK_STAT(f, "bytes_written", f->ex.bytes_written);
	CHECK_STAT(f, "async_events", f->ex.events);
	CHECK_STAT(f, "enables", f->ex.enables);
	CHECK_STAT(f, "resets", f->ex.resets);
	CHECK_STAT(f, "shutdowns", f->ex.shutdowns);
	CHECK_STAT(f, "namespace_io_errors", 0);
	CHECK_STAT(f, "io_queues", QUEUES);
	CHECK_STAT(f, "vectors", f->nr_vec);
	for (unsigned v = 0; v < f->nr_vec; v++)
		vectors += f->vec_count[v] + efd_take(f->vec_efd[v]);
	CHECK_STAT(f, "interrupts", vectors);
	CHECK_STAT(f, "intx", f->intx);
	CHECK_STAT(f, "intx_asserts", f->intx ? vectors : 0);
	CHECK_STAT(f, "intx_eois", f->ex.eois);
	CHECK_STAT(f, "dbbuf_configs", f->ex.dbbuf_configs);
	CHECK_STAT(f, "doorbell_mode_requests", f->ex.dbmode_requests);
	CHECK_STAT(f, "doorbell_mode_answers", f->ex.dbmode_requests);
	CHECK_STAT(f, "doorbell_mode_refusals", f->ex.dbmode_refusals);
	if (f->vmm_flags && f->ex.dbmode_requests &&
	    stat_of(f->stats, "doorbell_wakeups_only") == 0)
		fail_msg("no MMIO doorbell was taken as a wake-up");
	CHECK_STAT(f, "bad_cid_completions", f->ex.bad_cid);
	CHECK_STAT(f, "commands_aborted", f->ex.aborted);
	check_shadow_only(f, "shadow_sq_tail", 0);
	check_shadow_only(f, "shadow_cq_head", 1);
	if (f->ex.dbbuf_configs)
		fprintf(stderr, "# device: MMIO doorbells %llu SQ, %llu CQ; shadow-only "
			"%llu SQ, %llu CQ; EventIdx writes %llu\n",
			(unsigned long long)stat_of(f->stats, "doorbell_sq_tail"),
			(unsigned long long)stat_of(f->stats, "doorbell_cq_head"),
			(unsigned long long)stat_of(f->stats, "shadow_sq_tail"),
			(unsigned long long)stat_of(f->stats, "shadow_cq_head"),
			(unsigned long long)stat_of(f->stats, "event_index_writes"));
}

static uint32_t rd32(struct fx *f, uint64_t off);

/* Close the VMM's ends; the device must exit 0 and leave its stats. */
static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int status = -1;

	/* A register round trip: every doorbell rung before it was taken. */
	if (f->pid > 0 && f->shadow)
		rd32(f, NVME_REG_VS);
	if (f->regs >= 0)
		close(f->regs);
	if (f->sock >= 0)
		close(f->sock);
	if (f->pid > 0)
		assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	if (f->pid > 0 && f->shadow)
		check_stats(f);
	if (f->shadow)
		munmap(f->shadow, f->shadow_size);
	for (int i = 0; i < NR_DB; i++)
		close(f->db_efd[i]);
	for (int i = 0; i < NR_VEC; i++)
		close(f->vec_efd[i]);
	close(f->resample_efd);
	munmap(f->ram, RAM_SIZE);
	close(f->ram_fd);
	close(f->backing_fd);
	unlink(f->backing);
	unlink(f->stats);
	free(f);
	if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fail_msg("nvme-device ended with status 0x%x", status);
	return 0;
}

/* ---- BAR0 ---------------------------------------------------------------------- */

static uint64_t reg_access(struct fx *f, bool is_write, uint64_t off,
			   uint32_t size, uint64_t data)
{
	struct iofd_ioregionfd_cmd c;
	struct iofd_ioregionfd_resp r;
	struct pollfd p = { .fd = f->regs, .events = POLLIN };

	memset(&c, 0, sizeof(c));
	c.cmd = is_write ? IOFD_IOREGIONFD_CMD_WRITE : IOFD_IOREGIONFD_CMD_READ;
	c.info = IOFD_IOREGIONFD_INFO(size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0,
				      true);
	c.user_data = REG_TOKEN;
	c.offset = off;
	c.data = is_write ? data : 0;
	assert_int_equal(write(f->regs, &c, sizeof(c)), sizeof(c));
	assert_int_equal(poll(&p, 1, 5000), 1);	/* the device answers */
	assert_int_equal(read(f->regs, &r, sizeof(r)), sizeof(r));
	return r.data;
}

static uint32_t rd32(struct fx *f, uint64_t off)
{
	return (uint32_t)reg_access(f, false, off, 4, 0);
}

static void wr32(struct fx *f, uint64_t off, uint32_t v)
{
	reg_access(f, true, off, 4, v);
}

/* What a post-write ioeventfd does: store, then signal. An I/O queue's
 * doorbell switched to a plain ioeventfd only signals. */
static void ring(struct fx *f, unsigned idx, uint32_t value)
{
	uint64_t one = 1;

	if (!(f->plain_io_db && idx >= 2))
		__atomic_store_n(&f->shadow[2 * idx], value, __ATOMIC_RELEASE);
	assert_int_equal(write(f->db_efd[idx], &one, sizeof(one)), sizeof(one));
	if (idx & 1)
		f->ex.cq_db++;
	else
		f->ex.sq_db++;
}

/* Where the driver keeps the shadow doorbell and EventIdx buffers. */
#define DBS_GPA		G(0x30000)
#define EIS_GPA		G(0x31000)

/* Linux's nvme_dbbuf_need_event(): did the update from @old to @new pass
 * the controller's EventIdx @ei? (16-bit arithmetic, as there.) */
static bool need_event(uint16_t ei, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - ei - 1) < (uint16_t)(new_idx - old);
}

/*
 * A doorbell update the way Linux does it with the buffers set
 * (nvme_dbbuf_update_and_check_event()): the shadow entry, a full
 * barrier, then the MMIO doorbell only if the EventIdx rule asks.
 */
static void db_update(struct fx *f, unsigned idx, uint32_t value)
{
	uint32_t *sh = (uint32_t *)ram_at(f, DBS_GPA) + idx;
	uint32_t *ei = (uint32_t *)ram_at(f, EIS_GPA) + idx;
	uint32_t old = __atomic_load_n(sh, __ATOMIC_RELAXED);

	__atomic_store_n(sh, value, __ATOMIC_RELEASE);
	nvme_fence(__ATOMIC_SEQ_CST);
	if (need_event((uint16_t)__atomic_load_n(ei, __ATOMIC_ACQUIRE),
		       (uint16_t)value, (uint16_t)old)) {
		ring(f, idx, value);
		f->ex.mmio_updates[idx & 1]++;
	} else {
		f->ex.shadow_updates[idx & 1]++;
	}
}

/* A queue's doorbell: through the shadow buffer or straight to MMIO. */
static void q_doorbell(struct fx *f, struct queue *q, bool cq, uint32_t value)
{
	unsigned idx = 2 * q->qid + (cq ? 1 : 0);

	if (q->dbbuf)
		db_update(f, idx, value);
	else
		ring(f, idx, value);
}

/* ---- the driver ------------------------------------------------------------------ */

static void queue_init(struct queue *q, uint16_t qid, uint32_t size,
		       uint64_t sq_gpa, uint64_t cq_gpa)
{
	*q = (struct queue){ .qid = qid, .size = size, .cq_size = size, .phase = 1,
			     .sq_gpa = sq_gpa, .cq_gpa = cq_gpa, .next_cid = 1 };
}

static uint16_t submit(struct fx *f, struct queue *q, struct nvme_sqe *e)
{
	e->cid = q->next_cid++;
	memcpy(ram_at(f, q->sq_gpa + (uint64_t)q->sq_tail * NVME_SQE_SIZE), e, sizeof(*e));
	q->sq_tail = (q->sq_tail + 1) % q->size;
	if (q->qid == 0)
		f->ex.admin[e->opcode]++;
	else
		f->ex.io[e->opcode]++;
	q_doorbell(f, q, false, q->sq_tail);
	return e->cid;
}

/* The next completion within @ms, taken by the driver but the CQ head
 * doorbell not rung yet. */
static bool peek_cqe(struct fx *f, struct queue *q, struct nvme_cqe *out, int ms)
{
	volatile uint8_t *slot = ram_at(f, q->cq_gpa + (uint64_t)q->cq_head * NVME_CQE_SIZE);

	for (int i = 0; i < ms * 10; i++) {
		uint16_t st = __atomic_load_n((uint16_t *)(slot + 14), __ATOMIC_ACQUIRE);

		if ((st & 1) == q->phase) {
			memcpy(out, (const void *)slot, sizeof(*out));
			if (++q->cq_head == q->cq_size) {
				q->cq_head = 0;
				q->phase ^= 1;
			}
			if (out->status >> 1)
				f->ex.failed++;
			return true;
		}
		nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
	}
	return false;
}

/* The next completion within @ms, consumed (CQ head doorbell rung). */
static bool next_cqe(struct fx *f, struct queue *q, struct nvme_cqe *out, int ms)
{
	if (!peek_cqe(f, q, out, ms))
		return false;
	q_doorbell(f, q, true, q->cq_head);
	return true;
}

static struct nvme_cqe run_cmd(struct fx *f, struct queue *q, struct nvme_sqe *e)
{
	struct nvme_cqe c;
	uint16_t cid = submit(f, q, e);

	if (!next_cqe(f, q, &c, 5000))
		fail_msg("no completion for opcode 0x%x on queue %u", e->opcode, q->qid);
	assert_int_equal(c.cid, cid);
	assert_int_equal(c.sq_id, q->qid);
	assert_int_equal(c.sq_head, q->sq_tail);
	return c;
}

/* The status field of a completion (phase dropped). */
static uint16_t status_of(const struct nvme_cqe *c)
{
	return c->status >> 1;
}

static uint16_t admin(struct fx *f, struct nvme_sqe e, uint32_t *dw0)
{
	struct nvme_cqe c = run_cmd(f, &f->aq, &e);

	if (dw0)
		*dw0 = c.dw0;
	return status_of(&c);
}

static void wait_csts(struct fx *f, uint32_t mask, uint32_t want)
{
	for (int i = 0; i < 5000; i++) {
		if ((rd32(f, NVME_REG_CSTS) & mask) == want)
			return;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	fail_msg("CSTS & 0x%x never became 0x%x", mask, want);
}

#define CC_LINUX	((NVME_SQES << 16) | (NVME_CQES << 20))

/* Linux's nvme_pci_configure_admin_queue() and nvme_enable_ctrl(). */
static void enable(struct fx *f)
{
	wr32(f, NVME_REG_CC, rd32(f, NVME_REG_CC) & ~NVME_CC_EN);
	wait_csts(f, NVME_CSTS_RDY, 0);
	wr32(f, NVME_REG_AQA, (AQ_DEPTH - 1) | (AQ_DEPTH - 1) << 16);
	wr32(f, NVME_REG_ASQ, (uint32_t)ASQ_GPA);
	wr32(f, NVME_REG_ASQ + 4, (uint32_t)(ASQ_GPA >> 32));
	wr32(f, NVME_REG_ACQ, (uint32_t)ACQ_GPA);
	wr32(f, NVME_REG_ACQ + 4, (uint32_t)(ACQ_GPA >> 32));
	wr32(f, NVME_REG_CC, CC_LINUX);
	wr32(f, NVME_REG_CC, CC_LINUX | NVME_CC_EN);
	wait_csts(f, NVME_CSTS_RDY, NVME_CSTS_RDY);
	f->ex.enables++;
	memset(ram_at(f, ACQ_GPA), 0, AQ_DEPTH * NVME_CQE_SIZE);
	queue_init(&f->aq, 0, AQ_DEPTH, ASQ_GPA, ACQ_GPA);
}

static uint16_t create_cq(struct fx *f, uint16_t qid, uint32_t size, uint64_t gpa,
			  uint32_t flags, uint16_t iv)
{
	return admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_CQ, .prp1 = gpa,
		.cdw10 = qid | (size - 1) << 16, .cdw11 = flags | (uint32_t)iv << 16 }, NULL);
}

static uint16_t create_sq(struct fx *f, uint16_t qid, uint32_t size, uint64_t gpa,
			  uint16_t cqid)
{
	return admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_CREATE_SQ, .prp1 = gpa,
		.cdw10 = qid | (size - 1) << 16, .cdw11 = 1 | (uint32_t)cqid << 16 }, NULL);
}

/* Enable, ask for the queues, create them: queue 1 with interrupts on
 * vector 1, queue 2 polled (IEN 0), as Linux's poll queues are. */
static void bring_up(struct fx *f)
{
	uint32_t dw0;

	enable(f);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 7 | 7 << 16 }, &dw0), 0);
	assert_int_equal(dw0, (QUEUES - 1) | (QUEUES - 1) << 16);
	for (uint16_t q = 1; q <= QUEUES; q++) {
		memset(ram_at(f, CQ_GPA(q)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
		assert_int_equal(create_cq(f, q, IOQ_DEPTH, CQ_GPA(q), q == 1 ? 3 : 1, q), 0);
		assert_int_equal(create_sq(f, q, IOQ_DEPTH, SQ_GPA(q), q), 0);
		queue_init(&f->ioq[q], q, IOQ_DEPTH, SQ_GPA(q), CQ_GPA(q));
	}
}

static struct nvme_sqe rw(uint8_t op, uint64_t slba, uint32_t blocks,
			  uint64_t prp1, uint64_t prp2)
{
	return (struct nvme_sqe){ .opcode = op, .nsid = 1, .prp1 = prp1, .prp2 = prp2,
				  .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32),
				  .cdw12 = blocks - 1 };
}

static uint16_t io(struct fx *f, unsigned q, struct nvme_sqe e)
{
	struct nvme_cqe c = run_cmd(f, &f->ioq[q], &e);
	uint16_t st = status_of(&c);

	if (st == 0 && e.opcode == NVME_IO_WRITE)
		f->ex.bytes_written += ((uint64_t)(e.cdw12 & 0xffff) + 1) * LBA;
	if (st == 0 && e.opcode == NVME_IO_READ)
		f->ex.bytes_read += ((uint64_t)(e.cdw12 & 0xffff) + 1) * LBA;
	return st;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static void disable(struct fx *f)
{
	wr32(f, NVME_REG_CC, CC_LINUX);
	wait_csts(f, NVME_CSTS_RDY, 0);
	f->ex.resets++;
	assert_int_equal(rd32(f, NVME_REG_CSTS), 0);
}

/* ---- cases ---------------------------------------------------------------------- */

static void registers_and_state_machine(void **state)
{
	struct fx *f = *state;
	uint64_t cap;

	attach(f);
	cap = reg_access(f, false, NVME_REG_CAP, 8, 0);
	assert_int_equal(cap & 0xffff, 1023);			/* MQES */
	assert_true(cap & NVME_CAP_CQR);
	assert_true(((cap >> 24) & 0xff) >= 1);			/* TO */
	assert_int_equal((cap >> 32) & 0xf, 0);			/* DSTRD */
	assert_true(cap & NVME_CAP_CSS_NVM);
	assert_int_equal((cap >> 48) & 0xf, 0);			/* MPSMIN */
	assert_int_equal(rd32(f, NVME_REG_CAP), (uint32_t)cap);	/* lo_hi_readq */
	assert_int_equal(rd32(f, NVME_REG_CAP + 4), (uint32_t)(cap >> 32));
	assert_int_equal(reg_access(f, false, NVME_REG_VS + 2, 1, 0), 1);	/* major */
	assert_int_equal(rd32(f, NVME_REG_VS), 0x00010400);
	assert_int_equal(rd32(f, NVME_REG_CSTS), 0);
	assert_int_equal(rd32(f, NVME_REG_CMBSZ), 0);

	/* Enabling with a 1-entry admin queue: fatal status, never ready. */
	wr32(f, NVME_REG_AQA, 0);
	wr32(f, NVME_REG_CC, CC_LINUX | NVME_CC_EN);
	f->ex.enables++;
	assert_int_equal(rd32(f, NVME_REG_CSTS), NVME_CSTS_CFS);
	/* CC.EN 1 -> 0 resets the controller, CFS included. */
	disable(f);
	/* A page size the device does not have (CC.MPS 1 = 8 KiB). */
	wr32(f, NVME_REG_AQA, 0x001f001f);
	wr32(f, NVME_REG_CC, CC_LINUX | 1u << 7 | NVME_CC_EN);
	f->ex.enables++;
	assert_int_equal(rd32(f, NVME_REG_CSTS) & 3, NVME_CSTS_CFS);
	disable(f);
	/* Admin queues outside guest RAM. */
	wr32(f, NVME_REG_ASQ, 0);
	wr32(f, NVME_REG_ASQ + 4, 1);
	wr32(f, NVME_REG_CC, CC_LINUX | NVME_CC_EN);
	f->ex.enables++;
	assert_int_equal(rd32(f, NVME_REG_CSTS) & 3, NVME_CSTS_CFS);
	disable(f);

	enable(f);
	/* AQA/ASQ/ACQ are frozen while enabled; 8-byte reads see them. */
	wr32(f, NVME_REG_AQA, 0x00030003);
	assert_int_equal(rd32(f, NVME_REG_AQA), 0x001f001f);
	assert_int_equal(reg_access(f, false, NVME_REG_ASQ, 8, 0), ASQ_GPA);
	assert_int_equal(reg_access(f, false, NVME_REG_ACQ, 8, 0), ACQ_GPA);
	/* Shutdown: SHST complete, still enabled; then disable. */
	wr32(f, NVME_REG_CC, CC_LINUX | NVME_CC_EN | 1u << 14);
	f->ex.shutdowns++;
	wait_csts(f, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE);
	assert_int_equal(rd32(f, NVME_REG_CSTS) & NVME_CSTS_RDY, NVME_CSTS_RDY);
	disable(f);
}

static void identify_and_features(void **state)
{
	struct fx *f = *state;
	uint8_t *id = ram_at(f, IDENT_GPA);
	uint32_t dw0;

	attach(f);
	enable(f);

	/* Identify Controller into a buffer that crosses a page: PRP1+PRP2. */
	memset(id, 0xaa, 3 * PAGE);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA + 0x800, .prp2 = IDENT_GPA + PAGE, .cdw10 = 1 }, NULL), 0);
	id += 0x800;
	assert_int_equal(id[0] | id[1] << 8, 0x1234);			/* VID */
	assert_memory_equal(id + 4, "TEST-SN-42          ", 20);	/* SN */
	assert_memory_equal(id + 24, "iofd nvme-device", 16);		/* MN */
	assert_int_equal(id[77], 7);					/* MDTS */
	assert_int_equal(id[80] | id[81] << 8 | id[82] << 16, 0x010400);	/* VER */
	assert_int_equal(id[111], 1);					/* CNTRLTYPE */
	assert_int_equal(id[256] | id[257] << 8, 0);			/* OACS */
	assert_int_equal(id[512], 0x66);				/* SQES */
	assert_int_equal(id[513], 0x44);				/* CQES */
	assert_int_equal(id[516], 1);					/* NN */
	assert_int_equal(id[520] | id[521] << 8, 0);			/* ONCS */
	assert_int_equal(id[525] & 1, 1);				/* VWC */
	assert_int_equal(id[536] | id[537] << 8 | id[538] << 16 | id[539] << 24, 0);	/* SGLS */
	assert_memory_equal(id + 768, "nqn.", 4);			/* SUBNQN */
	assert_int_equal(id[4095], 0);
	assert_int_equal(id[4096], 0xaa);	/* not one byte more */
	id = ram_at(f, IDENT_GPA);

	/* Identify Namespace 1 */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.nsid = 1, .prp1 = IDENT_GPA, .cdw10 = 0 }, NULL), 0);
	assert_int_equal(*(uint64_t *)id, NS_SIZE / LBA);		/* NSZE */
	assert_int_equal(*(uint64_t *)(id + 8), NS_SIZE / LBA);		/* NCAP */
	assert_int_equal(*(uint64_t *)(id + 16), NS_SIZE / LBA);	/* NUSE */
	assert_int_equal(id[25], 0);					/* NLBAF */
	assert_int_equal(id[26], 0);					/* FLBAS */
	assert_int_equal(id[128 + 2], 9);				/* LBADS */
	/* the active namespace list, from 0 and from 1 */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA, .cdw10 = 2 }, NULL), 0);
	assert_int_equal(*(uint32_t *)id, 1);
	assert_int_equal(*(uint32_t *)(id + 4), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.nsid = 1, .prp1 = IDENT_GPA, .cdw10 = 2 }, NULL), 0);
	assert_int_equal(*(uint32_t *)id, 0);
	/* the identification descriptors: an NGUID */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.nsid = 1, .prp1 = IDENT_GPA, .cdw10 = 3 }, NULL), 0);
	assert_int_equal(id[0], 2);
	assert_int_equal(id[1], 16);
	assert_int_equal(id[20], 0);		/* end of the list */
	/* NVM command set controller data (CSI 0), and a CSI it lacks */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA, .cdw10 = 6 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA, .cdw10 = 6, .cdw11 = 2u << 24 }, NULL),
		NVME_SC_INVALID_FIELD | NVME_DNR);
	/* no namespace 2; an unknown CNS */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.nsid = 2, .prp1 = IDENT_GPA, .cdw10 = 0 }, NULL),
		NVME_SC_INVALID_NS | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA, .cdw10 = 0x15 }, NULL), NVME_SC_INVALID_FIELD | NVME_DNR);

	/* Number of Queues: min(requested, 2) each way */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 0 | 5 << 16 }, &dw0), 0);
	assert_int_equal(dw0, 0 | 1 << 16);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES }, &dw0), 0);
	assert_int_equal(dw0, 0 | 1 << 16);
	/* one SQ allocated: SQ 2 cannot be created */
	memset(ram_at(f, CQ_GPA(1)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 2, IOQ_DEPTH, CQ_GPA(2), 3, 2), 0);
	assert_int_equal(create_sq(f, 2, IOQ_DEPTH, SQ_GPA(2), 2),
			 NVME_SC_QID_INVALID | NVME_DNR);
	/* once a queue exists the count is fixed */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 1 | 1 << 16 }, NULL),
		NVME_SC_CMD_SEQ_ERROR | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ,
		.cdw10 = 2 }, NULL), 0);

	/* Volatile write cache: on by default, switchable */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_VOLATILE_WC }, &dw0), 0);
	assert_int_equal(dw0, 1);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_VOLATILE_WC, .cdw11 = 0 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_VOLATILE_WC }, &dw0), 0);
	assert_int_equal(dw0, 0);
	/* async event configuration kept; timestamp not supported; nothing
	 * saveable */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_ASYNC_EVENT, .cdw11 = 0x100 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_ASYNC_EVENT }, &dw0), 0);
	assert_int_equal(dw0, 0x100);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_TIMESTAMP, .prp1 = IDENT_GPA }, NULL),
		NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_ARBITRATION | 1u << 31 }, NULL),
		NVME_SC_FEATURE_NOT_SAVEABLE | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_POWER_MGMT, .cdw11 = 1 }, NULL),
		NVME_SC_INVALID_FIELD | NVME_DNR);

	/* Log pages: SMART (as Linux's hwmon reads it), firmware slot, and
	 * one the device does not have */
	memset(id, 0xaa, 512);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
		.nsid = 0xffffffff, .prp1 = IDENT_GPA,
		.cdw10 = NVME_LOG_SMART | (512 / 4 - 1) << 16 }, NULL), 0);
	assert_int_equal(id[0], 0);		/* no critical warning */
	assert_int_equal(id[511], 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
		.prp1 = IDENT_GPA, .cdw10 = NVME_LOG_FW_SLOT | (512 / 4 - 1) << 16 }, NULL), 0);
	assert_int_equal(id[0], 1);
	assert_memory_equal(id + 8, "1.0     ", 8);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
		.prp1 = IDENT_GPA, .cdw10 = 0x7f | 3 << 16 }, NULL),
		NVME_SC_INVALID_LOG_PAGE | NVME_DNR);
	disable(f);
}

/* Write through @q with @prp1/@prp2, read it back elsewhere, compare with
 * the backing file. */
static void write_read(struct fx *f, unsigned q, uint64_t slba, uint32_t bytes,
		       uint64_t wbuf, uint64_t wprp2, uint64_t rbuf, uint64_t rprp2,
		       uint32_t seed)
{
	uint8_t *file = malloc(bytes);

	assert_non_null(file);
	fill(ram_at(f, wbuf), bytes, seed);
	memset(ram_at(f, rbuf), 0, bytes);
	assert_int_equal(io(f, q, rw(NVME_IO_WRITE, slba, bytes / LBA, wbuf, wprp2)), 0);
	assert_int_equal(pread(f->backing_fd, file, bytes, (off_t)(slba * LBA)), bytes);
	assert_memory_equal(file, ram_at(f, wbuf), bytes);
	assert_int_equal(io(f, q, rw(NVME_IO_READ, slba, bytes / LBA, rbuf, rprp2)), 0);
	assert_memory_equal(ram_at(f, rbuf), file, bytes);
	free(file);
}

/* A PRP list for the pages after the first of @buf (page aligned). */
static uint64_t prp_list(struct fx *f, uint64_t list, uint64_t buf, uint32_t bytes)
{
	uint64_t *e = ram_at(f, list);

	for (uint32_t i = 1; i < bytes / PAGE; i++)
		e[i - 1] = buf + (uint64_t)i * PAGE;
	return list;
}

static void io_with_prps(void **state)
{
	struct fx *f = *state;
	uint64_t *e;

	attach(f);
	bring_up(f);
	/* PRP1 only: one page, and 2 blocks inside a page at an offset */
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 1);
	write_read(f, 1, 100, 2 * LBA, DATA_GPA + 0x200, 0, DATA_GPA + 0x80400, 0, 2);
	/* PRP1 + PRP2: two pages; and a first page that starts at an offset */
	write_read(f, 2, 8, 2 * PAGE, DATA_GPA, DATA_GPA + PAGE,
		   DATA_GPA + 0x80000, DATA_GPA + 0x81000, 3);
	write_read(f, 1, 64, PAGE, DATA_GPA + 0xe00, DATA_GPA + PAGE,
		   DATA_GPA + 0x80000, 0, 4);
	/* a PRP list: 64 KiB = PRP1 + 15 entries */
	write_read(f, 1, 1000, 16 * PAGE, DATA_GPA,
		   prp_list(f, LIST_GPA, DATA_GPA, 16 * PAGE),
		   DATA_GPA + 0x80000,
		   prp_list(f, LIST_GPA + PAGE, DATA_GPA + 0x80000, 16 * PAGE), 5);
	f->ex.prp_list += 2;
	/* MDTS: 512 KiB in one command; one block more is refused */
	write_read(f, 2, 4096, 128 * PAGE, DATA_GPA,
		   prp_list(f, LIST_GPA, DATA_GPA, 128 * PAGE),
		   DATA_GPA + 0x80000,
		   prp_list(f, LIST_GPA + PAGE, DATA_GPA + 0x80000, 128 * PAGE), 6);
	f->ex.prp_list += 2;
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 128 * PAGE / LBA + 1, DATA_GPA,
				     LIST_GPA)), NVME_SC_INVALID_FIELD | NVME_DNR);
	/* a chained list: the list starts 2 entries before a page end, its
	 * last entry points to the next list page */
	e = ram_at(f, LIST_GPA + 2 * PAGE - 16);
	e[0] = DATA_GPA + PAGE;
	e[1] = LIST_GPA + 3 * PAGE;
	e = ram_at(f, LIST_GPA + 3 * PAGE);
	e[0] = DATA_GPA + 2 * PAGE;
	e[1] = DATA_GPA + 3 * PAGE;
	fill(ram_at(f, DATA_GPA), 4 * PAGE, 7);
	assert_int_equal(io(f, 1, rw(NVME_IO_WRITE, 2000, 4 * PAGE / LBA, DATA_GPA,
				     LIST_GPA + 2 * PAGE - 16)), 0);
	f->ex.prp_list++;
	{
		uint8_t file[4 * PAGE];

		assert_int_equal(pread(f->backing_fd, file, sizeof(file), 2000 * LBA),
				 sizeof(file));
		assert_memory_equal(file, ram_at(f, DATA_GPA), sizeof(file));
	}
	/* the last blocks of the namespace, then one past its end */
	write_read(f, 1, NS_SIZE / LBA - 8, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 8);
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, NS_SIZE / LBA - 7, 8, DATA_GPA, 0)),
			 NVME_SC_LBA_RANGE | NVME_DNR);
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, UINT64_MAX, 1, DATA_GPA, 0)),
			 NVME_SC_LBA_RANGE | NVME_DNR);
	/* Flush: namespace 1 and all namespaces; namespace 2 does not exist */
	assert_int_equal(io(f, 1, (struct nvme_sqe){ .opcode = NVME_IO_FLUSH, .nsid = 1 }), 0);
	assert_int_equal(io(f, 2, (struct nvme_sqe){ .opcode = NVME_IO_FLUSH,
						  .nsid = 0xffffffff }), 0);
	assert_int_equal(io(f, 1, (struct nvme_sqe){ .opcode = NVME_IO_FLUSH, .nsid = 2 }),
			 NVME_SC_INVALID_NS | NVME_DNR);
	/* SMART counts what was read and written */
	{
		uint8_t *log = ram_at(f, IDENT_GPA);

		assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
			.nsid = 0xffffffff, .prp1 = IDENT_GPA,
			.cdw10 = NVME_LOG_SMART | (512 / 4 - 1) << 16 }, NULL), 0);
		assert_int_equal(*(uint64_t *)(log + 32), (f->ex.bytes_read / 512 + 999) / 1000);
		assert_int_equal(*(uint64_t *)(log + 48), (f->ex.bytes_written / 512 + 999) / 1000);
		assert_int_equal(*(uint64_t *)(log + 64), f->ex.io[NVME_IO_READ]);
		assert_int_equal(*(uint64_t *)(log + 80), f->ex.io[NVME_IO_WRITE]);
	}
	/* Linux's teardown: delete SQs then CQs, shutdown, disable */
	for (uint32_t q = 1; q <= QUEUES; q++)
		assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_SQ,
			.cdw10 = q }, NULL), 0);
	for (uint32_t q = 1; q <= QUEUES; q++)
		assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ,
			.cdw10 = q }, NULL), 0);
	wr32(f, NVME_REG_CC, CC_LINUX | NVME_CC_EN | 1u << 14);
	f->ex.shutdowns++;
	wait_csts(f, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE);
	disable(f);
}

static void bad_commands_get_errors(void **state)
{
	struct fx *f = *state;

	attach(f);
	bring_up(f);
	/* unknown opcodes; Doorbell Buffer Config without --dbbuf */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = 0x7f }, NULL),
			 NVME_SC_INVALID_OPCODE | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DBBUF_CONFIG,
		.prp1 = DBS_GPA, .prp2 = EIS_GPA }, NULL), NVME_SC_INVALID_OPCODE | NVME_DNR);
	assert_int_equal(io(f, 1, (struct nvme_sqe){ .opcode = 0x7e, .nsid = 1 }),
			 NVME_SC_INVALID_OPCODE | NVME_DNR);
	/* data outside guest RAM: PRP1, PRP2, a list entry, the list itself */
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 8, OUTSIDE_GPA, 0)),
			 NVME_SC_DATA_XFER_ERROR | NVME_DNR);
	assert_int_equal(io(f, 1, rw(NVME_IO_WRITE, 0, 16, DATA_GPA, OUTSIDE_GPA)),
			 NVME_SC_DATA_XFER_ERROR | NVME_DNR);
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 8, RAM_GPA + RAM_SIZE - 512, 0)),
			 NVME_SC_DATA_XFER_ERROR | NVME_DNR);
	*(uint64_t *)ram_at(f, LIST_GPA) = DATA_GPA + PAGE;
	*(uint64_t *)ram_at(f, LIST_GPA + 8) = OUTSIDE_GPA;
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 24, DATA_GPA, LIST_GPA)),
			 NVME_SC_DATA_XFER_ERROR | NVME_DNR);
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 24, DATA_GPA, OUTSIDE_GPA)),
			 NVME_SC_DATA_XFER_ERROR | NVME_DNR);
	f->ex.prp_list += 2;
	/* misaligned PRPs: PRP2 with an offset, a list entry with one, a
	 * list not 8-byte aligned, PRP1 not dword aligned */
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 16, DATA_GPA, DATA_GPA + PAGE + 8)),
			 NVME_SC_PRP_OFFSET_INVALID | NVME_DNR);
	*(uint64_t *)ram_at(f, LIST_GPA + 8) = DATA_GPA + 2 * PAGE + 512;
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 24, DATA_GPA, LIST_GPA)),
			 NVME_SC_PRP_OFFSET_INVALID | NVME_DNR);
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 24, DATA_GPA, LIST_GPA + 4)),
			 NVME_SC_PRP_OFFSET_INVALID | NVME_DNR);
	f->ex.prp_list += 2;
	assert_int_equal(io(f, 1, rw(NVME_IO_READ, 0, 1, DATA_GPA + 2, 0)),
			 NVME_SC_PRP_OFFSET_INVALID | NVME_DNR);
	/* namespace 0, a fused command, an SGL command */
	assert_int_equal(io(f, 2, (struct nvme_sqe){ .opcode = NVME_IO_READ, .nsid = 0,
						  .prp1 = DATA_GPA }), NVME_SC_INVALID_NS | NVME_DNR);
	assert_int_equal(io(f, 2, (struct nvme_sqe){ .opcode = NVME_IO_READ, .nsid = 1,
						  .flags = 1, .prp1 = DATA_GPA }),
			 NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.flags = 0x40, .cdw10 = 1 }, NULL), NVME_SC_INVALID_FIELD | NVME_DNR);
	/* bad queue ids, sizes, vectors, layouts */
	assert_int_equal(create_cq(f, 0, 16, CQ_GPA(0), 3, 0), NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(create_cq(f, 1, 16, CQ_GPA(0), 3, 0), NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(create_cq(f, 3, 16, CQ_GPA(0), 3, 0), NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(create_cq(f, 0xffff, 16, CQ_GPA(0), 3, 0),
			 NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_SQ,
		.cdw10 = 2 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ,
		.cdw10 = 1 }, NULL), NVME_SC_INVALID_QUEUE_DELETION | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ,
		.cdw10 = 2 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_CQ,
		.cdw10 = 2 }, NULL), NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_SQ,
		.cdw10 = 0 }, NULL), NVME_SC_QID_INVALID | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 16, CQ_GPA(2), 2, 0),	/* PC = 0 */
			 NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 1, CQ_GPA(2), 3, 0), NVME_SC_QUEUE_SIZE | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 1025, CQ_GPA(2), 3, 0), NVME_SC_QUEUE_SIZE | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 16, CQ_GPA(2), 3, NR_VEC),
			 NVME_SC_INVALID_VECTOR | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 16, CQ_GPA(2) + 64, 3, 2),
			 NVME_SC_PRP_OFFSET_INVALID | NVME_DNR);
	assert_int_equal(create_cq(f, 2, 16, OUTSIDE_GPA, 3, 2),
			 NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(create_sq(f, 2, 16, SQ_GPA(2), 2), NVME_SC_CQ_INVALID | NVME_DNR);
	assert_int_equal(create_sq(f, 2, 16, SQ_GPA(2), 0), NVME_SC_CQ_INVALID | NVME_DNR);
	/* Abort: nothing is held, so "not aborted" */
	{
		uint32_t dw0 = 0;

		assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_ABORT,
			.cdw10 = 1 | 5u << 16 }, &dw0), 0);
		assert_int_equal(dw0 & 1, 1);
	}
	/* the queue that is left still works */
	write_read(f, 1, 10, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 9);
	assert_int_equal(rd32(f, NVME_REG_CSTS), NVME_CSTS_RDY);
	disable(f);
}

/* Nothing may come on @q within @ms. */
static void no_cqe(struct fx *f, struct queue *q, int ms)
{
	struct nvme_cqe c;

	if (next_cqe(f, q, &c, ms))
		fail_msg("unexpected completion cid %u on queue %u", c.cid, q->qid);
}

static void async_events_and_doorbells(void **state)
{
	struct fx *f = *state;
	struct nvme_cqe c;
	uint16_t aer[4];

	attach(f);
	bring_up(f);
	/* four requests are held (AERL 3), the fifth is refused */
	for (int i = 0; i < 4; i++)
		aer[i] = submit(f, &f->aq, &(struct nvme_sqe){ .opcode = NVME_ADMIN_ASYNC_EVENT });
	no_cqe(f, &f->aq, 50);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_ASYNC_EVENT },
			       NULL), NVME_SC_AER_LIMIT | NVME_DNR);
	/* a command id still held conflicts */
	f->aq.next_cid = aer[2];
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_VOLATILE_WC }, NULL), NVME_SC_CID_CONFLICT | NVME_DNR);
	f->aq.next_cid = 100;

	/* an SQ tail beyond the queue: ignored, an Error event completes
	 * the oldest request (type 0, Invalid Doorbell Write Value, log 1) */
	ring(f, 2, IOQ_DEPTH + 3);
	f->ex.invalid_db++;
	f->ex.events++;
	assert_true(next_cqe(f, &f->aq, &c, 5000));
	assert_int_equal(c.cid, aer[0]);
	assert_int_equal(status_of(&c), 0);
	assert_int_equal(c.dw0, 0 | 0x01 << 8 | NVME_LOG_ERROR << 16);
	/* the same type again is masked until the error log is read */
	ring(f, 3, 7);		/* CQ 1 head past what was posted */
	f->ex.invalid_db++;
	no_cqe(f, &f->aq, 50);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
		.prp1 = IDENT_GPA, .cdw10 = NVME_LOG_ERROR | (64 / 4 - 1) << 16 }, NULL), 0);
	assert_true(*(uint64_t *)ram_at(f, IDENT_GPA) >= 2);	/* error count */
	f->ex.events++;
	assert_true(next_cqe(f, &f->aq, &c, 5000));
	assert_int_equal(c.cid, aer[1]);
	assert_int_equal(c.dw0, 0 | 0x01 << 8 | NVME_LOG_ERROR << 16);
	/* a doorbell of a queue that does not exist (RAE keeps the mask
	 * off: read the log with RAE clear first) */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_LOG_PAGE,
		.prp1 = IDENT_GPA, .cdw10 = NVME_LOG_ERROR | (64 / 4 - 1) << 16 }, NULL), 0);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DELETE_SQ,
		.cdw10 = 2 }, NULL), 0);
	ring(f, 4, 1);
	f->ex.invalid_db++;
	f->ex.events++;
	assert_true(next_cqe(f, &f->aq, &c, 5000));
	assert_int_equal(c.cid, aer[2]);
	assert_int_equal(c.dw0, 0 | 0x00 << 8 | NVME_LOG_ERROR << 16);

	/* the queues still work; the request left stays held */
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 10);
	no_cqe(f, &f->aq, 50);
	/* a reset drops it: never completed */
	disable(f);
	assert_int_equal(*(uint16_t *)ram_at(f, ACQ_GPA + (uint64_t)f->aq.cq_head * 16 + 14) & 1,
			 !f->aq.phase);
	enable(f);
	no_cqe(f, &f->aq, 50);
	/* after the reset the I/O queues are gone: a request and a doorbell
	 * of queue 1 make an event */
	aer[0] = submit(f, &f->aq, &(struct nvme_sqe){ .opcode = NVME_ADMIN_ASYNC_EVENT });
	ring(f, 2, 1);
	f->ex.invalid_db++;
	f->ex.events++;
	assert_true(next_cqe(f, &f->aq, &c, 5000));
	assert_int_equal(c.cid, aer[0]);
	assert_int_equal(c.dw0, 0 | 0x00 << 8 | NVME_LOG_ERROR << 16);
	disable(f);
}

/* The CQ fills up: the device stops fetching until the head moves. */
static void full_cq_holds_commands(void **state)
{
	struct fx *f = *state;
	struct queue *q;
	struct nvme_cqe c;

	attach(f);
	enable(f);
	memset(ram_at(f, CQ_GPA(1)), 0, 4 * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 1, 4, CQ_GPA(1), 3, 1), 0);
	assert_int_equal(create_sq(f, 1, 8, SQ_GPA(1), 1), 0);
	q = &f->ioq[1];
	queue_init(q, 1, 8, SQ_GPA(1), CQ_GPA(1));
	q->cq_size = 4;
	/* 6 flushes in an 8-entry SQ, completions into a 4-entry CQ */
	for (int i = 0; i < 6; i++) {
		struct nvme_sqe e = { .opcode = NVME_IO_FLUSH, .nsid = 1 };

		e.cid = q->next_cid++;
		memcpy(ram_at(f, q->sq_gpa + (uint64_t)q->sq_tail * 64), &e, sizeof(e));
		q->sq_tail = (q->sq_tail + 1) % q->size;
		f->ex.io[NVME_IO_FLUSH]++;
	}
	ring(f, 2, q->sq_tail);
	/* 3 fit (a full CQ keeps one slot empty) */
	for (int i = 0; i < 3; i++) {
		volatile uint16_t *st = ram_at(f, q->cq_gpa + (uint64_t)i * 16 + 14);

		for (int t = 0; t < 50000 && !(*st & 1); t++)
			nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
		assert_int_equal(*st & 1, 1);
	}
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	assert_int_equal(*(uint16_t *)ram_at(f, q->cq_gpa + 3 * 16 + 14) & 1, 0);
	/* consuming them lets the other 3 come, with the phase flipped */
	for (int i = 0; i < 6; i++) {
		assert_true(next_cqe(f, q, &c, 5000));
		assert_int_equal(c.cid, i + 1);
		assert_int_equal(c.sq_head, i + 1);	/* fetched one by one */
		assert_int_equal(status_of(&c), 0);
	}
	disable(f);
}

/* Interrupts go to a CQ's vector when IEN is set, and only then. */
static void interrupts_follow_ien(void **state)
{
	struct fx *f = *state;

	attach(f);
	bring_up(f);
	for (int v = 0; v < NR_VEC; v++)
		f->vec_count[v] += efd_take(f->vec_efd[v]);
	for (int i = 0; i < 5; i++) {
		write_read(f, 1, 8ull * i, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 20 + i);
		write_read(f, 2, 64 + 8ull * i, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 30 + i);
	}
	{
		uint64_t v0 = efd_take(f->vec_efd[0]), v1 = efd_take(f->vec_efd[1]);
		uint64_t v2 = efd_take(f->vec_efd[2]);

		assert_int_equal(v0, 0);	/* no admin command since */
		assert_true(v1 >= 1 && v1 <= 10);	/* 10 completions on CQ 1 */
		assert_int_equal(v2, 0);	/* CQ 2 is polled */
		f->vec_count[1] += v1;
	}
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_GET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES }, NULL), 0);
	{
		uint64_t v0 = efd_take(f->vec_efd[0]);

		assert_int_equal(v0, 1);
		f->vec_count[0] += v0;
	}
	disable(f);
}

/* A handoff the device cannot serve gets a REPLY with the reason, and a
 * bad vector packet ends the device with status 1. */
static void bad_handoffs_fail_cleanly(void **state)
{
	struct fx *f = *state;
	struct iofd_handoff reply;
	int status, one_fd[1];
	struct nvme_irq_msg bad = { .magic = 0x12345678, .nr_vectors = 1 };

	/* 2 doorbells for 2 I/O queues */
	assert_int_equal(hello_reply(f, NULL, 2, &reply), -EINVAL);
	iofd_handoff_close(&reply);
	close(f->sock);
	close(f->regs);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

	/* a good handoff, then a vector packet with a wrong magic */
	assert_int_equal(hello_reply(f, NULL, 0, &reply), 0);
	iofd_handoff_close(&reply);
	one_fd[0] = f->vec_efd[0];
	{
		struct iovec iov = { .iov_base = &bad, .iov_len = sizeof(bad) };
		union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } u;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), one_fd, sizeof(int));
		assert_int_equal(sendmsg(f->sock, &m, 0), sizeof(bad));
	}
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	close(f->sock);
	close(f->regs);
	f->sock = f->regs = -1;
	f->pid = 0;
	/* the vector fds were never served: a bad packet is dropped whole */
	assert_int_equal(efd_take(f->vec_efd[0]), 0);
}

/* ---- INTx with EOI resample ------------------------------------------------------ */

/* The trigger's count within @ms (0 if it stays silent), taken. */
static uint64_t trigger_within(struct fx *f, int ms)
{
	struct pollfd p = { .fd = f->vec_efd[0], .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return 0;
	v = efd_take(f->vec_efd[0]);
	f->vec_count[0] += v;
	return v;
}

/* The line must have been asserted once (@want 1), or stay silent (0). */
#define EXPECT_LINE(f, want, why)                                             \
	do {                                                                  \
		uint64_t n_ = trigger_within(f, (want) ? 5000 : 100);         \
		if (n_ != (want))                                             \
			fail_msg("INTx %s: %llu asserts, want %d", why,       \
				 (unsigned long long)n_, want);               \
	} while (0)

/* What KVM does at the guest's EOI of a resampled irqfd: lower the line,
 * signal the resample eventfd. */
static void eoi(struct fx *f)
{
	uint64_t one = 1;

	assert_int_equal(write(f->resample_efd, &one, sizeof(one)), sizeof(one));
	f->ex.eois++;
}

static const struct nvme_sqe flush_cmd = { .opcode = NVME_IO_FLUSH, .nsid = 1 };

static void intx_asserts_until_consumed(void **state)
{
	struct fx *f = *state;
	struct nvme_cqe c;
	struct queue *q1 = &f->ioq[1], *q2 = &f->ioq[2];
	struct nvme_sqe e;

	attach_with(f, "--intx");
	enable(f);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 1 | 1 << 16 }, NULL), 0);
	/* one line: vector 0 only */
	assert_int_equal(create_cq(f, 1, IOQ_DEPTH, CQ_GPA(1), 3, 1),
			 NVME_SC_INVALID_VECTOR | NVME_DNR);
	memset(ram_at(f, CQ_GPA(1)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 1, IOQ_DEPTH, CQ_GPA(1), 3, 0), 0);
	assert_int_equal(create_sq(f, 1, IOQ_DEPTH, SQ_GPA(1), 1), 0);
	memset(ram_at(f, CQ_GPA(2)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 2, IOQ_DEPTH, CQ_GPA(2), 1, 0), 0);	/* polled */
	assert_int_equal(create_sq(f, 2, IOQ_DEPTH, SQ_GPA(2), 2), 0);
	queue_init(q1, 1, IOQ_DEPTH, SQ_GPA(1), CQ_GPA(1));
	queue_init(q2, 2, IOQ_DEPTH, SQ_GPA(2), CQ_GPA(2));
	/* the admin completions asserted the line once: no EOI came, so
	 * the later ones did not assert again; all consumed: the EOI leaves
	 * it down */
	EXPECT_LINE(f, 1, "admin completions");
	eoi(f);
	EXPECT_LINE(f, 0, "EOI with nothing pending");

	/* a completion on CQ 1 asserts; while the host leaves it in the
	 * queue, every EOI brings the line back */
	e = flush_cmd;
	submit(f, q1, &e);
	EXPECT_LINE(f, 1, "completion on CQ 1");
	for (int i = 0; i < 3; i++) {
		eoi(f);
		EXPECT_LINE(f, 1, "EOI with the entry still pending");
	}
	/* consumed and its head doorbell rung: the EOI leaves it down */
	assert_true(next_cqe(f, q1, &c, 5000));
	assert_int_equal(status_of(&c), 0);
	eoi(f);
	EXPECT_LINE(f, 0, "EOI after the head doorbell");

	/* two completions before the EOI: one assert */
	e = flush_cmd;
	submit(f, q1, &e);
	e = flush_cmd;
	submit(f, q1, &e);
	assert_true(peek_cqe(f, q1, &c, 5000));
	assert_true(peek_cqe(f, q1, &c, 5000));
	EXPECT_LINE(f, 1, "two completions");
	EXPECT_LINE(f, 0, "the second completion, no EOI yet");
	/* The host consumed both and wrote the head doorbell: the VMM
	 * stored the value in the shadow slot, its eventfd is still on its
	 * way when the EOI arrives. The device must read the newest head
	 * from the slot and stay silent. */
	__atomic_store_n(&f->shadow[2 * 3], q1->cq_head, __ATOMIC_RELEASE);
	eoi(f);
	EXPECT_LINE(f, 0, "EOI; the head doorbell in the shadow slot only");
	{
		uint64_t one = 1;

		assert_int_equal(write(f->db_efd[3], &one, sizeof(one)), sizeof(one));
		f->ex.cq_db++;
	}

	/* a polled CQ (IEN 0) never asserts */
	e = flush_cmd;
	submit(f, q2, &e);
	assert_true(peek_cqe(f, q2, &c, 5000));
	EXPECT_LINE(f, 0, "completion on a polled CQ");
	q_doorbell(f, q2, true, q2->cq_head);

	/* INTMS bit 0 masks the line, INTMC lets the pending entry assert */
	wr32(f, NVME_REG_INTMS, 1);
	assert_int_equal(rd32(f, NVME_REG_INTMS), 1);
	e = flush_cmd;
	submit(f, q1, &e);
	assert_true(peek_cqe(f, q1, &c, 5000));
	EXPECT_LINE(f, 0, "completion while INTMS masks");
	wr32(f, NVME_REG_INTMC, 1);
	assert_int_equal(rd32(f, NVME_REG_INTMS), 0);
	EXPECT_LINE(f, 1, "INTMC with an entry pending");
	q_doorbell(f, q1, true, q1->cq_head);
	eoi(f);
	EXPECT_LINE(f, 0, "EOI after INTMC and the head doorbell");

	/* data still moves */
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 41);
	EXPECT_LINE(f, 1, "write and read");
	eoi(f);
	EXPECT_LINE(f, 0, "EOI after write and read");
	disable(f);
}

/* An --intx device refuses the MSI-X packet, an MSI-X device the INTx
 * one: both end with status 1. */
static void intx_packet_must_match(void **state)
{
	struct fx *f = *state;
	static const char *const modes[2] = { "--intx", NULL };

	for (int m = 0; m < 2; m++) {
		struct iofd_handoff reply;
		int status;

		assert_int_equal(hello_reply(f, modes[m], 0, &reply), 0);
		iofd_handoff_close(&reply);
		if (m == 0)
			assert_int_equal(nvme_irq_send(f->sock, f->vec_efd, 2, 0), 0);
		else
			assert_int_equal(nvme_irq_send_intx(f->sock, f->vec_efd[0],
							    f->resample_efd, 0), 0);
		assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		close(f->sock);
		close(f->regs);
		f->sock = f->regs = -1;
		f->pid = 0;
	}
}

/* ---- shadow doorbells ------------------------------------------------------------ */

static uint16_t dbbuf_config(struct fx *f, uint64_t dbs, uint64_t eis)
{
	return admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_DBBUF_CONFIG,
					   .prp1 = dbs, .prp2 = eis }, NULL);
}

/* @n one-block writes of LBA @slba.. through @q: the data prepared, then
 * the commands submitted back to back (each with its tail update, as a
 * driver under load does), then every completion checked. */
static void burst(struct fx *f, struct queue *q, uint64_t slba, unsigned n,
		  uint32_t seed)
{
	uint16_t first = q->next_cid;
	struct nvme_sqe e[IOQ_DEPTH];
	struct nvme_cqe c;

	assert_true(n < IOQ_DEPTH);
	for (unsigned i = 0; i < n; i++) {
		uint64_t buf = DATA_GPA + (uint64_t)((slba + i) % 2048) * LBA;

		fill(ram_at(f, buf), LBA, seed + i);
		e[i] = rw(NVME_IO_WRITE, slba + i, 1, buf, 0);
	}
	for (unsigned i = 0; i < n; i++)
		submit(f, q, &e[i]);
	for (unsigned i = 0; i < n; i++) {
		if (!next_cqe(f, q, &c, 5000))
			fail_msg("burst: completion %u of %u lost (queue %u)", i, n, q->qid);
		assert_int_equal(c.cid, (uint16_t)(first + i));
		assert_int_equal(status_of(&c), 0);
		f->ex.bytes_written += LBA;
	}
}

/*
 * @n one-block reads through @q, each submitted the moment the previous
 * completion shows (busy polling): the submission lands while the device
 * is between its last look at the queue and its sleep, where only the
 * EventIdx protocol (publish, barrier, look again) keeps it from being
 * lost.
 */
static void ping_pong(struct fx *f, struct queue *q, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct nvme_sqe e = rw(NVME_IO_READ, i % 64, 1, DATA_GPA, 0);
		uint16_t cid = submit(f, q, &e);
		volatile uint16_t *st = ram_at(f, q->cq_gpa + (uint64_t)q->cq_head * 16 + 14);
		struct timespec t0, t;
		struct nvme_cqe c;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while ((__atomic_load_n(st, __ATOMIC_ACQUIRE) & 1) != q->phase) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 5)
				fail_msg("ping-pong: command %u of %u lost (queue %u)",
					 i, n, q->qid);
		}
		assert_true(next_cqe(f, q, &c, 1));
		assert_int_equal(c.cid, cid);
		assert_int_equal(status_of(&c), 0);
		f->ex.bytes_read += LBA;
	}
}

static void check_burst_data(struct fx *f, uint64_t slba, unsigned n, uint32_t seed)
{
	uint8_t want[LBA], got[LBA];

	for (unsigned i = 0; i < n; i++) {
		fill(want, LBA, seed + i);
		assert_int_equal(pread(f->backing_fd, got, LBA, (off_t)((slba + i) * LBA)), LBA);
		assert_memory_equal(got, want, LBA);
	}
}

/* Queue 1, its doorbells through the shadow buffer when @dbbuf (Linux's
 * order: the config first, then the queue). */
static void dbbuf_queue_up(struct fx *f, bool dbbuf)
{
	struct queue *q1 = &f->ioq[1];

	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 1 | 1 << 16 }, NULL), 0);
	memset(ram_at(f, CQ_GPA(1)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 1, IOQ_DEPTH, CQ_GPA(1), 3, 1), 0);
	assert_int_equal(create_sq(f, 1, IOQ_DEPTH, SQ_GPA(1), 1), 0);
	queue_init(q1, 1, IOQ_DEPTH, SQ_GPA(1), CQ_GPA(1));
	q1->dbbuf = dbbuf;
}

static void dbbuf_config_ok(struct fx *f)
{
	memset(ram_at(f, DBS_GPA), 0, PAGE);
	memset(ram_at(f, EIS_GPA), 0xff, PAGE);
	assert_int_equal(dbbuf_config(f, DBS_GPA, EIS_GPA), 0);
	f->ex.dbbuf_configs++;
}

static void dbbuf_shadow_doorbells(void **state)
{
	struct fx *f = *state;
	uint8_t *id = ram_at(f, IDENT_GPA);
	uint32_t *eis = ram_at(f, EIS_GPA), *dbs = ram_at(f, DBS_GPA);
	struct queue *q1 = &f->ioq[1], *q2 = &f->ioq[2];
	uint64_t sq_shadow, sq_mmio;

	attach_with(f, "--dbbuf");
	enable(f);
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_IDENTIFY,
		.prp1 = IDENT_GPA, .cdw10 = 1 }, NULL), 0);
	assert_int_equal(id[256] | id[257] << 8, 0x100);		/* OACS */
	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 1 | 1 << 16 }, NULL), 0);
	/* buffers not page aligned, outside guest RAM, or the same page */
	assert_int_equal(dbbuf_config(f, DBS_GPA + 8, EIS_GPA), NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(dbbuf_config(f, DBS_GPA, EIS_GPA + 0x200), NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(dbbuf_config(f, OUTSIDE_GPA, EIS_GPA), NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(dbbuf_config(f, DBS_GPA, RAM_GPA + RAM_SIZE), NVME_SC_INVALID_FIELD | NVME_DNR);
	assert_int_equal(dbbuf_config(f, DBS_GPA, DBS_GPA), NVME_SC_INVALID_FIELD | NVME_DNR);
	/* as Linux: both pages zeroed, config, then the I/O queues */
	memset(dbs, 0, PAGE);
	memset(eis, 0xff, PAGE);
	assert_int_equal(dbbuf_config(f, DBS_GPA, EIS_GPA), 0);
	f->ex.dbbuf_configs++;
	memset(ram_at(f, CQ_GPA(1)), 0, IOQ_DEPTH * NVME_CQE_SIZE);
	memset(ram_at(f, CQ_GPA(2)), 0, 16 * NVME_CQE_SIZE);
	assert_int_equal(create_cq(f, 1, IOQ_DEPTH, CQ_GPA(1), 3, 1), 0);
	assert_int_equal(create_sq(f, 1, IOQ_DEPTH, SQ_GPA(1), 1), 0);
	assert_int_equal(create_cq(f, 2, 16, CQ_GPA(2), 3, 2), 0);	/* smaller CQ */
	assert_int_equal(create_sq(f, 2, IOQ_DEPTH, SQ_GPA(2), 2), 0);
	/* created queues start at 0 in both buffers; the admin entries are
	 * not the device's (Linux rings the admin doorbells) */
	for (unsigned i = 2; i < 6; i++) {
		assert_int_equal(dbs[i], 0);
		assert_int_equal(eis[i], 0);
	}
	assert_int_equal(eis[0], 0xffffffffu);
	assert_int_equal(eis[1], 0xffffffffu);
	queue_init(q1, 1, IOQ_DEPTH, SQ_GPA(1), CQ_GPA(1));
	queue_init(q2, 2, IOQ_DEPTH, SQ_GPA(2), CQ_GPA(2));
	q2->cq_size = 16;
	q1->dbbuf = q2->dbbuf = true;

	/* one command at a time: the device sleeps in between, each update
	 * passes its EventIdx and rings */
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 50);
	write_read(f, 2, 8, 2 * PAGE, DATA_GPA, DATA_GPA + PAGE, DATA_GPA + 0x80000,
		   DATA_GPA + 0x81000, 51);
	/* one command in flight, the next one as soon as it completes */
	ping_pong(f, q1, 3000);
	/* bursts: 63 commands in flight (a full SQ), many rounds; most
	 * tail updates need no MMIO doorbell */
	sq_shadow = f->ex.shadow_updates[0];
	sq_mmio = f->ex.mmio_updates[0];
	for (unsigned b = 0; b < 8; b++)
		burst(f, q1, 100 + 63 * b, 63, 1000 * b);
	/* into a 16-entry CQ: the device waits for heads it takes from the
	 * shadow buffer */
	for (unsigned b = 0; b < 4; b++)
		burst(f, q2, 1000 + 40 * b, 40, 7000 + 1000 * b);
	sq_shadow = f->ex.shadow_updates[0] - sq_shadow;
	sq_mmio = f->ex.mmio_updates[0] - sq_mmio;
	fprintf(stderr, "# bursts: %llu SQ tail updates, %llu rang MMIO; "
		"CQ heads: %llu shadow only, %llu MMIO\n",
		(unsigned long long)(sq_shadow + sq_mmio), (unsigned long long)sq_mmio,
		(unsigned long long)f->ex.shadow_updates[1],
		(unsigned long long)f->ex.mmio_updates[1]);
	if (sq_mmio >= sq_shadow)	/* most rang none */
		fail_msg("bursts: %llu of %llu SQ tail updates rang MMIO",
			 (unsigned long long)sq_mmio,
			 (unsigned long long)(sq_shadow + sq_mmio));
	for (unsigned b = 0; b < 8; b++)
		check_burst_data(f, 100 + 63 * b, 63, 1000 * b);
	for (unsigned b = 0; b < 4; b++)
		check_burst_data(f, 1000 + 40 * b, 40, 7000 + 1000 * b);
	/* idle again: EventIdx = the last tail and head taken */
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	assert_int_equal(eis[2], q1->sq_tail);
	assert_int_equal(eis[3], q1->cq_head);

	/* a shadow tail beyond the queue: ignored and reported once */
	dbs[2] = IOQ_DEPTH + 5;
	ring(f, 2, IOQ_DEPTH + 5);
	f->ex.invalid_db++;
	rd32(f, NVME_REG_VS);
	dbs[2] = q1->sq_tail;
	write_read(f, 1, 64, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 52);

	/* a reset forgets the buffers: the queues made after it ring MMIO,
	 * the device neither reads the shadow nor writes EventIdx */
	disable(f);
	enable(f);
	dbbuf_queue_up(f, false);
	dbs[2] = 5;		/* would fetch 5 empty entries if read */
	eis[2] = eis[3] = 0xdead;
	write_read(f, 1, 200, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 53);
	assert_int_equal(eis[2], 0xdead);
	assert_int_equal(eis[3], 0xdead);
	assert_int_equal(dbs[2], 5);
	disable(f);
}

/* The device's next doorbell mode request, within 2 s: its mode. */
static uint32_t dbmode_request(struct fx *f)
{
	struct pollfd p = { .fd = f->sock, .events = POLLIN };
	struct nvme_dbmode_msg m;

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(f->sock, &m, sizeof(m), 0), sizeof(m));
	assert_int_equal(m.magic, NVME_DBMODE_MAGIC);
	assert_int_equal(m.status, 0);
	f->ex.dbmode_requests++;
	return m.mode;
}

/* Answer it as a VMM: @mode now in effect, with @status. */
static void dbmode_answer(struct fx *f, uint32_t mode, int32_t status)
{
	struct nvme_dbmode_msg m = { .magic = NVME_DBMODE_MAGIC, .mode = mode,
				     .status = status };

	assert_int_equal(send(f->sock, &m, sizeof(m), MSG_NOSIGNAL), sizeof(m));
	f->plain_io_db = mode == NVME_DBMODE_WAKEUPS;
}

/*
 * Doorbell modes: with the buffers set the device asks for plain wake-up
 * doorbells; a reset asks for values back and holds the admin queue until
 * the VMM answers; a VMM that cannot give values back makes the
 * controller fatal.
 */
static void dbbuf_doorbell_modes(void **state)
{
	struct fx *f = *state;
	struct nvme_sqe e = { .opcode = NVME_ADMIN_GET_FEATURES,
			      .cdw10 = NVME_FEAT_NUM_QUEUES };
	struct nvme_cqe c;

	f->vmm_flags = NVME_IRQ_F_DOORBELL_MODES;
	attach_with(f, "--dbbuf");
	enable(f);
	dbbuf_config_ok(f);
	assert_int_equal(dbmode_request(f), NVME_DBMODE_WAKEUPS);
	dbmode_answer(f, NVME_DBMODE_WAKEUPS, 0);
	/* the I/O doorbells carry no value now: the shadow buffer does */
	dbbuf_queue_up(f, true);
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 60);
	ping_pong(f, &f->ioq[1], 500);
	for (unsigned b = 0; b < 4; b++)
		burst(f, &f->ioq[1], 100 + 63 * b, 63, 100 * b);
	for (unsigned b = 0; b < 4; b++)
		check_burst_data(f, 100 + 63 * b, 63, 100 * b);

	/* a reset: values asked back; the admin queue waits for the answer */
	disable(f);
	assert_int_equal(dbmode_request(f), NVME_DBMODE_VALUES);
	enable(f);
	submit(f, &f->aq, &e);
	assert_false(peek_cqe(f, &f->aq, &c, 300));
	dbmode_answer(f, NVME_DBMODE_VALUES, 0);
	assert_true(next_cqe(f, &f->aq, &c, 2000));
	assert_int_equal(status_of(&c), 0);
	dbbuf_queue_up(f, false);	/* no buffers: MMIO values again */
	write_read(f, 1, 300, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 61);

	/* a VMM that keeps the wake-ups after a reset: the controller fails */
	dbbuf_config_ok(f);
	assert_int_equal(dbmode_request(f), NVME_DBMODE_WAKEUPS);
	dbmode_answer(f, NVME_DBMODE_WAKEUPS, 0);
	wr32(f, NVME_REG_CC, CC_LINUX);
	f->ex.resets++;
	assert_int_equal(dbmode_request(f), NVME_DBMODE_VALUES);
	dbmode_answer(f, NVME_DBMODE_WAKEUPS, -EBUSY);
	wait_csts(f, NVME_CSTS_CFS, NVME_CSTS_CFS);
	f->ex.dbmode_refusals++;
}

/* A VMM packet that answers nothing ends the device with an error. */
static void dbmode_stray_answer_fails(void **state)
{
	struct fx *f = *state;
	int status;

	f->vmm_flags = NVME_IRQ_F_DOORBELL_MODES;
	attach_with(f, "--dbbuf");
	dbmode_answer(f, NVME_DBMODE_VALUES, 0);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	f->pid = 0;
}

/* Abort command @cid of SQ @sqid; true if the device says it aborted it. */
static bool abort_cmd(struct fx *f, uint16_t sqid, uint16_t cid)
{
	uint32_t dw0 = 0xdead;

	assert_int_equal(admin(f, (struct nvme_sqe){ .opcode = NVME_ADMIN_ABORT,
		.cdw10 = sqid | (uint32_t)cid << 16 }, &dw0), 0);
	assert_int_equal(dw0 & ~1u, 0);
	return (dw0 & 1) == 0;
}

/* A completion already in @q's CQ, looked at once (no waiting). */
static bool cqe_ready(struct fx *f, struct queue *q)
{
	const uint8_t *slot = ram_at(f, q->cq_gpa + (uint64_t)q->cq_head * NVME_CQE_SIZE);

	return (__atomic_load_n((const uint16_t *)(slot + 14), __ATOMIC_ACQUIRE) & 1) ==
	       q->phase;
}

/*
 * Write block @slba with @seed through queue 1 as the command the
 * bad-CID fault picks: its completion comes with id (cid | 0xfff), SQ 1,
 * success, and nothing more; the data is in the backing file already.
 * Returns the command's real id.
 */
static uint16_t write_gets_bad_cid(struct fx *f, uint64_t slba, uint32_t seed)
{
	struct queue *q = &f->ioq[1];
	struct nvme_sqe e = rw(NVME_IO_WRITE, slba, PAGE / LBA, DATA_GPA, 0);
	uint8_t file[PAGE];
	struct nvme_cqe c;
	uint16_t cid;

	fill(ram_at(f, DATA_GPA), PAGE, seed);
	cid = submit(f, q, &e);
	assert_true(next_cqe(f, q, &c, 5000));
	assert_int_equal(c.cid, (cid & 0xf000) | 0x0fff);
	assert_int_equal(c.sq_id, 1);
	assert_int_equal(status_of(&c), 0);
	f->ex.bad_cid++;
	f->ex.bytes_written += PAGE;
	assert_false(peek_cqe(f, q, &c, 50));	/* the real one is held */
	assert_int_equal(pread(f->backing_fd, file, PAGE, (off_t)(slba * LBA)), PAGE);
	assert_memory_equal(file, ram_at(f, DATA_GPA), PAGE);
	return cid;
}

/*
 * --bad-cid-after 2: the third I/O command's completion names no command;
 * the command is held (its write done) until an Abort names it, which
 * completes it with Command Abort Requested (no DNR: the host may retry)
 * before the Abort's own completion says "aborted". Aborts that name
 * anything else say "not aborted". One fault per run.
 */
static void bad_cid_then_abort(void **state)
{
	struct fx *f = *state;
	struct queue *q1 = &f->ioq[1];
	struct nvme_cqe c;
	uint16_t cid;

	attach_with(f, "--bad-cid-after=2");
	bring_up(f);
	write_read(f, 1, 0, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 60);
	cid = write_gets_bad_cid(f, 40, 61);
	/* later commands complete as usual, beside the held one */
	write_read(f, 2, 80, PAGE, DATA_GPA + PAGE, 0, DATA_GPA + 0x80000, 0, 62);
	write_read(f, 1, 120, PAGE, DATA_GPA + PAGE, 0, DATA_GPA + 0x80000, 0, 63);
	/* Aborts naming nothing held: the bad id, another SQ, a CID */
	assert_false(abort_cmd(f, 1, (cid & 0xf000) | 0x0fff));
	assert_false(abort_cmd(f, 2, cid));
	assert_false(abort_cmd(f, 1, cid + 100));
	assert_false(cqe_ready(f, q1));
	/* the Abort of the held command: its completion is in the I/O CQ
	 * by the time the Abort's is in the admin CQ */
	assert_true(abort_cmd(f, 1, cid));
	f->ex.aborted++;
	assert_true(cqe_ready(f, q1));
	assert_true(next_cqe(f, q1, &c, 1));
	assert_int_equal(c.cid, cid);
	assert_int_equal(c.sq_id, 1);
	assert_int_equal(status_of(&c), NVME_SC_ABORT_REQ);
	/* once: a second Abort finds nothing; the data stayed written */
	assert_false(abort_cmd(f, 1, cid));
	write_read(f, 1, 40, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 61);
	disable(f);
}

/* A controller reset drops a held command: it never completes, an Abort
 * after the reset finds nothing, the fault does not strike again. */
static void bad_cid_dropped_at_reset(void **state)
{
	struct fx *f = *state;
	struct nvme_cqe c;
	uint16_t cid;

	attach_with(f, "--bad-cid-after=0");
	bring_up(f);
	cid = write_gets_bad_cid(f, 8, 70);
	disable(f);
	bring_up(f);
	assert_false(abort_cmd(f, 1, cid));
	assert_false(peek_cqe(f, &f->ioq[1], &c, 50));
	write_read(f, 1, 8, PAGE, DATA_GPA, 0, DATA_GPA + 0x80000, 0, 71);
	disable(f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(registers_and_state_machine, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(identify_and_features, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(io_with_prps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_commands_get_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(async_events_and_doorbells, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(full_cq_holds_commands, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(interrupts_follow_ien, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_handoffs_fail_cleanly, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(intx_asserts_until_consumed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(intx_packet_must_match, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(dbbuf_shadow_doorbells, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(dbbuf_doorbell_modes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(dbmode_stray_answer_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_cid_then_abort, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_cid_dropped_at_reset, fx_setup, fx_teardown),
	};

	if (argc != 2) {
		printf("1..0 # SKIP usage: %s PATH-TO-nvme-device\n", argv[0]);
		return 0;
	}
	device_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
