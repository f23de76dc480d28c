/* SPDX-License-Identifier: BSD-3-Clause */
/* Doorbell modes: the requests to the VMM and its answers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nvme_dbmode.h"

void nvme_dbmode_init(struct nvme_dbmode *m, int sock)
{
	*m = (struct nvme_dbmode){ .sock = sock, .asked = NVME_DBMODE_VALUES,
				   .mode = NVME_DBMODE_VALUES };
}

int nvme_dbmode_ask(struct nvme_dbmode *m, uint32_t mode)
{
	struct nvme_dbmode_msg msg = { .magic = NVME_DBMODE_MAGIC, .mode = mode };

	if (m->sock < 0 || m->asked == mode)
		return 0;
	if (send(m->sock, &msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(msg)) {
		int err = -errno;

		fprintf(stderr, "nvme-device: doorbell mode request: %s\n",
			strerror(-err));
		return err;
	}
	m->asked = mode;
	m->pending++;
	m->requests++;
	return 0;
}

int nvme_dbmode_answer(struct nvme_dbmode *m, const void *buf, size_t n)
{
	struct nvme_dbmode_msg msg;

	if (n != sizeof(msg)) {
		fprintf(stderr, "nvme-device: a packet of %zu bytes on the handoff "
			"socket\n", n);
		return -EPROTO;
	}
	memcpy(&msg, buf, sizeof(msg));
	if (msg.magic != NVME_DBMODE_MAGIC || msg.mode > NVME_DBMODE_WAKEUPS ||
	    msg.status > 0 || !m->pending) {
		fprintf(stderr, "nvme-device: unexpected packet on the handoff "
			"socket (magic 0x%08x, mode %u, %s)\n", msg.magic, msg.mode,
			m->pending ? "a request pending" : "no request pending");
		return -EPROTO;
	}
	m->pending--;
	m->answers++;
	m->mode = msg.mode;
	if (!m->pending && msg.mode != m->asked) {
		m->refusals++;
		fprintf(stderr, "nvme-device: the VMM keeps the I/O doorbells "
			"%s (%s)\n",
			msg.mode == NVME_DBMODE_VALUES ? "post-write" : "plain",
			msg.status ? strerror(-msg.status) : "its choice");
	}
	return 0;
}

bool nvme_dbmode_holding(const struct nvme_dbmode *m)
{
	return m->pending && m->asked == NVME_DBMODE_VALUES;
}

bool nvme_dbmode_lost_values(const struct nvme_dbmode *m)
{
	return !m->pending && m->asked == NVME_DBMODE_VALUES &&
	       m->mode != NVME_DBMODE_VALUES;
}

bool nvme_dbmode_may_lack_values(const struct nvme_dbmode *m)
{
	return m->mode == NVME_DBMODE_WAKEUPS ||
	       (m->pending && m->asked == NVME_DBMODE_WAKEUPS);
}
