/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handoff between a VMM and a device: round trips, a real spawned device
 * process, and one malformed-message test per validation rule (crafted on
 * the wire, so the receiver meets what a hostile peer could send).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testutil.h"

#include <iofd/device.h>
#include <iofd/handoff.h>

#include "handoff_wire.h"

static bool same_file(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

static bool cloexec(int fd)
{
	return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

static int sealable_memfd(size_t size)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

struct fixture {
	struct tu_resources before;
	int vmm, dev;		/* seqpacket socketpair */
	int ram, region[2], rpipe[2], efd[3];
};

static int setup(void **state)
{
	static struct fixture f;
	int sv[2];

	f.before = tu_snapshot();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	f.vmm = sv[0];
	f.dev = sv[1];
	f.ram = sealable_memfd(1 << 20);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f.region) < 0 ||
	    pipe2(f.rpipe, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		f.efd[i] = eventfd(0, EFD_CLOEXEC);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int fds[] = { f->vmm, f->dev, f->ram, f->region[0], f->region[1],
		      f->rpipe[0], f->rpipe[1], f->efd[0], f->efd[1], f->efd[2] };

	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	TU_ASSERT_NO_LEAK(f->before);
	return 0;
}

/* A HELLO with one RAM range, two regions and three doorbells. */
static void fill_hello(struct fixture *f, struct iofd_handoff *h)
{
	iofd_handoff_init(h, IOFD_HANDOFF_HELLO);
	h->nr_ram = 1;
	h->ram[0] = (struct iofd_handoff_ram){ .gpa = 0, .size = 1 << 20,
					       .offset = 0, .fd = f->ram };
	h->nr_regions = 2;
	h->regions[0] = (struct iofd_handoff_region){
		.gpa = 0xd0000000, .size = 0x1000, .user_data = 0xfeed,
		.cmd_fd = f->region[1], .resp_fd = f->region[1] };
	h->regions[1] = (struct iofd_handoff_region){
		.gpa = 0xd0002000, .size = 0,
		.flags = IOFD_IOREGION_FLAG_POSTED_WRITES,
		.cmd_fd = f->rpipe[0], .resp_fd = -1 };
	h->nr_doorbells = 3;
	for (int i = 0; i < 3; i++)
		h->doorbells[i] = (struct iofd_handoff_doorbell){
			.gpa = 0xd0001000 + 8 * i, .shadow_offset = 8 * i,
			.len = 4, .efd = f->efd[i] };
}

static void hello_round_trip_keeps_every_field_and_object(void **state)
{
	struct fixture *f = *state;
	struct iofd_handoff out, in;

	fill_hello(f, &out);
	assert_int_equal(iofd_handoff_send(f->vmm, &out), 0);
	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &in, 1000), 0);
	assert_int_equal(in.nr_ram, 1);
	assert_int_equal(in.ram[0].size, 1 << 20);
	assert_true(same_file(in.ram[0].fd, f->ram));
	assert_int_equal(in.nr_regions, 2);
	assert_int_equal(in.regions[0].gpa, 0xd0000000);
	assert_int_equal(in.regions[0].user_data, 0xfeed);
	assert_true(same_file(in.regions[0].cmd_fd, f->region[1]));
	assert_int_equal(in.regions[0].resp_fd, in.regions[0].cmd_fd);
	assert_int_equal(in.regions[1].flags, IOFD_IOREGION_FLAG_POSTED_WRITES);
	assert_true(same_file(in.regions[1].cmd_fd, f->rpipe[0]));
	assert_int_equal(in.regions[1].resp_fd, -1);
	assert_int_equal(in.nr_doorbells, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(in.doorbells[i].shadow_offset, 8 * i);
		assert_int_equal(in.doorbells[i].len, 4);
		assert_true(same_file(in.doorbells[i].efd, f->efd[i]));
		assert_true(cloexec(in.doorbells[i].efd));
	}
	assert_int_equal(in.shadow_fd, -1);
	iofd_handoff_close(&in);
	assert_int_equal(in.ram[0].fd, -1);
}

