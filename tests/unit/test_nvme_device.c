/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe-style example device, without KVM: the test plays the VMM. It
 * hands the device its fds over a real handoff, rings the SQ tail doorbells
 * through iofd's post-write ioeventfds (iofd_access() on a VM without KVM),
 * speaks ioregionfd to the register file itself, and checks what the
 * device writes into "guest RAM".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "testutil.h"

#include <iofd/handoff.h>

#include "nvme.h"

#define QUEUES 2
#define QSIZE 4

struct vmm {
	struct tu_resources before;
	struct iofd_vm *vm;
	int ram_fd;
	uint8_t *ram;
	int regs;			/* VMM end of the register file */
	int cq_db[QUEUES];		/* VMM ends of the CQ head doorbells */
	int sock, dev_sock;		/* handoff */
	pthread_t thread;
	int serve_err;
	struct nvme_device_stats stats;
	struct nvme_scenario sc;
};

static void *device_main(void *arg)
{
	struct vmm *v = arg;

	v->serve_err = nvme_device_serve(v->dev_sock, &v->stats);
	return NULL;
}

static void pair(int *vmm_end, int *dev_end)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*vmm_end = sv[0];
	*dev_end = sv[1];
}

/* Hand the device its fds; register the doorbells with iofd. */
static void attach(struct vmm *v)
{
	struct iofd_handoff h, reply;
	int efd[QUEUES], regs_dev, cq_dev[QUEUES];

	iofd_handoff_init(&h, IOFD_HANDOFF_HELLO);
	h.nr_ram = 1;
	h.ram[0] = (struct iofd_handoff_ram){ .size = GUEST_RAM_SIZE, .fd = v->ram_fd };
	pair(&v->regs, &regs_dev);
	h.regions[h.nr_regions++] = (struct iofd_handoff_region){
		.gpa = NVME_BAR, .size = NVME_REGS_SIZE, .user_data = 100,
		.cmd_fd = regs_dev, .resp_fd = regs_dev };
	for (int q = 0; q < QUEUES; q++) {
		pair(&v->cq_db[q], &cq_dev[q]);
		h.regions[h.nr_regions++] = (struct iofd_handoff_region){
			.gpa = NVME_CQ_HEAD_DB(q), .user_data = 200 + q,
			.flags = IOFD_IOREGION_FLAG_POSTED_WRITES,
			.cmd_fd = cq_dev[q], .resp_fd = -1 };
		efd[q] = eventfd(0, EFD_CLOEXEC);
		h.doorbells[h.nr_doorbells++] = (struct iofd_handoff_doorbell){
			.gpa = NVME_SQ_TAIL_DB(q), .len = 4, .shadow_offset = 8 * q,
			.efd = efd[q] };
	}
	assert_int_equal(iofd_handoff_send(v->sock, &h), 0);
	assert_int_equal(iofd_handoff_recv(v->sock, IOFD_HANDOFF_REPLY, &reply, 5000), 0);
	assert_int_equal(reply.status, 0);
	for (int q = 0; q < QUEUES; q++) {
		struct iofd_ioeventfd io = {
			.addr = NVME_SQ_TAIL_DB(q), .len = 4, .fd = efd[q],
			.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE |
				 IOFD_IOEVENTFD_FLAG_POST_MEMFD,
			.post_addr = 8 * q, .post_fd = reply.shadow_fd };

		assert_int_equal(iofd_ioeventfd_ext(v->vm, &io), 0);
		close(efd[q]);
		close(cq_dev[q]);
	}
	close(regs_dev);
	iofd_handoff_close(&reply);
}

static int setup(void **state)
{
	static struct vmm v;

	memset(&v, 0, sizeof(v));
	v.sc = (struct nvme_scenario){ .queues = QUEUES, .qsize = QSIZE, .commands = 6 };
	v.before = tu_snapshot();
	if (iofd_vm_create(NULL, &v.vm))
		return -1;
	v.ram_fd = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (v.ram_fd < 0 || ftruncate(v.ram_fd, GUEST_RAM_SIZE) < 0)
		return -1;
	v.ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     v.ram_fd, 0);
	if (v.ram == MAP_FAILED)
		return -1;
	pair(&v.sock, &v.dev_sock);
	if (pthread_create(&v.thread, NULL, device_main, &v))
		return -1;
	attach(&v);
	*state = &v;
	return 0;
}

