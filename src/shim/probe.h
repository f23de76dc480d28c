/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which unmerged features the shim serves: those the kernel lacks.
 *
 * Decided once per process, by behaviour rather than by capability number
 * (248 is claimed by other series too): on a scratch VM, assign and
 * deassign a POST_WRITE ioeventfd (a kernel without the series rejects
 * the flag bit with -EINVAL), and ask KVM_SET_IOREGION to deassign a
 * region that does not exist (a kernel without it answers -ENOTTY).
 * IOFD_SHIM_FORCE=1 makes the shim serve both whatever the kernel has;
 * IOFD_SHIM_PASSTHROUGH=1 makes it serve neither (everything goes to the
 * kernel untouched, as where the kernel has both).
 */
#ifndef IOFD_SHIM_PROBE_H
#define IOFD_SHIM_PROBE_H

#define SHIM_SERVE_POST_WRITE	(1u << 0)
#define SHIM_SERVE_IOREGION	(1u << 1)

/** shim_served() - SHIM_SERVE_* bits of the features the shim serves. */
unsigned shim_served(void);

/** shim_probe_kernel() - SHIM_SERVE_* bits of what the kernel has itself. */
unsigned shim_probe_kernel(void);

#endif /* IOFD_SHIM_PROBE_H */