static void reply_carries_status_and_shadow(void **state)
{
	struct fixture *f = *state;
	struct iofd_device *dev;
	struct iofd_handoff out, in;

	assert_int_equal(iofd_device_create(&dev), 0);
	assert_int_equal(iofd_device_create_shadow(dev, 256), 0);
	iofd_handoff_init(&out, IOFD_HANDOFF_REPLY);
	out.shadow_fd = iofd_device_shadow_fd(dev);
	assert_int_equal(iofd_handoff_send(f->dev, &out), 0);
	assert_int_equal(iofd_handoff_recv(f->vmm, IOFD_HANDOFF_REPLY, &in, 1000), 0);
	assert_int_equal(in.status, 0);
	assert_true(same_file(in.shadow_fd, out.shadow_fd));
	assert_true(fcntl(in.shadow_fd, F_GET_SEALS) & F_SEAL_SHRINK);
	iofd_handoff_close(&in);
	iofd_device_destroy(dev);
	iofd_handoff_init(&out, IOFD_HANDOFF_REPLY);
	out.status = -ENODEV;
	assert_int_equal(iofd_handoff_send(f->dev, &out), 0);
	assert_int_equal(iofd_handoff_recv(f->vmm, IOFD_HANDOFF_REPLY, &in, 1000), 0);
	assert_int_equal(in.status, -ENODEV);
}

static void send_rejects_bad_messages(void **state)
{
	struct fixture *f = *state;
	struct iofd_handoff h;
	int stream[2];

	fill_hello(f, &h);
	h.nr_doorbells = IOFD_HANDOFF_MAX_DOORBELLS + 1;
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	fill_hello(f, &h);
	h.doorbells[1].efd = h.doorbells[0].efd;	/* one fd, two doorbells */
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	fill_hello(f, &h);
	h.ram[0].fd = -1;
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	fill_hello(f, &h);
	h.status = -5;		/* only a reply has a status */
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	h.kind = IOFD_HANDOFF_REPLY;	/* a reply with descriptors */
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	h.kind = 7;
	assert_int_equal(iofd_handoff_send(f->vmm, &h), -EINVAL);
	fill_hello(f, &h);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
	assert_int_equal(iofd_handoff_send(stream[0], &h), -EINVAL);
	close(stream[0]);
	close(stream[1]);
	/* nothing was sent */
	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &h, 0),
			 -ETIMEDOUT);
}

/* ---- malformed messages, crafted on the wire --------------------------- */

struct raw {
	uint8_t buf[IOFD_HANDOFF_MAX_MSG + 64];
	size_t len;
	int fds[256];
	int nfds;
};

static struct handoff_wire_hdr *raw_hdr(struct raw *m)
{
	return (struct handoff_wire_hdr *)m->buf;
}

static struct handoff_wire_ram *raw_ram(struct raw *m)
{
	return (struct handoff_wire_ram *)(m->buf + sizeof(struct handoff_wire_hdr));
}

static struct handoff_wire_region *raw_region(struct raw *m)
{
	return (struct handoff_wire_region *)(m->buf + sizeof(struct handoff_wire_hdr) +
					      sizeof(struct handoff_wire_ram));
}

static struct handoff_wire_doorbell *raw_doorbell(struct raw *m)
{
	return (struct handoff_wire_doorbell *)(m->buf +
		sizeof(struct handoff_wire_hdr) + sizeof(struct handoff_wire_ram) +
		sizeof(struct handoff_wire_region));
}

/* A valid HELLO: RAM (fd 0), a region (fd 1), a doorbell (fd 2). */
static void raw_hello(struct fixture *f, struct raw *m)
{
	struct handoff_wire_hdr *h = raw_hdr(m);

	memset(m, 0, sizeof(*m));
	m->len = sizeof(*h) + sizeof(struct handoff_wire_ram) +
		 sizeof(struct handoff_wire_region) +
		 sizeof(struct handoff_wire_doorbell);
	h->magic = IOFD_HANDOFF_MAGIC;
	h->version = IOFD_HANDOFF_VERSION;
	h->kind = IOFD_HANDOFF_HELLO;
	h->length = (uint32_t)m->len;
	h->nr_ram = h->nr_regions = h->nr_doorbells = 1;
	h->nr_fds = 3;
	h->shadow_fd = IOFD_HANDOFF_FD_NONE;
	*raw_ram(m) = (struct handoff_wire_ram){ .size = 4096, .fd = 0 };
	*raw_region(m) = (struct handoff_wire_region){
		.size = 0x100, .cmd_fd = 1, .resp_fd = 1 };
	*raw_doorbell(m) = (struct handoff_wire_doorbell){ .len = 4, .fd = 2 };
	m->fds[0] = f->ram;
	m->fds[1] = f->region[1];
	m->fds[2] = f->efd[0];
	m->nfds = 3;
}

