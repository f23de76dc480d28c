/* SPDX-License-Identifier: BSD-3-Clause */
/* fd helpers both sides use: what an fd is, duplicating it, eventfds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "fd.h"

int iofd_fd_kind(int fd, struct iofd_fd_kind *k)
{
	socklen_t len = sizeof(k->sock_type);
	struct stat st;
	int fl;

	*k = (struct iofd_fd_kind){ 0 };
	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	k->accmode = fl & O_ACCMODE;
	k->fifo = S_ISFIFO(st.st_mode);
	k->sock = S_ISSOCK(st.st_mode);
	if (k->sock && getsockopt(fd, SOL_SOCKET, SO_TYPE, &k->sock_type, &len) < 0)
		k->sock_type = 0;
	k->msg = k->sock_type == SOCK_SEQPACKET || k->sock_type == SOCK_DGRAM;
	return 0;
}

int iofd_file_id(int fd, struct iofd_file_id *id)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

int iofd_fd_dup(int fd, bool nonblock)
{
	int dup_fd, fl;

	if (fd < 0)
		return iofd_fail(-EBADF, "fd %d is not an open file descriptor", fd);
	dup_fd = iofd_dupfd(fd, 0);
	if (dup_fd < 0)
		return iofd_fail(-errno, "cannot duplicate fd %d: %s", fd,
				 strerror(errno));
	if (!nonblock)
		return dup_fd;
	fl = fcntl(dup_fd, F_GETFL);
	if (fl < 0 || fcntl(dup_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int err = -errno;

		close(dup_fd);
		return iofd_fail(err, "cannot make fd %d non-blocking", fd);
	}
	return dup_fd;
}

int iofd_fd_link(int fd, char *target, size_t size)
{
	char link[64];
	ssize_t n;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, size - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return 0;
}

int iofd_efd_check(int fd)
{
	char target[64];
	int err = iofd_fd_link(fd, target, sizeof(target));

	if (err == -EBADF)
		return iofd_fail(-EBADF, "fd %d is not an open file descriptor", fd);
	if (err)
		return iofd_fail(-EINVAL, "cannot tell whether fd %d is an eventfd: %s",
				 fd, strerror(-err));
	if (strcmp(target, "anon_inode:[eventfd]") != 0)
		return iofd_fail(-EINVAL, "fd %d is not an eventfd (%s)", fd, target);
	return 0;
}

/*
 * The counter of an eventfd that may be shared with the caller, read without
 * blocking and without touching its O_NONBLOCK flag (which belongs to the
 * caller's open file too): RWF_NOWAIT, or a zero-timeout poll where that is
 * not supported.
 */
uint64_t iofd_efd_take(int fd)
{
	static _Atomic int no_rwf_nowait;
	uint64_t v = 0;
	struct iovec iov = { &v, sizeof(v) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (!atomic_load_explicit(&no_rwf_nowait, memory_order_relaxed)) {
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		if (n == sizeof(v))
			return v;
		if (n >= 0 || errno != EOPNOTSUPP)
			return 0;
		atomic_store(&no_rwf_nowait, 1);
	}
	if (poll(&p, 1, 0) == 1 && read(fd, &v, sizeof(v)) == sizeof(v))
		return v;
	return 0;
}
