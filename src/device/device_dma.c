/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side of DMA: guest RAM shared by the VMM as memfds, mapped into
 * the device and reached by guest-physical address. Every address a guest
 * hands the device goes through a bounds check against the map.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_impl.h"
#include "device_mech.h"
#include "error.h"

static int check_ram(const struct iofd_device *dev, int memfd, uint64_t gpa,
		     uint64_t size, uint64_t offset)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct stat st;
	int err;

	if (size == 0 || gpa + size < gpa || (offset & (page - 1)) ||
	    size > (uint64_t)SIZE_MAX)
		return iofd_fail(-EINVAL, "guest RAM at 0x%llx: size %llu or "
				 "offset 0x%llx is invalid", (unsigned long long)gpa,
				 (unsigned long long)size,
				 (unsigned long long)offset);
	for (uint32_t i = 0; i < dev->nr_ram; i++)
		if (gpa < dev->ram[i].gpa + dev->ram[i].size &&
		    dev->ram[i].gpa < gpa + size)
			return iofd_fail(-EINVAL, "guest RAM at 0x%llx overlaps RAM "
					 "at 0x%llx", (unsigned long long)gpa,
					 (unsigned long long)dev->ram[i].gpa);
	if (dev->nr_ram >= IOFD_DEVICE_MAX_RAM)
		return iofd_fail(-ENOSPC, "more than %d guest RAM ranges",
				 IOFD_DEVICE_MAX_RAM);
	err = iofd_memfd_require_no_shrink(memfd, "guest RAM");
	if (err)
		return err;
	if (fstat(memfd, &st) < 0 || (uint64_t)st.st_size < offset ||
	    (uint64_t)st.st_size - offset < size)
		return iofd_fail(-EINVAL, "guest RAM memfd %d holds fewer than "
				 "offset 0x%llx + %llu bytes", memfd,
				 (unsigned long long)offset, (unsigned long long)size);
	return 0;
}

IOFD_EXPORT int iofd_device_add_ram(struct iofd_device *dev, int memfd,
				    uint64_t gpa, uint64_t size, uint64_t offset)
{
	struct iofd_dev_ram *ram;
	void *p;
	int err;

	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_add_ram: NULL device");
	err = check_ram(dev, memfd, gpa, size, offset);
	if (err)
		return err;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		 (off_t)offset);
	if (p == MAP_FAILED)
		return iofd_fail(-errno, "cannot map guest RAM: %s", strerror(errno));
	ram = &dev->ram[dev->nr_ram++];
	ram->gpa = gpa;
	ram->size = size;
	ram->host = p;
	return 0;
}

/* Mechanism: the device goes; unmap its guest RAM. */
static void ram_fini(struct iofd_device *dev)
{
	for (uint32_t i = 0; i < dev->nr_ram; i++)
		munmap(dev->ram[i].host, (size_t)dev->ram[i].size);
	dev->nr_ram = 0;
}

const struct iofd_dev_mech iofd_dev_dma_mech = {
	.name = "guest RAM",
	.fini = ram_fini,
};

/* The device's pointer to [gpa, gpa + len), or NULL (no reason recorded). */
static void *dma_lookup(const struct iofd_device *dev, uint64_t gpa, uint64_t len)
{
	if (!dev)
		return NULL;
	for (uint32_t i = 0; i < dev->nr_ram; i++) {
		const struct iofd_dev_ram *ram = &dev->ram[i];

		if (gpa >= ram->gpa && gpa - ram->gpa <= ram->size &&
		    len <= ram->size - (gpa - ram->gpa))
			return ram->host + (gpa - ram->gpa);
	}
	return NULL;
}

IOFD_EXPORT void *iofd_device_dma(const struct iofd_device *dev, uint64_t gpa,
				  uint64_t len)
{
	void *p = dma_lookup(dev, gpa, len);

	if (!p)
		iofd_fail(-EFAULT, "iofd_device_dma: %llu bytes at 0x%llx are %s",
			  (unsigned long long)len, (unsigned long long)gpa,
			  dev ? "not inside one guest RAM range" : "asked of a NULL device");
	return p;
}

IOFD_EXPORT int iofd_device_dma_read(const struct iofd_device *dev, uint64_t gpa,
				     void *buf, uint64_t len)
{
	const void *src = dma_lookup(dev, gpa, len);

	if (!src || (!buf && len))
		return iofd_fail(-EFAULT, "DMA read of %llu bytes at 0x%llx is "
				 "outside guest RAM", (unsigned long long)len,
				 (unsigned long long)gpa);
	iofd_dev_fence(__ATOMIC_ACQUIRE);
	memcpy(buf, src, (size_t)len);
	return 0;
}

IOFD_EXPORT int iofd_device_dma_write(const struct iofd_device *dev,
				      uint64_t gpa, const void *buf, uint64_t len)
{
	void *dst = dma_lookup(dev, gpa, len);

	if (!dst || (!buf && len))
		return iofd_fail(-EFAULT, "DMA write of %llu bytes at 0x%llx is "
				 "outside guest RAM", (unsigned long long)len,
				 (unsigned long long)gpa);
	memcpy(dst, buf, (size_t)len);
	iofd_dev_fence(__ATOMIC_RELEASE);
	return 0;
}