static void raw_send(int sock, const struct raw *m)
{
	char ctl[CMSG_SPACE(sizeof(int) * 256)];
	struct iovec iov = { .iov_base = (void *)m->buf, .iov_len = m->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (m->nfds) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
	}
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)m->len);
}

/* Send m to the device end; expect err with needle; nothing kept. */
static void expect_rejected(struct fixture *f, struct raw *m, int err,
			    const char *needle)
{
	struct iofd_handoff h;
	int fds = tu_open_fds();

	raw_send(f->vmm, m);
	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &h, 1000), err);
	assert_non_null(strstr(iofd_last_error(), needle));
	assert_int_equal(h.ram[0].fd, -1);
	assert_int_equal(h.regions[0].cmd_fd, -1);
	assert_int_equal(h.doorbells[0].efd, -1);
	assert_int_equal(tu_open_fds(), fds);	/* every received fd closed */
}

static void valid_raw_hello_is_accepted(void **state)
{
	struct fixture *f = *state;
	struct raw m;
	struct iofd_handoff h;

	raw_hello(f, &m);
	raw_send(f->vmm, &m);
	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &h, 1000), 0);
	iofd_handoff_close(&h);
}

static void bad_magic_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->magic = 0x12345678;
	expect_rejected(*state, &m, -EPROTO, "magic");
}

static void other_version_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->version = IOFD_HANDOFF_VERSION + 1;
	expect_rejected(*state, &m, -EPROTONOSUPPORT, "version 2");
}

static void wrong_kind_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->kind = IOFD_HANDOFF_REPLY;
	expect_rejected(*state, &m, -EPROTO, "kind 2");
}

static void reserved_header_field_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->reserved = 1;
	expect_rejected(*state, &m, -EPROTO, "reserved");
}

static void message_shorter_than_header_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	m.len = 10;
	expect_rejected(*state, &m, -EPROTO, "shorter than its header");
}

static void length_field_mismatch_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->length += 40;
	expect_rejected(*state, &m, -EPROTO, "header says");
}

static void trailing_bytes_are_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	m.len += 8;
	raw_hdr(&m)->length = (uint32_t)m.len;
	expect_rejected(*state, &m, -EPROTO, "counts need");
}

static void counts_above_maxima_are_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_hdr(&m)->nr_doorbells = IOFD_HANDOFF_MAX_DOORBELLS + 1;
	expect_rejected(*state, &m, -EPROTO, "exceed");
}

static void oversized_message_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	m.len = sizeof(m.buf);
	expect_rejected(*state, &m, -EPROTO, "longer than");
}

static void fewer_fds_than_declared_are_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	m.nfds = 2;
	expect_rejected(*state, &m, -EPROTO, "3 fds declared, 2 received");
}

static void more_fds_than_declared_are_rejected(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	m.fds[m.nfds++] = f->efd[1];
	expect_rejected(f, &m, -EPROTO, "3 fds declared, 4 received");
}

static void no_fds_at_all_are_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	m.nfds = 0;
	expect_rejected(*state, &m, -EPROTO, "3 fds declared, 0 received");
}

static void unused_fd_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	m.fds[m.nfds++] = f->efd[1];
	raw_hdr(&m)->nr_fds = 4;
	expect_rejected(f, &m, -EPROTO, "fd 3 of 4 is not used");
}

static void fd_index_out_of_range_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_doorbell(&m)->fd = 7;
	expect_rejected(*state, &m, -EPROTO, "names fd 7 of 3");
}

static void fd_used_twice_is_rejected(void **state)
{
	struct raw m;

	raw_hello(*state, &m);
	raw_doorbell(&m)->fd = 1;	/* the region's socket */
	expect_rejected(*state, &m, -EPROTO, "used twice");
}

static void ram_fd_must_be_memfd(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	m.fds[0] = f->efd[1];
	expect_rejected(f, &m, -EPROTO, "not a memfd");
}

static void region_fd_must_be_socket_or_pipe(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	m.fds[1] = f->efd[1];
	expect_rejected(f, &m, -EPROTO, "neither a socket nor a pipe");
}

static void doorbell_fd_must_be_eventfd(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	m.fds[2] = f->rpipe[0];
	expect_rejected(f, &m, -EPROTO, "not an eventfd");
}

static void shadow_fd_must_be_memfd(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	raw_hdr(&m)->shadow_fd = 3;
	raw_hdr(&m)->nr_fds = 4;
	m.fds[m.nfds++] = f->efd[1];
	expect_rejected(f, &m, -EPROTO, "shadow fd is not a memfd");
}

