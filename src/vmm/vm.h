/* SPDX-License-Identifier: BSD-3-Clause */
/* The VM object: its buses, its writer lock, its generations. */
#ifndef IOFD_VM_H
#define IOFD_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "eventfd.h"
#include "iofd/iofd.h"
#include "space.h"

struct iofd_ioregion_vm;
struct iofd_irq;

struct iofd_vm {
	int kvm_fd;			/* -1 without KVM */
	bool own_kvm_fd;
	uint32_t flags;			/* IOFD_VM_* */
	pthread_mutex_t lock;		/* serializes every writer */
	bool in_batch;			/* writer view (lock held) */
	_Atomic bool batch_active;	/* same, readable without the lock */
	_Atomic pthread_t batch_owner;	/* read without the lock */
	_Atomic uint64_t gen;		/* last published generation */
	struct iofd_space bus[IOFD_NR_BUSES];
	struct iofd_efd_registry efds;
	struct iofd_source *retired_entries; /* exact: unlink at publish */
	struct iofd_source *retired;	/* ranges: release at publish */
	int kvm_run_size;
	/* The mechanisms' state (mech.h), each opaque here. */
	int8_t post_kernel;		/* POST_WRITE in KVM: 0 unprobed, 1, -1 */
	struct iofd_ioregion_vm *ioregion; /* ioregion.h */
	struct iofd_irq *irq;		/* irqline.h */
};

/* Generation a writer's change will be published under. */
static inline uint64_t iofd_next_gen(struct iofd_vm *vm)
{
	return atomic_load_explicit(&vm->gen, memory_order_relaxed) + 1;
}

/* Take the VM's writer lock (not when the calling thread's batch already
 * holds it) and enter a read-side section. */
void iofd_writer_lock(struct iofd_vm *vm);
void iofd_writer_unlock(struct iofd_vm *vm);

/* Does the VM's kernel have capability cap? false without a KVM VM. */
bool iofd_vm_kvm_cap(struct iofd_vm *vm, long cap);

#endif /* IOFD_VM_H */
