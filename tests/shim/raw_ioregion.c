/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd through the raw KVM uapi only (KVM_SET_IOREGION and the
 * 32-byte wire protocol from the numbers header): registration, reads and
 * writes served by a device thread, posted writes, a PIO doorbell, a
 * failing device, deassign. Runs natively on a kernel with ioregionfd and
 * on a stock kernel under libiofd-shim.so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "rawvm.h"

#define REGION		0x1000u	/* offsets from RAWVM_MMIO */
#define POSTED		0x2000u
#define BROKEN		0x3000u
#define BELL_PORT	0x600u
#define USER_DATA	0x77u
#define READ_BASE	0xa5000000u	/* the device answers READ_BASE + offset */
#define LOG_MAX		64
#define SLOW_OFF	0x80u	/* the device answers reads here after SLOW_MS */
#define SLOW_MS		300

static struct rawvm vm;

/* The device: one thread, two sockets, a log of every command it got. */
static struct {
	int fd[2];		/* device ends: synchronous, posted */
	int stop;		/* eventfd */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ioregionfd_cmd log[LOG_MAX];
	int n;
	int bad;		/* malformed commands seen */
} dev = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void dev_log(const struct ioregionfd_cmd *c)
{
	pthread_mutex_lock(&dev.lock);
	if (dev.n < LOG_MAX)
		dev.log[dev.n++] = *c;
	pthread_cond_broadcast(&dev.cond);
	pthread_mutex_unlock(&dev.lock);
}

/* Serve one command on @fd; -1 when the peer is gone. */
static int dev_serve(int fd)
{
	struct ioregionfd_cmd c;
	struct ioregionfd_resp r = { 0 };
	ssize_t n = recv(fd, &c, sizeof(c), MSG_WAITALL);

	if (n != sizeof(c))
		return -1;
	if (c.cmd > IOREGIONFD_CMD_WRITE ||
	    (c.info & IOREGIONFD_INFO_SIZE_MASK) > 3)
		dev.bad++;
	dev_log(&c);
	if (!(c.info & IOREGIONFD_INFO_RESP))
		return 0;
	if (c.cmd == IOREGIONFD_CMD_READ)
		r.data = READ_BASE + c.offset;
	if (c.offset == SLOW_OFF)
		usleep(SLOW_MS * 1000);
	return send(fd, &r, sizeof(r), MSG_NOSIGNAL) == sizeof(r) ? 0 : -1;
}

static void *dev_main(void *unused)
{
	struct pollfd p[3] = {
		{ .fd = dev.fd[0], .events = POLLIN },
		{ .fd = dev.fd[1], .events = POLLIN },
		{ .fd = dev.stop, .events = POLLIN },
	};

	(void)unused;
	while (poll(p, 3, -1) >= 0 && !p[2].revents) {
		for (int i = 0; i < 2; i++)
			if (p[i].revents && dev_serve(p[i].fd) < 0)
				p[i].fd = -1;
	}
	return NULL;
}

/* Wait until the device logged @n commands (posted ones arrive late). */
static int dev_wait(int n)
{
	struct timespec t;
	int ok = 1;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	pthread_mutex_lock(&dev.lock);
	while (dev.n < n && ok)
		ok = pthread_cond_timedwait(&dev.cond, &dev.lock, &t) == 0;
	ok = dev.n >= n;
	pthread_mutex_unlock(&dev.lock);
	return ok;
}

static int set_ioregion(uint64_t paddr, uint64_t size, int rfd, int wfd, uint32_t flags)
{
	struct kvm_ioregion r = {
		.guest_paddr = paddr, .memory_size = size, .user_data = USER_DATA,
		.read_fd = rfd, .write_fd = wfd, .flags = flags,
	};

	return ioctl(vm.vm, KVM_SET_IOREGION, &r) < 0 ? -errno : 0;
}

static int is_cmd(int i, int cmd, uint64_t off, int exp, int resp, uint64_t data)
{
	const struct ioregionfd_cmd *c = &dev.log[i];

	return i < dev.n && c->cmd == cmd && c->offset == off &&
	       c->info == (exp | (resp ? IOREGIONFD_INFO_RESP : 0)) &&
	       c->user_data == USER_DATA && (cmd == IOREGIONFD_CMD_READ || c->data == data);
}

static uint64_t guest_read(uint16_t off, int size)
{
	struct rawcode c = { .n = 0 };

	rawcode_mmio_read(&c, off, size);
	if (rawvm_exec(&vm, &c) != KVM_EXIT_HLT)
		return ~0ull;
	return rawvm_rax(&vm) & (size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu);
}

