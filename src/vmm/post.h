/* SPDX-License-Identifier: BSD-3-Clause */
/* Post-write ("shadow") ioeventfd: where a matching write's value goes. */
#ifndef IOFD_POST_H
#define IOFD_POST_H

#include <sys/types.h>

#include "space.h"
#include "tsan.h"

/* The mapping of a POST_MEMFD registration. */
struct iofd_post_map {
	void *base;		/* mmap of the pages covering the slot */
	size_t length;
	dev_t dev;		/* identity of the memfd object */
	ino_t ino;
	uint64_t offset;	/* offset of the slot in the memfd */
};

/* Check the post-write fields of an assign: 0 or -EINVAL/-EBADF. */
int iofd_post_validate(const struct iofd_ioeventfd *args);
/*
 * With POST_WRITE, the bytes no flag gives a meaning must be zero (pad0, pad,
 * and post_fd without POST_MEMFD), on assign and deassign alike: 0, or
 * -EINVAL with the reason set. Without the flag, nothing is checked.
 */
int iofd_post_check_pad(const struct iofd_ioeventfd *args);
/* Set e->post_ptr (mapping the memfd if needed). Writer side. */
int iofd_post_attach(struct iofd_ioeventfd_entry *e,
		     const struct iofd_ioeventfd *args);
/* Undo iofd_post_attach() once no reader can store any more (after the
 * grace period); safe on an entry without post-write. */
void iofd_post_detach(struct iofd_ioeventfd_entry *e);
/* How a deassign (or path query) names a post-write target. */
struct iofd_post_key {
	uint32_t flags;		/* the POST_WRITE and POST_MEMFD bits given */
	uint64_t post_addr;	/* VMM address, or offset in the memfd */
	dev_t dev;		/* POST_MEMFD: identity of the memfd object */
	ino_t ino;
};

/* Build the key of args; -EBADF when POST_MEMFD names a closed post_fd. */
int iofd_post_key(const struct iofd_ioeventfd *args, struct iofd_post_key *key);
/* Does key name e's post-write target (or does neither post)? */
bool iofd_post_same(const struct iofd_ioeventfd_entry *e,
		    const struct iofd_post_key *key);

struct iofd_vm;
struct kvm_ioeventfd_post;

/* Does the VM's kernel serve POST_WRITE ioeventfds (capability 248 and a
 * probe registration that assigns and deassigns)? Probed once per VM (again
 * after a transient failure such as -ENOMEM), with the writer lock held;
 * false with IOFD_VM_NO_OFFLOAD or without KVM. */
bool iofd_post_kernel(struct iofd_vm *vm);
/* Add e's post-write part (flag, post_addr) to its KVM_IOEVENTFD struct. */
void iofd_post_to_kernel(const struct iofd_ioeventfd_entry *e,
			 struct kvm_ioeventfd_post *k);

/*
 * Store the len bytes at src to dst with one single-copy-atomic store of len
 * bytes (iofd_post_validate() refused a target not aligned to len), so a
 * concurrent reader never sees part of a value. The release fence that
 * follows orders the store before everything after it, in particular before
 * the eventfd write that signals it (a release *store* would only order what
 * came before). ThreadSanitizer does not model fences: its build makes every
 * store sequentially consistent instead (same guarantee, slower).
 */
#ifdef IOFD_TSAN
#define IOFD_POST_ORDER __ATOMIC_SEQ_CST
#define iofd_post_fence() ((void)0)
#else
#define IOFD_POST_ORDER __ATOMIC_RELAXED
#define iofd_post_fence() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

_Static_assert(__atomic_always_lock_free(8, 0),
	       "an 8-byte post-write value is stored with one access");

static inline void iofd_post_store(void *dst, const void *src, uint32_t len)
{
	uint64_t v = iofd_load_le(src, len);

	switch (len) {
	case 1: __atomic_store_n((uint8_t *)dst, (uint8_t)v, IOFD_POST_ORDER); break;
	case 2: __atomic_store_n((uint16_t *)dst, (uint16_t)v, IOFD_POST_ORDER); break;
	case 4: __atomic_store_n((uint32_t *)dst, (uint32_t)v, IOFD_POST_ORDER); break;
	case 8: __atomic_store_n((uint64_t *)dst, v, IOFD_POST_ORDER); break;
	default: break;		/* post-write registrations have len 1-8 */
	}
	iofd_post_fence();
}

#endif /* IOFD_POST_H */
