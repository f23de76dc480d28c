/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side: serving ioregionfd commands over sockets and pipes, posted
 * writes, shadow doorbells (end to end with the VMM side's post-write
 * ioeventfd), guest RAM for DMA, the loop helpers, and one misbehaving-VMM
 * test per validation rule.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "testutil.h"

#include <iofd/device.h>

#define READ_BASE 0x1122334455667788ull

struct log {
	int reads, writes;
	uint64_t user_data, offset, data;
	uint32_t size;
	struct iofd_device *stop_dev;	/* stop the device after a write */
	uint64_t written[128];		/* data of the writes, in call order */
};

static void on_read(void *opaque, uint64_t user_data, uint64_t offset,
		    uint32_t size, uint64_t *data)
{
	struct log *l = opaque;

	l->reads++;
	l->user_data = user_data;
	l->offset = offset;
	l->size = size;
	*data = READ_BASE + offset;
}

static void on_write(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t data)
{
	struct log *l = opaque;

	l->writes++;
	l->user_data = user_data;
	l->offset = offset;
	l->size = size;
	l->data = data;
	if ((size_t)l->writes <= sizeof(l->written) / sizeof(l->written[0]))
		l->written[l->writes - 1] = data;
	if (l->stop_dev)
		iofd_device_stop(l->stop_dev);
}

static struct iofd_ioregionfd_cmd cmd(uint8_t kind, uint8_t exp, bool resp,
				      uint64_t user_data, uint64_t offset,
				      uint64_t data)
{
	struct iofd_ioregionfd_cmd c;

	memset(&c, 0, sizeof(c));
	c.cmd = kind;
	c.info = IOFD_IOREGIONFD_INFO(exp, resp);
	c.user_data = user_data;
	c.offset = offset;
	c.data = data;
	return c;
}

static void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Read one reply; fails the test if none is waiting. */
static uint64_t take_reply(int fd)
{
	struct iofd_ioregionfd_resp r;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(read(fd, &r, sizeof(r)), sizeof(r));
	for (unsigned i = 0; i < sizeof(r.pad); i++)
		assert_int_equal(r.pad[i], 0);
	return r.data;
}

static bool nothing_to_read(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* The peer closed: poll says hang-up or a read gives EOF. */
static bool peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 1000) != 1)
		return false;
	return (p.revents & POLLHUP) || read(fd, &c, 1) == 0;
}

struct fixture {
	struct tu_resources before;
	struct iofd_device *dev;
	int vmm;		/* VMM end of region 0 (seqpacket) */
	int vmm2;		/* VMM end of a second region, or -1 */
	struct log log;
};

/* Add a region on a new socketpair; *vmm_end receives the VMM's end. */
static int add_pair(struct fixture *f, int type, uint64_t size, uint32_t flags,
		    uint64_t user_data, bool with_reply, int *vmm_end)
{
	int sv[2], id;
	struct iofd_device_region reg = {
		.size = size, .user_data = user_data, .flags = flags,
		.read = on_read, .write = on_write, .opaque = &f->log,
	};

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	reg.cmd_fd = sv[1];
	reg.resp_fd = with_reply ? sv[1] : -1;
	id = iofd_device_add_region(f->dev, &reg);
	close(sv[1]);	/* the device keeps its own dup */
	*vmm_end = sv[0];
	return id;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.vmm2 = -1;
	f.before = tu_snapshot();
	if (iofd_device_create(&f.dev))
		return -1;
	if (add_pair(&f, SOCK_SEQPACKET, 0x100, 0, 0, true, &f.vmm) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iofd_device_destroy(f->dev);
	if (f->vmm >= 0)
		close(f->vmm);
	if (f->vmm2 >= 0)
		close(f->vmm2);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

/* ---- serving ---------------------------------------------------------- */

static void read_is_answered_with_callback_value(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 2, true,
					   0xabc, 0x10, 0);

	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(f->log.reads, 1);
	assert_int_equal(f->log.offset, 0x10);
	assert_int_equal(f->log.size, 4);
	assert_int_equal(f->log.user_data, 0xabc);
	/* only the low 4 bytes of the callback's value travel */
	assert_int_equal(take_reply(f->vmm), (READ_BASE + 0x10) & 0xffffffffull);
	c.info = IOFD_IOREGIONFD_INFO(3, true);
	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(take_reply(f->vmm), READ_BASE + 0x10);
}

static void write_with_resp_is_acknowledged(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 1, true,
					   7, 0x20, 0xbeef);
	struct iofd_device_stats st;

	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(f->log.writes, 1);
	assert_int_equal(f->log.data, 0xbeef);
	assert_int_equal(f->log.size, 2);
	take_reply(f->vmm);
	iofd_device_get_stats(f->dev, &st);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.posted_writes, 0);
}

