/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a Linux bzImage for its 64-bit entry point (the x86 boot
 * protocol's "64-bit boot"): the setup header checked, the kernel copied
 * to its preferred address, the zero page (boot_params) with the e820 map,
 * the command line, the initrd placed high, identity page tables and a
 * flat GDT. The vCPU then starts in long mode at the load address + 0x200
 * with rsi pointing at the zero page.
 */
#ifndef IOFD_VM_LINUX_BOOT_H
#define IOFD_VM_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* Guest-physical layout of what the loader writes below 1 MiB. */
#define LB_GDT_GPA		0x1000ull	/* 4 descriptors */
#define LB_PML4_GPA		0x2000ull
#define LB_PDPT_GPA		0x3000ull
#define LB_PD_GPA		0x4000ull	/* 4 PDs: the first 4 GiB */
#define LB_ZERO_PAGE_GPA	0x8000ull	/* boot_params */
#define LB_STACK_TOP_GPA	0x1f000ull
#define LB_CMDLINE_GPA		0x20000ull
#define LB_CMDLINE_MAX		0x10000ull
#define LB_EBDA_GPA		0x9fc00ull	/* reserved up to 1 MiB */
#define LB_HIGH_RAM_GPA		0x100000ull
/* RAM stays below the 32-bit hole (PCI BARs, IOAPIC, LAPIC above it). */
#define LB_RAM_MAX		(3ull << 30)

#define LB_BOOT_CS		0x10	/* the boot protocol's __BOOT_CS */
#define LB_BOOT_DS		0x18	/* and __BOOT_DS */

#define LB_MIN_PROTOCOL		0x020c	/* 2.12: xloadflags, 64-bit entry */

/* What the setup header of a bzImage says. */
struct bzimage {
	uint16_t protocol;		/* 0x0206 is 2.06 */
	uint32_t setup_size;		/* bytes before the protected-mode kernel */
	uint64_t pref_address;		/* where the kernel wants to be loaded */
	uint32_t init_size;		/* memory it needs from there */
	uint32_t initrd_addr_max;	/* highest byte an initrd may use */
	uint32_t cmdline_size;		/* longest command line, without NUL */
	uint32_t kernel_alignment;
	uint16_t xloadflags;
	const uint8_t *image;		/* the whole file (not owned) */
	size_t image_size;
};

/* Where the vCPU starts. */
struct linux_entry {
	uint64_t rip;		/* load address + 0x200 */
	uint64_t rsi;		/* the zero page */
	uint64_t rsp;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/* One e820 range, as the zero page holds it. */
struct lb_e820 {
	uint64_t addr, size;
	uint32_t type;		/* 1 RAM, 2 reserved */
};

/**
 * bzimage_parse() - check and read the setup header of a bzImage.
 * @buf, @len: the file's bytes (kept by reference in @bz).
 * @why, @whylen: receives a one-line reason on failure.
 *
 * Returns 0, -ENOEXEC (not a bzImage: too short, no boot signature or no
 * "HdrS", no 64-bit entry point), or -EPROTONOSUPPORT (boot protocol
 * older than 2.12).
 */
int bzimage_parse(const void *buf, size_t len, struct bzimage *bz,
		  char *why, size_t whylen);

/**
 * linux_e820() - the e820 map for @ram_size bytes of RAM at GPA 0: low RAM,
 * the EBDA/BIOS area reserved (the MP table lives there), RAM from 1 MiB.
 * Returns the number of entries written to @map (room for 4).
 */
int linux_e820(uint64_t ram_size, struct lb_e820 *map);

/**
 * linux_boot_load() - write everything the kernel needs into guest RAM.
 * @ram, @ram_size: the host mapping of guest RAM at GPA 0.
 * @initrd, @initrd_size: the initramfs (may be NULL/0).
 * @cmdline: the kernel command line.
 * @entry: receives the vCPU's entry state.
 *
 * Errors (with a reason in @why): -E2BIG (kernel, initrd or command line
 * do not fit), -EINVAL (RAM size out of range).
 */
int linux_boot_load(uint8_t *ram, uint64_t ram_size, const struct bzimage *bz,
		    const void *initrd, size_t initrd_size, const char *cmdline,
		    struct linux_entry *entry, char *why, size_t whylen);

#endif /* IOFD_VM_LINUX_BOOT_H */
