/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reader of KVM's binary stats: a header, name_size-long descriptors at
 * desc_offset, values (u64 each) at data_offset + the descriptor's offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "kvm_stats.h"

static const char *const names[KVM_NR_STATS] = {
	[KVM_STAT_EXITS] = "exits",
	[KVM_STAT_MMIO_EXITS] = "mmio_exits",
	[KVM_STAT_IO_EXITS] = "io_exits",
	[KVM_STAT_HALT_EXITS] = "halt_exits",
	[KVM_STAT_IRQ_INJECTIONS] = "irq_injections",
};

const char *kvm_stats_name(enum kvm_stat k)
{
	return k < KVM_NR_STATS ? names[k] : "?";
}

/* Match each descriptor against the wanted names. */
static int scan(struct kvm_stats *s, const struct kvm_stats_header *h)
{
	size_t dsize = sizeof(struct kvm_stats_desc) + h->name_size;
	char *buf;
	int err = 0;

	if (h->name_size == 0 || h->name_size > 4096 || h->num_desc > 100000)
		return -EPROTO;
	buf = malloc(dsize * h->num_desc);
	if (!buf)
		return -ENOMEM;
	if (pread(s->fd, buf, dsize * h->num_desc, h->desc_offset) !=
	    (ssize_t)(dsize * h->num_desc))
		err = -EPROTO;
	for (uint32_t i = 0; !err && i < h->num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(buf + i * dsize);

		for (int k = 0; k < KVM_NR_STATS; k++)
			if (strncmp(d->name, names[k], h->name_size) == 0)
				s->offset[k] = h->data_offset + d->offset;
	}
	free(buf);
	return err;
}

int kvm_stats_open(struct kvm_stats *s, int vcpu_fd)
{
	struct kvm_stats_header h;
	int err;

	for (int k = 0; k < KVM_NR_STATS; k++)
		s->offset[k] = UINT64_MAX;
	s->fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0) {
		s->fd = -1;
		return -errno;
	}
	if (pread(s->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		err = -EPROTO;
	else
		err = scan(s, &h);
	if (err)
		kvm_stats_close(s);
	return err;
}

int kvm_stats_read(const struct kvm_stats *s, uint64_t sum[KVM_NR_STATS])
{
	for (int k = 0; s->fd >= 0 && k < KVM_NR_STATS; k++) {
		uint64_t v;

		if (s->offset[k] == UINT64_MAX)
			continue;
		if (pread(s->fd, &v, sizeof(v), (off_t)s->offset[k]) != sizeof(v))
			return -errno;
		sum[k] += v;
	}
	return 0;
}

void kvm_stats_close(struct kvm_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