static void posted_write_gets_no_reply(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, false,
					   0, 0x30, 0x5a);
	struct iofd_device_stats st;

	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(f->log.writes, 1);
	assert_int_equal(f->log.data, 0x5a);
	assert_true(nothing_to_read(f->vmm));
	iofd_device_get_stats(f->dev, &st);
	assert_int_equal(st.posted_writes, 1);
}

static void commands_are_served_in_order(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c;

	for (uint64_t i = 0; i < 40; i++) {
		c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 3, false, 0, 8 * (i % 16), i);
		send_all(f->vmm, &c, sizeof(c));
	}
	c = cmd(IOFD_IOREGIONFD_CMD_READ, 3, true, 0, 0x40, 0);
	send_all(f->vmm, &c, sizeof(c));
	while (f->log.reads == 0)
		assert_true(iofd_device_process(f->dev) > 0);
	assert_int_equal(f->log.writes, 40);
	assert_int_equal(f->log.data, 39);	/* the last write before the read */
	assert_int_equal(take_reply(f->vmm), READ_BASE + 0x40);
}

static bool device_fd_readable(struct fixture *f)
{
	struct pollfd p = { .fd = iofd_device_fd(f->dev), .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* One call serves a bounded batch from every busy region; the rest stays
 * ready and later calls serve it, each region's commands in order. */
static void a_backlog_is_served_in_bounded_batches(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c;
	uint64_t next_seq = 0, next_stream = 1000;
	int first, calls = 0, total = 0, r;

	assert_int_equal(add_pair(f, SOCK_STREAM, 0x100, 0, 0, true, &f->vmm2), 1);
	for (uint64_t i = 0; i < 40; i++) {
		c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 3, false, 0, 8 * (i % 16), i);
		send_all(f->vmm, &c, sizeof(c));
		c.data = 1000 + i;
		send_all(f->vmm2, &c, sizeof(c));
	}
	first = iofd_device_process(f->dev);
	assert_true(first > 0 && first <= 2 * 16);	/* not all 80 at once */
	assert_true(device_fd_readable(f));		/* the rest is still ready */
	for (int i = 0; i < first; i++) {		/* both regions had a turn */
		next_seq += f->log.written[i] < 1000;
		next_stream += f->log.written[i] >= 1000;
	}
	assert_true(next_seq > 0 && next_stream > 1000);
	total = first;
	while ((r = iofd_device_process(f->dev)) > 0) {
		total += r;
		assert_true(++calls < 80);
		assert_int_equal(device_fd_readable(f), total < 80);
	}
	assert_int_equal(r, 0);
	assert_int_equal(total, 80);
	assert_int_equal(f->log.writes, 80);
	assert_false(device_fd_readable(f));
	next_seq = 0;
	next_stream = 1000;
	for (int i = 0; i < 80; i++) {	/* each region's writes in its order */
		uint64_t d = f->log.written[i];

		if (d < 1000)
			assert_int_equal(d, next_seq++);
		else
			assert_int_equal(d, next_stream++);
	}
	assert_int_equal(next_seq, 40);
	assert_int_equal(next_stream, 1040);
}

static void device_fd_becomes_readable(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, false,
					   0, 0, 1);
	struct pollfd p = { .fd = iofd_device_fd(f->dev), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(iofd_device_process(f->dev), 0);
	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(iofd_device_wait(f->dev, 10), 0);	/* timeout */
}

static void stream_commands_split_anywhere_are_reassembled(void **state)
{
	struct fixture *f = *state;
	uint8_t bytes[3 * 32];
	struct iofd_ioregionfd_cmd c[3];

	assert_int_equal(add_pair(f, SOCK_STREAM, 0x100, 0, 0, true, &f->vmm2), 1);
	for (int i = 0; i < 3; i++)
		c[i] = cmd(IOFD_IOREGIONFD_CMD_WRITE, 2, false, 0, 4 * i, 100 + i);
	memcpy(bytes, c, sizeof(bytes));
	send_all(f->vmm2, bytes, 5);
	assert_int_equal(iofd_device_process(f->dev), 0);
	send_all(f->vmm2, bytes + 5, 60);	/* 65 bytes: two commands and 1 */
	assert_int_equal(iofd_device_process(f->dev), 2);
	assert_int_equal(f->log.data, 101);
	send_all(f->vmm2, bytes + 65, 31);
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(f->log.data, 102);
	assert_int_equal(f->log.writes, 3);
	assert_int_equal(iofd_device_region_status(f->dev, 1), 0);
}

static void pipes_carry_commands_and_replies(void **state)
{
	struct fixture *f = *state;
	int cmdp[2], respp[2];
	struct iofd_device_region reg = {
		.size = 0x100, .read = on_read, .write = on_write, .opaque = &f->log,
	};
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true,
					   0, 0x7, 0);

	assert_int_equal(pipe2(cmdp, O_CLOEXEC), 0);
	assert_int_equal(pipe2(respp, O_CLOEXEC), 0);
	reg.cmd_fd = cmdp[0];
	reg.resp_fd = respp[1];
	assert_int_equal(iofd_device_add_region(f->dev, &reg), 1);
	close(cmdp[0]);
	close(respp[1]);
	send_all(cmdp[1], &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(take_reply(respp[0]), (READ_BASE + 7) & 0xff);
	close(cmdp[1]);
	assert_int_equal(iofd_device_process(f->dev), 0);
	assert_int_equal(iofd_device_region_status(f->dev, 1), -ENOTCONN);
	close(respp[0]);
}

static void vmm_hangup_ends_run(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, false,
					   0, 0, 9);

	send_all(f->vmm, &c, sizeof(c));
	close(f->vmm);
	f->vmm = -1;
	assert_int_equal(iofd_device_run(f->dev), 0);
	assert_int_equal(f->log.writes, 1);	/* served before the hang-up */
	assert_int_equal(iofd_device_region_status(f->dev, 0), -ENOTCONN);
	assert_int_equal(iofd_device_region_status(f->dev, 5), -ENOENT);
}

