/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Devices of iofd-vm: start them (a process, or the built-in device in a
 * thread), hand each one its fds over the handoff socket, and register
 * what it serves with iofd once it answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iofd/handoff.h>

#include "nvme.h"
#include "vmm.h"

int vmm_add_device(struct vmm *m, const char *cmdline, bool in_process,
		   const char *socket_path)
{
	struct vmm_device *d;
	int argc = 0;

	if (m->ndev == VMM_MAX_DEVICES) {
		fprintf(stderr, "iofd-vm: at most %d devices\n", VMM_MAX_DEVICES);
		return -1;
	}
	d = &m->dev[m->ndev];
	memset(d, 0, sizeof(*d));
	d->sock = d->peer_sock = d->shadow_fd = -1;
	d->in_process = in_process;
	if (socket_path) {
		d->socket_path = strdup(socket_path);
	} else if (!in_process) {
		d->cmdline = strdup(cmdline);
		for (char *save = NULL, *tok = strtok_r(d->cmdline, " \t", &save);
		     tok && argc < VMM_MAX_ARGS; tok = strtok_r(NULL, " \t", &save))
			d->argv[argc++] = tok;
		if (argc == 0) {
			fprintf(stderr, "iofd-vm: empty device command\n");
			free(d->cmdline);
			return -1;
		}
	}
	m->ndev++;
	return 0;
}

int vmm_add_region(struct vmm *m, uint64_t gpa, uint64_t size, uint32_t flags)
{
	struct vmm_region *r;

	if (m->ndev == 0 || m->nregions == VMM_MAX_REGIONS) {
		fprintf(stderr, "iofd-vm: a region needs a device before it "
			"(and at most %d regions)\n", VMM_MAX_REGIONS);
		return -1;
	}
	r = &m->region[m->nregions++];
	*r = (struct vmm_region){ .dev = m->ndev - 1, .gpa = gpa, .size = size,
				  .flags = flags, .vmm_fd = -1, .dev_fd = -1 };
	return 0;
}

int vmm_add_doorbell(struct vmm *m, uint64_t gpa, uint32_t len, bool pio)
{
	struct vmm_doorbell *d;
	int slot = 0;

	if (m->ndev == 0 || m->ndoorbells == VMM_MAX_DOORBELLS) {
		fprintf(stderr, "iofd-vm: a doorbell needs a device before it "
			"(and at most %d doorbells)\n", VMM_MAX_DOORBELLS);
		return -1;
	}
	for (int i = 0; i < m->ndoorbells; i++)
		slot += m->doorbell[i].dev == m->ndev - 1;
	d = &m->doorbell[m->ndoorbells++];
	*d = (struct vmm_doorbell){ .dev = m->ndev - 1, .gpa = gpa, .len = len,
				    .pio = pio, .shadow_offset = 8ull * slot,
				    .efd = -1 };
	return 0;
}

/* ---- starting -------------------------------------------------------------- */

static void *device_thread(void *arg)
{
	struct vmm_device *d = arg;

	d->thread_err = nvme_device_serve(d->peer_sock, NULL);
	return NULL;
}

