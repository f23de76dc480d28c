/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bzImage loader for the 64-bit boot protocol: offsets and rules are
 * those of the kernel's x86 boot protocol document (setup header at 0x1f1,
 * zero page layout, 64-bit entry at the load address + 0x200).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "linux_boot.h"

/* Setup header fields, as file offsets (the zero page uses the same). */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_VID_MODE		0x1fa
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200	/* its second byte ends the header */
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_MIN_LEN		0x264	/* through init_size */
#define HDR_MAX_END		0x290	/* the zero page's header area ends here */

#define ZP_E820_ENTRIES		0x1e8
#define ZP_E820_TABLE		0x2d0

#define XLF_KERNEL_64		(1u << 0)
#define E820_RAM		1
#define E820_RESERVED		2
#define ENTRY_64_OFFSET		0x200

#define PTE_P	(1ull << 0)
#define PTE_RW	(1ull << 1)
#define PTE_PS	(1ull << 7)

static int why_fail(int err, char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int why_fail(int err, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why && len)
		vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return (uint64_t)get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

int bzimage_parse(const void *buf, size_t len, struct bzimage *bz,
		  char *why, size_t whylen)
{
	const uint8_t *p = buf;
	unsigned sects;

	memset(bz, 0, sizeof(*bz));
	if (!p || len < HDR_MIN_LEN)
		return why_fail(-ENOEXEC, why, whylen, "not a bzImage: %zu bytes "
				"is shorter than a setup header", len);
	if (get16(p, HDR_BOOT_FLAG) != 0xaa55 || memcmp(p + HDR_MAGIC, "HdrS", 4))
		return why_fail(-ENOEXEC, why, whylen, "not a bzImage: no boot "
				"signature or no \"HdrS\" setup header");
	bz->protocol = get16(p, HDR_VERSION);
	if (bz->protocol < LB_MIN_PROTOCOL)
		return why_fail(-EPROTONOSUPPORT, why, whylen, "boot protocol "
				"%u.%02u is too old (2.12 or later is needed for "
				"the 64-bit entry)", bz->protocol >> 8,
				bz->protocol & 0xff);
	bz->xloadflags = get16(p, HDR_XLOADFLAGS);
	if (!(bz->xloadflags & XLF_KERNEL_64))
		return why_fail(-ENOEXEC, why, whylen, "the kernel has no 64-bit "
				"entry point (XLF_KERNEL_64 clear)");
	sects = p[HDR_SETUP_SECTS] ? p[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (sects + 1) * 512u;
	if (bz->setup_size >= len)
		return why_fail(-ENOEXEC, why, whylen, "not a bzImage: %u setup "
				"sectors but only %zu bytes", sects, len);
	bz->pref_address = get64(p, HDR_PREF_ADDRESS);
	bz->init_size = get32(p, HDR_INIT_SIZE);
	bz->initrd_addr_max = get32(p, HDR_INITRD_ADDR_MAX);
	bz->cmdline_size = get32(p, HDR_CMDLINE_SIZE);
	bz->kernel_alignment = get32(p, HDR_KERNEL_ALIGNMENT);
	bz->image = p;
	bz->image_size = len;
	return 0;
}

int linux_e820(uint64_t ram_size, struct lb_e820 *map)
{
	map[0] = (struct lb_e820){ 0, LB_EBDA_GPA, E820_RAM };
	map[1] = (struct lb_e820){ LB_EBDA_GPA, LB_HIGH_RAM_GPA - LB_EBDA_GPA,
				   E820_RESERVED };
	map[2] = (struct lb_e820){ LB_HIGH_RAM_GPA, ram_size - LB_HIGH_RAM_GPA,
				   E820_RAM };
	return 3;
}

/* Identity-map the first 4 GiB with 2 MiB pages. */
static void build_page_tables(uint8_t *ram)
{
	uint8_t *pml4 = ram + LB_PML4_GPA, *pdpt = ram + LB_PDPT_GPA;

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	put64(pml4, 0, LB_PDPT_GPA | PTE_P | PTE_RW);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pd = LB_PD_GPA + i * 0x1000ull;

		put64(pdpt, i * 8, pd | PTE_P | PTE_RW);
		for (unsigned j = 0; j < 512; j++)
			put64(ram + pd, j * 8, ((uint64_t)i << 30 | (uint64_t)j << 21) |
			      PTE_P | PTE_RW | PTE_PS);
	}
}

/* A flat 4 GiB GDT with the boot protocol's selectors 0x10 and 0x18. */
static void build_gdt(uint8_t *ram)
{
	uint8_t *gdt = ram + LB_GDT_GPA;

	memset(gdt, 0, 32);
	put64(gdt, LB_BOOT_CS, 0x00af9b000000ffffull);	/* code, L=1 */
	put64(gdt, LB_BOOT_DS, 0x00cf93000000ffffull);	/* data, 4 GiB */
}

static void build_zero_page(uint8_t *ram, uint64_t ram_size,
			    const struct bzimage *bz, uint64_t initrd_gpa,
			    size_t initrd_size)
{
	uint8_t *zp = ram + LB_ZERO_PAGE_GPA;
	size_t end = HDR_JUMP + 2u + bz->image[HDR_JUMP + 1];
	struct lb_e820 map[4];
	int n = linux_e820(ram_size, map);

	memset(zp, 0, 0x1000);
	if (end > HDR_MAX_END)
		end = HDR_MAX_END;
	if (end > bz->image_size)
		end = bz->image_size;
	memcpy(zp + HDR_SETUP_SECTS, bz->image + HDR_SETUP_SECTS,
	       end - HDR_SETUP_SECTS);
	put16(zp, HDR_VID_MODE, 0xffff);		/* "normal" */
	zp[HDR_TYPE_OF_LOADER] = 0xff;			/* undefined loader */
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)LB_CMDLINE_GPA);
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		put64(zp, ZP_E820_TABLE + 20u * i, map[i].addr);
		put64(zp, ZP_E820_TABLE + 20u * i + 8, map[i].size);
		put32(zp, ZP_E820_TABLE + 20u * i + 16, map[i].type);
	}
}

