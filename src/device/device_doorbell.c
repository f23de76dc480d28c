/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side of the out-of-process post-write ioeventfd: a shadow memfd
 * the VMM stores doorbell values into, and one eventfd per doorbell that
 * the VMM signals after each store.
 *
 * Ordering: the VMM stores the value with release ordering and then adds
 * to the eventfd. The device first reads (and so resets) the eventfd, then
 * loads the value with acquire ordering: it sees the value of the last
 * signal it consumed, or a newer one (whose signal then wakes it again and
 * delivers the same or a newer value: harmless for a tail doorbell).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device_impl.h"
#include "device_mech.h"
#include "fd.h"
#include "error.h"
#include "fault.h"

static int map_shadow(struct iofd_device *dev, int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return iofd_fail(-errno, "cannot map the shadow memfd: %s",
				 strerror(errno));
	dev->shadow = p;
	dev->shadow_size = size;
	return 0;
}

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) & ~(page - 1);
}

IOFD_EXPORT int iofd_device_create_shadow(struct iofd_device *dev, size_t size)
{
	int fd, err;

	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_create_shadow: NULL device");
	if (size == 0 || size > (1ull << 30))
		return iofd_fail(-EINVAL, "iofd_device_create_shadow: size %zu is "
				 "not 1 byte to 1 GiB", size);
	if (dev->shadow)
		return iofd_fail(-EEXIST, "the device already has a shadow");
	size = page_round(size);
	fd = memfd_create("iofd-shadow", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return iofd_fail(-errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = iofd_fail(-errno, "cannot size or seal the shadow: %s",
				strerror(errno));
		close(fd);
		return err;
	}
	err = map_shadow(dev, fd, size);
	if (err) {
		close(fd);
		return err;
	}
	dev->shadow_fd = fd;
	return 0;
}

IOFD_EXPORT int iofd_device_set_shadow(struct iofd_device *dev, int memfd)
{
	struct stat st;
	int err;

	if (!dev)
		return iofd_fail(-EINVAL, "iofd_device_set_shadow: NULL device");
	if (dev->shadow)
		return iofd_fail(-EEXIST, "the device already has a shadow");
	err = iofd_memfd_require_no_shrink(memfd, "shadow");
	if (err)
		return err;
	if (fstat(memfd, &st) < 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > (1ull << 30))
		return iofd_fail(-EINVAL, "shadow memfd %d is empty or larger "
				 "than 1 GiB", memfd);
	return map_shadow(dev, memfd, (size_t)st.st_size);
}

IOFD_EXPORT int iofd_device_shadow_fd(const struct iofd_device *dev)
{
	if (!dev) {
		iofd_fail(-EINVAL, "iofd_device_shadow_fd: NULL device");
		return -1;
	}
	return dev->shadow_fd;
}

static void shadow_fini(struct iofd_device *dev)
{
	if (dev->shadow)
		munmap(dev->shadow, dev->shadow_size);
	if (dev->shadow_fd >= 0)
		close(dev->shadow_fd);
	dev->shadow = NULL;
	dev->shadow_fd = -1;
}

/* Load len bytes of the shadow at off, acquire; one load when aligned. */
static uint64_t shadow_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	if (((uintptr_t)p & (len - 1)) == 0) {
		switch (len) {
		case 1: return __atomic_load_n(p, __ATOMIC_ACQUIRE);
		case 2: return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
		case 4: return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
		case 8: return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
		}
	}
	iofd_dev_fence(__ATOMIC_ACQUIRE);
	memcpy(&v, p, len);
	return v;
}

static int check_doorbell(const struct iofd_device *dev,
			  const struct iofd_device_doorbell *db)
{
	if (!dev->shadow)
		return iofd_fail(-ENODEV, "a doorbell needs a shadow first");
	if (db->len != 1 && db->len != 2 && db->len != 4 && db->len != 8)
		return iofd_fail(-EINVAL, "doorbell len %u (1, 2, 4 or 8)", db->len);
	if (db->shadow_offset > dev->shadow_size ||
	    db->len > dev->shadow_size - db->shadow_offset)
		return iofd_fail(-EINVAL, "doorbell slot at %llu lies outside the "
				 "%zu-byte shadow",
				 (unsigned long long)db->shadow_offset,
				 dev->shadow_size);
	/* The VMM's post-write store (kernel or iofd) is one aligned store. */
	if (db->shadow_offset & (db->len - 1))
		return iofd_fail(-EINVAL, "doorbell slot at %llu is not aligned to "
				 "its len %u", (unsigned long long)db->shadow_offset,
				 db->len);
	return iofd_efd_check(db->efd);
}

