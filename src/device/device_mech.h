/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mechanisms a device carries (ioregion commands, shadow doorbells,
 * guest RAM): what each keeps in the device besides its sources, in one
 * table, so that the device object (device.c) frees it without naming any.
 */
#ifndef IOFD_DEVICE_MECH_H
#define IOFD_DEVICE_MECH_H

struct iofd_device;

struct iofd_dev_mech {
	const char *name;
	/* A new device (no source yet): set the mechanism's state in it
	 * that is not all zeroes. Cannot fail. */
	void (*init)(struct iofd_device *dev);
	/* The device goes, every source it held already released: free what
	 * the mechanism keeps in the device (its id table, its mappings).
	 * Cannot fail. */
	void (*fini)(struct iofd_device *dev);
};

/* Set up every mechanism's state in a new dev, in table order. */
void iofd_dev_mechs_init(struct iofd_device *dev);
/* Free what every mechanism keeps in dev, in table order. */
void iofd_dev_mechs_fini(struct iofd_device *dev);

#endif /* IOFD_DEVICE_MECH_H */
