/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventfd identity (src/vmm/eventfd.c): the fdinfo parser on the formats
 * kernels print, the check's errors, one record per eventfd object by its
 * eventfd-id, and the kcmp order that eventfds without an id take (keys
 * built with id -1, the path of a kernel that shows none), in this process
 * and in a forked child, whose thread id differs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "eventfd.h"

#define NR 64

/* The eventfd-id the kernel shows for fd, or -1. */
static int64_t shown_id(int fd)
{
	char path[64], line[128];
	int64_t id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "eventfd-id: %" SCNd64, &id) == 1)
			break;
	fclose(f);
	return id;
}

/* An fdinfo text, line by line, as the reader feeds it. */
static struct iofd_efd_fdinfo parse(const char *text)
{
	struct iofd_efd_fdinfo info;
	char buf[512], *line, *eol;

	iofd_efd_fdinfo_init(&info);
	snprintf(buf, sizeof(buf), "%s", text);
	for (line = buf; (eol = strchr(line, '\n')); line = eol + 1) {
		*eol = '\0';
		iofd_efd_fdinfo_line(&info, line);
	}
	return info;
}

static void parser_reads_the_formats_kernels_print(void **state)
{
	struct iofd_efd_fdinfo i;

	(void)state;
	/* 6.x, with a lock line before the file's own lines */
	i = parse("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n"
		  "lock:\t1: FLOCK  ADVISORY  WRITE 99 00:0f:1057 0 EOF\n"
		  "eventfd-count:                0\neventfd-id: 42\n"
		  "eventfd-semaphore: 0\n");
	assert_true(i.eventfd);
	assert_int_equal(i.id, 42);
	/* before 5.2: no id, so identity comes from kcmp */
	i = parse("pos:\t0\nflags:\t02\nmnt_id:\t11\neventfd-count:    0\n");
	assert_true(i.eventfd);
	assert_int_equal(i.id, -1);
	/* an id the kernel failed to allocate is negative: not an identity */
	i = parse("pos:\t0\nflags:\t02\nmnt_id:\t11\nino:\t1\n"
		  "eventfd-count: 0\neventfd-id: -12\n");
	assert_true(i.eventfd);
	assert_int_equal(i.id, -1);
	/* another kind of file, or eventfd's lines after another file's own
	 * line (text it printed): not told an eventfd by its fdinfo */
	i = parse("pos:\t0\nflags:\t02\nmnt_id:\t11\nino:\t5\n"
		  "tfd:        5 events:       19\n");
	assert_false(i.eventfd);
	assert_int_equal(i.id, -1);
	i = parse("pos:\t0\nflags:\t02\nmnt_id:\t11\n"
		  "path:\tx\neventfd-count: 0\neventfd-id: 3\n");
	assert_false(i.eventfd);
	i = parse("");
	assert_false(i.eventfd);
	assert_false(i.own_lines);
}

static void key_checks_the_fd_in_the_kernels_order(void **state)
{
	struct iofd_efd_key key;
	int p[2], e = eventfd(0, EFD_CLOEXEC), d = dup(e);

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(iofd_efd_key(-1, &key), -EBADF);
	assert_int_equal(iofd_efd_key(p[0], &key), -EINVAL);
	assert_non_null(strstr(iofd_last_error(), "not an eventfd"));
	close(p[1]);
	assert_int_equal(iofd_efd_key(p[1], &key), -EBADF);
	assert_non_null(strstr(iofd_last_error(), "not an open file descriptor"));
	assert_int_equal(iofd_efd_key(e, &key), 0);
	assert_true(key.id >= 0);
	assert_int_equal(key.id, shown_id(e));
	assert_int_equal(key.fd, e);
	assert_int_equal(iofd_efd_key(d, &key), 0);
	assert_int_equal(key.id, shown_id(e));
	close(p[0]);
	close(d);
	close(e);
}

/*
 * An fdinfo longer than the reader's buffer: POSIX locks on the eventfd's
 * (anonymous, shared) inode add a "lock:" line each before eventfd's own
 * lines. The fd is still told an eventfd, with the id the kernel shows.
 */
static void long_fdinfo_is_read_whole(void **state)
{
	struct iofd_efd_key key;
	int e = eventfd(0, EFD_CLOEXEC), locks = 0;
	char path[64], text[8192];
	ssize_t n;
	int f;

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = 1000 + 2 * i, .l_len = 1 };

		locks += fcntl(e, F_SETLK, &fl) == 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", e);
	f = open(path, O_RDONLY | O_CLOEXEC);
	n = read(f, text, sizeof(text));
	close(f);
	printf("# %d POSIX locks: fdinfo of %zd bytes\n", locks, n);
	if (n < 2048) {
		close(e);
		skip();
	}
	assert_int_equal(iofd_efd_key(e, &key), 0);
	assert_true(key.id >= 0);
	assert_int_equal(key.id, shown_id(e));
	close(e);
}

/*
 * With no fd left, the fdinfo cannot be opened: the key is not made (no
 * guessing without the id, which would name a known object differently)
 * and the reason says why; with an fd free again, the same fd works.
 */