static void check_registration(int sync)
{
	rawvm_report(ioctl(vm.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD) == 1,
		     "KVM_CHECK_EXTENSION(KVM_CAP_IOREGIONFD) is 1");
	rawvm_report(set_ioregion(RAWVM_MMIO + REGION, 0x100, sync, sync, 0) == 0,
		     "register a 256-byte MMIO region");
	rawvm_report(set_ioregion(RAWVM_MMIO + REGION + 0x80, 0x100, sync, sync, 0) == -EEXIST,
		     "an overlapping region: EEXIST");
	rawvm_report(set_ioregion(RAWVM_MMIO + 0x4000, 0x100, sync, sync, 1u << 3) == -EINVAL,
		     "an unknown flag: EINVAL");
	rawvm_report(set_ioregion(RAWVM_MMIO + 0x4000, 0x100, -1, -1, 0) == -EBADF,
		     "bad fds: EBADF");
	rawvm_report(set_ioregion(BELL_PORT, 0, -1, sync, KVM_IOREGION_PIO) == -EINVAL,
		     "a doorbell without POSTED_WRITES: EINVAL");
	rawvm_report(set_ioregion(RAWVM_MMIO + 0x4000, 0x100, sync, sync,
				  KVM_IOREGION_DEASSIGN) == -ENOENT,
		     "deassign an unknown region: ENOENT");
}

static void check_sync_access(void)
{
	struct rawcode c = { .n = 0 };
	int ok;

	rawvm_report(guest_read(REGION + 0x10, 4) == READ_BASE + 0x10 &&
		     is_cmd(0, IOREGIONFD_CMD_READ, 0x10, 2, 1, 0),
		     "a 4-byte read is served by the device");
	rawvm_report(guest_read(REGION + 0x21, 1) == ((READ_BASE + 0x21) & 0xff) &&
		     guest_read(REGION + 0x22, 2) == ((READ_BASE + 0x22) & 0xffff),
		     "1- and 2-byte reads");
	rawcode_mmio_write(&c, REGION + 0x30, 4, 0xcafef00d);
	ok = rawvm_exec(&vm, &c) == KVM_EXIT_HLT;
	rawvm_report(ok && is_cmd(3, IOREGIONFD_CMD_WRITE, 0x30, 2, 1, 0xcafef00d),
		     "a write waits for the device's reply");
}

static void check_posted(int posted)
{
	struct rawcode c = { .n = 0 };
	int base = dev.n, ok;

	rawvm_report(set_ioregion(RAWVM_MMIO + POSTED, 0x100, posted, posted,
				  KVM_IOREGION_POSTED_WRITES) == 0,
		     "register a region with POSTED_WRITES");
	for (uint32_t i = 0; i < 3; i++)
		rawcode_mmio_write(&c, (uint16_t)(POSTED + 8 * i), 2, 0x100 + i);
	ok = rawvm_exec(&vm, &c) == KVM_EXIT_HLT && dev_wait(base + 3);
	for (int i = 0; i < 3 && ok; i++)
		ok = is_cmd(base + i, IOREGIONFD_CMD_WRITE, 8u * (unsigned)i, 1, 0,
			    0x100u + (unsigned)i);
	rawvm_report(ok, "three posted writes reach the device in order, resp 0");
	c.n = 0;
	rawcode_out(&c, BELL_PORT, 1, 0x42);
	rawvm_report(set_ioregion(BELL_PORT, 0, -1, posted,
				  KVM_IOREGION_PIO | KVM_IOREGION_POSTED_WRITES) == 0,
		     "register a PIO doorbell (memory_size 0)");
	ok = rawvm_exec(&vm, &c) == KVM_EXIT_HLT && dev_wait(base + 4);
	rawvm_report(ok && is_cmd(base + 3, IOREGIONFD_CMD_WRITE, 0, 0, 0, 0x42),
		     "an out to the doorbell is a posted write at offset 0");
}

static void check_deassign(int posted)
{
	struct rawcode c = { .n = 0 };

	rawvm_report(set_ioregion(RAWVM_MMIO + POSTED, 0x100, posted, posted,
				  KVM_IOREGION_DEASSIGN) == 0, "deassign the posted region");
	rawcode_mmio_write(&c, POSTED + 4, 4, 9);
	rawvm_report(rawvm_exec(&vm, &c) == KVM_EXIT_MMIO &&
		     vm.run->mmio.phys_addr == RAWVM_MMIO + POSTED + 4 &&
		     vm.run->mmio.is_write,
		     "after deassign the write exits to userspace");
	rawvm_run(&vm);
}

static void on_kick(int sig)
{
	(void)sig;
}

static atomic_int kicked_back;

