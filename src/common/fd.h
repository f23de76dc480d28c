/* SPDX-License-Identifier: BSD-3-Clause */
/* fd helpers both sides use: what an fd is, duplicating it, eventfds. */
#ifndef IOFD_FD_H
#define IOFD_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Identity of the object behind an fd: the pipe or socket, not the fd. */
struct iofd_file_id {
	dev_t dev;
	ino_t ino;
};

/* What kind of file an fd is open on. */
struct iofd_fd_kind {
	bool fifo;		/* pipe or FIFO */
	bool sock;		/* socket */
	bool msg;		/* socket keeping message boundaries */
	int sock_type;		/* SOCK_* of a socket, else 0 */
	int accmode;		/* O_RDONLY, O_WRONLY or O_RDWR */
};

/* Fill *k for fd: 0, or -EBADF when fd is not open (no reason recorded). */
int iofd_fd_kind(int fd, struct iofd_fd_kind *k);
/* Identity of fd's object; -EBADF if fd is not open. */
int iofd_file_id(int fd, struct iofd_file_id *id);
/* Is a the same object as b? */
static inline bool iofd_file_same(const struct iofd_file_id *a,
				  const struct iofd_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}
/* A close-on-exec dup of fd, non-blocking if asked: the new fd, or -errno
 * with the reason recorded. The caller owns the new fd. */
int iofd_fd_dup(int fd, bool nonblock);
/* The target of fd's /proc/self/fd link (such as "anon_inode:kvm-vm"),
 * truncated to size: 0, -EBADF if fd is not open, or the errno of
 * readlink() (no reason recorded). */
int iofd_fd_link(int fd, char *target, size_t size);
/* Check that fd is an open eventfd: 0, -EBADF or -EINVAL (kernel's order). */
int iofd_efd_check(int fd);
/* Read an eventfd's counter without blocking and without touching the
 * O_NONBLOCK flag of its open file (0 if nothing is waiting). */
uint64_t iofd_efd_take(int fd);

#endif /* IOFD_FD_H */
