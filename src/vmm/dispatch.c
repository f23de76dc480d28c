/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hot path: find what claims a guest access and serve it. Lock-free
 * (an RCU read-side section), allocation-free. Also the one-call dispatch
 * of a vCPU's exit (iofd_dispatch_exit()).
 */
#include <errno.h>
#include <string.h>

#include "dispatch.h"
#include "error.h"
#include "group.h"
#include "ioeventfd.h"
#include "ioregion.h"
#include "ioregion_io.h"
#include "irqline.h"
#include "post.h"
#include "rcu.h"
#include "space.h"
#include "tsan.h"
#include "vcpu.h"
#include "vm.h"

/* Serve a write through the exact table; true if an entry claimed it. */
static bool exact_write(struct iofd_space *sp, uint64_t gen, uint64_t addr,
			uint32_t len, const void *data)
{
	struct iofd_ioeventfd_entry *e;
	uint64_t val = iofd_load_le(data, len);

	iofd_for_each_same(e, iofd_space_head(sp, addr)) {
		bool hit;

		iofd_tsan_read(e);
		hit = iofd_entry_visible(e, gen) && iofd_ioeventfd_matches(e, len, val);
		if (hit)
			iofd_ioeventfd_fire(e, len, data);
		iofd_tsan_read_done(e);
		if (hit)
			return true;	/* the kernel's rules allow one match */
	}
	return false;
}

/*
 * Serve an access through the range array; returns an iofd_status. An
 * ioregion is not served here, inside the read-side section: a reference
 * on it is taken and handed back in *region for the caller to serve after
 * leaving the section.
 */
static int range_access(struct iofd_space *sp, uint64_t addr, uint32_t len,
			bool is_write, void *data, struct iofd_region **region)
{
	struct iofd_range_array *arr = rcu_dereference(sp->ranges);
	const struct iofd_range *r;
	long idx;
	int status = IOFD_NOT_CLAIMED;

	if (!arr)
		return IOFD_NOT_CLAIMED;
	iofd_tsan_read(arr);
	idx = iofd_ranges_find(arr, addr);
	if (idx >= 0) {
		r = &arr->r[idx];
		iofd_tsan_read(r->obj);
		switch (r->kind) {
		case IOFD_KIND_GROUP:
			iofd_group_access(r->obj, len, is_write, data);
			status = IOFD_SERVED;
			break;
		case IOFD_KIND_IOREGION:
			if (iofd_region_claims(r->obj, addr, len, is_write) &&
			    iofd_region_tryget(r->obj))
				*region = r->obj;
			break;
		default:
			break;
		}
		iofd_tsan_read_done(r->obj);
	}
	iofd_tsan_read_done(arr);
	return status;
}

int iofd_access_from(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     enum iofd_bus bus, uint64_t addr, uint32_t len,
		     bool is_write, void *data, struct iofd_exit *info)
{
	struct iofd_region *region = NULL;
	struct iofd_space *sp;
	uint64_t gen;
	int status;

	if (unlikely(!vm || (unsigned)bus >= IOFD_NR_BUSES || len < 1 || len > 8 ||
		     !data))
		return iofd_fail(-EINVAL, "iofd_access: bad vm, bus %d, len %u or data",
				 (int)bus, len);
	iofd_rcu_thread();
	sp = &vm->bus[bus];
	urcu_memb_read_lock();
	gen = atomic_load_explicit(&vm->gen, memory_order_acquire);
	if (is_write && exact_write(sp, gen, addr, len, data))
		status = IOFD_SERVED;
	else
		status = range_access(sp, addr, len, is_write, data, &region);
	/* Covers every read of the section, links followed included. */
	iofd_tsan_read_done(sp);
	urcu_memb_read_unlock();
	if (region)		/* may block: outside the read-side section */
		status = iofd_ioregion_serve(vm, vcpu, region, bus, addr, len,
					     is_write, data, info);
	return status;
}

IOFD_EXPORT int iofd_access(struct iofd_vm *vm, enum iofd_bus bus, uint64_t addr,
			    uint32_t len, bool is_write, void *data,
			    struct iofd_exit *info)
{
	return iofd_access_from(vm, NULL, bus, addr, len, is_write, data, info);
}

static void count(struct iofd_vcpu *vcpu, int status)
{
	switch (status) {
	case IOFD_SERVED: vcpu->stats.served++; break;
	case IOFD_NOT_CLAIMED: vcpu->stats.unclaimed++; break;
	case IOFD_FAILED: vcpu->stats.failed++; break;
	default: break;
	}
}

/* Serve the MMIO or PIO exit in kvm_run (a new one, not a pending one). */
static int dispatch_new(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	struct kvm_run *run = vcpu->run;
	int status = IOFD_NOT_CLAIMED;

	vcpu->stats.exits++;
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		status = iofd_access_from(vcpu->vm, vcpu, IOFD_BUS_MMIO,
					  run->mmio.phys_addr, run->mmio.len,
					  run->mmio.is_write, run->mmio.data, info);
		break;
	case KVM_EXIT_IO:
		/* String I/O (count > 1) stays with the VMM. */
		if (run->io.count == 1)
			status = iofd_access_from(vcpu->vm, vcpu, IOFD_BUS_PIO,
						  run->io.port, run->io.size,
						  run->io.direction == KVM_EXIT_IO_OUT,
						  (char *)run + run->io.data_offset,
						  info);
		break;
	case KVM_EXIT_IOAPIC_EOI:
		/* Lower the lines first; the VMM's IOAPIC still sees the exit. */
		iofd_irq_ioapic_eoi(vcpu->vm, run->eoi.vector);
		break;
	default:
		break;
	}
	return status;
}

IOFD_EXPORT int iofd_dispatch_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	int status;

	if (!vcpu)
		return iofd_fail(-EINVAL, "NULL vCPU");
	if (vcpu->req.region)	/* an interrupted ioregion access first */
		status = iofd_ioregion_resume(vcpu, info);
	else
		status = dispatch_new(vcpu, info);
	if (status < 0)		/* a malformed exit: leave it to the VMM */
		status = IOFD_NOT_CLAIMED;
	count(vcpu, status);
	return status;
}