static void stop_from_callback_ends_run(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, false,
					   0, 0, 1);

	f->log.stop_dev = f->dev;
	send_all(f->vmm, &c, sizeof(c));
	assert_int_equal(iofd_device_run(f->dev), 0);
	assert_int_equal(f->log.writes, 1);
	assert_int_equal(iofd_device_region_status(f->dev, 0), 0);
}

static void add_region_rejects_bad_fds(void **state)
{
	struct fixture *f = *state;
	struct iofd_device_region reg = { .size = 8 };
	int sv[2], efd = eventfd(0, EFD_CLOEXEC);

	reg.cmd_fd = reg.resp_fd = -1;
	assert_int_equal(iofd_device_add_region(f->dev, &reg), -EBADF);
	reg.cmd_fd = reg.resp_fd = efd;
	assert_int_equal(iofd_device_add_region(f->dev, &reg), -EINVAL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	reg.cmd_fd = reg.resp_fd = sv[0];
	assert_int_equal(iofd_device_add_region(f->dev, &reg), -EINVAL);
	reg.flags = 1u << 7;
	reg.cmd_fd = reg.resp_fd = f->vmm;
	assert_int_equal(iofd_device_add_region(f->dev, &reg), -EINVAL);
	assert_int_equal(iofd_device_add_region(f->dev, NULL), -EINVAL);
	assert_true(strlen(iofd_last_error()) > 0);
	close(sv[0]);
	close(sv[1]);
	close(efd);
}

/* ---- a misbehaving VMM: one test per validation rule ------------------- */

/*
 * Send len raw bytes on a fresh region (region 1), expect it to be poisoned
 * with -EPROTO and the VMM to see it close, while region 0 keeps being
 * served. Nothing may reach the callbacks.
 */
/* Messages the library logged, by level. */
static void count_logs(void *opaque, enum iofd_log_level level, int err,
		       const char *msg)
{
	int *counts = opaque;

	(void)err;
	(void)msg;
	counts[level]++;
}

static void expect_poisoned(struct fixture *f, int type, uint64_t size,
			    uint32_t flags, uint64_t user_data, bool with_reply,
			    const void *msg, size_t len, const char *needle)
{
	struct iofd_ioregionfd_cmd good = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true,
					      0, 1, 0);
	int logs[IOFD_LOG_DEBUG + 1] = { 0 };
	struct iofd_device_stats st;

	assert_int_equal(add_pair(f, type, size, flags, user_data, with_reply,
				  &f->vmm2), 1);
	if (len)
		send_all(f->vmm2, msg, len);
	else
		assert_int_equal(send(f->vmm2, "", 0, 0), 0);
	assert_int_equal(iofd_set_log(count_logs, logs, IOFD_LOG_DEBUG), 0);
	assert_int_equal(iofd_device_process(f->dev), -EPROTO);
	assert_int_equal(iofd_set_log(NULL, NULL, IOFD_LOG_ERROR), 0);
	assert_int_equal(logs[IOFD_LOG_ERROR], 1);	/* one failure, one message */
	assert_non_null(strstr(iofd_last_error(), needle));
	assert_non_null(strstr(iofd_last_error(), "region 1: "));
	assert_int_equal(iofd_device_region_status(f->dev, 1), -EPROTO);
	assert_true(peer_closed(f->vmm2));
	iofd_device_get_stats(f->dev, &st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(f->log.reads + f->log.writes, 0);
	/* the other region is unaffected */
	send_all(f->vmm, &good, sizeof(good));
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(take_reply(f->vmm), (READ_BASE + 1) & 0xff);
}

static void poison_cmd(struct fixture *f, struct iofd_ioregionfd_cmd c,
		       const char *needle)
{
	expect_poisoned(f, SOCK_SEQPACKET, 0x100, 0, 0, true, &c, sizeof(c), needle);
}

static void bad_cmd_value_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(2, 0, true, 0, 0, 0);

	poison_cmd(*state, c, "neither READ");
}