/* Kick the vCPU thread every 20 ms until its KVM_RUN has returned. */
static void *kick_later(void *vcpu_thread)
{
	do {
		usleep(20 * 1000);
		pthread_kill(*(pthread_t *)vcpu_thread, SIGUSR1);
	} while (!atomic_load(&kicked_back));
	return NULL;
}

/* immediate_exit and signals: KVM_RUN's -EINTR; an interrupted access is
 * finished by the next KVM_RUN, its command sent once. */
static void check_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_kick };	/* no SA_RESTART */
	struct rawcode c = { .n = 0 };
	pthread_t self = pthread_self(), kicker;
	int base = dev.n, r, again;

	sigaction(SIGUSR1, &sa, NULL);
	rawcode_mmio_read(&c, REGION + 0x10, 4);
	rawvm_start(&vm, &c);
	vm.run->immediate_exit = 1;
	r = rawvm_run(&vm);
	vm.run->immediate_exit = 0;
	rawvm_report(r == -EINTR && dev.n == base,
		     "immediate_exit: KVM_RUN returns EINTR before the guest runs");
	rawvm_report(rawvm_run(&vm) == KVM_EXIT_HLT &&
		     rawvm_rax(&vm) == READ_BASE + 0x10 && dev.n == base + 1,
		     "the next KVM_RUN runs the guest");
	c.n = 0;
	rawcode_mmio_read(&c, REGION + SLOW_OFF, 4);
	rawvm_start(&vm, &c);
	atomic_store(&kicked_back, 0);
	pthread_create(&kicker, NULL, kick_later, &self);
	r = rawvm_run(&vm);
	atomic_store(&kicked_back, 1);
	pthread_join(kicker, NULL);
	for (again = 0; r == -EINTR && again < 10; again++)
		r = rawvm_run(&vm);
	rawvm_report(again >= 1, "a signal during a slow device's reply: KVM_RUN returns EINTR");
	rawvm_report(r == KVM_EXIT_HLT && rawvm_rax(&vm) == READ_BASE + SLOW_OFF &&
		     dev.n == base + 2,
		     "the next KVM_RUN finishes the read, its command sent once");
}

/* A failure exit (the provisional KVM_EXIT_IOREGIONFD_FAILURE) names the
 * 4-byte MMIO read at addr and why it failed. */
static int failure_exit_at(uint64_t addr)
{
	const struct kvm_run *r = vm.run;
	struct kvm_ioregionfd_failure_exit f;

	if (r->exit_reason != KVM_EXIT_IOREGIONFD_FAILURE)
		return 0;
	memcpy(&f, r->padding, sizeof(f));
	return f.addr == addr && f.len == 4 && !f.is_write && !f.pio &&
	       f.data == 0 && f.reason != 0 && !f.pad[0] && !f.pad[1] && !f.pad2;
}

static void check_failure(void)
{
	int s[2];
	struct rawcode c = { .n = 0 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0) {
		rawvm_report(0, "socketpair: %s", strerror(errno));
		return;
	}
	close(s[1]);		/* the device is gone */
	rawvm_report(set_ioregion(RAWVM_MMIO + BROKEN, 0x10, s[0], s[0], 0) == 0,
		     "register a region whose device has closed");
	rawcode_mmio_read(&c, BROKEN, 4);
	rawvm_report(rawvm_exec(&vm, &c) > 0 && failure_exit_at(RAWVM_MMIO + BROKEN),
		     "a read there is a failure exit with the address");
	rawvm_report(set_ioregion(RAWVM_MMIO + BROKEN, 0x10, s[0], s[0],
				  KVM_IOREGION_DEASSIGN) == 0, "deassign it");
	close(s[0]);
}

int main(void)
{
	int sync[2], posted[2], err;
	pthread_t t;

	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return rawvm_skip_all("no usable /dev/kvm");
	err = rawvm_open(&vm);
	dev.stop = eventfd(0, EFD_CLOEXEC);
	if (err || dev.stop < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, posted) < 0) {
		rawvm_report(0, "set up a VM and sockets: %s", strerror(err ? -err : errno));
		return rawvm_summary("ioregionfd", vm.kvm, KVM_CAP_IOREGIONFD);
	}
	dev.fd[0] = sync[1];
	dev.fd[1] = posted[1];
	pthread_create(&t, NULL, dev_main, NULL);
	check_registration(sync[0]);
	check_sync_access();
	check_posted(posted[0]);
	check_deassign(posted[0]);
	check_interrupts();
	check_failure();
	rawvm_report(dev.bad == 0, "every command was well formed");
	eventfd_write(dev.stop, 1);
	pthread_join(t, NULL);
	err = rawvm_summary("ioregionfd", vm.kvm, KVM_CAP_IOREGIONFD);
	rawvm_close(&vm);
	return err;
}
