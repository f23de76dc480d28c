/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hot path: find what claims a guest access and serve it. Lock-free
 * (an RCU read-side section), allocation-free. Also the one-call dispatch
 * of a vCPU's exit (iofd_dispatch_exit()).
 */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "mech.h"
#include "rcu.h"
#include "space.h"
#include "tsan.h"
#include "vcpu.h"
#include "vm.h"

/*
 * Serve an access through the range array; returns an iofd_status. The
 * access *a is filled in only when an object is found (the miss path
 * stores nothing). An object that must block (an ioregion) is not served
 * here, inside the read-side section: it takes a reference and hands
 * itself back in *defer for the caller to serve after leaving the section.
 */
static int range_access(struct iofd_space *sp, enum iofd_bus bus,
			uint64_t addr, uint32_t len, bool is_write, void *data,
			struct iofd_bus_access *a, struct iofd_source **defer)
{
	struct iofd_range_array *arr = rcu_dereference(sp->ranges);
	struct iofd_source *obj;
	int status = IOFD_NOT_CLAIMED;
	long idx;

	if (!arr)
		return IOFD_NOT_CLAIMED;
	iofd_tsan_read(arr);
	idx = iofd_ranges_find(arr, addr);
	if (idx >= 0) {
		*a = (struct iofd_bus_access){ bus, addr, len, is_write, data };
		obj = arr->r[idx].obj;
		iofd_tsan_read(obj);
		status = obj->ops->access(obj, a, defer);
		iofd_tsan_read_done(obj);
	}
	iofd_tsan_read_done(arr);
	return status;
}

/* iofd_access() on behalf of vcpu (NULL: no vCPU, nothing can pend). */
static int access_from(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     enum iofd_bus bus, uint64_t addr, uint32_t len,
		     bool is_write, void *data, struct iofd_exit *info)
{
	struct iofd_bus_access a;
	struct iofd_source *defer = NULL;
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
	if (is_write && iofd_space_exact_write(sp, gen, addr, len, data))
		status = IOFD_SERVED;
	else
		status = range_access(sp, bus, addr, len, is_write, data, &a,
				      &defer);
	/* Covers every read of the section, links followed included. */
	iofd_tsan_read_done(sp);
	urcu_memb_read_unlock();
	if (defer)		/* may block: outside the read-side section */
		status = defer->ops->serve(vm, vcpu, defer, &a, info);
	return status;
}

IOFD_EXPORT int iofd_access(struct iofd_vm *vm, enum iofd_bus bus, uint64_t addr,
			    uint32_t len, bool is_write, void *data,
			    struct iofd_exit *info)
{
	return access_from(vm, NULL, bus, addr, len, is_write, data, info);
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
		status = access_from(vcpu->vm, vcpu, IOFD_BUS_MMIO,
					  run->mmio.phys_addr, run->mmio.len,
					  run->mmio.is_write, run->mmio.data, info);
		break;
	case KVM_EXIT_IO:
		/* String I/O (count > 1) stays with the VMM. */
		if (run->io.count == 1)
			status = access_from(vcpu->vm, vcpu, IOFD_BUS_PIO,
						  run->io.port, run->io.size,
						  run->io.direction == KVM_EXIT_IO_OUT,
						  (char *)run + run->io.data_offset,
						  info);
		break;
	default:
		/* Another exit a mechanism acts on (mech.h), or the VMM's. */
		status = iofd_mech_exit(vcpu, info);
		break;
	}
	return status;
}

IOFD_EXPORT int iofd_dispatch_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	int status;

	if (!vcpu)
		return iofd_fail(-EINVAL, "iofd_dispatch_exit: NULL vcpu");
	if (vcpu->completed_intr && vcpu->run->exit_reason == KVM_EXIT_INTR) {
		/* Called again after IOFD_PENDING for an access that had
		 * completed: nothing is left, the guest may run. */
		vcpu->completed_intr = false;
		return IOFD_SERVED;
	}
	vcpu->completed_intr = false;
	if (vcpu->pending.src)	/* an interrupted access first */
		status = vcpu->pending.src->ops->resume(vcpu, vcpu->pending.src,
							vcpu->pending.state, info);
	else
		status = dispatch_new(vcpu, info);
	if (status < 0)		/* a malformed exit: leave it to the VMM */
		status = IOFD_NOT_CLAIMED;
	if (status == IOFD_SERVED && vcpu->interrupted)
		status = iofd_vcpu_complete_interrupted(vcpu, info);
	count(vcpu, status);
	return status;
}
