/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The layout of every struct the public headers define, checked at compile
 * time: each member starts right where the one before it ends (no implicit
 * padding, on any ABI: alignment holes are named pad members), the last one
 * ends the struct, and the struct has its ABI size (x86-64; for structs
 * with pointers, on 64-bit ABIs). Compiled as C99, C11, C++11 and C++17 by
 * check-headers.sh; a broken assertion fails the compilation.
 */
#include <stddef.h>

#include <iofd/device.h>
#include <iofd/handoff.h>
#include <iofd/iofd.h>
#include <iofd/kvm-unmerged.h>
#include <iofd/uapi.h>

#if defined(__cplusplus)
#define CHECK(tag, cond) static_assert(cond, #tag)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define CHECK(tag, cond) _Static_assert(cond, #tag)
#else
#define CHECK(tag, cond) typedef char layout_##tag[(cond) ? 1 : -1]
#endif

#define MSIZE(S, m) sizeof(((struct S *)0)->m)
#define FIRST(S, m) CHECK(S##_member_##m, offsetof(struct S, m) == 0)
#define NEXT(S, a, b)                                                  \
	CHECK(S##_member_##b, offsetof(struct S, b) == offsetof(struct S, a) + MSIZE(S, a))
#define END(S, m)                                                      \
	CHECK(S##_last, sizeof(struct S) == offsetof(struct S, m) + MSIZE(S, m))
#define SIZE(S, n) CHECK(S##_sizeof, sizeof(struct S) == (n))

#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8
#define SIZE_LP64(S, n) SIZE(S, n)
#else
#define SIZE_LP64(S, n) CHECK(S##_sizeof, 1)
#endif

/* ---- <iofd/iofd.h> ---- */

FIRST(iofd_exit, status);
NEXT(iofd_exit, status, bus);
NEXT(iofd_exit, bus, addr);
NEXT(iofd_exit, addr, len);
NEXT(iofd_exit, len, is_write);
NEXT(iofd_exit, is_write, pad0);
NEXT(iofd_exit, pad0, err);
NEXT(iofd_exit, err, reason);
NEXT(iofd_exit, reason, pad1);
NEXT(iofd_exit, pad1, reserved);
END(iofd_exit, reserved);
SIZE(iofd_exit, 160);

FIRST(iofd_vm_options, kvm_vm_fd);
NEXT(iofd_vm_options, kvm_vm_fd, flags);
NEXT(iofd_vm_options, flags, ioregion_timeout_ms);
NEXT(iofd_vm_options, ioregion_timeout_ms, reserved);
END(iofd_vm_options, reserved);
SIZE(iofd_vm_options, 32);

FIRST(iofd_caps, flags);
NEXT(iofd_caps, flags, irqchip);
NEXT(iofd_caps, irqchip, reserved);
END(iofd_caps, reserved);
SIZE(iofd_caps, 32);

FIRST(iofd_vcpu_stats, runs);
NEXT(iofd_vcpu_stats, runs, exits);
NEXT(iofd_vcpu_stats, exits, served);
NEXT(iofd_vcpu_stats, served, unclaimed);
NEXT(iofd_vcpu_stats, unclaimed, failed);
NEXT(iofd_vcpu_stats, failed, reserved);
END(iofd_vcpu_stats, reserved);
SIZE(iofd_vcpu_stats, 128);

FIRST(iofd_irq_controller, set_level);
NEXT(iofd_irq_controller, set_level, eoi_gsis);
NEXT(iofd_irq_controller, eoi_gsis, reserved);
END(iofd_irq_controller, reserved);
SIZE_LP64(iofd_irq_controller, 64);

/* ---- <iofd/device.h> ---- */

FIRST(iofd_device_region, cmd_fd);
NEXT(iofd_device_region, cmd_fd, resp_fd);
NEXT(iofd_device_region, resp_fd, size);
NEXT(iofd_device_region, size, user_data);
NEXT(iofd_device_region, user_data, flags);
NEXT(iofd_device_region, flags, pad);
NEXT(iofd_device_region, pad, read);
NEXT(iofd_device_region, read, write);
NEXT(iofd_device_region, write, opaque);
END(iofd_device_region, opaque);
SIZE_LP64(iofd_device_region, 56);

FIRST(iofd_device_doorbell, efd);
NEXT(iofd_device_doorbell, efd, pad0);
NEXT(iofd_device_doorbell, pad0, shadow_offset);
NEXT(iofd_device_doorbell, shadow_offset, len);
NEXT(iofd_device_doorbell, len, pad1);
NEXT(iofd_device_doorbell, pad1, fn);
NEXT(iofd_device_doorbell, fn, opaque);
END(iofd_device_doorbell, opaque);
SIZE_LP64(iofd_device_doorbell, 40);

FIRST(iofd_device_stats, reads);
NEXT(iofd_device_stats, reads, writes);
NEXT(iofd_device_stats, writes, posted_writes);
NEXT(iofd_device_stats, posted_writes, doorbells);
NEXT(iofd_device_stats, doorbells, signals);
NEXT(iofd_device_stats, signals, failures);
NEXT(iofd_device_stats, failures, reserved);
END(iofd_device_stats, reserved);
SIZE(iofd_device_stats, 128);

/* ---- <iofd/handoff.h> ---- */

FIRST(iofd_handoff_ram, gpa);
NEXT(iofd_handoff_ram, gpa, size);
NEXT(iofd_handoff_ram, size, offset);
NEXT(iofd_handoff_ram, offset, fd);
NEXT(iofd_handoff_ram, fd, pad);
END(iofd_handoff_ram, pad);
SIZE(iofd_handoff_ram, 32);

FIRST(iofd_handoff_region, gpa);
NEXT(iofd_handoff_region, gpa, size);
NEXT(iofd_handoff_region, size, user_data);
NEXT(iofd_handoff_region, user_data, flags);
NEXT(iofd_handoff_region, flags, cmd_fd);
NEXT(iofd_handoff_region, cmd_fd, resp_fd);
NEXT(iofd_handoff_region, resp_fd, pad);
END(iofd_handoff_region, pad);
SIZE(iofd_handoff_region, 40);

FIRST(iofd_handoff_doorbell, gpa);
NEXT(iofd_handoff_doorbell, gpa, datamatch);
NEXT(iofd_handoff_doorbell, datamatch, shadow_offset);
NEXT(iofd_handoff_doorbell, shadow_offset, len);
NEXT(iofd_handoff_doorbell, len, flags);
NEXT(iofd_handoff_doorbell, flags, efd);
NEXT(iofd_handoff_doorbell, efd, pad);
END(iofd_handoff_doorbell, pad);
SIZE(iofd_handoff_doorbell, 40);

FIRST(iofd_handoff, kind);
NEXT(iofd_handoff, kind, status);
NEXT(iofd_handoff, status, nr_ram);
NEXT(iofd_handoff, nr_ram, nr_regions);
NEXT(iofd_handoff, nr_regions, nr_doorbells);
NEXT(iofd_handoff, nr_doorbells, pad0);
NEXT(iofd_handoff, pad0, ram);
NEXT(iofd_handoff, ram, regions);
NEXT(iofd_handoff, regions, doorbells);
NEXT(iofd_handoff, doorbells, shadow_fd);
NEXT(iofd_handoff, shadow_fd, pad1);
END(iofd_handoff, pad1);
SIZE(iofd_handoff, 4128);

/* ---- <iofd/uapi.h> ---- */

FIRST(iofd_ioeventfd, datamatch);
NEXT(iofd_ioeventfd, datamatch, addr);
NEXT(iofd_ioeventfd, addr, len);
NEXT(iofd_ioeventfd, len, fd);
NEXT(iofd_ioeventfd, fd, flags);
NEXT(iofd_ioeventfd, flags, pad0);
NEXT(iofd_ioeventfd, pad0, post_addr);
NEXT(iofd_ioeventfd, post_addr, post_fd);
NEXT(iofd_ioeventfd, post_fd, pad);
END(iofd_ioeventfd, pad);
SIZE(iofd_ioeventfd, 64);

FIRST(iofd_iosignalfd, trigger);
NEXT(iofd_iosignalfd, trigger, addr);
NEXT(iofd_iosignalfd, addr, len);
NEXT(iofd_iosignalfd, len, fd);
NEXT(iofd_iosignalfd, fd, flags);
NEXT(iofd_iosignalfd, flags, pad);
END(iofd_iosignalfd, pad);
SIZE(iofd_iosignalfd, 64);

FIRST(iofd_ioregion, guest_paddr);
NEXT(iofd_ioregion, guest_paddr, memory_size);
NEXT(iofd_ioregion, memory_size, user_data);
NEXT(iofd_ioregion, user_data, read_fd);
NEXT(iofd_ioregion, read_fd, write_fd);
NEXT(iofd_ioregion, write_fd, flags);
NEXT(iofd_ioregion, flags, pad);
END(iofd_ioregion, pad);
SIZE(iofd_ioregion, 64);

FIRST(iofd_ioregionfd_cmd, cmd);
NEXT(iofd_ioregionfd_cmd, cmd, info);
NEXT(iofd_ioregionfd_cmd, info, padding);
NEXT(iofd_ioregionfd_cmd, padding, user_data);
NEXT(iofd_ioregionfd_cmd, user_data, offset);
NEXT(iofd_ioregionfd_cmd, offset, data);
END(iofd_ioregionfd_cmd, data);
SIZE(iofd_ioregionfd_cmd, 32);

FIRST(iofd_ioregionfd_resp, data);
NEXT(iofd_ioregionfd_resp, data, pad);
END(iofd_ioregionfd_resp, pad);
SIZE(iofd_ioregionfd_resp, 32);

/* ---- <iofd/kvm-unmerged.h> (or the series' own <linux/kvm.h>) ---- */

FIRST(kvm_ioeventfd_post, datamatch);
NEXT(kvm_ioeventfd_post, datamatch, addr);
NEXT(kvm_ioeventfd_post, addr, len);
NEXT(kvm_ioeventfd_post, len, fd);
NEXT(kvm_ioeventfd_post, fd, flags);
NEXT(kvm_ioeventfd_post, flags, pad0);
NEXT(kvm_ioeventfd_post, pad0, post_addr);
NEXT(kvm_ioeventfd_post, post_addr, pad);
END(kvm_ioeventfd_post, pad);
SIZE(kvm_ioeventfd_post, 64);

FIRST(kvm_ioregion, guest_paddr);
NEXT(kvm_ioregion, guest_paddr, memory_size);
NEXT(kvm_ioregion, memory_size, user_data);
NEXT(kvm_ioregion, user_data, read_fd);
NEXT(kvm_ioregion, read_fd, write_fd);
NEXT(kvm_ioregion, write_fd, flags);
NEXT(kvm_ioregion, flags, pad);
END(kvm_ioregion, pad);
SIZE(kvm_ioregion, 64);

FIRST(ioregionfd_cmd, cmd);
NEXT(ioregionfd_cmd, cmd, info);
NEXT(ioregionfd_cmd, info, padding);
NEXT(ioregionfd_cmd, padding, user_data);
NEXT(ioregionfd_cmd, user_data, offset);
NEXT(ioregionfd_cmd, offset, data);
END(ioregionfd_cmd, data);
SIZE(ioregionfd_cmd, 32);

FIRST(ioregionfd_resp, data);
NEXT(ioregionfd_resp, data, pad);
END(ioregionfd_resp, pad);
SIZE(ioregionfd_resp, 32);

FIRST(kvm_ioregionfd_failure_exit, addr);
NEXT(kvm_ioregionfd_failure_exit, addr, data);
NEXT(kvm_ioregionfd_failure_exit, data, len);
NEXT(kvm_ioregionfd_failure_exit, len, is_write);
NEXT(kvm_ioregionfd_failure_exit, is_write, pio);
NEXT(kvm_ioregionfd_failure_exit, pio, pad);
NEXT(kvm_ioregionfd_failure_exit, pad, reason);
NEXT(kvm_ioregionfd_failure_exit, reason, pad2);
END(kvm_ioregionfd_failure_exit, pad2);
SIZE(kvm_ioregionfd_failure_exit, 32);

/* iofd's names for the wire and the series' agree bit for bit. */
CHECK(info_size_mask, IOFD_IOREGIONFD_INFO_SIZE_MASK == IOREGIONFD_INFO_SIZE_MASK);
CHECK(info_resp, IOFD_IOREGIONFD_INFO_RESP == IOREGIONFD_INFO_RESP);
CHECK(info_reserved, IOFD_IOREGIONFD_INFO_RESERVED ==
	(0xffu & ~(unsigned)(IOREGIONFD_INFO_SIZE_MASK | IOREGIONFD_INFO_RESP)));
CHECK(info_make, IOFD_IOREGIONFD_INFO(3, 1) == 0x13);
CHECK(cmd_same_size, sizeof(struct iofd_ioregionfd_cmd) == sizeof(struct ioregionfd_cmd));
CHECK(region_same_size, sizeof(struct iofd_ioregion) == sizeof(struct kvm_ioregion));