/* Source op: the doorbell's eventfd was signalled. */
static int doorbell_event(struct iofd_source *src)
{
	struct iofd_dev_doorbell *d = iofd_container_of(src, struct iofd_dev_doorbell, src);
	struct iofd_device *dev = d->dev;
	uint64_t signals, value;

	if (read(d->efd, &signals, sizeof(signals)) != sizeof(signals))
		return 0;	/* EAGAIN: someone else took it */
	value = shadow_load(dev->shadow + d->offset, d->len);
	dev->stats.doorbells++;
	dev->stats.signals += signals;
	if (d->fn)
		d->fn(d->opaque, value, signals);
	return 1;
}

/* Source op: the device lets go of the doorbell; forget its id. */
static void doorbell_unplug(union iofd_source_owner owner, struct iofd_source *src)
{
	struct iofd_dev_doorbell *d = iofd_container_of(src, struct iofd_dev_doorbell, src);

	owner.dev->doorbells[d->idx] = NULL;
}

/* Source op: out of the set already; close our eventfd and free it. */
static void doorbell_release(union iofd_source_owner owner, struct iofd_source *src)
{
	struct iofd_dev_doorbell *d = iofd_container_of(src, struct iofd_dev_doorbell, src);

	(void)owner;
	close(d->efd);
	free(d);
}

static const struct iofd_source_ops doorbell_ops = {
	.event = doorbell_event,
	.unplug = doorbell_unplug,
	.release = doorbell_release,
};

static void doorbells_init(struct iofd_device *dev)
{
	dev->shadow_fd = -1;
}

/* Mechanism: the doorbells are released; their id table and the shadow
 * they read go. */
static void doorbells_fini(struct iofd_device *dev)
{
	free(dev->doorbells);
	dev->doorbells = NULL;
	dev->nr_doorbells = 0;
	shadow_fini(dev);
}

const struct iofd_dev_mech iofd_dev_doorbell_mech = {
	.name = "shadow doorbells",
	.init = doorbells_init,
	.fini = doorbells_fini,
};

IOFD_EXPORT int iofd_device_add_doorbell(struct iofd_device *dev,
					 const struct iofd_device_doorbell *db)
{
	struct iofd_dev_doorbell **grown, *d;
	uint32_t idx;
	int err;

	if (!dev || !db)
		return iofd_fail(-EINVAL, "iofd_device_add_doorbell: NULL argument");
	err = check_doorbell(dev, db);
	if (err)
		return err;
	idx = dev->nr_doorbells;
	if (idx >= INT32_MAX)
		return iofd_fail(-ENOSPC, "too many doorbells");
	grown = iofd_realloc(dev->doorbells, (idx + 1) * sizeof(*grown));
	if (!grown)
		return iofd_fail(-ENOMEM, "out of memory for a doorbell");
	dev->doorbells = grown;
	d = iofd_calloc(1, sizeof(*d));
	if (!d)
		return iofd_fail(-ENOMEM, "out of memory for a doorbell");
	d->src.ops = &doorbell_ops;
	d->dev = dev;
	d->idx = idx;
	d->offset = db->shadow_offset;
	d->len = db->len;
	d->fn = db->fn;
	d->opaque = db->opaque;
	d->efd = iofd_fd_dup(db->efd, true);
	if (d->efd < 0) {
		err = d->efd;
		free(d);
		return err;
	}
	err = iofd_dev_watch_add(dev, d->efd, &d->src, 0);
	if (err) {
		close(d->efd);
		free(d);
		return err;
	}
	dev->doorbells[idx] = d;
	dev->nr_doorbells++;
	return (int)idx;
}

IOFD_EXPORT int iofd_device_doorbell_value(const struct iofd_device *dev, int id,
					   uint64_t *value)
{
	const struct iofd_dev_doorbell *d;

	if (!dev || !value || id < 0 || (uint32_t)id >= dev->nr_doorbells)
		return iofd_fail(-ENOENT, "no doorbell %d", id);
	d = dev->doorbells[id];
	*value = shadow_load(dev->shadow + d->offset, d->len);
	return 0;
}