static void bad_descriptors_are_rejected(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	raw_ram(&m)->size = 0;
	expect_rejected(f, &m, -EPROTO, "RAM range 0");
	raw_hello(f, &m);
	raw_ram(&m)->gpa = UINT64_MAX - 100;
	expect_rejected(f, &m, -EPROTO, "RAM range 0");
	raw_hello(f, &m);
	raw_region(&m)->flags = 1u << 2;	/* DEASSIGN has no place here */
	expect_rejected(f, &m, -EPROTO, "flags 0x4");
	raw_hello(f, &m);
	raw_region(&m)->size = 0;		/* a doorbell must be posted */
	expect_rejected(f, &m, -EPROTO, "without POSTED_WRITES");
	raw_hello(f, &m);
	raw_region(&m)->gpa = UINT64_MAX;
	expect_rejected(f, &m, -EPROTO, "wraps");
	raw_hello(f, &m);
	raw_doorbell(&m)->len = 3;
	expect_rejected(f, &m, -EPROTO, "len 3");
	raw_hello(f, &m);
	raw_doorbell(&m)->flags = 1u << 5;
	expect_rejected(f, &m, -EPROTO, "flags 0x20");
	raw_hello(f, &m);
	raw_doorbell(&m)->reserved = 1;
	expect_rejected(f, &m, -EPROTO, "reserved");
}

static void reply_with_descriptors_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct raw m;
	struct iofd_handoff h;

	raw_hello(f, &m);
	raw_hdr(&m)->kind = IOFD_HANDOFF_REPLY;
	raw_send(f->dev, &m);
	assert_int_equal(iofd_handoff_recv(f->vmm, IOFD_HANDOFF_REPLY, &h, 1000),
			 -EPROTO);
	assert_non_null(strstr(iofd_last_error(), "reply with descriptors"));
	raw_hello(f, &m);
	raw_hdr(&m)->kind = IOFD_HANDOFF_REPLY;
	raw_hdr(&m)->nr_ram = raw_hdr(&m)->nr_regions = raw_hdr(&m)->nr_doorbells = 0;
	raw_hdr(&m)->nr_fds = 0;
	raw_hdr(&m)->status = 5;	/* statuses are negative errnos */
	m.len = raw_hdr(&m)->length = sizeof(struct handoff_wire_hdr);
	m.nfds = 0;
	raw_send(f->dev, &m);
	assert_int_equal(iofd_handoff_recv(f->vmm, IOFD_HANDOFF_REPLY, &h, 1000),
			 -EPROTO);
	assert_non_null(strstr(iofd_last_error(), "status 5"));
}

static void truncated_ancillary_data_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct raw m;

	raw_hello(f, &m);
	/* more fds than any message may carry: the kernel cuts them off */
	for (m.nfds = 3; m.nfds < 200; m.nfds++)
		m.fds[m.nfds] = f->efd[2];
	expect_rejected(f, &m, -EPROTO, "cut off");
}

static void peer_close_and_silence_are_reported(void **state)
{
	struct fixture *f = *state;
	struct iofd_handoff h;
	int stream[2];

	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &h, 10),
			 -ETIMEDOUT);
	close(f->vmm);
	f->vmm = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(iofd_handoff_recv(f->dev, IOFD_HANDOFF_HELLO, &h, 1000),
			 -ECONNRESET);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
	assert_int_equal(iofd_handoff_recv(stream[0], IOFD_HANDOFF_HELLO, &h, 0),
			 -EINVAL);
	assert_int_equal(iofd_handoff_recv(-1, IOFD_HANDOFF_HELLO, &h, 0), -EBADF);
	assert_int_equal(iofd_handoff_recv(f->dev, 9, &h, 0), -EINVAL);
	close(stream[0]);
	close(stream[1]);
}

/* ---- across processes ------------------------------------------------------ */

#define CHILD_ARG "--handoff-child"

/* Open fds other than 0-2, the socket and what the hello brought. */
static int unexpected_fds(int sock, const struct iofd_handoff *h)
{
	int n = tu_open_fds() - 3 - 1;	/* stdio and the socket */

	n -= (int)h->nr_ram + (int)h->nr_doorbells;
	for (uint32_t i = 0; i < h->nr_regions; i++)
		n -= 1 + (h->regions[i].resp_fd >= 0 &&
			  h->regions[i].resp_fd != h->regions[i].cmd_fd);
	(void)sock;
	return n;
}