/* Close the VMM's ends: the device sees every region go and returns. */
static int teardown(void **state)
{
	struct vmm *v = *state;

	close(v->regs);
	for (int q = 0; q < QUEUES; q++)
		close(v->cq_db[q]);
	iofd_vm_destroy(v->vm);
	pthread_join(v->thread, NULL);
	close(v->sock);
	close(v->dev_sock);
	munmap(v->ram, GUEST_RAM_SIZE);
	close(v->ram_fd);
	TU_ASSERT_NO_LEAK(v->before);
	return 0;
}

/* One ioregionfd command to the register file; returns the reply's data. */
static uint64_t reg_access(struct vmm *v, bool is_write, uint64_t off,
			   uint32_t size, uint64_t data)
{
	struct iofd_ioregionfd_cmd c;
	struct iofd_ioregionfd_resp r;

	memset(&c, 0, sizeof(c));
	c.cmd = is_write ? IOFD_IOREGIONFD_CMD_WRITE : IOFD_IOREGIONFD_CMD_READ;
	c.info = IOFD_IOREGIONFD_INFO(size == 8 ? 3 : size == 4 ? 2 :
				      size == 2 ? 1 : 0, true);
	c.user_data = 100;
	c.offset = off;
	c.data = is_write ? data : 0;
	assert_int_equal(write(v->regs, &c, sizeof(c)), sizeof(c));
	assert_int_equal(read(v->regs, &r, sizeof(r)), sizeof(r));
	return r.data;
}

static void posted_cq_head(struct vmm *v, int q, uint32_t head)
{
	struct iofd_ioregionfd_cmd c;

	memset(&c, 0, sizeof(c));
	c.cmd = IOFD_IOREGIONFD_CMD_WRITE;
	c.info = IOFD_IOREGIONFD_INFO(2, false);
	c.user_data = 200 + q;
	c.data = head;
	assert_int_equal(write(v->cq_db[q], &c, sizeof(c)), sizeof(c));
}

static void ring(struct vmm *v, int q, uint32_t tail)
{
	assert_int_equal(iofd_access(v->vm, IOFD_BUS_MMIO, NVME_SQ_TAIL_DB(q), 4,
				     true, &tail, NULL), IOFD_SERVED);
}

/* Wait (up to 2 s) until the u64 at gpa equals want. */
static bool wait_ram(struct vmm *v, uint64_t gpa, uint64_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n((uint64_t *)(v->ram + gpa), __ATOMIC_ACQUIRE) == want)
			return true;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	return false;
}

static void setup_queues(struct vmm *v)
{
	for (int q = 0; q < QUEUES; q++) {
		reg_access(v, true, NVME_REG_Q(q) + NVME_Q_SQ_BASE, 8, nvme_sq_gpa(&v->sc, q));
		reg_access(v, true, NVME_REG_Q(q) + NVME_Q_CQ_BASE, 8, nvme_cq_gpa(&v->sc, q));
		reg_access(v, true, NVME_REG_Q(q) + NVME_Q_SIZE, 4, QSIZE);
	}
	reg_access(v, true, NVME_REG_CC, 4, 1);
}

static void put_add(struct vmm *v, int q, uint32_t k, uint32_t a, uint32_t b)
{
	struct nvme_sqe sqe = { .opcode = NVME_OP_ADD, .cid = (uint16_t)k,
				.cdw10 = a, .cdw11 = b };

	memcpy(v->ram + nvme_sq_gpa(&v->sc, q) + ((k - 1) % QSIZE) * NVME_SQE_SIZE,
	       &sqe, sizeof(sqe));
}

static void registers_identify_the_controller(void **state)
{
	struct vmm *v = *state;

	assert_int_equal(reg_access(v, false, NVME_REG_CAP, 8, 0), NVME_CAP_VALUE);
	assert_int_equal(reg_access(v, false, NVME_REG_CAP + 4, 4, 0), 1);	/* DSTRD */
	assert_int_equal(reg_access(v, false, NVME_REG_VS, 4, 0), NVME_VS_VALUE);
	assert_int_equal(reg_access(v, false, NVME_REG_NQUEUES, 4, 0), QUEUES);
	assert_int_equal(reg_access(v, false, NVME_REG_CSTS, 4, 0), 0);
	setup_queues(v);
	assert_int_equal(reg_access(v, false, NVME_REG_CSTS, 4, 0), NVME_CSTS_RDY);
	assert_int_equal(reg_access(v, false, NVME_REG_Q(1) + NVME_Q_CQ_BASE, 8, 0),
			 nvme_cq_gpa(&v->sc, 1));
}

