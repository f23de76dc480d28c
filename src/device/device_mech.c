/* SPDX-License-Identifier: BSD-3-Clause */
/* The table of a device's mechanisms: the one place that lists them. */
#include <stddef.h>

#include "device_mech.h"

/* The mechanisms, each defined in its module. */
extern const struct iofd_dev_mech iofd_dev_region_mech;		/* device_region.c */
extern const struct iofd_dev_mech iofd_dev_doorbell_mech;	/* device_doorbell.c */
extern const struct iofd_dev_mech iofd_dev_dma_mech;		/* device_dma.c */

static const struct iofd_dev_mech *const mechs[] = {
	&iofd_dev_region_mech,
	&iofd_dev_doorbell_mech,
	&iofd_dev_dma_mech,
};

#define NR_MECHS (sizeof(mechs) / sizeof(mechs[0]))

void iofd_dev_mechs_init(struct iofd_device *dev)
{
	for (size_t i = 0; i < NR_MECHS; i++)
		if (mechs[i]->init)
			mechs[i]->init(dev);
}

void iofd_dev_mechs_fini(struct iofd_device *dev)
{
	for (size_t i = 0; i < NR_MECHS; i++)
		if (mechs[i]->fini)
			mechs[i]->fini(dev);
}