/* The device process: receive a hello, answer with a shadow. */
static int child_main(void)
{
	struct iofd_handoff hello, reply;
	struct iofd_device *dev;
	int sock = iofd_handoff_inherited(), stray;

	if (sock != IOFD_HANDOFF_CHILD_FD)
		return 10;
	if (iofd_handoff_recv(sock, IOFD_HANDOFF_HELLO, &hello, 5000))
		return 11;
	stray = unexpected_fds(sock, &hello);
	if (iofd_device_create(&dev) || iofd_device_create_shadow(dev, 4096))
		return 12;
	iofd_handoff_init(&reply, IOFD_HANDOFF_REPLY);
	reply.shadow_fd = iofd_device_shadow_fd(dev);
	reply.status = hello.nr_doorbells == 3 ? 0 : -EINVAL;
	if (iofd_handoff_send(sock, &reply))
		return 13;
	iofd_handoff_close(&hello);
	iofd_device_destroy(dev);
	close(sock);
	return stray == 0 ? 0 : 14;
}

static void spawned_device_inherits_only_its_socket(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/proc/self/exe", CHILD_ARG, NULL };
	struct iofd_handoff h, reply;
	int sock, status, leaky;
	pid_t pid;

	/* an fd without close-on-exec that the child must not inherit */
	leaky = dup(f->efd[0]);
	assert_int_equal(iofd_handoff_spawn(argv, &sock, &pid), 0);
	assert_true(cloexec(sock));
	fill_hello(f, &h);
	assert_int_equal(iofd_handoff_send(sock, &h), 0);
	assert_int_equal(iofd_handoff_recv(sock, IOFD_HANDOFF_REPLY, &reply, 5000), 0);
	assert_int_equal(reply.status, 0);
	assert_true(fcntl(reply.shadow_fd, F_GET_SEALS) & F_SEAL_SHRINK);
	iofd_handoff_close(&reply);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(sock);
	close(leaky);
}

static void inherited_checks_the_environment(void **state)
{
	struct fixture *f = *state;
	char buf[32];

	(void)f;
	unsetenv(IOFD_HANDOFF_ENV);
	assert_int_equal(iofd_handoff_inherited(), -ENOENT);
	setenv(IOFD_HANDOFF_ENV, "3x", 1);
	assert_int_equal(iofd_handoff_inherited(), -EINVAL);
	setenv(IOFD_HANDOFF_ENV, "19999", 1);
	assert_int_equal(iofd_handoff_inherited(), -EBADF);
	snprintf(buf, sizeof(buf), "%d", f->efd[0]);
	setenv(IOFD_HANDOFF_ENV, buf, 1);
	assert_int_equal(iofd_handoff_inherited(), -EINVAL);
	snprintf(buf, sizeof(buf), "%d", f->dev);
	setenv(IOFD_HANDOFF_ENV, buf, 1);
	assert_int_equal(iofd_handoff_inherited(), f->dev);
	unsetenv(IOFD_HANDOFF_ENV);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(hello_round_trip_keeps_every_field_and_object),
		T(reply_carries_status_and_shadow),
		T(send_rejects_bad_messages),
		T(valid_raw_hello_is_accepted),
		T(bad_magic_is_rejected),
		T(other_version_is_rejected),
		T(wrong_kind_is_rejected),
		T(reserved_header_field_is_rejected),
		T(message_shorter_than_header_is_rejected),
		T(length_field_mismatch_is_rejected),
		T(trailing_bytes_are_rejected),
		T(counts_above_maxima_are_rejected),
		T(oversized_message_is_rejected),
		T(fewer_fds_than_declared_are_rejected),
		T(more_fds_than_declared_are_rejected),
		T(no_fds_at_all_are_rejected),
		T(unused_fd_is_rejected),
		T(fd_index_out_of_range_is_rejected),
		T(fd_used_twice_is_rejected),
		T(ram_fd_must_be_memfd),
		T(region_fd_must_be_socket_or_pipe),
		T(doorbell_fd_must_be_eventfd),
		T(shadow_fd_must_be_memfd),
		T(bad_descriptors_are_rejected),
		T(reply_with_descriptors_is_rejected),
		T(truncated_ancillary_data_is_rejected),
		T(peer_close_and_silence_are_reported),
		T(spawned_device_inherits_only_its_socket),
		T(inherited_checks_the_environment),
	};

	if (argc == 2 && strcmp(argv[1], CHILD_ARG) == 0)
		return child_main();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
