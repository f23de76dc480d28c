/* SPDX-License-Identifier: BSD-3-Clause */
/* The NVMe function's I/O queue doorbells: post-write or plain wake-ups. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nvme_dbmode.h"
#include "nvme_doorbells.h"
#include "vmm.h"

#define ADMIN_DOORBELLS	2	/* the admin SQ tail and CQ head keep values */

int nvme_doorbells_init(struct nvme_doorbells *d, struct iofd_vm *iofd,
			struct vmm *m)
{
	*d = (struct nvme_doorbells){ .iofd = iofd, .sock = -1, .stop_efd = -1,
				      .shadow_fd = -1, .mode = NVME_DBMODE_VALUES };
	if (m->ndev < 1 || m->dev[0].shadow_fd < 0 ||
	    m->ndoorbells - ADMIN_DOORBELLS > NVME_DOORBELLS_MAX)
		return -EINVAL;
	d->shadow_fd = fcntl(m->dev[0].shadow_fd, F_DUPFD_CLOEXEC, 0);
	if (d->shadow_fd < 0)
		return -errno;
	for (int i = ADMIN_DOORBELLS; i < m->ndoorbells; i++) {
		struct vmm_doorbell *db = &m->doorbell[i];

		if (db->efd < 0)
			return -EINVAL;
		d->gpa[d->nr] = db->gpa;
		d->shadow_offset[d->nr] = db->shadow_offset;
		d->efd[d->nr++] = db->efd;	/* ours from now on */
		db->efd = -1;
	}
	return 0;
}

/* Doorbell @i as registered in @mode; with @deassign, naming it to go. */
static struct iofd_ioeventfd registration(const struct nvme_doorbells *d,
					  unsigned i, uint32_t mode, bool deassign)
{
	struct iofd_ioeventfd io = { .addr = d->gpa[i], .len = 4, .fd = d->efd[i] };

	if (mode == NVME_DBMODE_VALUES) {
		io.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE | IOFD_IOEVENTFD_FLAG_POST_MEMFD;
		io.post_addr = d->shadow_offset[i];
		io.post_fd = d->shadow_fd;
	}
	if (deassign)
		io.flags |= IOFD_IOEVENTFD_FLAG_DEASSIGN;
	return io;
}

/* Doorbell @i from @from to @to: 0, or the errno of the step that failed
 * (the old registration is back when the new one was refused). */
static int replace(struct nvme_doorbells *d, unsigned i, uint32_t from, uint32_t to)
{
	struct iofd_ioeventfd old = registration(d, i, from, true);
	struct iofd_ioeventfd new = registration(d, i, to, false);
	int err = iofd_ioeventfd_ext(d->iofd, &old);

	if (err)
		return err;
	err = iofd_ioeventfd_ext(d->iofd, &new);
	if (err) {
		old = registration(d, i, from, false);
		if (iofd_ioeventfd_ext(d->iofd, &old))
			fprintf(stderr, "iofd-vm: nvme doorbell 0x%llx lost its "
				"registration\n", (unsigned long long)d->gpa[i]);
	}
	return err;
}

/* Every I/O doorbell to @to; on a failure those done go back. */
static int switch_all(struct nvme_doorbells *d, uint32_t to)
{
	uint32_t from = d->mode;
	unsigned i;
	int err = 0;

	for (i = 0; i < d->nr && !err; i++)
		err = replace(d, i, from, to);
	if (!err) {
		d->mode = to;
		d->switches++;
		return 0;
	}
	fprintf(stderr, "iofd-vm: nvme doorbells to %s: %s\n",
		to == NVME_DBMODE_WAKEUPS ? "plain" : "post-write", iofd_last_error());
	for (unsigned j = 0; j + 1 < i; j++)
		replace(d, j, to, from);
	d->failures++;
	return err;
}

/* The mode to answer a request for @want with, and its status. */
static uint32_t serve_request(struct nvme_doorbells *d, uint32_t want, int32_t *status)
{
	struct iofd_ioeventfd pw;

	*status = 0;
	d->requests++;
	if (want == d->mode || d->nr == 0)
		return want;
	pw = registration(d, 0, NVME_DBMODE_VALUES, false);
	if (want == NVME_DBMODE_WAKEUPS &&
	    iofd_ioeventfd_path(d->iofd, &pw) != IOFD_PATH_USERSPACE) {
		d->kept++;	/* the kernel serves post-write: nothing to gain */
		return d->mode;
	}
	*status = switch_all(d, want);
	return d->mode;
}

/* One request from the device: false when the thread should end. */
static bool take_request(struct nvme_doorbells *d)
{
	struct nvme_dbmode_msg m;
	ssize_t n = recv(d->sock, &m, sizeof(m), MSG_DONTWAIT);
	int32_t status;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;	/* the device closed its end */
	if (n != (ssize_t)sizeof(m) || m.magic != NVME_DBMODE_MAGIC ||
	    m.mode > NVME_DBMODE_WAKEUPS) {
		fprintf(stderr, "iofd-vm: nvme device: a malformed packet on the "
			"handoff socket; no more doorbell requests are taken\n");
		return false;
	}
	m.mode = serve_request(d, m.mode, &status);
	m.status = status;
	if (send(d->sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return false;	/* the device is gone */
	return true;
}

static void *doorbell_thread(void *arg)
{
	struct nvme_doorbells *d = arg;
	struct pollfd p[2] = { { .fd = d->sock, .events = POLLIN },
			       { .fd = d->stop_efd, .events = POLLIN } };

	for (;;) {
		int n = poll(p, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			break;
		if (p[0].revents && !take_request(d))
			break;
	}
	return NULL;
}

int nvme_doorbells_start(struct nvme_doorbells *d, int sock)
{
	sigset_t all, old;
	int err;

	d->sock = sock;
	d->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (d->stop_efd < 0)
		return -errno;
	/* Signals (the run's SIGALRM, the vCPU kick) are not for this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&d->thread, NULL, doorbell_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	d->started = true;
	return 0;
}

bool nvme_doorbells_mmio(struct nvme_doorbells *d, uint64_t addr,
			 bool is_write, unsigned len)
{
	uint64_t one = 1;

	if (!is_write || len != 4)
		return false;
	for (unsigned i = 0; i < d->nr; i++) {
		if (d->gpa[i] != addr)
			continue;
		if (write(d->efd[i], &one, sizeof(one)) == sizeof(one))
			__atomic_add_fetch(&d->caught, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

void nvme_doorbells_destroy(struct nvme_doorbells *d)
{
	uint64_t one = 1;

	if (!d->iofd)
		return;		/* never set up */
	if (d->started) {
		if (write(d->stop_efd, &one, sizeof(one)) != sizeof(one))
			perror("iofd-vm: stopping the doorbell thread");
		pthread_join(d->thread, NULL);
		d->started = false;
	}
	if (d->stop_efd >= 0)
		close(d->stop_efd);
	for (unsigned i = 0; i < d->nr; i++)
		close(d->efd[i]);
	if (d->shadow_fd >= 0)
		close(d->shadow_fd);
	d->stop_efd = d->shadow_fd = -1;
	d->nr = 0;
	d->iofd = NULL;
}
