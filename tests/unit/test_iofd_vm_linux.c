/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parts of iofd-vm's Linux mode that need neither KVM nor a kernel
 * image: the bzImage header checks, what the loader writes into guest RAM
 * (zero page, e820, initrd placement, entry state), the MP table (layout
 * and checksums), and PCI configuration mechanism #1 with fixed BARs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linux_boot.h"
#include "mptable.h"
#include "pci.h"

#define IMAGE_SIZE	(64 * 1024)
#define RAM_SIZE	(128ull << 20)

static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v; p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v); put16(p, off + 2, (uint16_t)(v >> 16)); }
static uint16_t get16(const uint8_t *p, size_t off) { return (uint16_t)(p[off] | p[off + 1] << 8); }
static uint32_t get32(const uint8_t *p, size_t off) { return get16(p, off) | (uint32_t)get16(p, off + 2) << 16; }
static uint64_t get64(const uint8_t *p, size_t off) { return get32(p, off) | (uint64_t)get32(p, off + 4) << 32; }

/* A minimal bzImage: 2.15 header, 64-bit entry, 3 setup sectors, a
 * recognisable kernel body. */
static uint8_t *fake_image(void)
{
	uint8_t *p = calloc(1, IMAGE_SIZE);

	assert_non_null(p);
	p[0x1f1] = 3;
	put16(p, 0x1fe, 0xaa55);
	p[0x201] = 0x66;			/* header ends at 0x268 */
	memcpy(p + 0x202, "HdrS", 4);
	put16(p, 0x206, 0x020f);
	put32(p, 0x22c, 0x7fffffff);		/* initrd_addr_max */
	put32(p, 0x230, 0x200000);		/* kernel_alignment */
	put16(p, 0x236, 0x7f);			/* xloadflags: KERNEL_64 ... */
	put32(p, 0x238, 2047);			/* cmdline_size */
	put32(p, 0x258, 0x1000000);		/* pref_address */
	put32(p, 0x260, 0x400000);		/* init_size */
	memset(p + 4 * 512, 0xab, IMAGE_SIZE - 4 * 512);
	return p;
}

static void parse_accepts_a_64bit_kernel(void **state)
{
	uint8_t *img = fake_image();
	struct bzimage bz;
	char why[128];

	(void)state;
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	assert_int_equal(bz.protocol, 0x020f);
	assert_int_equal(bz.setup_size, 4 * 512);
	assert_int_equal(bz.pref_address, 0x1000000);
	assert_int_equal(bz.init_size, 0x400000);
	assert_int_equal(bz.cmdline_size, 2047);
	free(img);
}

static void parse_rejects_bad_images(void **state)
{
	uint8_t *img = fake_image();
	struct bzimage bz;
	char why[128];

	(void)state;
	assert_int_equal(bzimage_parse(img, 0x100, &bz, why, sizeof(why)), -ENOEXEC);
	assert_non_null(strstr(why, "shorter"));
	memcpy(img + 0x202, "HdrX", 4);
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), -ENOEXEC);
	assert_non_null(strstr(why, "HdrS"));
	memcpy(img + 0x202, "HdrS", 4);
	put16(img, 0x1fe, 0);
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), -ENOEXEC);
	put16(img, 0x1fe, 0xaa55);
	put16(img, 0x206, 0x020b);			/* 2.11 */
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(why, "2.11"));
	put16(img, 0x206, 0x020f);
	put16(img, 0x236, 0x7e);			/* no XLF_KERNEL_64 */
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), -ENOEXEC);
	assert_non_null(strstr(why, "64-bit"));
	put16(img, 0x236, 0x7f);
	img[0x1f1] = 200;				/* setup beyond the file */
	assert_int_equal(bzimage_parse(img, 0x300, &bz, why, sizeof(why)), -ENOEXEC);
	free(img);
}