static void bad_size_exponent_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 4, true, 0, 0, 0);

	poison_cmd(*state, c, "size exponent 4");
}

static void reserved_bits_poison(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true, 0, 0, 0);

	c.info |= 0x80;		/* bit 7: reserved */
	poison_cmd(*state, c, "reserved bits 0x80");
}

static void padding_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true, 0, 0, 0);

	c.padding[5] = 1;
	poison_cmd(*state, c, "padding byte 5");
}

static void short_message_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true, 0, 0, 0);

	expect_poisoned(*state, SOCK_SEQPACKET, 0x100, 0, 0, true, &c, 31, "short");
}

static void oversized_message_poisons(void **state)
{
	uint8_t big[40];
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true, 0, 0, 0);

	memset(big, 0, sizeof(big));
	memcpy(big, &c, sizeof(c));
	expect_poisoned(*state, SOCK_SEQPACKET, 0x100, 0, 0, true, big, sizeof(big),
			"oversized");
}

static void empty_message_poisons(void **state)
{
	expect_poisoned(*state, SOCK_SEQPACKET, 0x100, 0, 0, true, NULL, 0, "short");
}

static void stream_closed_mid_command_poisons(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, false, 0, 0, 0);

	assert_int_equal(add_pair(f, SOCK_STREAM, 0x100, 0, 0, true, &f->vmm2), 1);
	send_all(f->vmm2, &c, 20);
	assert_int_equal(iofd_device_process(f->dev), 0);	/* waits for more */
	close(f->vmm2);
	f->vmm2 = -1;
	assert_int_equal(iofd_device_process(f->dev), -EPROTO);
	assert_non_null(strstr(iofd_last_error(), "20 of 32"));
	assert_int_equal(iofd_device_region_status(f->dev, 1), -EPROTO);
	assert_int_equal(f->log.writes, 0);
}