static void commands_complete_through_shadow_doorbells(void **state)
{
	struct vmm *v = *state;

	setup_queues(v);
	for (uint32_t k = 1; k <= 6; k++) {
		for (int q = 0; q < QUEUES; q++) {
			uint64_t cqe = nvme_cq_gpa(&v->sc, q) + ((k - 1) % QSIZE) * NVME_CQE_SIZE;

			put_add(v, q, k, 3 * k, 0u - 2 * k);
			ring(v, q, k);
			assert_true(wait_ram(v, cqe, k));
			posted_cq_head(v, q, k % QSIZE);
		}
	}
	/* 6 commands in a 4-entry queue: slots 0-1 hold commands 5-6 (phase 0) */
	{
		char why[160];

		assert_int_equal(nvme_check_completions(&v->sc, v->ram, why, sizeof(why)),
				 QUEUES * QSIZE);
	}
	assert_int_equal(reg_access(v, false, NVME_REG_Q(0) + NVME_Q_DONE, 4, 0), 6);
	assert_int_equal(reg_access(v, false, NVME_REG_CSTS, 4, 0), NVME_CSTS_RDY);
}

static void unknown_opcode_completes_with_an_error(void **state)
{
	struct vmm *v = *state;
	struct nvme_sqe sqe = { .opcode = 0x7f, .cid = 9 };
	struct nvme_cqe cqe;
	uint64_t at = nvme_cq_gpa(&v->sc, 0);

	setup_queues(v);
	memcpy(v->ram + nvme_sq_gpa(&v->sc, 0), &sqe, sizeof(sqe));
	ring(v, 0, 1);
	/* sq_head 1, sq_id 0, cid 9, status "invalid opcode" with phase 1 */
	assert_true(wait_ram(v, at + 8, 1ull | 9ull << 32 |
			     (uint64_t)(NVME_STATUS_INVALID_OPCODE << 1 | 1) << 48));
	memcpy(&cqe, v->ram + at, sizeof(cqe));
	assert_int_equal(cqe.cid, 9);
	assert_int_equal(cqe.status >> 1, NVME_STATUS_INVALID_OPCODE);
}

static void tail_overrunning_the_queue_is_fatal(void **state)
{
	struct vmm *v = *state;

	setup_queues(v);
	ring(v, 1, QSIZE);	/* more than QSIZE - 1 new entries */
	for (int i = 0; i < 2000; i++) {
		if (reg_access(v, false, NVME_REG_CSTS, 4, 0) & NVME_CSTS_CFS)
			break;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	assert_int_equal(reg_access(v, false, NVME_REG_CSTS, 4, 0),
			 NVME_CSTS_RDY | NVME_CSTS_CFS);
	assert_int_equal(reg_access(v, false, NVME_REG_Q(1) + NVME_Q_DONE, 4, 0), 0);
}

static void completions_wait_for_room_in_the_cq(void **state)
{
	struct vmm *v = *state;
	uint64_t cq = nvme_cq_gpa(&v->sc, 0);

	setup_queues(v);
	for (uint32_t k = 1; k <= 3; k++)
		put_add(v, 0, k, k, 0);
	ring(v, 0, 3);		/* 3 commands: the CQ (4 entries) holds 3 */
	assert_true(wait_ram(v, cq + 2 * NVME_CQE_SIZE, 3));
	put_add(v, 0, 4, 4, 0);
	ring(v, 0, 4);		/* no room until the head moves */
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	assert_int_equal(reg_access(v, false, NVME_REG_Q(0) + NVME_Q_DONE, 4, 0), 3);
	posted_cq_head(v, 0, 3);
	assert_true(wait_ram(v, cq + 3 * NVME_CQE_SIZE, 4));
	assert_int_equal(reg_access(v, false, NVME_REG_Q(0) + NVME_Q_DONE, 4, 0), 4);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(registers_identify_the_controller),
		T(commands_complete_through_shadow_doorbells),
		T(unknown_opcode_completes_with_an_error),
		T(tail_overrunning_the_queue_is_fatal),
		T(completions_wait_for_room_in_the_cq),
	};

	tu_warm_up();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
