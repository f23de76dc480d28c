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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iofd/kvm-unmerged.h>

#include "error.h"
#include "fault.h"
#include "post.h"
#include "mech.h"
#include "vm.h"

/*
 * Is [addr, addr+len) mapped writable in this process? /proc/self/maps lists
 * the mappings sorted by address; walk them while they cover the range
 * contiguously with write permission. Lines are read whole (getline), so a
 * long path name can never be mistaken for the start of another mapping.
 */
static bool range_writable(uint64_t addr, uint64_t len)
{
	uint64_t cur = addr, end = addr + len;
	char *line = NULL;
	size_t cap = 0;
	bool ok = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (!ok && getline(&line, &cap, f) > 0) {
		uint64_t lo, hi;
		char perms[5];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perms) != 3)
			continue;
		if (lo <= cur && cur < hi && perms[1] == 'w')
			cur = hi;
		ok = cur >= end;
	}
	free(line);
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

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int iofd_post_check_pad(const struct iofd_ioeventfd *args)
{
	if (!(args->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return 0;
	if (args->pad0 || !all_zero(args->pad, sizeof(args->pad)))
		return iofd_fail(-EINVAL, "with POST_WRITE, pad0 and pad must be zero");
	if (!(args->flags & IOFD_IOEVENTFD_FLAG_POST_MEMFD) && args->post_fd)
		return iofd_fail(-EINVAL, "post_fd is %d: without POST_MEMFD it is "
				 "padding, which POST_WRITE requires to be zero",
				 args->post_fd);
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
	/* One single-copy-atomic store of len bytes needs an aligned target
	 * (the memfd is mapped at a page boundary: the offset's alignment is
	 * the mapping's). */
	if (args->post_addr & (args->len - 1))
		return iofd_fail(-EINVAL, "post_addr 0x%llx is not aligned to len %u",
				 (unsigned long long)args->post_addr, args->len);
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

	m = iofd_calloc(1, sizeof(*m));
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
		/* EACCES: not opened for writing; EPERM: sealed against
		 * writes. Both are a bad argument, as for any other check. */
		if (err == -EACCES || err == -EPERM || err == -ENODEV)
			err = -EINVAL;
		return iofd_fail(err, "cannot map post_fd %d writable: %s",
				 args->post_fd, strerror(-err));
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->offset = args->post_addr;
	e->post_map = m;
	e->post_ptr = (char *)m->base + (args->post_addr - first);
	return 0;
}

int iofd_post_attach(struct iofd_ioeventfd_entry *e,
		     const struct iofd_ioeventfd *args)
{
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

int iofd_post_key(const struct iofd_ioeventfd *args, struct iofd_post_key *key)
{
	const uint32_t both = IOFD_IOEVENTFD_FLAG_POST_WRITE |
			      IOFD_IOEVENTFD_FLAG_POST_MEMFD;
	struct stat st;

	memset(key, 0, sizeof(*key));
	key->flags = args->flags & both;
	key->post_addr = args->post_addr;
	if (key->flags != both)
		return 0;
	if (args->post_fd < 0 || fstat(args->post_fd, &st) < 0)
		return iofd_fail(-EBADF, "post_fd %d is not an open file", args->post_fd);
	key->dev = st.st_dev;
	key->ino = st.st_ino;
	return 0;
}

bool iofd_post_same(const struct iofd_ioeventfd_entry *e,
		    const struct iofd_post_key *key)
{
	const uint32_t both = IOFD_IOEVENTFD_FLAG_POST_WRITE |
			      IOFD_IOEVENTFD_FLAG_POST_MEMFD;

	if ((e->flags & both) != key->flags)
		return false;
	if (!(key->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return true;
	if (!e->post_map)
		return e->post_ptr == (void *)(uintptr_t)key->post_addr;
	return key->dev == e->post_map->dev && key->ino == e->post_map->ino &&
	       key->post_addr == e->post_map->offset;
}

/* A PIO "port" no guest can write (ports are 16 bits): the probe's
 * registration can never fire, and never collides with a real one. */
#define PROBE_PORT	(UINT64_MAX - 15)

/*
 * Does this VM's kernel serve POST_WRITE? Capability 248 is claimed by
 * other series too, so its answer only decides whether to try: a POST_WRITE
 * registration must then assign and deassign. A kernel without the series
 * refuses bit 5 with -EINVAL. Returns 1 (yes), -1 (no), or 0 when a
 * transient failure (no memory, no eventfd) left the question open.
 */
static int kernel_serves_post_write(int vm_fd)
{
	static uint64_t scratch;	/* never written: no guest reaches the port */
	struct kvm_ioeventfd_post k = {
		.addr = PROBE_PORT, .len = 8,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_POST_WRITE,
		.post_addr = (uint64_t)(uintptr_t)&scratch,
	};
	int r = iofd_ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_POST_WRITE);

	if (r != 1)
		return r < 0 && errno == ENOMEM ? 0 : -1;
	k.fd = eventfd(0, EFD_CLOEXEC);
	if (k.fd < 0)
		return 0;
	r = iofd_ioctl(vm_fd, KVM_IOEVENTFD, &k) == 0 ? 1 : (errno == ENOMEM ? 0 : -1);
	if (r > 0) {
		k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (iofd_ioctl(vm_fd, KVM_IOEVENTFD, &k) < 0)
			r = -1;		/* it would not let go: do not trust it */
	}
	close(k.fd);
	return r;
}

bool iofd_post_kernel(struct iofd_vm *vm)
{
	if (vm->kvm_fd < 0 || (vm->flags & IOFD_VM_NO_OFFLOAD))
		return false;
	if (!vm->post_kernel) {
		vm->post_kernel = (int8_t)kernel_serves_post_write(vm->kvm_fd);
		if (vm->post_kernel)
			iofd_log(IOFD_LOG_INFO, 0, "post-write ioeventfds: %s",
				 vm->post_kernel > 0 ?
				 "the kernel serves them (offloaded)" :
				 "served in userspace (the kernel lacks POST_WRITE)");
	}
	return vm->post_kernel > 0;
}

void iofd_post_to_kernel(const struct iofd_ioeventfd_entry *e,
			 struct kvm_ioeventfd_post *k)
{
	if (!(e->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE))
		return;
	k->flags |= KVM_IOEVENTFD_FLAG_POST_WRITE;
	/* The memfd form: the address of iofd's own mapping of the slot. */
	k->post_addr = (uint64_t)(uintptr_t)e->post_ptr;
}

/* ---- the mechanism ---- */

static void post_vm_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	caps->flags |= IOFD_CAP_POST_WRITE;
	if (vm->kvm_fd < 0)
		return;
	iofd_writer_lock(vm);		/* the probe's result is the writers' */
	if (iofd_post_kernel(vm))
		caps->flags |= IOFD_CAP_POST_WRITE_OFFLOAD;
	iofd_writer_unlock(vm);
}

const struct iofd_mech iofd_post_mech = {
	.name = "post-write ioeventfd",
	.caps = post_vm_caps,
};