static void load_writes_zero_page_and_entry(void **state)
{
	uint8_t *img = fake_image(), *ram = calloc(1, RAM_SIZE), *zp;
	uint8_t initrd[8192];
	struct linux_entry e;
	struct bzimage bz;
	char why[128];
	uint64_t rd;

	(void)state;
	assert_non_null(ram);
	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	assert_int_equal(linux_boot_load(ram, RAM_SIZE, &bz, initrd, sizeof(initrd),
					 "console=ttyS0", &e, why, sizeof(why)), 0);
	assert_int_equal(e.rip, 0x1000000 + 0x200);
	assert_int_equal(e.rsi, LB_ZERO_PAGE_GPA);
	assert_int_equal(ram[0x1000000], 0xab);		/* kernel body at its place */
	zp = ram + LB_ZERO_PAGE_GPA;
	assert_memory_equal(zp + 0x202, "HdrS", 4);	/* header copied */
	assert_int_equal(zp[0x210], 0xff);		/* type_of_loader */
	assert_int_equal(get32(zp, 0x228), LB_CMDLINE_GPA);
	assert_string_equal((char *)ram + LB_CMDLINE_GPA, "console=ttyS0");
	rd = get32(zp, 0x218);
	assert_int_equal(get32(zp, 0x21c), sizeof(initrd));
	assert_true(rd >= 0x1000000 + 0x400000 && rd + sizeof(initrd) <= RAM_SIZE);
	assert_int_equal(rd & 0xfff, 0);
	assert_memory_equal(ram + rd, initrd, sizeof(initrd));
	/* e820: RAM below the EBDA, the BIOS area reserved, RAM from 1 MiB */
	assert_int_equal(zp[0x1e8], 3);
	assert_int_equal(get64(zp, 0x2d0 + 8), LB_EBDA_GPA);
	assert_int_equal(get32(zp, 0x2d0 + 20 + 16), 2);
	assert_int_equal(get64(zp, 0x2d0 + 40), 0x100000);
	assert_int_equal(get64(zp, 0x2d0 + 40 + 8), RAM_SIZE - 0x100000);
	/* identity page tables: PML4[0] -> PDPT, 2 MiB page at 4 MiB */
	assert_int_equal(get64(ram, LB_PML4_GPA) & ~0xfffull, LB_PDPT_GPA);
	assert_int_equal(get64(ram, LB_PD_GPA + 2 * 8) & ~0x1fffffull, 0x400000);
	free(ram);
	free(img);
}

static void load_refuses_what_does_not_fit(void **state)
{
	uint8_t *img = fake_image(), *ram = calloc(1, RAM_SIZE);
	static uint8_t big[1 << 20];
	char why[128], cmd[3000];
	struct linux_entry e;
	struct bzimage bz;

	(void)state;
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	put32(img, 0x260, 0x8000000);	/* init_size 128 MiB: past RAM */
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	assert_int_equal(linux_boot_load(ram, RAM_SIZE, &bz, NULL, 0, "", &e, why,
					 sizeof(why)), -E2BIG);
	put32(img, 0x260, 0x400000);
	put32(img, 0x22c, 0x1400000);	/* initrd_addr_max inside the kernel */
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	assert_int_equal(linux_boot_load(ram, RAM_SIZE, &bz, big, sizeof(big), "",
					 &e, why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "initrd"));
	put32(img, 0x22c, 0x7fffffff);
	assert_int_equal(bzimage_parse(img, IMAGE_SIZE, &bz, why, sizeof(why)), 0);
	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	assert_int_equal(linux_boot_load(ram, RAM_SIZE, &bz, NULL, 0, cmd, &e, why,
					 sizeof(why)), -E2BIG);
	assert_int_equal(linux_boot_load(ram, 32ull << 20, &bz, NULL, 0, "", &e,
					 why, sizeof(why)), -EINVAL);
	free(ram);
	free(img);
}

/* ---- MP table ------------------------------------------------------------- */

static unsigned count_type(const uint8_t *t, uint8_t type)
{
	unsigned n = 0, count = get16(t, 34);
	size_t at = 44;

	for (unsigned i = 0; i < count; i++) {
		n += t[at] == type;
		at += t[at] == 0 ? 20 : 8;
	}
	return n;
}

static void mptable_layout_and_checksums(void **state)
{
	struct mptable_config c = { .ncpus = 4, .cpu_signature = 0x60fb1,
				    .cpu_features = 0x0f8bfbff, .pci_slot = 1,
				    .pci_pin = 1, .pci_gsi = 16 };
	uint8_t buf[1024] = { 0 }, *t = buf + 16;
	long n = mptable_build(buf, sizeof(buf), 0x9fc00, &c);

	(void)state;
	assert_true(n > 16 + 44);
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(get32(buf, 4), 0x9fc00 + 16);
	assert_int_equal(mptable_checksum(buf, 16), 0);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(get16(t, 4), n - 16);
	assert_int_equal(mptable_checksum(t, (size_t)(n - 16)), 0);
	assert_int_equal(get32(t, 36), MPT_LAPIC_ADDR);
	assert_int_equal(count_type(t, 0), 4);		/* one per vCPU */
	assert_int_equal(count_type(t, 1), 2);		/* ISA, PCI */
	assert_int_equal(count_type(t, 2), 1);		/* the IOAPIC */
	assert_int_equal(count_type(t, 3), 15 + 1);	/* ISA IRQs but 2; INTA */
	assert_int_equal(count_type(t, 4), 2);		/* ExtINT, NMI */
	assert_int_equal(t[44 + 3], 0x03);		/* CPU 0: enabled, BSP */
	assert_int_equal(t[44 + 20 + 3], 0x01);		/* CPU 1: enabled */
}

