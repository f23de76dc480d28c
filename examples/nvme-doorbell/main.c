/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme-doorbell-device: the NVMe-style device as a process of its own.
 *
 *   nvme-doorbell-device                 serve the handoff socket inherited
 *                                        from the VMM (IOFD_HANDOFF_FD)
 *   nvme-doorbell-device --listen PATH   accept one VMM on a UNIX seqpacket
 *                                        socket at PATH, then serve it
 *
 * Prints one summary line on stderr when the VMM goes away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <iofd/handoff.h>
#include <iofd/iofd.h>

#include "nvme.h"

static int accept_one(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lsock, sock;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "nvme-doorbell: socket path too long\n");
		return -1;
	}
	strcpy(addr.sun_path, path);
	lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lsock, 1) < 0) {
		fprintf(stderr, "nvme-doorbell: %s: %s\n", path, strerror(errno));
		if (lsock >= 0)
			close(lsock);
		return -1;
	}
	sock = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		fprintf(stderr, "nvme-doorbell: accept: %s\n", strerror(errno));
	close(lsock);
	unlink(path);
	return sock;
}

int main(int argc, char **argv)
{
	struct nvme_device_stats st;
	int sock, err;

	if (argc == 3 && strcmp(argv[1], "--listen") == 0) {
		sock = accept_one(argv[2]);
	} else if (argc == 1) {
		sock = iofd_handoff_inherited();
		if (sock < 0)
			fprintf(stderr, "nvme-doorbell: %s (start me from a VMM, "
				"or use --listen PATH)\n", iofd_last_error());
	} else {
		fprintf(stderr, "usage: %s [--listen PATH]\n", argv[0]);
		return 2;
	}
	if (sock < 0)
		return 1;
	err = nvme_device_serve(sock, &st);
	close(sock);
	fprintf(stderr, "nvme-doorbell: %u queues, %llu commands completed, "
		"%llu SQ doorbell wake-ups, %llu CQ head doorbells, %llu register "
		"reads, %llu register writes%s\n", st.queues,
		(unsigned long long)st.commands, (unsigned long long)st.sq_doorbells,
		(unsigned long long)st.cq_doorbells,
		(unsigned long long)st.reg_reads, (unsigned long long)st.reg_writes,
		st.fatal ? ", CONTROLLER FATAL" : "");
	return err || st.fatal ? 1 : 0;
}
