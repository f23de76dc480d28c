/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KVM uapi numbers of the mechanisms Linux never merged, in one place.
 *
 * Programs written against the post-write ioeventfd series or against
 * ioregionfd use these names; the preloadable shim (libiofd-shim.so) and
 * the in-kernel patches take their numbers from here, so all agree.
 * This header needs only <linux/kvm.h> (and <stddef.h>): it includes no
 * other iofd header.
 *
 * Post-write ioeventfd: the numbers of the 2026 series (flag bit 5,
 * capability 248, post_addr at byte offset 32 of the unchanged 64-byte
 * struct kvm_ioeventfd). Capability 248 is claimed by other posted series
 * too: a capability answer alone proves nothing, a behavioural probe does.
 *
 * ioregionfd: PROVISIONAL numbers. The RFC v3 (2021) numbers are taken
 * upstream, so these sit above the upstream maxima (capabilities reach 247,
 * exit reasons 41) with a gap, and will change if a series is accepted.
 *
 * Where the patched kernel's own <linux/kvm.h> defines a name, that
 * definition is kept and this header adds only what is missing.
 */
#ifndef IOFD_KVM_UNMERGED_H
#define IOFD_KVM_UNMERGED_H

#include <stddef.h>

#include <linux/kvm.h>
#include <linux/types.h>

/*
 * A static assertion in every language this header is used from: C11 and
 * C++11 have one; in C99 an array of negative size stops the build.
 * Undefined again at the end of the header.
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define IOFD_KU_ASSERT(cond, msg) static_assert(cond, msg)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && \
	__STDC_VERSION__ >= 201112L
#define IOFD_KU_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#define IOFD_KU_CAT2(a, b) a##b
#define IOFD_KU_CAT(a, b) IOFD_KU_CAT2(a, b)
#define IOFD_KU_ASSERT(cond, msg) \
	typedef char IOFD_KU_CAT(iofd_kvm_unmerged_assert_, __LINE__)[(cond) ? 1 : -1]
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- post-write ioeventfd (2026 series) --------------------------------- */

#ifndef KVM_IOEVENTFD_FLAG_POST_WRITE
#define KVM_IOEVENTFD_FLAG_POST_WRITE	(1 << 5)
#endif
#ifndef KVM_CAP_IOEVENTFD_POST_WRITE
#define KVM_CAP_IOEVENTFD_POST_WRITE	248
#endif

/*
 * struct kvm_ioeventfd as the series lays it out, for programs compiled
 * against headers without post_addr. Same size (64 bytes) and the same
 * ioctl number (KVM_IOEVENTFD) as the stock struct. With POST_WRITE, pad0
 * and pad must be zero and post_addr aligned to len.
 */
struct kvm_ioeventfd_post {
	__u64 datamatch;
	__u64 addr;		/* legal pio/mmio address */
	__u32 len;		/* 0 (any width), 1, 2, 4 or 8 */
	__s32 fd;		/* eventfd */
	__u32 flags;		/* KVM_IOEVENTFD_FLAG_* */
	__u8 pad0[4];
	__u64 post_addr;	/* POST_WRITE: where the value is stored */
	__u8 pad[24];
};

IOFD_KU_ASSERT(sizeof(struct kvm_ioeventfd_post) == 64,
	       "post-write kvm_ioeventfd is 64 bytes");
IOFD_KU_ASSERT(offsetof(struct kvm_ioeventfd_post, pad0) == 28,
	       "pad0 fills the hole after flags");
IOFD_KU_ASSERT(offsetof(struct kvm_ioeventfd_post, post_addr) == 32,
	       "post_addr sits at byte offset 32");
IOFD_KU_ASSERT(sizeof(struct kvm_ioeventfd_post) == sizeof(struct kvm_ioeventfd),
	       "the post-write layout keeps the stock size");

/* ---- ioregionfd (RFC v3 layout, PROVISIONAL numbers) ------------------- */

#ifndef KVM_CAP_IOREGIONFD
#define KVM_CAP_IOREGIONFD		300	/* provisional */
#endif
#ifndef KVM_EXIT_IOREGIONFD_FAILURE
#define KVM_EXIT_IOREGIONFD_FAILURE	100	/* provisional */
#endif