static void read_without_resp_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, false, 0, 0, 0);

	poison_cmd(*state, c, "without the resp bit");
}

static void reply_wanted_without_reply_fd_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 0, true, 0, 0, 0);

	expect_poisoned(*state, SOCK_SEQPACKET, 0x100, 0, 0, false, &c, sizeof(c),
			"no reply fd");
}

static void write_value_wider_than_size_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 1, false,
					   0, 0, 0x10000);

	poison_cmd(*state, c, "wider than its size");
}

static void offset_outside_region_poisons(void **state)
{
	/* 4 bytes at 0xfe of a 0x100-byte region: the last 2 are outside */
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 2, true,
					   0, 0xfe, 0);

	poison_cmd(*state, c, "outside the region");
}

static void huge_offset_does_not_wrap(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 3, true,
					   0, UINT64_MAX - 3, 0);

	poison_cmd(*state, c, "outside the region");
}

static void doorbell_region_takes_only_writes_at_zero(void **state)
{
	struct fixture *f = *state;
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_WRITE, 2, false,
					   0, 4, 1);

	expect_poisoned(f, SOCK_SEQPACKET, 0, 0, 0, true, &c, sizeof(c), "doorbell");
}

static void foreign_user_data_poisons(void **state)
{
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true,
					   0x999, 0, 0);

	expect_poisoned(*state, SOCK_SEQPACKET, 0x100,
			IOFD_DEVICE_REGION_CHECK_USER_DATA, 0x1234, true, &c,
			sizeof(c), "user_data 0x999");
}

static void reply_nobody_reads_fails_without_sigpipe(void **state)
{
	struct fixture *f = *state;
	int cmdp[2], respp[2];
	struct iofd_device_region reg = { .size = 0x100, .read = on_read,
					  .opaque = &f->log };
	struct iofd_ioregionfd_cmd c = cmd(IOFD_IOREGIONFD_CMD_READ, 0, true, 0, 0, 0);
	struct sigaction old, dfl = { .sa_handler = SIG_DFL };

	/* SIGPIPE's default action would kill the process */
	sigaction(SIGPIPE, &dfl, &old);
	assert_int_equal(pipe2(cmdp, O_CLOEXEC), 0);
	assert_int_equal(pipe2(respp, O_CLOEXEC), 0);
	reg.cmd_fd = cmdp[0];
	reg.resp_fd = respp[1];
	assert_int_equal(iofd_device_add_region(f->dev, &reg), 1);
	close(cmdp[0]);
	close(respp[1]);
	close(respp[0]);	/* the VMM will never read the reply */
	send_all(cmdp[1], &c, sizeof(c));
	assert_int_equal(iofd_device_process(f->dev), -EPIPE);
	assert_int_equal(iofd_device_region_status(f->dev, 1), -EPIPE);
	{	/* the device closed its read end of the command pipe */
		struct pollfd p = { .fd = cmdp[1], .events = POLLOUT };

		assert_int_equal(poll(&p, 1, 0), 1);
		assert_true(p.revents & POLLERR);
	}
	close(cmdp[1]);
	sigaction(SIGPIPE, &old, NULL);
}

/* ---- doorbells ---------------------------------------------------------- */

struct ring {
	int calls;
	uint64_t value, signals;
};

static void on_doorbell(void *opaque, uint64_t value, uint64_t signals)
{
	struct ring *r = opaque;

	r->calls++;
	r->value = value;
	r->signals += signals;
}