/* Where the initrd goes: as high as RAM and initrd_addr_max allow. */
static int place_initrd(uint64_t ram_size, const struct bzimage *bz,
			uint64_t kernel_end, size_t size, uint64_t *gpa,
			char *why, size_t whylen)
{
	uint64_t top = ram_size;

	if (size == 0) {
		*gpa = 0;
		return 0;
	}
	if (bz->initrd_addr_max && (uint64_t)bz->initrd_addr_max + 1 < top)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (size > top || ((top - size) & ~0xfffull) < kernel_end)
		return why_fail(-E2BIG, why, whylen, "the initrd (%zu bytes) does "
				"not fit between the kernel's end (0x%llx) and 0x%llx: "
				"give the guest more memory", size,
				(unsigned long long)kernel_end,
				(unsigned long long)top);
	*gpa = (top - size) & ~0xfffull;
	return 0;
}

int linux_boot_load(uint8_t *ram, uint64_t ram_size, const struct bzimage *bz,
		    const void *initrd, size_t initrd_size, const char *cmdline,
		    struct linux_entry *entry, char *why, size_t whylen)
{
	size_t kernel_size = bz->image_size - bz->setup_size;
	size_t cmd_len = strlen(cmdline);
	uint64_t load = bz->pref_address, need, initrd_gpa = 0;
	int err;

	if (ram_size < 64ull << 20 || ram_size > LB_RAM_MAX)
		return why_fail(-EINVAL, why, whylen, "guest RAM must be 64 MiB to "
				"%llu MiB", LB_RAM_MAX >> 20);
	if (load < LB_HIGH_RAM_GPA)
		load = LB_HIGH_RAM_GPA;
	need = bz->init_size > kernel_size ? bz->init_size : kernel_size;
	if (load + need > ram_size)
		return why_fail(-E2BIG, why, whylen, "the kernel needs 0x%llx bytes "
				"from 0x%llx: more than the guest's %llu MiB",
				(unsigned long long)need, (unsigned long long)load,
				(unsigned long long)(ram_size >> 20));
	if (cmd_len > bz->cmdline_size || cmd_len >= LB_CMDLINE_MAX)
		return why_fail(-E2BIG, why, whylen, "the command line has %zu "
				"bytes; the kernel takes at most %u", cmd_len,
				bz->cmdline_size);
	err = place_initrd(ram_size, bz, load + need, initrd_size, &initrd_gpa,
			   why, whylen);
	if (err)
		return err;
	memcpy(ram + load, bz->image + bz->setup_size, kernel_size);
	if (initrd_size)
		memcpy(ram + initrd_gpa, initrd, initrd_size);
	memcpy(ram + LB_CMDLINE_GPA, cmdline, cmd_len + 1);
	build_zero_page(ram, ram_size, bz, initrd_gpa, initrd_size);
	build_page_tables(ram);
	build_gdt(ram);
	*entry = (struct linux_entry){
		.rip = load + ENTRY_64_OFFSET, .rsi = LB_ZERO_PAGE_GPA,
		.rsp = LB_STACK_TOP_GPA, .cr3 = LB_PML4_GPA,
		.gdt_base = LB_GDT_GPA, .gdt_limit = 31,
	};
	return 0;
}