static void no_fd_left_is_emfile_not_a_guess(void **state)
{
	struct iofd_efd_key key;
	struct rlimit old, low;
	int e = eventfd(0, EFD_CLOEXEC), fill[64], n = 0;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)e + 1;	/* only fds 0..e, holes filled below */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 && (fill[n] = dup(e)) >= 0)
		n++;
	assert_int_equal(iofd_efd_key(e, &key), -EMFILE);
	assert_non_null(strstr(iofd_last_error(), "cannot read the fdinfo"));
	while (n > 0)
		close(fill[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(iofd_efd_key(e, &key), 0);
	assert_int_equal(key.id, shown_id(e));
	close(e);
}

struct set {
	int efd[NR], alias[NR];
	struct iofd_efd_registry reg;
	struct iofd_efd *rec[NR];
};

static void set_open(struct set *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NR; i++) {
		s->efd[i] = eventfd(0, EFD_CLOEXEC);
		s->alias[i] = dup(s->efd[i]);
		assert_true(s->efd[i] >= 0 && s->alias[i] >= 0);
	}
}

static struct iofd_efd_key key_of(int fd, bool kcmp_order)
{
	struct iofd_efd_key k;

	assert_int_equal(iofd_efd_key(fd, &k), 0);
	if (kcmp_order)
		k.id = -1;
	return k;
}

/*
 * Register every eventfd (even ones by id, odd ones as a kernel without
 * eventfd-id would), then every alias: one record per object, found by
 * either fd, a reference per get, gone after the last put.
 */
static void registry_round(struct set *s)
{
	int start = tu_open_fds();

	for (int i = 0; i < NR; i++) {
		struct iofd_efd_key k = key_of(s->efd[i], i & 1);

		assert_int_equal(iofd_efd_get(&s->reg, &k, &s->rec[i]), 0);
		assert_int_equal(s->rec[i]->id, k.id);
	}
	assert_int_equal(s->reg.count, NR);
	assert_int_equal(tu_open_fds(), start + NR);	/* one dup each */
	for (int i = 0; i < NR; i++) {
		struct iofd_efd_key k = key_of(s->alias[i], i & 1);
		struct iofd_efd *again;

		assert_ptr_equal(iofd_efd_find(&s->reg, &k), s->rec[i]);
		assert_int_equal(iofd_efd_get(&s->reg, &k, &again), 0);
		assert_ptr_equal(again, s->rec[i]);
		assert_int_equal(s->rec[i]->refs, 2);
	}
	assert_int_equal(s->reg.count, NR);
	for (int i = 0; i < NR; i++) {
		struct iofd_efd_key k = key_of(s->efd[i], i & 1);

		iofd_efd_put(&s->reg, s->rec[i]);
		iofd_efd_put(&s->reg, s->rec[i]);
		assert_null(iofd_efd_find(&s->reg, &k));
	}
	assert_int_equal(s->reg.count, 0);
	assert_null(s->reg.root);
	urcu_memb_barrier();
	assert_int_equal(tu_open_fds(), start);
}

static void set_close(struct set *s)
{
	for (int i = 0; i < NR; i++) {
		close(s->efd[i]);
		close(s->alias[i]);
	}
}

static void one_record_per_object_by_id_or_by_kcmp(void **state)
{
	struct set s;

	(void)state;
	iofd_rcu_thread();
	set_open(&s);
	registry_round(&s);
	set_close(&s);
}

/*
 * kcmp names the calling thread: a forked child must use its own id, not
 * the parent's. Fd x holds eventfd A in the parent and B in the child; a
 * child asking with the parent's id would find A's record.
 */
static void kcmp_order_follows_a_fork(void **state)
{
	struct iofd_efd_registry reg = { 0 };
	struct iofd_efd *a, *b;
	struct iofd_efd_key ka, kb;
	int ea = eventfd(0, EFD_CLOEXEC), eb = eventfd(0, EFD_CLOEXEC);
	int x = dup(ea), status;
	pid_t pid;

	(void)state;
	iofd_rcu_thread();
	ka = key_of(ea, true);
	kb = key_of(eb, true);
	assert_int_equal(iofd_efd_get(&reg, &ka, &a), 0);	/* caches the id */
	assert_int_equal(iofd_efd_get(&reg, &kb, &b), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct iofd_efd_key kx = { .fd = x, .id = -1 };

		dup2(eb, x);
		_exit(iofd_efd_find(&reg, &kx) == b ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_ptr_equal(iofd_efd_find(&reg, &(struct iofd_efd_key){ x, -1 }), a);
	iofd_efd_put(&reg, a);
	iofd_efd_put(&reg, b);
	urcu_memb_barrier();
	close(x);
	close(ea);
	close(eb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parser_reads_the_formats_kernels_print),
		cmocka_unit_test(key_checks_the_fd_in_the_kernels_order),
		cmocka_unit_test(long_fdinfo_is_read_whole),
		cmocka_unit_test(no_fd_left_is_emfile_not_a_guess),
		cmocka_unit_test(one_record_per_object_by_id_or_by_kcmp),
		cmocka_unit_test(kcmp_order_follows_a_fork),
	};

	return cmocka_run_group_tests_name("eventfd", tests, NULL, NULL);
}
