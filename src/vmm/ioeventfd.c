/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioeventfd with the kernel's semantics: validation order and errno values,
 * collisions, matching, deassign; offload to KVM_IOEVENTFD when possible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <iofd/kvm-unmerged.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "post.h"
#include "space.h"
#include "tsan.h"
#include "mech.h"
#include "vm.h"

/* The bus an ioeventfd's flags name. */
static enum iofd_bus ioeventfd_bus(uint32_t flags)
{
	if (flags & IOFD_IOEVENTFD_FLAG_PIO)
		return IOFD_BUS_PIO;
	if (flags & IOFD_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return IOFD_BUS_CCW;
	return IOFD_BUS_MMIO;
}

/* The kernel's collision rule for two exact entries at one bus + addr. */
static bool entries_collide(const struct iofd_ioeventfd_entry *a,
			    uint32_t len, bool wildcard, uint64_t datamatch)
{
	if (!a->len || !len)
		return true;
	return a->len == len &&
	       (a->wildcard || wildcard || a->datamatch == datamatch);
}

/* Iterate the live exact entries at (sp, addr); body sees `e`. */
#define for_each_live_entry(sp, addr, e)                    \
	iofd_for_each_same(e, iofd_space_head(sp, addr))     \
		if ((e)->died == IOFD_GEN_ALIVE)

static bool collides(struct iofd_vm *vm, enum iofd_bus bus,
		     const struct iofd_ioeventfd *args, bool wildcard)
{
	struct iofd_space *sp = &vm->bus[bus];
	struct iofd_ioeventfd_entry *e;

	for_each_live_entry(sp, args->addr, e)
		if (entries_collide(e, args->len, wildcard, args->datamatch))
			return true;
	return false;
}

static int validate_assign(const struct iofd_ioeventfd *args, uint32_t allowed)
{
	switch (args->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return iofd_fail(-EINVAL, "ioeventfd len %u is not 0, 1, 2, 4 or 8",
				 args->len);
	}
	if (args->addr + args->len < args->addr)
		return iofd_fail(-EINVAL, "ioeventfd addr 0x%llx + len %u wraps",
				 (unsigned long long)args->addr, args->len);
	if (args->flags & ~allowed)
		return iofd_fail(-EINVAL, "ioeventfd flags 0x%x has unknown bits 0x%x",
				 args->flags, args->flags & ~allowed);
	if (!args->len && (args->flags & IOFD_IOEVENTFD_FLAG_DATAMATCH))
		return iofd_fail(-EINVAL, "ioeventfd len 0 cannot use DATAMATCH");
	return iofd_post_validate(args);
}

/* Kernel where the kernel has it: post-write only where it was probed. */
static bool may_offload(struct iofd_vm *vm, const struct iofd_ioeventfd *args)
{
	if (vm->kvm_fd < 0 || (vm->flags & IOFD_VM_NO_OFFLOAD) ||
	    (args->flags & IOFD_IOEVENTFD_FLAG_NO_OFFLOAD))
		return false;
	return !(args->flags & IOFD_IOEVENTFD_FLAG_POST_WRITE) ||
	       iofd_post_kernel(vm);
}

/*
 * KVM_IOEVENTFD with our dup of the eventfd (and, for post-write, the
 * series' layout of the same 64-byte struct); returns 0 or -errno.
 */
static int kernel_ioeventfd(struct iofd_vm *vm, const struct iofd_ioeventfd_entry *e,
			    bool deassign)
{
	struct kvm_ioeventfd_post k = {
		.datamatch = e->datamatch,
		.addr = e->addr,
		.len = e->len,
		.fd = e->efd->fd,
		.flags = e->flags & IOFD_IOEVENTFD_KERNEL_FLAGS,
	};

	iofd_post_to_kernel(e, &k);
	if (deassign)
		k.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return iofd_ioctl(vm->kvm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
}

/* Offload if allowed; 0 when the entry may be published, else -errno. */
static int offload(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e,
		   const struct iofd_ioeventfd *args)
{
	int err;

	if (!may_offload(vm, args))
		return 0;
	err = kernel_ioeventfd(vm, e, false);
	if (!err) {
		e->offloaded = true;
		return 0;
	}
	if (err == -ENOSPC || err == -ENOMEM || err == -ENOBUFS) {
		/* The kernel is out of room: serve it ourselves, and say so
		 * (a choice, not a failure: the registration succeeds). */
		iofd_log(IOFD_LOG_INFO, err, "KVM_IOEVENTFD refused 0x%llx for "
			 "lack of resources (%s); served in userspace",
			 (unsigned long long)e->addr, strerror(-err));
		return 0;
	}
	if (err == -EEXIST)
		return iofd_fail(err, "KVM_IOEVENTFD: the kernel already has a "
				 "colliding ioeventfd at 0x%llx (registered "
				 "outside iofd)", (unsigned long long)e->addr);
	return iofd_fail(err, "KVM_IOEVENTFD refused 0x%llx: %s",
			 (unsigned long long)e->addr, strerror(-err));
}

/* Drop what an entry holds (kernel registration, eventfd reference). */
static void entry_drop(struct iofd_vm *vm, struct iofd_ioeventfd_entry *e)
{
	int err = e->offloaded ? kernel_ioeventfd(vm, e, true) : 0;

	/* Nobody to return it to: the kernel entry stays until the VM fd
	 * closes, and the log says so. */
	if (err && err != -ENOENT)
		iofd_log(IOFD_LOG_WARNING, err, "KVM_IOEVENTFD deassign of 0x%llx "
			 "failed (%s): the kernel keeps it",
			 (unsigned long long)e->addr, strerror(-err));
	e->offloaded = false;
	/* Readers that found e before it was unlinked may still signal
	 * e->efd: keep the pointer. The dup is closed only after a grace
	 * period, which those readers finish first. */
	if (e->efd)
		iofd_efd_put(&vm->efds, e->efd);
}

static void entry_free_rcu(struct rcu_head *head)
{
	struct iofd_ioeventfd_entry *e =
		caa_container_of(head, struct iofd_ioeventfd_entry, rcu);

	iofd_tsan_grace(e);
	iofd_post_detach(e);
	free(e);
}

/* Bus op: the entry's removal is published. */
static void entry_release(union iofd_source_owner owner, struct iofd_source *obj)
{
	struct iofd_vm *vm = owner.vm;
	struct iofd_ioeventfd_entry *e =
		caa_container_of(obj, struct iofd_ioeventfd_entry, obj);

	entry_drop(vm, e);
	iofd_tsan_retire(e);
	urcu_memb_call_rcu(&e->rcu, entry_free_rcu);
}

static const struct iofd_source_ops entry_ops = {
	.release = entry_release,
};

static int assign(struct iofd_vm *vm, const struct iofd_ioeventfd *args)
{
	enum iofd_bus bus = ioeventfd_bus(args->flags);
	bool wildcard = !(args->flags & IOFD_IOEVENTFD_FLAG_DATAMATCH);
	struct iofd_ioeventfd_entry *e;
	struct iofd_efd_key key;
	int err;

	err = iofd_efd_key(args->fd, &key);
	if (err)
		return err;
	e = iofd_malloc(sizeof(*e));
	if (e)
		memset(e, 0, sizeof(*e));
	if (!e)
		return iofd_fail(-ENOMEM, "out of memory for an ioeventfd");
	e->obj.ops = &entry_ops;
	err = iofd_efd_get(&vm->efds, &key, &e->efd);
	if (err) {
		free(e);
		return err;
	}
	e->addr = args->addr;
	e->len = args->len;
	e->flags = args->flags;
	e->wildcard = wildcard;
	e->datamatch = wildcard ? 0 : args->datamatch;
	e->bus = (uint8_t)bus;
	if (collides(vm, bus, args, wildcard)) {
		err = iofd_fail(-EEXIST, "an ioeventfd already claims bus %d addr "
				"0x%llx for this len/datamatch", bus,
				(unsigned long long)args->addr);
	} else if (iofd_ranges_overlap(iofd_space_ranges_view(&vm->bus[bus]),
				       args->addr,
				       iofd_exact_end(args->addr, args->len)) >= 0) {
		err = iofd_fail(-EEXIST, "bus %d addr 0x%llx lies in an iosignalfd "
				"group or an ioregion", bus,
				(unsigned long long)args->addr);
	} else {
		err = iofd_post_attach(e, args);
		if (!err)
			err = offload(vm, e, args);
	}
	if (err) {
		entry_drop(vm, e);
		iofd_post_detach(e);
		free(e);
		return err;
	}
	iofd_space_add_entry(vm, e);
	iofd_publish(vm);
	return 0;
}

/* The registration deassign would remove, or NULL (sets the reason). */
static struct iofd_ioeventfd_entry *find_entry(struct iofd_vm *vm,
					       const struct iofd_ioeventfd *args,
					       int *err)
{
	enum iofd_bus bus = ioeventfd_bus(args->flags);
	bool wildcard = !(args->flags & IOFD_IOEVENTFD_FLAG_DATAMATCH);
	struct iofd_ioeventfd_entry *e;
	struct iofd_post_key key;
	struct iofd_efd_key efd_key;
	struct iofd_efd *efd;

	*err = iofd_efd_key(args->fd, &efd_key);
	if (!*err)
		*err = iofd_post_key(args, &key);
	if (*err)
		return NULL;
	efd = iofd_efd_find(&vm->efds, &efd_key);
	if (efd) {
		for_each_live_entry(&vm->bus[bus], args->addr, e) {
			if (e->efd != efd || e->len != args->len ||
			    e->wildcard != wildcard)
				continue;
			if (!wildcard && e->datamatch != args->datamatch)
				continue;
			if (!iofd_post_same(e, &key))
				continue;
			return e;
		}
	}
	*err = iofd_fail(-ENOENT, "no ioeventfd on bus %d at 0x%llx len %u with "
			 "that eventfd and datamatch", bus,
			 (unsigned long long)args->addr, args->len);
	return NULL;
}

static int deassign(struct iofd_vm *vm, const struct iofd_ioeventfd *args)
{
	struct iofd_ioeventfd_entry *e;
	int err;

	e = find_entry(vm, args, &err);
	if (!e)
		return err;
	if (e->offloaded) {
		err = kernel_ioeventfd(vm, e, true);
		if (err && err != -ENOENT)	/* nothing changed: say so */
			return iofd_fail(err, "KVM_IOEVENTFD deassign of 0x%llx: %s",
					 (unsigned long long)e->addr, strerror(-err));
		if (err)
			iofd_log(IOFD_LOG_WARNING, err, "KVM_IOEVENTFD deassign "
				 "of 0x%llx: the kernel entry was removed outside "
				 "iofd", (unsigned long long)e->addr);
		e->offloaded = false;
	}
	iofd_space_remove_entry(vm, e);
	iofd_publish(vm);
	return 0;
}

/* Refuse NULL arguments (the reason names @call), then take the writer
 * lock: 0 or -errno. */
static int lock_for_args(struct iofd_vm *vm, const struct iofd_ioeventfd *args,
			 const char *call)
{
	if (!vm || !args)
		return iofd_fail(-EINVAL, "%s: NULL vm or args", call);
	iofd_writer_lock(vm);
	return 0;
}

/* One assign or deassign, with the writer lock held: 0 or -errno. */
static int ioeventfd_locked(struct iofd_vm *vm, const struct iofd_ioeventfd *args,
			    uint32_t allowed)
{
	/* First, as in the kernel: on either path, before any other check. */
	int err = iofd_post_check_pad(args);

	if (err)
		return err;
	if (args->flags & IOFD_IOEVENTFD_FLAG_DEASSIGN)
		return deassign(vm, args);
	err = validate_assign(args, allowed);
	return err ? err : assign(vm, args);
}

static int ioeventfd_call(struct iofd_vm *vm, const struct iofd_ioeventfd *args,
			  uint32_t allowed, const char *call)
{
	int err = lock_for_args(vm, args, call);

	if (err)
		return err;
	err = ioeventfd_locked(vm, args, allowed);
	iofd_writer_unlock(vm);
	return err;
}

IOFD_EXPORT int iofd_ioeventfd(struct iofd_vm *vm, const struct kvm_ioeventfd *k)
{
	struct iofd_ioeventfd args;

	if (!k)
		return iofd_fail(-EINVAL, "iofd_ioeventfd: NULL args");
	memset(&args, 0, sizeof(args));
	args.datamatch = k->datamatch;
	args.addr = k->addr;
	args.len = k->len;
	args.fd = k->fd;
	args.flags = k->flags;
	return ioeventfd_call(vm, &args, IOFD_IOEVENTFD_KERNEL_FLAGS,
			      "iofd_ioeventfd");
}

IOFD_EXPORT int iofd_ioeventfd_ext(struct iofd_vm *vm,
				   const struct iofd_ioeventfd *args)
{
	return ioeventfd_call(vm, args, IOFD_IOEVENTFD_VALID_FLAGS,
			      "iofd_ioeventfd_ext");
}

IOFD_EXPORT int iofd_ioeventfd_path(struct iofd_vm *vm,
				    const struct iofd_ioeventfd *args)
{
	struct iofd_ioeventfd_entry *e;
	int err = lock_for_args(vm, args, "iofd_ioeventfd_path");

	if (err)
		return err;
	e = find_entry(vm, args, &err);
	if (e)
		err = e->offloaded ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE;
	iofd_writer_unlock(vm);
	return err;
}

bool iofd_ioeventfd_matches(const struct iofd_ioeventfd_entry *e, uint32_t len,
			    uint64_t val)
{
	if (e->len && e->len != len)
		return false;
	/* The full 64-bit datamatch is compared, never masked to len. */
	return e->wildcard || val == e->datamatch;
}

void iofd_ioeventfd_fire(const struct iofd_ioeventfd_entry *e, uint32_t len,
			 const void *data)
{
	if (e->post_ptr)
		iofd_post_store(e->post_ptr, data, len);
	iofd_efd_signal(e->efd);
}


/* ---- the mechanism ---- */

static void ioeventfd_vm_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	if (iofd_vm_kvm_cap(vm, KVM_CAP_IOEVENTFD) &&
	    !(vm->flags & IOFD_VM_NO_OFFLOAD))
		caps->flags |= IOFD_CAP_IOEVENTFD_OFFLOAD;
}

const struct iofd_mech iofd_ioeventfd_mech = {
	.name = "ioeventfd",
	.caps = ioeventfd_vm_caps,
};
