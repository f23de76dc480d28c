/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The contract of every event source, on the model of the kernel's
 * kvm_io_device_ops: what a bus, a vCPU's pending slot, an epoll set (the
 * VM's interrupt set, a device's set) and a GSI line call on the objects
 * they hold. The code that holds a source calls these and never asks what
 * kind of source it holds; a module recognises its own sources by their
 * ops. A source fills the ops of the places it goes and leaves the others
 * NULL.
 */
#ifndef IOFD_SOURCE_H
#define IOFD_SOURCE_H

#include <stddef.h>

struct iofd_source;
struct iofd_vm;
struct iofd_device;
struct iofd_vcpu;
struct iofd_exit;
struct iofd_bus_access;

/*
 * Who holds a source, as unplug and release receive it: the VM (a source
 * of the VMM side) or a device (a source of the device side). A
 * transparent union: a holder passes its struct iofd_vm * or struct
 * iofd_device * as it is, anything else does not compile (a void * took
 * any pointer), and the op reads the member of its side by name instead of
 * converting a void *. It is passed as one pointer is.
 */
union iofd_source_owner {
	struct iofd_vm *vm;
	struct iofd_device *dev;
} __attribute__((__transparent_union__));

struct iofd_source_ops {
	/* On a bus (VMM side). Serve an access that reached the object,
	 * inside the RCU read-side section: IOFD_SERVED or IOFD_NOT_CLAIMED.
	 * A source that must block takes a reference, sets *defer and
	 * returns IOFD_NOT_CLAIMED. */
	int (*access)(struct iofd_source *src, struct iofd_bus_access *a,
		      struct iofd_source **defer);
	/* On a bus: serve a deferred access outside the section (may block),
	 * consuming the reference; vcpu may be NULL. An access that cannot
	 * finish now goes into the vCPU's pending slot. An iofd_status. */
	int (*serve)(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     struct iofd_source *src, struct iofd_bus_access *a,
		     struct iofd_exit *info);
	/* In a vCPU's pending slot: continue the access kept in state (the
	 * slot's bytes). An iofd_status; the source empties the slot when
	 * the access is over. */
	int (*resume)(struct iofd_vcpu *vcpu, struct iofd_source *src,
		      void *state, struct iofd_exit *info);
	/* In a vCPU's pending slot: give the access up (the vCPU goes away).
	 * Cannot fail. */
	void (*cancel)(struct iofd_vcpu *vcpu, struct iofd_source *src,
		       void *state);
	/* In an epoll set (the VM's interrupt set, a device's set): the fd
	 * the source was added with is ready. Returns how many events it
	 * served (>= 0) or a negative errno with the reason recorded. */
	int (*event)(struct iofd_source *src);
	/* On a GSI line (as a resampler): the guest acknowledged the line.
	 * Called inside an RCU read-side section. */
	void (*ack)(struct iofd_source *src);
	/* Optional: the object left its owner's view (a bus's writer view,
	 * an irqfd's owner, a device's set); forget indexes kept for it.
	 * Cannot fail. owner is the VM or the device that held it. */
	void (*unplug)(union iofd_source_owner owner, struct iofd_source *src);
	/* The owner lets go of the object for good: release what it holds
	 * (freeing it, after a grace period where readers may hold it).
	 * Cannot fail. The owner does not touch the object after this call,
	 * so the object may reuse its header's bytes (an exact entry's
	 * rcu_head does). */
	void (*release)(union iofd_source_owner owner, struct iofd_source *src);
};

/* The head of every event source: its ops and its retire link (as its
 * rcu_head, the link lives in the object, so retiring cannot fail). */
struct iofd_source {
	const struct iofd_source_ops *ops;
	struct iofd_source *retire_next;
};

/* The object of type that holds member at ptr (a source's owner). */
#define iofd_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* IOFD_SOURCE_H */
