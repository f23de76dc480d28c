/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Post-write ioeventfd targets: a writable range of the VMM's own memory,
 * or a slot in a memfd (sealed against shrinking) that a device process
 * shares with the VMM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "post.h"

/* Is [addr, addr+len) mapped writable in this process? */
static bool range_writable(uint64_t addr, uint64_t len)
{
	uint64_t cur = addr, end = addr + len;
	char line[512];
	bool ok = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f)) {
		uint64_t lo, hi;
		char perms[5];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perms) != 3)
			continue;
		if (lo <= cur && cur < hi && perms[1] == 'w')
			cur = hi;
		ok = cur >= end;
	}
	fclose(f);
	return ok;
}

static int validate_memfd(const struct iofd_ioeventfd *args)
{
	struct stat st;
	int seals;

	if (args->post_fd < 0 || fstat(args->post_fd, &st) < 0)
		return iofd_fail(-EBADF, "post_fd %d is not an open file", args->post_fd);
	seals = fcntl(args->post_fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return iofd_fail(-EINVAL, "post_fd %d is not a memfd sealed with "
				 "F_SEAL_SHRINK", args->post_fd);
	if (args->post_addr > (uint64_t)st.st_size ||
	    args->len > (uint64_t)st.st_size - args->post_addr)
		return iofd_fail(-EINVAL, "post slot at offset %llu len %u lies "
				 "beyond the memfd's %lld bytes",
				 (unsigned long long)args->post_addr, args->len,
				 (long long)st.st_size);
	return 0;
}

int iofd_post_validate(const struct iofd_ioeventfd *args)
{
	uint32_t f = args->flags;

	if ((f & IOFD_IOEVENTFD_FLAG_POST_MEMFD) && !(f & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return iofd_fail(-EINVAL, "POST_MEMFD needs POST_WRITE");
	if (!(f & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return 0;
	if (!args->len)
		return iofd_fail(-EINVAL, "POST_WRITE needs len > 0");
	if (f & IOFD_IOEVENTFD_FLAG_POST_MEMFD)
		return validate_memfd(args);
	if (!args->post_addr)
		return iofd_fail(-EINVAL, "POST_WRITE needs a post_addr");
	if (args->post_addr + args->len < args->post_addr ||
	    !range_writable(args->post_addr, args->len))
		return iofd_fail(-EINVAL, "post_addr 0x%llx len %u is not mapped "
				 "writable", (unsigned long long)args->post_addr,
				 args->len);
	return 0;
}

static int attach_memfd(struct iofd_ioeventfd_entry *e,
			const struct iofd_ioeventfd *args)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t first = args->post_addr & ~(uint64_t)(page - 1);
	struct iofd_post_map *m;
	struct stat st;

	m = calloc(1, sizeof(*m));
	if (!m)
		return iofd_fail(-ENOMEM, "out of memory for a post mapping");
	if (fstat(args->post_fd, &st) < 0) {
		free(m);
		return iofd_fail(-EBADF, "post_fd %d vanished", args->post_fd);
	}
	m->length = args->post_addr + args->len - first;
	m->base = mmap(NULL, m->length, PROT_READ | PROT_WRITE, MAP_SHARED,
		       args->post_fd, (off_t)first);
	if (m->base == MAP_FAILED) {
		int err = -errno;

		free(m);
		return iofd_fail(err == -EACCES ? -EINVAL : err,
				 "cannot map post_fd %d writable: %s",
				 args->post_fd, strerror(-err));
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->offset = args->post_addr;
	e->post_map = m;
	e->post_ptr = (char *)m->base + (args->post_addr - first);
	return 0;
}

int iofd_post_attach(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e,
		     const struct iofd_ioeventfd *args)
{
	(void)vm;
	if (!(args->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return 0;
	if (args->flags & IOFD_IOEVENTFD_FLAG_POST_MEMFD)
		return attach_memfd(e, args);
	e->post_ptr = (void *)(uintptr_t)args->post_addr;
	return 0;
}

void iofd_post_detach(struct iofd_ioeventfd_entry *e)
{
	if (e->post_map) {
		munmap(e->post_map->base, e->post_map->length);
		free(e->post_map);
		e->post_map = NULL;
	}
	e->post_ptr = NULL;
}

bool iofd_post_same(const struct iofd_ioeventfd_entry *e,
		    const struct iofd_ioeventfd *args)
{
	const uint32_t both = IOFD_IOEVENTFD_FLAG_POST_WRITE |
			      IOFD_IOEVENTFD_FLAG_POST_MEMFD;
	struct stat st;

	if ((e->flags & both) != (args->flags & both))
		return false;
	if (!(e->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return true;
	if (!e->post_map)
		return e->post_ptr == (void *)(uintptr_t)args->post_addr;
	return fstat(args->post_fd, &st) == 0 && st.st_dev == e->post_map->dev &&
	       st.st_ino == e->post_map->ino && e->post_map->offset == args->post_addr;
}
