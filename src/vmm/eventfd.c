/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventfd identity, as the kernel sees it: by object, not by fd number.
 *
 * Each registry keeps one close-on-exec dup per distinct eventfd object,
 * shared by every registration that uses it: the only fd an eventfd costs.
 *
 * Objects are ordered by the id the kernel gives every eventfd (the
 * eventfd-id line of its fdinfo): ids are unique among live eventfds, and
 * ours stay alive while we hold the dup. Reading the caller's fdinfo once
 * (open, read, close) gives the id and, when eventfd's own
 * "eventfd-count:" line is the first after the lines every fdinfo has
 * (which no other kind of file prints there), also tells that the fd is
 * an open eventfd. The lookup is then a walk down a balanced tree (glibc's
 * tsearch) comparing integers: O(log n) without a system call. (All
 * eventfds share one anonymous inode: fstat() cannot tell them apart.)
 *
 * An fdinfo not recognised that way is checked by the fd's /proc link
 * (iofd_efd_check()); the id is still the fdinfo's, whose eventfd lines
 * come last, so an object's key never depends on the way it was checked.
 * An eventfd without an id (a kernel before 5.2, or one whose id
 * allocation failed: the kernel then shows a negative id) is ordered among
 * the others without one by kcmp(KCMP_FILE), which compares the kernel's
 * file pointers: O(log n) kcmp calls for those only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "tsan.h"

/*
 * kcmp names the task whose fd table it reads: the calling thread's own id,
 * cached per thread. The only thread of a forked child has a new id: a
 * fork handler forgets the cached one (a child made without fork handlers,
 * by a raw clone() or _Fork(), must not call iofd).
 */
static _Thread_local pid_t my_tid;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void forget_tid(void)
{
	my_tid = 0;
}

static void add_fork_handler(void)
{
	pthread_atfork(NULL, NULL, forget_tid);
}

static pid_t self_tid(void)
{
	if (!my_tid) {
		pthread_once(&fork_handler_once, add_fork_handler);
		my_tid = (pid_t)syscall(SYS_gettid);
	}
	return my_tid;
}

/* kcmp(KCMP_FILE) of two fds of this thread: 0 equal, 1 a < b, 2 a > b. */
static int kcmp_files(int a, int b)
{
	pid_t tid = self_tid();

	return (int)syscall(SYS_kcmp, tid, tid, KCMP_FILE, a, b);
}

/* Does s start with prefix? */
static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Lines every fdinfo starts with (pos, flags, mnt_id, ino) and the file
 * lock lines that may follow them, before the file's own lines. */
static bool common_line(const char *s)
{
	return starts(s, "pos:") || starts(s, "flags:") ||
	       starts(s, "mnt_id:") || starts(s, "ino:") || starts(s, "lock:");
}

void iofd_efd_fdinfo_init(struct iofd_efd_fdinfo *info)
{
	*info = (struct iofd_efd_fdinfo){ .id = -1 };
}

void iofd_efd_fdinfo_line(struct iofd_efd_fdinfo *info, const char *line)
{
	int64_t id;

	if (starts(line, "eventfd-id:") &&
	    sscanf(line, "eventfd-id: %" SCNd64, &id) == 1)
		info->id = id < 0 ? -1 : id;
	if (info->own_lines || common_line(line))
		return;
	info->own_lines = true;
	info->eventfd = starts(line, "eventfd-count:");
}

/* Open fd's fdinfo: the calling thread's (its fd table), else the
 * process's where /proc has no thread-self. The file, or -errno. */
static int fdinfo_open(int fd)
{
	char path[48];
	int f;

	snprintf(path, sizeof(path), "/proc/thread-self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0 && errno == ENOENT) {
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = open(path, O_RDONLY | O_CLOEXEC);
	}
	return f < 0 ? -errno : f;
}

/*
 * Feed the fdinfo of fd to info line by line: 0, or -errno if it cannot be
 * read. A line longer than the buffer is seen by its start only (none of
 * the lines that matter is that long). One read returns the whole text
 * when it fits (a seq_file shows its single record at once), so a short
 * read ends it: open, read, close.
 */