/* Defined here only where <linux/kvm.h> lacks them (a kernel with the
 * ioregionfd series defines the same names and layouts itself). */
#ifndef KVM_SET_IOREGION
#define KVM_IOREGION_PIO		(1 << 0)
#define KVM_IOREGION_POSTED_WRITES	(1 << 1)
#define KVM_IOREGION_DEASSIGN		(1 << 2)

struct kvm_ioregion {
	__u64 guest_paddr;	/* guest physical address (or port) */
	__u64 memory_size;	/* bytes; 0 = doorbell at guest_paddr */
	__u64 user_data;	/* echoed in every command */
	__s32 read_fd;		/* responses are read from here */
	__s32 write_fd;		/* commands are written here */
	__u32 flags;		/* KVM_IOREGION_* */
	__u8 pad[28];
};

IOFD_KU_ASSERT(sizeof(struct kvm_ioregion) == 64, "kvm_ioregion is 64 bytes");
IOFD_KU_ASSERT(offsetof(struct kvm_ioregion, pad) == 36,
	       "kvm_ioregion has no hole before pad");

#define KVM_SET_IOREGION	_IOW(KVMIO, 0xf0, struct kvm_ioregion) /* provisional */

/* Wire protocol: host-endian, both messages 32 bytes. */
#define IOREGIONFD_CMD_READ	0
#define IOREGIONFD_CMD_WRITE	1

/* ioregionfd_cmd.info: bits 0-3 size exponent, bit 4 resp, bits 5-7 zero */
#define IOREGIONFD_INFO_SIZE_MASK	0x0f	/* access size is 1 << exponent */
#define IOREGIONFD_INFO_RESP		0x10	/* a reply is expected on read_fd */

struct ioregionfd_cmd {
	__u8 cmd;		/* IOREGIONFD_CMD_* */
	__u8 info;		/* IOREGIONFD_INFO_* */
	__u8 padding[6];
	__u64 user_data;
	__u64 offset;		/* relative to guest_paddr */
	__u64 data;		/* value written, zero-extended */
};

struct ioregionfd_resp {
	__u64 data;		/* value read; the low `size` bytes are used */
	__u8 pad[24];
};

IOFD_KU_ASSERT(sizeof(struct ioregionfd_cmd) == 32, "ioregionfd_cmd is 32 bytes");
IOFD_KU_ASSERT(offsetof(struct ioregionfd_cmd, user_data) == 8,
	       "ioregionfd_cmd has no hole before user_data");
IOFD_KU_ASSERT(sizeof(struct ioregionfd_resp) == 32, "ioregionfd_resp is 32 bytes");
#endif /* !KVM_SET_IOREGION */

/*
 * The kernel's KVM_EXIT_IOREGIONFD_FAILURE payload, at the start of the
 * kvm_run exit union (run->ioregionfd_failure in the series' headers),
 * for programs compiled against headers without it: read it from
 * run->padding. reason is a positive errno (EPIPE, EPROTO, EBADMSG,
 * ETIMEDOUT, or EINTR for a fatal signal).
 */
struct kvm_ioregionfd_failure_exit {
	__u64 addr;		/* guest physical address, or the port */
	__u64 data;		/* the value of a write, 0 for a read */
	__u32 len;
	__u8 is_write;
	__u8 pio;
	__u8 pad[2];
	__u32 reason;
	__u32 pad2;		/* 0 */
};

IOFD_KU_ASSERT(sizeof(struct kvm_ioregionfd_failure_exit) == 32,
	       "the failure exit payload is 32 bytes");
IOFD_KU_ASSERT(offsetof(struct kvm_ioregionfd_failure_exit, pad2) == 28,
	       "the failure exit has no hole: pad2 is its tail");

#ifdef __cplusplus
}
#endif

#undef IOFD_KU_ASSERT
#undef IOFD_KU_CAT
#undef IOFD_KU_CAT2

#endif /* IOFD_KVM_UNMERGED_H */
