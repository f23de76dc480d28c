/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The controller's one namespace: its blocks on a backing file or in a
 * memfd, and the block I/O the commands need.
 */
#ifndef NVME_NS_H
#define NVME_NS_H

#include <stdbool.h>
#include <stdint.h>

struct nvme_ns {
	int fd;			/* backing file or memfd; -1 when closed */
	bool is_file;		/* flush means fdatasync() */
	unsigned lba_shift;	/* 9 (512 B) or 12 (4 KiB) */
	uint64_t nlb;		/* blocks: NSZE = NCAP = NUSE */
	uint64_t io_errors;	/* backing reads/writes/flushes that failed */
};

/**
 * nvme_ns_open() - open the namespace.
 * @path: backing file (created if missing, grown to @size if shorter), or
 *        NULL for a memfd of @size bytes;
 * @size: bytes, a multiple of @lba_size; 0 with a @path: the file's size;
 * @lba_size: 512 or 4096.
 * Returns 0, or a negative errno with a message on stderr: -EINVAL (bad
 * size or block size), any errno of open(), memfd_create(), ftruncate().
 */
int nvme_ns_open(struct nvme_ns *ns, const char *path, uint64_t size,
		 unsigned lba_size);

/** nvme_ns_close() - close the backing fd (a memfd's blocks are gone). */
void nvme_ns_close(struct nvme_ns *ns);

/**
 * nvme_ns_read() - copy @len bytes at byte @off of the namespace to @buf.
 * The caller checked the range. Returns 0 or a negative errno (counted in
 * io_errors).
 */
int nvme_ns_read(struct nvme_ns *ns, void *buf, uint64_t len, uint64_t off);

/** nvme_ns_write() - store @len bytes of @buf at byte @off; as read. */
int nvme_ns_write(struct nvme_ns *ns, const void *buf, uint64_t len,
		  uint64_t off);

/** nvme_ns_flush() - make written blocks durable (fdatasync() on a file,
 * nothing for a memfd). Returns 0 or a negative errno (counted). */
int nvme_ns_flush(struct nvme_ns *ns);

#endif /* NVME_NS_H */