static int fdinfo_read(int fd, struct iofd_efd_fdinfo *info)
{
	char buf[1024], *line, *eol;
	size_t have = 0, want;
	bool skip = false;
	ssize_t n;
	int f = fdinfo_open(fd);

	if (f < 0)
		return f;
	do {
		want = sizeof(buf) - 1 - have;
		n = read(f, buf + have, want);
		if (n < 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		for (line = buf; (eol = strchr(line, '\n')); line = eol + 1) {
			*eol = '\0';
			if (!skip)
				iofd_efd_fdinfo_line(info, line);
			skip = false;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have + 1);
		if (have == sizeof(buf) - 1) {	/* one long line */
			if (!skip)
				iofd_efd_fdinfo_line(info, buf);
			skip = true;
			have = 0;
		}
	} while ((size_t)n == want);
	if (n < 0)
		n = -errno;
	close(f);
	if (n < 0)
		return (int)n;
	if (have && !skip)
		iofd_efd_fdinfo_line(info, buf);
	return 0;
}

/*
 * An object's key must not depend on the way it was read: so an fdinfo
 * that cannot be read while the fd is open fails the call (with no fd
 * left, -EMFILE), rather than fall back to a key without the id.
 */
int iofd_efd_key(int fd, struct iofd_efd_key *key)
{
	struct iofd_efd_fdinfo info;
	int err;

	iofd_efd_fdinfo_init(&info);
	key->fd = fd;
	key->id = -1;
	err = fd < 0 ? -EBADF : fdinfo_read(fd, &info);
	if (!err && info.eventfd && info.id >= 0) {
		key->id = info.id;
		return 0;
	}
	if (err && err != -ENOENT && err != -EBADF && fcntl(fd, F_GETFD) >= 0)
		return iofd_fail(err, "cannot read the fdinfo of fd %d: %s", fd,
				 strerror(-err));
	/* Not recognised (or not there: the check tells why), or an eventfd
	 * without an id: check it by its link. An eventfd's own lines come
	 * last, so the id is the same whichever way the kind was told.
	 * Without an id, kcmp must order it. */
	err = iofd_efd_check(fd);
	if (err)
		return err;
	key->id = info.id;
	if (key->id < 0 && kcmp_files(fd, fd) != 0)
		return iofd_fail(-EINVAL, "eventfd %d has no eventfd-id and kcmp "
				 "is unavailable: it cannot be told from other "
				 "eventfds", fd);
	return 0;
}

static int efd_compare(const void *pa, const void *pb)
{
	const struct iofd_efd *a = pa, *b = pb;
	int r;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->id >= 0)
		return 0;
	r = kcmp_files(a->fd, b->fd);
	return r == 0 ? 0 : r == 1 ? -1 : 1;
}

struct iofd_efd *iofd_efd_find(struct iofd_efd_registry *reg,
			       const struct iofd_efd_key *key)
{
	struct iofd_efd probe = { .fd = key->fd, .id = key->id };
	struct iofd_efd **found = tfind(&probe, &reg->root, efd_compare);

	return found ? *found : NULL;
}

/*
 * One walk: tsearch() finds the object or inserts the probe, which the new
 * record then replaces in its node (the same object, so the same place);
 * if the record cannot be made, the probe leaves the tree again.
 */
int iofd_efd_get(struct iofd_efd_registry *reg, const struct iofd_efd_key *key,
		 struct iofd_efd **out)
{
	struct iofd_efd probe = { .fd = key->fd, .id = key->id }, *efd;
	struct iofd_efd **slot = tsearch(&probe, &reg->root, efd_compare);
	int err;

	if (!slot)
		return iofd_fail(-ENOMEM, "out of memory for the eventfd tree");
	if (*slot != &probe) {
		(*slot)->refs++;
		*out = *slot;
		return 0;
	}
	efd = iofd_calloc(1, sizeof(*efd));
	if (!efd) {
		tdelete(&probe, &reg->root, efd_compare);
		return iofd_fail(-ENOMEM, "out of memory for an eventfd record");
	}
	efd->fd = iofd_dupfd(key->fd, 0);
	if (efd->fd < 0) {
		err = -errno;
		tdelete(&probe, &reg->root, efd_compare);
		free(efd);
		return iofd_fail(err, "cannot keep a dup of eventfd %d: %s",
				 key->fd, strerror(-err));
	}
	efd->id = key->id;
	efd->refs = 1;
	*slot = efd;
	reg->count++;
	*out = efd;
	return 0;
}

static void efd_release_rcu(struct rcu_head *head)
{
	struct iofd_efd *efd = caa_container_of(head, struct iofd_efd, rcu);

	iofd_tsan_grace(efd);
	close(efd->fd);
	free(efd);
}

void iofd_efd_put(struct iofd_efd_registry *reg, struct iofd_efd *efd)
{
	if (--efd->refs)
		return;
	tdelete(efd, &reg->root, efd_compare);
	reg->count--;
	/* Readers may still hold efd: close the dup after a grace period. */
	iofd_tsan_retire(efd);
	urcu_memb_call_rcu(&efd->rcu, efd_release_rcu);
}

void iofd_efd_signal(const struct iofd_efd *efd)
{
	uint64_t one = 1;
	ssize_t n;

	/* EAGAIN (counter at its maximum) drops the signal, as the kernel does. */
	n = write(efd->fd, &one, sizeof(one));
	(void)n;
}