static void shadow_doorbell_end_to_end(void **state)
{
	struct fixture *f = *state;
	struct iofd_vm *vm;
	struct ring ring[2] = { { 0 } };
	int efd[2];
	uint32_t v;
	uint64_t now;

	assert_int_equal(iofd_device_create_shadow(f->dev, 64), 0);
	assert_true(iofd_device_shadow_fd(f->dev) >= 0);
	assert_int_equal(iofd_vm_create(NULL, &vm), 0);
	for (int q = 0; q < 2; q++) {
		struct iofd_device_doorbell db = { .shadow_offset = 8 * q, .len = 4,
						   .fn = on_doorbell,
						   .opaque = &ring[q] };
		struct iofd_ioeventfd io = {
			.addr = 0x1000 + 4 * q, .len = 4,
			.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE |
				 IOFD_IOEVENTFD_FLAG_POST_MEMFD,
			.post_addr = 8 * q,
			.post_fd = iofd_device_shadow_fd(f->dev),
		};

		efd[q] = eventfd(0, EFD_CLOEXEC);
		db.efd = io.fd = efd[q];
		assert_int_equal(iofd_device_add_doorbell(f->dev, &db), q);
		assert_int_equal(iofd_ioeventfd_ext(vm, &io), 0);
	}
	v = 5;
	assert_int_equal(iofd_access(vm, IOFD_BUS_MMIO, 0x1004, 4, true, &v, NULL),
			 IOFD_SERVED);
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(ring[1].calls, 1);
	assert_int_equal(ring[1].value, 5);
	assert_int_equal(ring[0].calls, 0);
	/* two writes before the device looks: one wake-up, the last value */
	v = 6;
	iofd_access(vm, IOFD_BUS_MMIO, 0x1000, 4, true, &v, NULL);
	v = 7;
	iofd_access(vm, IOFD_BUS_MMIO, 0x1000, 4, true, &v, NULL);
	assert_int_equal(iofd_device_process(f->dev), 1);
	assert_int_equal(ring[0].calls, 1);
	assert_int_equal(ring[0].value, 7);
	assert_int_equal(ring[0].signals, 2);
	assert_int_equal(iofd_device_doorbell_value(f->dev, 0, &now), 0);
	assert_int_equal(now, 7);
	assert_int_equal(iofd_device_doorbell_value(f->dev, 1, &now), 0);
	assert_int_equal(now, 5);
	assert_int_equal(iofd_device_doorbell_value(f->dev, 9, &now), -ENOENT);
	iofd_vm_destroy(vm);
	close(efd[0]);
	close(efd[1]);
}

static void doorbell_needs_shadow_and_valid_slot(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_CLOEXEC);
	int sv[2];
	struct iofd_device_doorbell db = { .efd = efd, .len = 4 };

	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -ENODEV);
	assert_int_equal(iofd_device_create_shadow(f->dev, 100), 0);
	assert_int_equal(iofd_device_create_shadow(f->dev, 100), -EEXIST);
	db.len = 3;
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EINVAL);
	db.len = 8;
	db.shadow_offset = 4096;	/* the shadow is one page */
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EINVAL);
	db.shadow_offset = 4;		/* inside, but not aligned to len 8 */
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EINVAL);
	db.shadow_offset = UINT64_MAX - 2;
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EINVAL);
	db.shadow_offset = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	db.efd = sv[0];
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EINVAL);
	db.efd = -1;
	assert_int_equal(iofd_device_add_doorbell(f->dev, &db), -EBADF);
	close(sv[0]);
	close(sv[1]);
	close(efd);
}

static void shadow_from_vmm_must_be_sealed_memfd(void **state)
{
	struct fixture *f = *state;
	int unsealable = memfd_create("t", MFD_CLOEXEC);
	int sealable = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(ftruncate(unsealable, 4096), 0);
	assert_int_equal(ftruncate(sealable, 4096), 0);
	assert_int_equal(iofd_device_set_shadow(f->dev, unsealable), -EINVAL);
	assert_int_equal(iofd_device_set_shadow(f->dev, efd), -EINVAL);
	assert_int_equal(iofd_device_set_shadow(f->dev, -1), -EBADF);
	assert_int_equal(iofd_device_set_shadow(f->dev, sealable), 0);
	/* the device sealed it: the VMM can no longer shrink it */
	assert_true(fcntl(sealable, F_GET_SEALS) & F_SEAL_SHRINK);
	assert_int_equal(ftruncate(sealable, 0), -1);
	assert_int_equal(iofd_device_shadow_fd(f->dev), -1);	/* not kept */
	assert_int_equal(iofd_device_set_shadow(f->dev, sealable), -EEXIST);
	close(unsealable);
	close(sealable);
	close(efd);
}

