/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd device side: serve a VMM's guest accesses from another thread or
 * another process, holding nothing but the file descriptors the VMM gave.
 *
 * A device serves:
 *   - ioregions: the ioregionfd wire protocol (struct iofd_ioregionfd_cmd /
 *     iofd_ioregionfd_resp in <iofd/uapi.h>) on a socket or pipe; reads are
 *     answered by a callback, writes go to a callback, posted writes get no
 *     reply;
 *   - doorbells: post-write ("shadow") ioeventfds in their out-of-process
 *     form: the VMM stores each matching guest write into a shared memfd
 *     (the device's "shadow"), then signals an eventfd; the device reads the
 *     latest value when the eventfd fires;
 *   - DMA: guest RAM shared as memfds, addressed by guest-physical address.
 *
 * A device never sees the VM: it cannot add, move or remove a region; it can
 * only answer the accesses the VMM sends it.
 *
 * No hidden threads. Everything a device waits on is behind one epoll fd
 * (iofd_device_fd()) that fits into any event loop; iofd_device_process()
 * serves a bounded batch of what is ready without blocking. iofd_device_wait() and
 * iofd_device_run() are blocking helpers for simple devices. A device
 * object belongs to one thread at a time; callbacks run on that thread,
 * inside process/wait/run.
 *
 * Every message is validated before a callback sees it. A malformed command
 * (unknown cmd, size exponent above 3, reserved bits or padding set, a short
 * or oversized message, an offset outside the region, a read without the
 * resp bit, a write value wider than its size, a foreign user_data) poisons
 * its region: the device closes its ends of the region, so the VMM sees the
 * peer go away at once, and the call returns -EPROTO with the reason in
 * iofd_last_error(). Other regions keep being served.
 */
#ifndef IOFD_DEVICE_H
#define IOFD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iofd/error.h>
#include <iofd/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iofd_device;

/**
 * iofd_device_create() - create a device with nothing attached.
 * @out: receives the device, owned by the caller (iofd_device_destroy()).
 * Errors: -ENOMEM, any errno of epoll_create1().
 */
int iofd_device_create(struct iofd_device **out);

/**
 * iofd_device_destroy() - close every fd the device keeps, unmap its
 * memory and free it. NULL is accepted. Not from inside a callback.
 */
void iofd_device_destroy(struct iofd_device *dev);

/**
 * iofd_device_fd() - the device's epoll fd: readable when
 * iofd_device_process() has work. Still the device's: do not close it.
 * -EINVAL for a NULL device.
 */
int iofd_device_fd(const struct iofd_device *dev);

/* ---- ioregions -------------------------------------------------------- */

/**
 * Read callback: store the value of the @size bytes at @offset in *@data
 * (pre-set to 0; bytes above @size are dropped). @user_data is the token
 * the VMM registered the region with; @opaque the region's opaque.
 */
typedef void (*iofd_device_read_fn)(void *opaque, uint64_t user_data,
				    uint64_t offset, uint32_t size,
				    uint64_t *data);
/** Write callback: @size bytes of @data (zero-extended) at @offset. */
typedef void (*iofd_device_write_fn)(void *opaque, uint64_t user_data,
				     uint64_t offset, uint32_t size,
				     uint64_t data);

/* iofd_device_region.size: accept any offset (no bound check). */
#define IOFD_DEVICE_SIZE_ANY		UINT64_MAX

/* iofd_device_region.flags */
/* Reject commands whose user_data differs from the region's. */
#define IOFD_DEVICE_REGION_CHECK_USER_DATA	(1u << 0)
#define IOFD_DEVICE_REGION_VALID_FLAGS		0x1u

struct iofd_device_region {
	int cmd_fd;		/* commands arrive here (the VMM's write_fd) */
	int resp_fd;		/* replies go here (the VMM's read_fd); may equal
				 * cmd_fd; -1 if every command is posted */
	uint64_t size;		/* the region's memory_size: 0 = a doorbell
				 * (offset 0, writes only); IOFD_DEVICE_SIZE_ANY */
	uint64_t user_data;	/* expected token, with CHECK_USER_DATA */
	uint32_t flags;		/* IOFD_DEVICE_REGION_* */
	uint32_t pad;		/* alignment: ignored */
	iofd_device_read_fn read;	/* NULL: reads return 0 */
	iofd_device_write_fn write;	/* NULL: writes are dropped */
	void *opaque;
};

/**
 * iofd_device_add_region() - serve an ioregion.
 *
 * cmd_fd and resp_fd must be a UNIX stream or seqpacket socket, or a pipe
 * or FIFO. The device keeps close-on-exec dups (the caller still owns its
 * fds and may close them) and switches the files to non-blocking mode (a
 * property the dups share with the caller's fds).
 * Returns the region's id (>= 0). Errors: -EINVAL (NULL, unknown flags,
 * an fd of another kind), -EBADF, -ENOMEM, -EMFILE.
 */
int iofd_device_add_region(struct iofd_device *dev,
			   const struct iofd_device_region *region);

/**
 * iofd_device_region_status() - state of region @id: 0 while served,
 * -ENOTCONN once the VMM closed it, the negative errno that poisoned it
 * (-EPROTO for a malformed command, -EPIPE for a reply the VMM did not
 * take), or -ENOENT for an unknown id (or a NULL device). A negative state
 * records its reason (the VMM closed it, or what poisoned it) for
 * iofd_last_error(), without logging it.
 */
int iofd_device_region_status(const struct iofd_device *dev, int id);

/* ---- doorbells (out-of-process post-write ioeventfd) ------------------ */

/**
 * iofd_device_create_shadow() - create the device's shadow memfd.
 *
 * A memfd of @size bytes (rounded up to a page), sealed against shrinking
 * and growing, mapped by the device. Hand iofd_device_shadow_fd() to the
 * VMM, which registers an iofd_ioeventfd with POST_WRITE | POST_MEMFD,
 * post_fd = that memfd and post_addr = a doorbell's shadow offset.
 * Errors: -EEXIST (a shadow exists), -EINVAL (size 0), any errno of
 * memfd_create(), ftruncate(), mmap().
 */
int iofd_device_create_shadow(struct iofd_device *dev, size_t size);

/**
 * iofd_device_set_shadow() - use a shadow memfd the VMM created instead.
 *
 * The memfd is mapped (no fd is kept); it must be sealed against
 * shrinking (the seal is added if the memfd allows it), so the VMM cannot
 * make the device fault. Errors: -EEXIST, -EBADF, -EINVAL (not a sealable
 * memfd, empty), any errno of mmap().
 */
int iofd_device_set_shadow(struct iofd_device *dev, int memfd);

/**
 * iofd_device_shadow_fd() - the shadow memfd to hand to the VMM, still the
 * device's; -1 without a shadow or when it came from iofd_device_set_shadow().
 */
int iofd_device_shadow_fd(const struct iofd_device *dev);

/**
 * Doorbell callback: @value is the latest value the guest wrote (as stored
 * in the shadow), @signals how many writes the eventfd counted since the
 * last call (several writes may coalesce into one call; the value is then
 * the last one, which is what a queue tail doorbell needs).
 */
typedef void (*iofd_device_doorbell_fn)(void *opaque, uint64_t value,
					uint64_t signals);

struct iofd_device_doorbell {
	int efd;		/* the eventfd the VMM signals */
	uint32_t pad0;		/* alignment: ignored */
	uint64_t shadow_offset;	/* where the VMM stores the value */
	uint32_t len;		/* 1, 2, 4 or 8: the doorbell's width */
	uint32_t pad1;		/* alignment: ignored */
	iofd_device_doorbell_fn fn;	/* may be NULL (poll the value) */
	void *opaque;
};

/**
 * iofd_device_add_doorbell() - wait on a doorbell's eventfd.
 *
 * Needs a shadow first. The device keeps a close-on-exec dup of @efd (the
 * caller keeps its fd) and makes the eventfd non-blocking.
 * Returns the doorbell's id (>= 0). Errors: -ENODEV (no shadow), -EINVAL
 * (bad len, slot outside the shadow or not aligned to len, not an
 * eventfd), -EBADF, -ENOMEM.
 */
int iofd_device_add_doorbell(struct iofd_device *dev,
			     const struct iofd_device_doorbell *doorbell);

/**
 * iofd_device_doorbell_value() - read doorbell @id's shadow value now,
 * with acquire ordering (the VMM stores before it signals).
 * Errors: -ENOENT for an unknown id.
 */
int iofd_device_doorbell_value(const struct iofd_device *dev, int id,
			       uint64_t *value);

/* ---- guest RAM (DMA) --------------------------------------------------- */

#define IOFD_DEVICE_MAX_RAM	8

/**
 * iofd_device_add_ram() - map guest RAM the VMM shared.
 * @memfd:  guest RAM; mapped shared, not kept (the caller may close it);
 *          it must be sealed against shrinking (the seal is added if the
 *          memfd allows it), so the VMM cannot make the device fault.
 * @gpa:    guest-physical address of its first byte at @offset;
 * @size:   bytes; @offset: page-aligned offset into the memfd.
 * Errors: -EINVAL (size 0, wrap, unaligned offset, beyond the file, not
 * sealable, overlap with other RAM), -EBADF, -ENOSPC (more than
 * IOFD_DEVICE_MAX_RAM ranges), any errno of mmap().
 */
int iofd_device_add_ram(struct iofd_device *dev, int memfd, uint64_t gpa,
			uint64_t size, uint64_t offset);

/**
 * iofd_device_dma() - the device's pointer to guest bytes [@gpa, @gpa+@len),
 * or NULL (reason in iofd_last_error()) when that range is not wholly
 * inside one RAM range (a guest-supplied address must always go through
 * here). The guest may
 * change the bytes at any time: copy before validating.
 */
void *iofd_device_dma(const struct iofd_device *dev, uint64_t gpa, uint64_t len);

/** iofd_device_dma_read() - copy guest bytes out; -EFAULT outside RAM. */
int iofd_device_dma_read(const struct iofd_device *dev, uint64_t gpa,
			 void *buf, uint64_t len);

/**
 * iofd_device_dma_write() - copy bytes into guest RAM; -EFAULT outside RAM.
 * The copy is followed by a release fence: a guest that sees a later
 * store (or an interrupt) sees these bytes.
 */
int iofd_device_dma_write(const struct iofd_device *dev, uint64_t gpa,
			  const void *buf, uint64_t len);

/* ---- running ------------------------------------------------------------ */

/**
 * iofd_device_process() - serve a bounded batch of what is ready, without
 * blocking.
 *
 * Each call serves at most 16 commands from each region and one wake-up
 * from each doorbell, over at most 32 ready sources, so one busy region
 * cannot starve the others (epoll hands the ready sources out in turn).
 * What is left stays ready: iofd_device_fd() remains readable and the next
 * call serves it, in order. A level-triggered loop just calls again when
 * the fd is readable; a loop that watches the fd edge-triggered must call
 * until the return value is 0.
 *
 * Returns the number of commands and doorbell wake-ups served (>= 0), or
 * the negative errno of the first region that failed in this call
 * (-EPROTO: malformed command; the region is poisoned, the others are
 * still served; the reason is in iofd_last_error()).
 */
int iofd_device_process(struct iofd_device *dev);

/**
 * iofd_device_wait() - wait up to @timeout_ms (-1: no limit) for work, then
 * serve it. Returns as iofd_device_process(), 0 on timeout, -EINTR when a
 * signal interrupted the wait.
 */
int iofd_device_wait(struct iofd_device *dev, int timeout_ms);

/**
 * iofd_device_run() - serve until iofd_device_stop(), or until every
 * region has been closed by the VMM (a device with regions only), or an
 * error. Returns 0 when stopped or when the VMM went away, -EPROTO (and
 * the others of iofd_device_process()) on a failure, -EINTR on a signal.
 */
int iofd_device_run(struct iofd_device *dev);

/** iofd_device_stop() - make iofd_device_run() return; for callbacks.
 * Returns 0, or -EINVAL for a NULL device. */
int iofd_device_stop(struct iofd_device *dev);

struct iofd_device_stats {
	uint64_t reads;		/* read commands answered */
	uint64_t writes;	/* write commands answered */
	uint64_t posted_writes;	/* write commands without reply */
	uint64_t doorbells;	/* doorbell callbacks (eventfd wake-ups) */
	uint64_t signals;	/* doorbell writes counted by the eventfds */
	uint64_t failures;	/* regions poisoned */
	uint64_t reserved[10];	/* ABI: 0 from iofd; room for new counters */
};

/** iofd_device_get_stats() - copy the device's counters: 0, or -EINVAL
 * (NULL). */
int iofd_device_get_stats(const struct iofd_device *dev,
			  struct iofd_device_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOFD_DEVICE_H */
