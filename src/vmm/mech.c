/* SPDX-License-Identifier: BSD-3-Clause */
/* The table of a VM's mechanisms: the one place that lists them. */
#include "mech.h"
#include "vcpu.h"

/* The mechanisms, each defined in its module. */
extern const struct iofd_mech iofd_ioeventfd_mech;	/* ioeventfd.c */
extern const struct iofd_mech iofd_post_mech;		/* post.c */
extern const struct iofd_mech iofd_group_mech;		/* group.c */
extern const struct iofd_mech iofd_ioregion_mech;	/* ioregion.c */
extern const struct iofd_mech iofd_intx_mech;		/* intx.c */
extern const struct iofd_mech iofd_irqfd_mech;		/* irqfd.c */

/* INTx helpers before irqfds: a helper lets go of the VM before its
 * irqfd is removed under it. */
const struct iofd_mech *const iofd_mechs[] = {
	&iofd_ioeventfd_mech,
	&iofd_post_mech,
	&iofd_group_mech,
	&iofd_ioregion_mech,
	&iofd_intx_mech,
	&iofd_irqfd_mech,
};
const size_t iofd_nr_mechs = sizeof(iofd_mechs) / sizeof(iofd_mechs[0]);

uint32_t iofd_mech_vm_flags(void)
{
	const struct iofd_mech *m;
	uint32_t flags = 0;

	iofd_for_each_mech(m, i)
		flags |= m->vm_flags;
	return flags;
}

int iofd_mech_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	const struct iofd_mech *m;

	iofd_for_each_mech(m, i)
		if (m->exit && m->exit_reason == vcpu->run->exit_reason)
			return m->exit(vcpu, info);
	return IOFD_NOT_CLAIMED;
}
