/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-efd-cost: what one ioeventfd assign costs in fds and system calls
 * when the VM already knows N - 1 distinct eventfds.
 *
 *   iofd-efd-cost N            assign N distinct eventfds on a KVM VM
 *   iofd-efd-cost --emfile     the first assign -EMFILE refuses, under
 *                              RLIMIT_NOFILE 1024 (the usual soft limit)
 *
 * It registers N - 1 eventfds, then the N-th between two marker calls
 * (access() of a path that names the step), then one more registration of
 * an eventfd the VM already knows (a lookup hit). scripts/efd-cost.sh runs
 * it under strace and counts the system calls between the markers. The
 * fds the VM keeps are counted here: the open fds before and after,
 * minus the eventfds this program holds itself.
 *
 * --emfile sets the soft RLIMIT_NOFILE to 1024 and assigns new eventfds
 * until a call fails, printing which one and its errno.
 * Exit status 77 without /dev/kvm.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iofd/iofd.h>

#define BASE 0x100000ull	/* MMIO address of the first ioeventfd */

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static int assign(struct iofd_vm *vm, int efd, uint64_t addr)
{
	struct kvm_ioeventfd a = { .addr = addr, .len = 4, .fd = efd };

	return iofd_ioeventfd(vm, &a);
}

/* A system call strace shows with the step's name: nothing else uses it. */
static void mark(const char *what)
{
	(void)access(what, F_OK);
}

static int raise_nofile(unsigned long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need)
		rl.rlim_max = need;
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

static struct iofd_vm *make_vm(void)
{
	struct iofd_vm_options o = { .kvm_vm_fd = IOFD_KVM_CREATE };
	struct iofd_vm *vm = NULL;
	int err;

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("no usable /dev/kvm: skipped\n");
		exit(77);
	}
	err = iofd_vm_create(&o, &vm);
	if (err) {
		fprintf(stderr, "iofd_vm_create: %s (%s)\n", strerror(-err),
			iofd_last_error());
		exit(1);
	}
	return vm;
}

static int cost(long n)
{
	struct iofd_vm *vm = make_vm();
	int *efd = calloc((size_t)n, sizeof(*efd));
	int before, after, err;

	if (!efd || raise_nofile((unsigned long)(2 * n + 64)) < 0) {
		fprintf(stderr, "cannot allow %ld eventfds\n", n);
		return 1;
	}
	before = open_fds();
	for (long i = 0; i < n; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC);
		if (efd[i] < 0)
			return perror("eventfd"), 1;
		if (i == n - 1)
			mark("iofd-efd-cost:assign-new:begin");
		err = assign(vm, efd[i], BASE + 8 * (uint64_t)i);
		if (i == n - 1)
			mark("iofd-efd-cost:assign-new:end");
		if (err) {
			fprintf(stderr, "assign %ld: %s (%s)\n", i + 1,
				strerror(-err), iofd_last_error());
			return 1;
		}
	}
	after = open_fds();
	mark("iofd-efd-cost:assign-known:begin");
	err = assign(vm, efd[0], BASE - 8);
	mark("iofd-efd-cost:assign-known:end");
	if (err)
		return fprintf(stderr, "assign known: %s\n", iofd_last_error()), 1;
	printf("eventfds %ld: fds kept by the VM %d (%.2f per eventfd)\n", n,
	       after - before - (int)n, (double)(after - before - n) / (double)n);
	iofd_vm_destroy(vm);
	for (long i = 0; i < n; i++)
		close(efd[i]);
	free(efd);
	return 0;
}

/* How many distinct eventfds fit under RLIMIT_NOFILE 1024. */
static int emfile(void)
{
	struct iofd_vm *vm = make_vm();
	struct rlimit rl;
	int err = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return perror("setrlimit"), 1;
	printf("open fds before the first eventfd: %d\n", open_fds());
	for (long i = 0;; i++) {
		int fd = eventfd(0, EFD_CLOEXEC);

		if (fd < 0) {
			printf("RLIMIT_NOFILE %llu: eventfd() %ld failed: %s\n",
			       (unsigned long long)rl.rlim_cur, i + 1, strerror(errno));
			break;
		}
		err = assign(vm, fd, BASE + 8 * (uint64_t)i);
		if (err) {
			printf("RLIMIT_NOFILE %llu: assign %ld failed: %s (%s)\n",
			       (unsigned long long)rl.rlim_cur, i + 1,
			       strerror(-err), iofd_last_error());
			break;
		}
	}
	iofd_vm_destroy(vm);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--emfile"))
		return emfile();
	if (argc == 2 && atol(argv[1]) > 0)
		return cost(atol(argv[1]));
	fprintf(stderr, "usage: %s N | --emfile\n", argv[0]);
	return 2;
}