static void mptable_rejects_bad_config(void **state)
{
	struct mptable_config c = { .ncpus = 2, .pci_slot = -1 };
	uint8_t buf[1024];

	(void)state;
	assert_int_equal(mptable_build(buf, 64, 0x9fc00, &c), -ENOSPC);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0x9fc08, &c), -EINVAL);
	c.ncpus = 0;
	assert_int_equal(mptable_build(buf, sizeof(buf), 0x9fc00, &c), -EINVAL);
	c.ncpus = 1;
	c.pci_slot = 1;
	c.pci_pin = 5;
	assert_int_equal(mptable_build(buf, sizeof(buf), 0x9fc00, &c), -EINVAL);
}

/* ---- PCI ---------------------------------------------------------------------- */

static uint32_t cfg(struct pci_bus *b, unsigned dev, unsigned reg, bool write,
		    uint32_t v)
{
	uint8_t d[4];

	pci_set(d, 0, 4, 0x80000000u | dev << 11 | reg);
	assert_true(pci_io(b, PCI_CONFIG_ADDR, true, d, 4));
	pci_set(d, 0, 4, v);
	assert_true(pci_io(b, PCI_CONFIG_DATA, write, d, 4));
	return pci_get(d, 0, 4);
}

static void pci_fixed_bars(void **state)
{
	static struct pci_bus b;
	static struct pci_function f;
	uint8_t d[4];

	(void)state;
	pci_bus_init(&b);
	pci_function_init(&f, "test", 0x1234, 0x5678, 0x010802);
	assert_int_equal(pci_function_set_bar(&f, 0, 0xfe000000, 0x4000, true), 0);
	assert_int_equal(pci_function_set_bar(&f, 4, 0xfe010000, 0x1000, false), 0);
	assert_int_equal(pci_function_set_bar(&f, 1, 0xfe000800, 0x1000, false), -EINVAL);
	assert_int_equal(pci_bus_plug(&b, 1, &f), 0);
	assert_int_equal(pci_bus_plug(&b, 1, &f), -EBUSY);
	/* the address register reads back; the host bridge is a bridge */
	pci_set(d, 0, 4, 0x80000000u);
	pci_io(&b, PCI_CONFIG_ADDR, true, d, 4);
	pci_io(&b, PCI_CONFIG_ADDR, false, d, 4);
	assert_int_equal(pci_get(d, 0, 4), 0x80000000u);
	assert_int_equal(cfg(&b, 0, 0x08, false, 0) >> 8, 0x060000);
	assert_int_equal(cfg(&b, 1, 0x00, false, 0), 0x56781234);
	assert_int_equal(cfg(&b, 2, 0x00, false, 0), 0xffffffffu);	/* empty slot */
	/* sizing answers the mask; the fixed address comes back */
	assert_int_equal(cfg(&b, 1, 0x10, false, 0), 0xfe000004u);
	cfg(&b, 1, 0x10, true, 0xffffffffu);
	assert_int_equal(cfg(&b, 1, 0x10, false, 0), 0xffffc004u);
	cfg(&b, 1, 0x14, true, 0xffffffffu);
	assert_int_equal(cfg(&b, 1, 0x14, false, 0), 0xffffffffu);
	cfg(&b, 1, 0x10, true, 0xfe000000u);
	cfg(&b, 1, 0x14, true, 0);
	assert_int_equal(cfg(&b, 1, 0x10, false, 0), 0xfe000004u);
	assert_int_equal(cfg(&b, 1, 0x14, false, 0), 0);
	cfg(&b, 1, 0x20, true, 0xffffffffu);
	assert_int_equal(cfg(&b, 1, 0x20, false, 0), 0xfffff000u);
	/* a move is refused and counted */
	cfg(&b, 1, 0x20, true, 0xc0000000u);
	assert_int_equal(cfg(&b, 1, 0x20, false, 0), 0xfe010000u);
	assert_int_equal(f.refused, 1);
	/* unused BARs read 0 even when sized; COMMAND keeps its bits */
	cfg(&b, 1, 0x18, true, 0xffffffffu);
	assert_int_equal(cfg(&b, 1, 0x18, false, 0), 0);
	cfg(&b, 1, 0x04, true, 0xffff0006u);
	assert_int_equal(cfg(&b, 1, 0x04, false, 0) & 0xffff, 0x0006);
	pci_bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_accepts_a_64bit_kernel),
		cmocka_unit_test(parse_rejects_bad_images),
		cmocka_unit_test(load_writes_zero_page_and_entry),
		cmocka_unit_test(load_refuses_what_does_not_fit),
		cmocka_unit_test(mptable_layout_and_checksums),
		cmocka_unit_test(mptable_rejects_bad_config),
		cmocka_unit_test(pci_fixed_bars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
