/* SPDX-License-Identifier: BSD-3-Clause */
/* The namespace's blocks: a backing file or a memfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvme_ns.h"

static int open_backing(struct nvme_ns *ns, const char *path, uint64_t *size)
{
	struct stat st;

	ns->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ns->fd < 0 || fstat(ns->fd, &st) < 0) {
		int err = -errno;

		fprintf(stderr, "nvme-device: %s: %s\n", path, strerror(errno));
		return err;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "nvme-device: %s: not a file\n", path);
		return -EINVAL;
	}
	ns->is_file = true;
	if (*size == 0)
		*size = (uint64_t)st.st_size;
	else if ((uint64_t)st.st_size < *size && S_ISREG(st.st_mode) &&
		 ftruncate(ns->fd, (off_t)*size) < 0) {
		int err = -errno;

		fprintf(stderr, "nvme-device: %s: cannot grow to %llu bytes: %s\n",
			path, (unsigned long long)*size, strerror(errno));
		return err;
	}
	return 0;
}

int nvme_ns_open(struct nvme_ns *ns, const char *path, uint64_t size,
		 unsigned lba_size)
{
	int err;

	memset(ns, 0, sizeof(*ns));
	ns->fd = -1;
	if (lba_size != 512 && lba_size != 4096) {
		fprintf(stderr, "nvme-device: block size %u: 512 or 4096\n", lba_size);
		return -EINVAL;
	}
	ns->lba_shift = lba_size == 512 ? 9 : 12;
	if (path) {
		err = open_backing(ns, path, &size);
		if (err)
			goto fail;
	} else {
		if (size == 0) {
			fprintf(stderr, "nvme-device: a memfd namespace needs --size\n");
			return -EINVAL;
		}
		ns->fd = memfd_create("nvme-ns", MFD_CLOEXEC);
		if (ns->fd < 0 || ftruncate(ns->fd, (off_t)size) < 0) {
			err = -errno;
			fprintf(stderr, "nvme-device: namespace memfd: %s\n", strerror(errno));
			goto fail;
		}
	}
	if (size == 0 || size % lba_size || size > (UINT64_C(1) << 50)) {
		fprintf(stderr, "nvme-device: namespace size %llu: a non-zero "
			"multiple of %u up to 1 PiB\n", (unsigned long long)size,
			lba_size);
		err = -EINVAL;
		goto fail;
	}
	ns->nlb = size >> ns->lba_shift;
	return 0;
fail:
	nvme_ns_close(ns);
	return err;
}

void nvme_ns_close(struct nvme_ns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

static int io_failed(struct nvme_ns *ns, const char *what, int err)
{
	if (ns->io_errors++ == 0)
		fprintf(stderr, "nvme-device: namespace %s: %s\n", what, strerror(-err));
	return err;
}

int nvme_ns_read(struct nvme_ns *ns, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(ns->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_failed(ns, "read", -errno);
		if (n == 0) {	/* a file shrunk under us: the rest reads as 0 */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int nvme_ns_write(struct nvme_ns *ns, const void *buf, uint64_t len,
		  uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(ns->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return io_failed(ns, "write", n < 0 ? -errno : -EIO);
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int nvme_ns_flush(struct nvme_ns *ns)
{
	if (ns->is_file && fdatasync(ns->fd) < 0)
		return io_failed(ns, "flush", -errno);
	return 0;
}
