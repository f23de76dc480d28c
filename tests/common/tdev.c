/* SPDX-License-Identifier: BSD-3-Clause */
/* The ioregionfd test device (tdev.h): its command loop, thread or process. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tdev.h"
#include "testutil.h"

void tdev_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void tdev_send(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = write(fd, buf, len);
	(void)n;
}

/* Read one command; 0 when stopped or at end of file. */
static int tdev_read_cmd(struct tdev *d, struct iofd_ioregionfd_cmd *cmd)
{
	size_t got = 0;

	while (got < sizeof(*cmd)) {
		struct pollfd p[2] = { { d->fd_cmd, POLLIN, 0 },
				       { d->stop_efd, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		/* stop only once everything sent before is read */
		if (p[1].revents && !(p[0].revents & POLLIN))
			return 0;
		n = read(d->fd_cmd, (char *)cmd + got, sizeof(*cmd) - got);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

static bool tdev_cmd_ok(const struct iofd_ioregionfd_cmd *c)
{
	static const uint8_t zero[6];
	uint32_t exp = c->info & IOFD_IOREGIONFD_INFO_SIZE_MASK;
	uint32_t size = 1u << exp;

	return c->cmd <= IOFD_IOREGIONFD_CMD_WRITE && exp <= 3 &&
	       !(c->info & IOFD_IOREGIONFD_INFO_RESERVED) &&
	       !memcmp(c->padding, zero, sizeof(zero)) &&
	       c->offset + size <= 4096 &&
	       (c->cmd == IOFD_IOREGIONFD_CMD_WRITE ||
		(c->info & IOFD_IOREGIONFD_INFO_RESP)) &&
	       (size == 8 || c->data >> (8 * size) == 0);
}

/* Apply a command to the register file; returns the reply. */
static struct iofd_ioregionfd_resp tdev_apply(struct tdev *d,
					      const struct iofd_ioregionfd_cmd *c)
{
	struct iofd_ioregionfd_resp r;
	uint32_t size = 1u << (c->info & IOFD_IOREGIONFD_INFO_SIZE_MASK);

	memset(&r, 0, sizeof(r));
	if (!tdev_cmd_ok(c)) {
		d->malformed++;
		return r;
	}
	if (c->cmd == IOFD_IOREGIONFD_CMD_WRITE)
		memcpy(d->mem + c->offset, &c->data, size);
	else
		memcpy(&r.data, d->mem + c->offset, size);
	return r;
}

static void tdev_close(struct tdev *d)
{
	if (d->fd_resp != d->fd_cmd)
		close(d->fd_resp);
	close(d->fd_cmd);
}

static void tdev_loop(struct tdev *d)
{
	struct iofd_ioregionfd_cmd c;
	struct iofd_ioregionfd_resp r;
	bool first = true;

	if (d->mode == TDEV_UNSOLICITED) {
		memset(&r, 0, sizeof(r));
		tdev_send(d->fd_resp, &r, sizeof(r));
	}
	while (tdev_read_cmd(d, &c)) {
		if (d->nlog < TDEV_LOG_MAX) {
			d->log[d->nlog] = c;
			__atomic_store_n(&d->nlog, d->nlog + 1, __ATOMIC_RELEASE);
		}
		r = tdev_apply(d, &c);
		if (first && d->mode == TDEV_CLOSE) {
			tdev_close(d);
			return;
		}
		if (first && d->mode == TDEV_DIE)
			_exit(0);
		if (!(c.info & IOFD_IOREGIONFD_INFO_RESP))
			continue;
		if (d->mode == TDEV_SILENT)
			continue;
		if (first && d->mode == TDEV_LATE)
			tdev_sleep_ms(d->delay_ms);
		first = false;
		d->replies++;
		if (d->mode == TDEV_SHORT)
			tdev_send(d->fd_resp, &r, 7);
		else if (d->mode == TDEV_GARBAGE)
			tdev_send(d->fd_resp, memset(&r, 0xa5, sizeof(r)), sizeof(r));
		else
			tdev_send(d->fd_resp, &r, sizeof(r));
	}
	if (d->mode != TDEV_CLOSE)
		tdev_close(d);
}

/* Commands a thread device has received so far. */
size_t tdev_count(const struct tdev *d)
{
	return __atomic_load_n(&d->nlog, __ATOMIC_ACQUIRE);
}

static void *tdev_thread_main(void *arg)
{
	tdev_loop(arg);
	return NULL;
}

/* Start d (fds and mode filled in) as a thread, or as a child process.
 * The device owns fd_cmd/fd_resp from now on (the parent's copies are
 * closed when it is a process). */
int tdev_start(struct tdev *d, bool process)
{
	d->stop_efd = eventfd(0, EFD_CLOEXEC);
	d->pid = -1;
	if (d->stop_efd < 0)
		return -1;
	if (!process)
		return pthread_create(&d->thread, NULL, tdev_thread_main, d) ? -1 : 0;
	pid_t parent = getpid();

	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0) {
		/* The child holds copies of the test's own ends too, so it
		 * never sees EOF: when a failed assertion ends the test
		 * without stopping the device, it must die with its parent,
		 * or it keeps the test runner's output pipe open forever. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		tdev_loop(d);
		_exit(0);
	}
	tdev_close(d);
	return 0;
}

/* A joined thread can linger in /proc/self/task for a moment after
 * pthread_join() returns: wait (up to 2 s) for the count to settle at n. */
void tdev_wait_threads(int n)
{
	for (int i = 0; i < 200 && tu_threads() != n; i++)
		tdev_sleep_ms(10);
}

/* Stop the device and wait for it; returns the process's exit status. */
int tdev_stop(struct tdev *d)
{
	uint64_t one = 1;
	int status = 0;
	ssize_t n = write(d->stop_efd, &one, sizeof(one));

	(void)n;
	if (d->pid > 0)
		waitpid(d->pid, &status, 0);
	else
		pthread_join(d->thread, NULL);
	close(d->stop_efd);
	return status;
}