/* ---- guest RAM ------------------------------------------------------------- */

static void dma_reaches_shared_ram_within_bounds(void **state)
{
	struct fixture *f = *state;
	int ram = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint8_t *vmm_view;
	uint64_t v = 0x0102030405060708ull, back = 0;

	assert_int_equal(ftruncate(ram, 3 * 4096), 0);
	vmm_view = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ram, 0);
	assert_true(vmm_view != MAP_FAILED);
	/* 8 KiB of guest RAM at GPA 0x10000, from offset 4096 of the memfd */
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0x10000, 8192, 4096), 0);
	assert_int_equal(iofd_device_dma_write(f->dev, 0x10008, &v, 8), 0);
	assert_memory_equal(vmm_view + 4096 + 8, &v, 8);
	vmm_view[4096 + 8192 - 1] = 0x77;
	assert_int_equal(iofd_device_dma_read(f->dev, 0x10000 + 8192 - 8, &back, 8), 0);
	assert_int_equal(back >> 56, 0x77);
	assert_non_null(iofd_device_dma(f->dev, 0x10000, 8192));
	assert_null(iofd_device_dma(f->dev, 0x10000, 8193));
	assert_null(iofd_device_dma(f->dev, 0xffff, 2));
	assert_null(iofd_device_dma(f->dev, UINT64_MAX, 2));
	assert_int_equal(iofd_device_dma_read(f->dev, 0x10000 + 8190, &back, 8), -EFAULT);
	assert_int_equal(iofd_device_dma_write(f->dev, 0, &v, 8), -EFAULT);
	/* the device sealed the RAM against shrinking */
	assert_true(fcntl(ram, F_GET_SEALS) & F_SEAL_SHRINK);
	munmap(vmm_view, 3 * 4096);
	close(ram);
}

static void add_ram_rejects_bad_ranges(void **state)
{
	struct fixture *f = *state;
	int ram = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int unsealable = memfd_create("ram", MFD_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(ftruncate(ram, 8192), 0);
	assert_int_equal(ftruncate(unsealable, 8192), 0);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0, 0, 0), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, UINT64_MAX - 10, 4096, 0),
			 -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0, 4096, 100), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0, 3 * 4096, 0), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0, 4096, 8192), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, unsealable, 0, 4096, 0), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, efd, 0, 4096, 0), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, -1, 0, 4096, 0), -EBADF);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0x4000, 8192, 0), 0);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0x5000, 4096, 0), -EINVAL);
	assert_int_equal(iofd_device_add_ram(f->dev, ram, 0x2000, 8192, 0), 0);
	close(ram);
	close(unsealable);
	close(efd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(read_is_answered_with_callback_value),
		T(write_with_resp_is_acknowledged),
		T(posted_write_gets_no_reply),
		T(commands_are_served_in_order),
		T(a_backlog_is_served_in_bounded_batches),
		T(device_fd_becomes_readable),
		T(stream_commands_split_anywhere_are_reassembled),
		T(pipes_carry_commands_and_replies),
		T(vmm_hangup_ends_run),
		T(stop_from_callback_ends_run),
		T(add_region_rejects_bad_fds),
		T(bad_cmd_value_poisons),
		T(bad_size_exponent_poisons),
		T(reserved_bits_poison),
		T(padding_poisons),
		T(short_message_poisons),
		T(oversized_message_poisons),
		T(empty_message_poisons),
		T(stream_closed_mid_command_poisons),
		T(read_without_resp_poisons),
		T(reply_wanted_without_reply_fd_poisons),
		T(write_value_wider_than_size_poisons),
		T(offset_outside_region_poisons),
		T(huge_offset_does_not_wrap),
		T(doorbell_region_takes_only_writes_at_zero),
		T(foreign_user_data_poisons),
		T(reply_nobody_reads_fails_without_sigpipe),
		T(shadow_doorbell_end_to_end),
		T(doorbell_needs_shadow_and_valid_slot),
		T(shadow_from_vmm_must_be_sealed_memfd),
		T(dma_reaches_shared_ram_within_bounds),
		T(add_ram_rejects_bad_ranges),
	};

	tu_warm_up();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