/* Connect to a device listening at path, retrying while it starts up. */
static int connect_device(struct vmm_device *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(d->socket_path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, d->socket_path);
	for (int tries = 0; tries < 100; tries++) {
		d->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (d->sock < 0)
			return -1;
		if (connect(d->sock, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return 0;
		close(d->sock);
		d->sock = -1;
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "iofd-vm: cannot connect to %s: %s\n", d->socket_path,
		strerror(errno));
	return -1;
}

static int start_device(struct vmm_device *d)
{
	sigset_t alarm_set, old;
	int sv[2], err;

	if (d->socket_path)
		return connect_device(d);
	if (!d->in_process) {
		if (iofd_handoff_spawn(d->argv, &d->sock, &d->pid)) {
			fprintf(stderr, "iofd-vm: %s\n", iofd_last_error());
			return -1;
		}
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	d->sock = sv[0];
	d->peer_sock = sv[1];
	/* The run timeout's SIGALRM must reach the vCPU thread, not this one. */
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_set, &old);
	err = pthread_create(&d->thread, NULL, device_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "iofd-vm: pthread_create: %s\n", strerror(err));
		return -1;
	}
	d->thread_started = true;
	return 0;
}

/* ---- the HELLO --------------------------------------------------------------- */

static int make_fds(struct vmm *m)
{
	for (int i = 0; i < m->nregions; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		m->region[i].vmm_fd = sv[0];
		m->region[i].dev_fd = sv[1];
	}
	for (int i = 0; i < m->ndoorbells; i++) {
		m->doorbell[i].efd = eventfd(0, EFD_CLOEXEC);
		if (m->doorbell[i].efd < 0)
			return -1;
	}
	return 0;
}

static void fill_hello(struct vmm *m, int dev, struct iofd_handoff *h)
{
	iofd_handoff_init(h, IOFD_HANDOFF_HELLO);
	h->nr_ram = 1;
	h->ram[0] = (struct iofd_handoff_ram){ .gpa = 0, .size = m->ram_size,
					       .offset = 0, .fd = m->ram_fd };
	for (int i = 0; i < m->nregions; i++) {
		const struct vmm_region *r = &m->region[i];
		bool posted_only = r->size == 0;

		if (r->dev != dev)
			continue;
		h->regions[h->nr_regions++] = (struct iofd_handoff_region){
			.gpa = r->gpa, .size = r->size, .flags = r->flags,
			.user_data = (uint64_t)i,
			.cmd_fd = r->dev_fd, .resp_fd = posted_only ? -1 : r->dev_fd };
	}
	for (int i = 0; i < m->ndoorbells; i++) {
		const struct vmm_doorbell *d = &m->doorbell[i];

		if (d->dev != dev)
			continue;
		h->doorbells[h->nr_doorbells++] = (struct iofd_handoff_doorbell){
			.gpa = d->gpa, .len = d->len,
			.flags = d->pio ? IOFD_IOEVENTFD_FLAG_PIO : 0,
			.shadow_offset = d->shadow_offset, .efd = d->efd };
	}
}

static int handshake(struct vmm *m, int dev)
{
	struct vmm_device *d = &m->dev[dev];
	struct iofd_handoff h;
	int err;

	fill_hello(m, dev, &h);
	err = iofd_handoff_send(d->sock, &h);
	if (!err)
		err = iofd_handoff_recv(d->sock, IOFD_HANDOFF_REPLY, &h, 10000);
	if (err) {
		fprintf(stderr, "iofd-vm: device %d: %s\n", dev, iofd_last_error());
		return -1;
	}
	if (h.status) {
		fprintf(stderr, "iofd-vm: device %d refused its fds: %s\n", dev,
			strerror(-h.status));
		iofd_handoff_close(&h);
		return -1;
	}
	d->shadow_fd = h.shadow_fd;
	return 0;
}

/* ---- registering --------------------------------------------------------------- */

static int register_doorbell(struct vmm *m, const struct vmm_doorbell *d)
{
	struct iofd_ioeventfd io = {
		.addr = d->gpa, .len = d->len, .fd = d->efd,
		.flags = IOFD_IOEVENTFD_FLAG_POST_WRITE | IOFD_IOEVENTFD_FLAG_POST_MEMFD |
			 (d->pio ? IOFD_IOEVENTFD_FLAG_PIO : 0),
		.post_addr = d->shadow_offset,
		.post_fd = m->dev[d->dev].shadow_fd,
	};
	int err = iofd_ioeventfd_ext(m->vm, &io);

	if (err)
		fprintf(stderr, "iofd-vm: doorbell at 0x%llx: %s\n",
			(unsigned long long)d->gpa, iofd_last_error());
	return err;
}

static int register_region(struct vmm *m, int i)
{
	const struct vmm_region *r = &m->region[i];
	struct iofd_ioregion io = {
		.guest_paddr = r->gpa, .memory_size = r->size,
		.user_data = (uint64_t)i, .read_fd = r->vmm_fd,
		.write_fd = r->vmm_fd, .flags = r->flags,
	};
	int err = iofd_set_ioregion(m->vm, &io);

	if (err)
		fprintf(stderr, "iofd-vm: region at 0x%llx: %s\n",
			(unsigned long long)r->gpa, iofd_last_error());
	return err;
}

/* The device ends went to the devices; iofd keeps dups of the VMM ends.
 * @doorbells: the doorbell eventfds too. */
static void close_transferred(struct vmm *m, bool doorbells)
{
	for (int i = 0; i < m->nregions; i++) {
		if (m->region[i].dev_fd >= 0)
			close(m->region[i].dev_fd);
		if (m->region[i].vmm_fd >= 0)
			close(m->region[i].vmm_fd);
		m->region[i].dev_fd = m->region[i].vmm_fd = -1;
	}
	for (int i = 0; doorbells && i < m->ndoorbells; i++) {
		if (m->doorbell[i].efd >= 0)
			close(m->doorbell[i].efd);
		m->doorbell[i].efd = -1;
	}
}

int vmm_attach_devices(struct vmm *m)
{
	int err = make_fds(m);

	for (int i = 0; !err && i < m->ndev; i++)
		err = start_device(&m->dev[i]);
	for (int i = 0; !err && i < m->ndev; i++)
		err = handshake(m, i);
	for (int i = 0; !err && i < m->ndoorbells; i++)
		err = register_doorbell(m, &m->doorbell[i]);
	for (int i = 0; !err && i < m->nregions; i++)
		err = register_region(m, i);
	close_transferred(m, err || !m->keep_doorbell_fds);
	return err ? -1 : 0;
}

/* ---- stopping ------------------------------------------------------------------- */

/* Wait up to 5 s for a device process, then kill it. */
static int reap(struct vmm_device *d)
{
	int status = 0;

	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);

		if (r == d->pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		if (r < 0)
			return -1;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "iofd-vm: device %d did not exit; killing it\n", d->pid);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	return -1;
}

int vmm_stop_devices(struct vmm *m)
{
	int result = 0;

	for (int i = 0; i < m->ndev; i++) {
		struct vmm_device *d = &m->dev[i];

		if (d->shadow_fd >= 0)
			close(d->shadow_fd);
		if (d->sock >= 0)
			close(d->sock);
		if (d->pid > 0 && reap(d))
			result = -1;
		if (d->thread_started) {
			pthread_join(d->thread, NULL);
			if (d->thread_err)
				result = -1;
		}
		if (d->peer_sock >= 0)
			close(d->peer_sock);
		free(d->cmdline);
		free(d->socket_path);
		d->cmdline = d->socket_path = NULL;
		d->shadow_fd = d->sock = d->peer_sock = -1;
		d->pid = 0;
		d->thread_started = false;
	}
	close_transferred(m, true);
	return result;
}
