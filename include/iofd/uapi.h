/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd ABI: the structs and flag bits of every mechanism iofd offers.
 *
 * The kernel's own mechanisms (ioeventfd, irqfd) use the kernel's structs
 * from <linux/kvm.h> unchanged. The mechanisms Linux never merged use the
 * layouts of their patch series, under iofd's own names:
 *   - struct iofd_ioeventfd: the 2026 "post write" layout (64 bytes);
 *   - struct iofd_iosignalfd: the 2009 iosignalfd v5 "group" layout;
 *   - struct iofd_ioregion and the ioregionfd wire messages: RFC v3 (2021).
 */
#ifndef IOFD_UAPI_H
#define IOFD_UAPI_H

#include <linux/kvm.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ioeventfd, extended form ---------------------------------------- */

/* Kernel flag bits, repeated under iofd's names for the extended struct. */
#define IOFD_IOEVENTFD_FLAG_DATAMATCH		(1u << 0)
#define IOFD_IOEVENTFD_FLAG_PIO			(1u << 1)
#define IOFD_IOEVENTFD_FLAG_DEASSIGN		(1u << 2)
#define IOFD_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY	(1u << 3)
/* Bit 4 (fast_mmio) is in the kernel's valid mask but has no effect. */
#define IOFD_IOEVENTFD_FLAG_FAST_MMIO		(1u << 4)
/* The kernel's valid mask for struct kvm_ioeventfd. */
#define IOFD_IOEVENTFD_KERNEL_FLAGS		0x1fu

/*
 * Post-write ("shadow") ioeventfd, bit 5 as in the 2026 series: on a
 * matching write, store the len bytes written at post_addr with one
 * single-copy-atomic store, then signal. post_addr must be aligned to len.
 */
#define IOFD_IOEVENTFD_FLAG_POST_WRITE		(1u << 5)
/*
 * iofd-only: post into the memfd post_fd at offset post_addr instead of a
 * VMM address (the out-of-process form; the memfd must be sealed with
 * F_SEAL_SHRINK). Requires POST_WRITE.
 */
#define IOFD_IOEVENTFD_FLAG_POST_MEMFD		(1u << 30)
/* iofd-only: never hand this registration to the kernel. */
#define IOFD_IOEVENTFD_FLAG_NO_OFFLOAD		(1u << 31)

#define IOFD_IOEVENTFD_VALID_FLAGS                                         \
	(IOFD_IOEVENTFD_KERNEL_FLAGS | IOFD_IOEVENTFD_FLAG_POST_WRITE |     \
	 IOFD_IOEVENTFD_FLAG_POST_MEMFD | IOFD_IOEVENTFD_FLAG_NO_OFFLOAD)

/*
 * The extended ioeventfd: the kernel's fields in the kernel's order, then
 * post_addr at offset 32 (2026 post-write layout), then post_fd.
 * Without POST_WRITE, post_addr, post_fd and the padding are ignored (never
 * required to be zero). With POST_WRITE, pad0, pad and (without POST_MEMFD)
 * post_fd must be zero, or the call fails with -EINVAL: a new flag is a new
 * contract, and the kernel's series requires its padding, which these
 * bytes are, to be zero.
 */
struct iofd_ioeventfd {
	__u64 datamatch;
	__u64 addr;		/* guest address (MMIO, PIO port or ccw) */
	__u32 len;		/* 0 (any width), 1, 2, 4 or 8 */
	__s32 fd;		/* eventfd */
	__u32 flags;		/* IOFD_IOEVENTFD_FLAG_* */
	__u32 pad0;
	__aligned_u64 post_addr; /* POST_WRITE: VMM address; POST_MEMFD: offset */
	__s32 post_fd;		/* POST_MEMFD: the memfd */
	__u8 pad[20];
};

/* ---- iosignalfd group mode (2009 v5 shape) ------------------------------ */

#define IOFD_IOSIGNALFD_FLAG_TRIGGER	(1u << 0)
#define IOFD_IOSIGNALFD_FLAG_PIO	(1u << 1)
#define IOFD_IOSIGNALFD_FLAG_DEASSIGN	(1u << 2)
#define IOFD_IOSIGNALFD_VALID_FLAGS	0x7u

/*
 * One item of an iosignalfd group. A group is (bus, addr, len); every write
 * inside [addr, addr+len) reaches it; EVERY matching item is signalled.
 * With TRIGGER, `trigger` holds the address of len bytes of trigger value.
 */
struct iofd_iosignalfd {
	__u64 trigger;		/* pointer to len bytes, with FLAG_TRIGGER */
	__u64 addr;
	__u32 len;		/* 1, 2, 4 or 8 */
	__s32 fd;		/* eventfd */
	__u32 flags;		/* IOFD_IOSIGNALFD_FLAG_* */
	__u8 pad[36];
};

/* ---- ioregionfd (RFC v3 layout) ------------------------------------------ */

#define IOFD_IOREGION_FLAG_PIO			(1u << 0)
#define IOFD_IOREGION_FLAG_POSTED_WRITES	(1u << 1)
#define IOFD_IOREGION_FLAG_DEASSIGN		(1u << 2)
#define IOFD_IOREGION_VALID_FLAGS		0x7u

struct iofd_ioregion {
	__u64 guest_paddr;	/* start of the region */
	__u64 memory_size;	/* bytes; 0 = doorbell at guest_paddr */
	__u64 user_data;	/* opaque token echoed in every command */
	__s32 read_fd;		/* responses come from here */
	__s32 write_fd;		/* commands go here */
	__u32 flags;		/* IOFD_IOREGION_FLAG_* */
	__u8 pad[28];
};

/* Wire protocol, host-endian, 32-byte messages. */
#define IOFD_IOREGIONFD_CMD_READ	0
#define IOFD_IOREGIONFD_CMD_WRITE	1

/*
 * iofd_ioregionfd_cmd.info, as the kernel series defines it: bits 0-3 the
 * size exponent (the access is 1 << exponent bytes, exponent 0..3), bit 4
 * resp (a reply is expected), bits 5-7 zero. Masks, not C bitfields, whose
 * order depends on the ABI; the bytes are those of the RFC on x86-64.
 */
#define IOFD_IOREGIONFD_INFO_SIZE_MASK	0x0fu
#define IOFD_IOREGIONFD_INFO_RESP	0x10u
#define IOFD_IOREGIONFD_INFO_RESERVED	0xe0u
/* The info byte of an access of 1 << size_exp bytes. */
#define IOFD_IOREGIONFD_INFO(size_exp, resp)                                \
	((__u8)(((size_exp) & IOFD_IOREGIONFD_INFO_SIZE_MASK) |             \
		((resp) ? IOFD_IOREGIONFD_INFO_RESP : 0u)))

struct iofd_ioregionfd_cmd {
	__u8 cmd;		/* IOFD_IOREGIONFD_CMD_* */
	__u8 info;		/* IOFD_IOREGIONFD_INFO_* */
	__u8 padding[6];
	__u64 user_data;
	__u64 offset;		/* relative to guest_paddr */
	__u64 data;		/* value written, zero-extended */
};

struct iofd_ioregionfd_resp {
	__u64 data;		/* value read, low `size` bytes used */
	__u8 pad[24];
};

#ifdef __cplusplus
}
#endif

#endif /* IOFD_UAPI_H */
