/* SPDX-License-Identifier: BSD-3-Clause */
/* Post-write ("shadow") ioeventfd: where a matching write's value goes. */
#ifndef IOFD_POST_H
#define IOFD_POST_H

#include "internal.h"
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
/* Set e->post_ptr (mapping the memfd if needed). Writer side. */
int iofd_post_attach(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e,
		     const struct iofd_ioeventfd *args);
/* Undo iofd_post_attach() once no reader can store any more (after the
 * grace period); safe on an entry without post-write. */
void iofd_post_detach(struct iofd_ioeventfd_entry *e);
/* Does deassign/path args name e's post-write target (or neither posts)? */
bool iofd_post_same(const struct iofd_ioeventfd_entry *e,
		    const struct iofd_ioeventfd *args);

/* Store len bytes at dst with release ordering; one store when aligned. */
static inline void iofd_post_store(void *dst, const void *src, uint32_t len)
{
	uint64_t v = iofd_load_le(src, len);

	if (((uintptr_t)dst & (len - 1)) == 0) {
		switch (len) {
		case 1: __atomic_store_n((uint8_t *)dst, (uint8_t)v, __ATOMIC_RELEASE); return;
		case 2: __atomic_store_n((uint16_t *)dst, (uint16_t)v, __ATOMIC_RELEASE); return;
		case 4: __atomic_store_n((uint32_t *)dst, (uint32_t)v, __ATOMIC_RELEASE); return;
		case 8: __atomic_store_n((uint64_t *)dst, v, __ATOMIC_RELEASE); return;
		}
	}
	__builtin_memcpy(dst, &v, len);
#ifdef IOFD_TSAN
	/* TSan rejects fences; tell it what the fence means instead. */
	__tsan_release(dst);
#else
	__atomic_thread_fence(__ATOMIC_RELEASE);
#endif
}

#endif /* IOFD_POST_H */
