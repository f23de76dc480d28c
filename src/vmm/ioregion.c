/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd registration: validation, overlap with everything else on the
 * bus, the channels (fd pairs) regions share, and region lifetime.
 *
 * A region lives in its bus's range array (a bus object), so the
 * ioeventfd and group code refuse to overlap it as they refuse any range.
 * A vCPU serving an access takes a reference inside its RCU read-side
 * section and does the (blocking) I/O after leaving it; the region, its
 * channel and the channel's fds are released when the last reference is
 * gone and a grace period has passed.
 *
 * Where the kernel serves ioregionfd (vm->ioregion->kernel), a region is
 * registered there too and iofd keeps only its record: the overlap checks,
 * the fd pairing, the path query and dups of the fds. The kernel owns the
 * wire then; iofd never writes to those fds itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iofd/kvm-unmerged.h"

#include "error.h"
#include "fault.h"
#include "ioregion.h"
#include "ioregion_io.h"
#include "ioregion_kvm.h"
#include "mech.h"
#include "space.h"
#include "tsan.h"
#include "vcpu.h"
#include "vm.h"
#include "wire.h"

/* ---- lifetime ---- */

static void chan_free(struct iofd_chan *c)
{
	if (c->r.fd >= 0 && c->r.fd != c->w.fd)
		close(c->r.fd);
	if (c->w.fd >= 0)
		close(c->w.fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	free(c);
}

static void chan_put(struct iofd_chan *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		chan_free(c);
}

static void region_free_rcu(struct rcu_head *head)
{
	struct iofd_region *r = caa_container_of(head, struct iofd_region, rcu);

	iofd_tsan_grace(r);
	chan_put(r->chan);
	free(r);
}

/* Take a reference from inside an RCU read-side section; false if the
 * region is already on its way out (treat the access as unclaimed). */
static bool region_tryget(struct iofd_region *r)
{
	unsigned int n = atomic_load_explicit(&r->refs, memory_order_relaxed);

	/* Never revive a region whose last reference is gone. */
	do {
		if (!n)
			return false;
	} while (!atomic_compare_exchange_weak(&r->refs, &n, n + 1));
	return true;
}

void iofd_region_put(struct iofd_region *r)
{
	if (atomic_fetch_sub(&r->refs, 1) == 1) {
		iofd_tsan_retire(r);
		urcu_memb_call_rcu(&r->rcu, region_free_rcu);
	}
}

/* Does the region serve this access? (doorbells: writes at start only) */
static bool region_claims(const struct iofd_region *r, uint64_t addr,
			  uint32_t len, bool is_write)
{
	if (!r->size)		/* doorbell: writes of any width at start */
		return is_write && addr == r->start;
	return addr >= r->start && len <= r->size &&
	       addr - r->start <= r->size - len;
}

static struct iofd_region *region_of(struct iofd_source *obj)
{
	return caa_container_of(obj, struct iofd_region, obj);
}

/* Bus op: take a reference on a region that claims the access; it is
 * served outside the read-side section (region_serve). */
static int region_access(struct iofd_source *obj, struct iofd_bus_access *a,
			 struct iofd_source **defer)
{
	struct iofd_region *r = region_of(obj);

	/* The kernel's: an access it left to userspace is the VMM's, as for
	 * any access a kernel ioregion does not take. */
	if (r->kernel)
		return IOFD_NOT_CLAIMED;
	if (region_claims(r, a->addr, a->len, a->is_write) && region_tryget(r))
		*defer = obj;
	return IOFD_NOT_CLAIMED;
}

/* Bus op: serve the access (may block), consuming the reference. */
static int region_serve(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
			struct iofd_source *obj, struct iofd_bus_access *a,
			struct iofd_exit *info)
{
	return iofd_ioregion_serve(vm, vcpu, region_of(obj), a->bus, a->addr,
				   a->len, a->is_write, a->data, info);
}

/* Bus op: the removal is published; drop the registration's reference. */
static void region_release(union iofd_source_owner owner, struct iofd_source *obj)
{
	struct iofd_region *r = region_of(obj);

	(void)owner;
	atomic_store(&r->dead, true);
	iofd_region_put(r);
}

/* The region as KVM_SET_IOREGION names it. */
static struct iofd_ioregion region_args(const struct iofd_region *r)
{
	struct iofd_ioregion a = {
		.guest_paddr = r->start,
		.memory_size = r->size,
		.user_data = r->user_data,
		.flags = r->flags,
	};

	return a;
}

/* Remove the kernel's registration (once): 0, or the kernel's -errno;
 * -ENOENT (removed outside iofd) counts as done and is only logged. */
static int kernel_deassign(struct iofd_vm *vm, struct iofd_region *r)
{
	struct iofd_ioregion a = region_args(r);
	int err;

	if (!r->in_kernel)
		return 0;
	a.flags |= IOFD_IOREGION_FLAG_DEASSIGN;
	err = iofd_kvm_set_ioregion(vm->kvm_fd, &a, -1, -1);
	if (err == -ENOENT)
		iofd_log(IOFD_LOG_WARNING, err, "KVM_SET_IOREGION deassign of "
			 "0x%llx: the kernel's region was removed outside iofd",
			 (unsigned long long)r->start);
	if (err && err != -ENOENT)
		return err;
	r->in_kernel = false;
	return 0;
}

static void chan_unlink(struct iofd_vm *vm, struct iofd_chan *c)
{
	struct iofd_chan **pp;

	for (pp = &vm->ioregion->chans; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
	}
}

/* Bus op: the region left the writer's view of its bus. A later
 * registration on the same fds gets a fresh channel (and so no poison)
 * once no registered region uses this one. */
static void region_unplug(union iofd_source_owner owner, struct iofd_source *obj)
{
	struct iofd_region *r = region_of(obj);
	struct iofd_vm *vm = owner.vm;

	int err = kernel_deassign(vm, r);

	/* Nobody to return it to (a teardown): the kernel keeps the region
	 * until the VM fd closes, and the log says so. */
	if (err)
		iofd_log(IOFD_LOG_WARNING, err, "KVM_SET_IOREGION deassign of "
			 "0x%llx failed (%s): the kernel keeps it",
			 (unsigned long long)r->start, strerror(-err));
	if (--r->chan->registered == 0)
		chan_unlink(vm, r->chan);
}

/* Pending-slot op: continue the vCPU's interrupted access. */
static int region_resume(struct iofd_vcpu *vcpu, struct iofd_source *obj,
			 void *state, struct iofd_exit *info)
{
	(void)obj;
	return iofd_ioregion_resume(vcpu, state, info);
}

/* Pending-slot op: the vCPU goes; give its access up. */
static void region_cancel(struct iofd_vcpu *vcpu, struct iofd_source *obj,
			  void *state)
{
	(void)vcpu;
	(void)obj;
	iofd_ioregion_cancel(state);
}

static const struct iofd_source_ops region_ops = {
	.access = region_access,
	.serve = region_serve,
	.resume = region_resume,
	.cancel = region_cancel,
	.unplug = region_unplug,
	.release = region_release,
};

/* ---- fds and channels ---- */

/* Is fd open at all? (checked before overlap, as the kernel does) */
static int check_open(int fd, const char *name)
{
	struct iofd_fd_kind k;

	if (iofd_fd_kind(fd, &k) < 0)
		return iofd_fail(-EBADF, "ioregion %s %d is not an open fd", name, fd);
	return 0;
}

/* Check that fd can carry one direction of the protocol (after the
 * overlap check, as the kernel does). */
static int check_fd(int fd, bool for_write, const char *name)
{
	struct iofd_fd_kind k;

	if (iofd_fd_kind(fd, &k) < 0)
		return iofd_fail(-EBADF, "ioregion %s %d is not an open fd", name, fd);
	if (k.accmode == (for_write ? O_RDONLY : O_WRONLY))
		return iofd_fail(-EBADF, "ioregion %s %d is not open for %s", name,
				 fd, for_write ? "writing" : "reading");
	if (!k.fifo && !k.sock)
		return iofd_fail(-EINVAL, "ioregion %s %d is not a pipe, FIFO or "
				 "socket", name, fd);
	return 0;
}

/* Give channel c the read side rfd (a new channel, or doorbells only).
 * One fd for both ways (a socket) is kept once. */
static int chan_set_read(struct iofd_chan *c, int rfd, int wfd,
			 const struct iofd_file_id *rid)
{
	int d = rfd == wfd ? c->w.fd : iofd_fd_dup(rfd, false);
	struct iofd_wire_end r;

	if (d < 0)
		return d;
	iofd_wire_end_set(&r, d);
	c->r_id = *rid;
	/* Nothing can be owed on a read side nobody used: whatever waits
	 * there is stale (a late reply to a pair registered before). */
	iofd_wire_drain(&r);
	c->r = r;
	return 0;
}

static int chan_new(int wfd, const struct iofd_file_id *wid, struct iofd_chan **out)
{
	struct iofd_chan *c = iofd_calloc(1, sizeof(*c));

	if (!c)
		return iofd_fail(-ENOMEM, "out of memory for an ioregion channel");
	c->r.fd = -1;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		int err = -errno;

		c->w.fd = -1;
		chan_free(c);
		return iofd_fail(err, "cannot create an eventfd: %s", strerror(-err));
	}
	c->w.fd = iofd_fd_dup(wfd, false);
	if (c->w.fd < 0) {
		int err = c->w.fd;

		chan_free(c);
		return err;
	}
	iofd_wire_end_set(&c->w, c->w.fd);
	c->w_id = *wid;
	*out = c;
	return 0;
}

/* The channel with this write side, or with this read side, or NULL. */
static struct iofd_chan *chan_find(struct iofd_vm *vm, const struct iofd_file_id *id,
				   bool read_side)
{
	for (struct iofd_chan *c = vm->ioregion->chans; c; c = c->next) {
		if (read_side ? c->r.fd >= 0 && iofd_file_same(&c->r_id, id)
			      : iofd_file_same(&c->w_id, id))
			return c;
	}
	return NULL;
}

/* Find or make the channel for (write_fd, read_fd or -1); takes a ref. */
static int chan_get(struct iofd_vm *vm, int wfd, int rfd, struct iofd_chan **out)
{
	struct iofd_file_id wid, rid;
	struct iofd_chan *c, *by_read = NULL;
	bool created = false;
	int err;

	iofd_file_id(wfd, &wid);
	c = chan_find(vm, &wid, false);
	if (rfd >= 0) {
		iofd_file_id(rfd, &rid);
		by_read = chan_find(vm, &rid, true);
		if ((by_read && by_read != c) ||
		    (c && c->r.fd >= 0 && !iofd_file_same(&c->r_id, &rid)))
			return iofd_fail(-EINVAL, "ioregion fds %d/%d: an fd belongs "
					 "to one (read_fd, write_fd) pair, and "
					 "one of them is paired otherwise", rfd,
					 wfd);
	}
	if (!c) {
		err = chan_new(wfd, &wid, &c);
		if (err)
			return err;
		created = true;
	}
	if (rfd >= 0 && c->r.fd < 0) {
		err = chan_set_read(c, rfd, wfd, &rid);
		if (err) {
			if (created)
				chan_free(c);
			return err;
		}
	}
	if (created) {
		c->next = vm->ioregion->chans;
		vm->ioregion->chans = c;
	}
	atomic_fetch_add(&c->refs, 1);
	c->registered++;
	*out = c;
	return 0;
}

/* ---- registration ---- */

static enum iofd_bus region_bus(uint32_t flags)
{
	return flags & IOFD_IOREGION_FLAG_PIO ? IOFD_BUS_PIO : IOFD_BUS_MMIO;
}

static int validate_assign(const struct iofd_ioregion *args)
{
	bool doorbell = args->memory_size == 0;
	int err;

	if (!doorbell && args->guest_paddr + args->memory_size <= args->guest_paddr)
		return iofd_fail(-EINVAL, "ioregion 0x%llx + 0x%llx overflows",
				 (unsigned long long)args->guest_paddr,
				 (unsigned long long)args->memory_size);
	/* The kernel's limit (its io bus keeps lengths in an int), kept in
	 * userspace too so that both paths answer alike. */
	if (args->memory_size > INT_MAX)
		return iofd_fail(-EINVAL, "ioregion memory_size 0x%llx is above "
				 "INT_MAX", (unsigned long long)args->memory_size);
	if (doorbell && !(args->flags & IOFD_IOREGION_FLAG_POSTED_WRITES))
		return iofd_fail(-EINVAL, "an ioregion of memory_size 0 (doorbell) "
				 "needs POSTED_WRITES");
	err = check_open(args->write_fd, "write_fd");
	if (!err && !doorbell)
		err = check_open(args->read_fd, "read_fd");
	return err;
}

/* The fds' directions and kinds, checked once the range is free. */
static int check_fds(const struct iofd_ioregion *args)
{
	int err = check_fd(args->write_fd, true, "write_fd");

	if (!err && args->memory_size)
		err = check_fd(args->read_fd, false, "read_fd");
	return err;
}

/* Register r in the kernel, with iofd's dups of the fds; on failure take
 * it out of the pending array again. */
static int kernel_assign(struct iofd_vm *vm, struct iofd_region *r,
			 const struct iofd_range *range)
{
	struct iofd_space *sp = &vm->bus[r->bus];
	struct iofd_ioregion a = region_args(r);
	long idx;
	int err;

	err = iofd_kvm_set_ioregion(vm->kvm_fd, &a, r->chan->r.fd, r->chan->w.fd);
	if (!err) {
		r->in_kernel = true;
		return 0;
	}
	idx = iofd_ranges_find(sp->pending, range->start);
	if (idx >= 0)
		iofd_ranges_delete(sp->pending, (size_t)idx);
	return iofd_fail(err, "KVM_SET_IOREGION refused [0x%llx, +0x%llx) on "
			 "bus %d: %s", (unsigned long long)r->start,
			 (unsigned long long)r->size, r->bus, strerror(-err));
}

static int region_assign(struct iofd_vm *vm, const struct iofd_ioregion *args)
{
	enum iofd_bus bus = region_bus(args->flags);
	struct iofd_space *sp = &vm->bus[bus];
	bool doorbell = args->memory_size == 0;
	uint64_t start = args->guest_paddr;
	/* a doorbell covers 8 bytes for overlap, as a len-0 ioeventfd */
	uint64_t end = doorbell ? iofd_exact_end(start, 0) : start + args->memory_size;
	struct iofd_range_array *arr;
	struct iofd_region *r;
	struct iofd_range range;
	int err;

	if (iofd_ranges_overlap(iofd_space_ranges_view(sp), start, end) >= 0 ||
	    iofd_space_exact_overlap(sp, start, end))
		return iofd_fail(-EEXIST, "ioregion [0x%llx, 0x%llx) on bus %d "
				 "overlaps another registration",
				 (unsigned long long)start, (unsigned long long)end,
				 bus);
	err = check_fds(args);
	if (err)
		return err;
	r = iofd_calloc(1, sizeof(*r));
	if (!r)
		return iofd_fail(-ENOMEM, "out of memory for an ioregion");
	r->obj.ops = &region_ops;
	r->start = start;
	r->size = args->memory_size;
	r->end = end;
	r->user_data = args->user_data;
	r->flags = args->flags;
	r->bus = bus;
	r->kernel = vm->ioregion->kernel;
	atomic_init(&r->refs, 1);
	err = chan_get(vm, args->write_fd, doorbell ? -1 : args->read_fd, &r->chan);
	if (err) {
		free(r);
		return err;
	}
	range = (struct iofd_range){ start, end, &r->obj };
	arr = iofd_space_ranges_writable(sp);
	iofd_tsan_publish(r);
	err = arr ? iofd_ranges_insert(&sp->pending, &range)
		  : iofd_fail(-ENOMEM, "out of memory for the range array");
	if (!err && r->kernel)
		err = kernel_assign(vm, r, &range);
	if (err) {
		if (--r->chan->registered == 0)
			chan_unlink(vm, r->chan);
		chan_put(r->chan);
		free(r);
		return err;
	}
	iofd_publish(vm);
	return 0;
}

static int region_deassign(struct iofd_vm *vm, const struct iofd_ioregion *args)
{
	enum iofd_bus bus = region_bus(args->flags);
	struct iofd_space *sp = &vm->bus[bus];
	struct iofd_range_array *view = iofd_space_ranges_view(sp), *arr;
	long idx = iofd_ranges_find_start(view, args->guest_paddr);
	struct iofd_region *r = NULL;
	int err;

	if (idx >= 0 && view->r[idx].obj->ops == &region_ops)
		r = region_of(view->r[idx].obj);
	if (!r || r->start != args->guest_paddr || r->size != args->memory_size)
		return iofd_fail(-ENOENT, "no ioregion on bus %d at 0x%llx of size "
				 "0x%llx", bus, (unsigned long long)args->guest_paddr,
				 (unsigned long long)args->memory_size);
	arr = iofd_space_ranges_writable(sp);
	if (!arr)
		return iofd_fail(-ENOMEM, "out of memory for the range array");
	err = kernel_deassign(vm, r);
	if (err)		/* nothing changed: say so */
		return iofd_fail(err, "KVM_SET_IOREGION deassign of 0x%llx: %s",
				 (unsigned long long)r->start, strerror(-err));
	iofd_range_retire(vm, &r->obj);
	iofd_ranges_delete(arr, (size_t)idx);
	iofd_publish(vm);
	return 0;
}

IOFD_EXPORT int iofd_set_ioregion(struct iofd_vm *vm,
				  const struct iofd_ioregion *args)
{
	int err;

	if (!vm || !args)
		return iofd_fail(-EINVAL, "iofd_set_ioregion: NULL vm or args");
	if (args->flags & ~IOFD_IOREGION_VALID_FLAGS)
		return iofd_fail(-EINVAL, "ioregion flags 0x%x has unknown bits 0x%x",
				 args->flags, args->flags & ~IOFD_IOREGION_VALID_FLAGS);
	for (size_t i = 0; i < sizeof(args->pad); i++)
		if (args->pad[i])
			return iofd_fail(-EINVAL, "ioregion pad[%zu] is 0x%x, not 0 "
					 "(spare bytes must be zero)", i, args->pad[i]);
	if (!(args->flags & IOFD_IOREGION_FLAG_DEASSIGN)) {
		err = validate_assign(args);
		if (err)
			return err;
	}
	iofd_writer_lock(vm);
	if (args->flags & IOFD_IOREGION_FLAG_DEASSIGN)
		err = region_deassign(vm, args);
	else
		err = region_assign(vm, args);
	iofd_writer_unlock(vm);
	return err;
}

IOFD_EXPORT int iofd_ioregion_path(struct iofd_vm *vm,
				   const struct iofd_ioregion *args)
{
	const struct iofd_range_array *view;
	struct iofd_region *r = NULL;
	long idx;
	int ret;

	if (!vm || !args)
		return iofd_fail(-EINVAL, "iofd_ioregion_path: NULL vm or args");
	if (args->flags & ~IOFD_IOREGION_VALID_FLAGS)
		return iofd_fail(-EINVAL, "ioregion flags 0x%x has unknown bits",
				 args->flags);
	iofd_writer_lock(vm);
	view = iofd_space_ranges_view(&vm->bus[region_bus(args->flags)]);
	idx = iofd_ranges_find_start(view, args->guest_paddr);
	if (idx >= 0 && view->r[idx].obj->ops == &region_ops)
		r = region_of(view->r[idx].obj);
	if (r && r->start == args->guest_paddr && r->size == args->memory_size)
		ret = r->kernel ? IOFD_PATH_KERNEL : IOFD_PATH_USERSPACE;
	else
		ret = iofd_fail(-ENOENT, "no ioregion at 0x%llx of size 0x%llx",
				(unsigned long long)args->guest_paddr,
				(unsigned long long)args->memory_size);
	iofd_writer_unlock(vm);
	return ret;
}

IOFD_EXPORT int iofd_vm_set_ioregion_timeout(struct iofd_vm *vm, uint32_t ms)
{
	int err;

	if (!vm)
		return iofd_fail(-EINVAL, "iofd_vm_set_ioregion_timeout: NULL vm");
	if (vm->ioregion->kernel) {
		err = iofd_kvm_ioregion_timeout(vm->kvm_fd, ms ? ms : IOFD_TIMEOUT_FOREVER);
		if (err)
			return iofd_fail(err, "KVM_ENABLE_CAP(KVM_CAP_IOREGIONFD): %s",
					 strerror(-err));
	}
	__atomic_store_n(&vm->ioregion->timeout_ms, ms ? ms : IOFD_TIMEOUT_FOREVER,
			 __ATOMIC_RELAXED);
	return 0;
}

/* ---- the mechanism ---- */

/* A new VM's state: the timeout from the options. */
static int ioregion_vm_init(struct iofd_vm *vm, const struct iofd_vm_options *opts)
{
	struct iofd_ioregion_vm *st = iofd_calloc(1, sizeof(*st));

	if (!st)
		return iofd_fail(-ENOMEM, "out of memory for a VM's ioregions");
	st->timeout_ms = opts->ioregion_timeout_ms;
	if (!st->timeout_ms)
		st->timeout_ms = opts->flags & IOFD_VM_IOREGION_TIMEOUT ?
					 IOFD_TIMEOUT_FOREVER : IOFD_TIMEOUT_DEFAULT_MS;
	vm->ioregion = st;
	return 0;
}

/*
 * Offload ioregions to the kernel if it has them and the VMM allows it;
 * the kernel then bounds the waits, so it gets a timeout set in the
 * options (its default is iofd's).
 */
static int ioregion_vm_probe(struct iofd_vm *vm)
{
	struct iofd_ioregion_vm *st = vm->ioregion;
	int err;

	if (vm->flags & IOFD_VM_NO_OFFLOAD)
		return 0;
	st->kernel = iofd_kvm_ioregion_probe(vm->kvm_fd);
	if (!st->kernel || st->timeout_ms == IOFD_TIMEOUT_DEFAULT_MS)
		return 0;
	err = iofd_kvm_ioregion_timeout(vm->kvm_fd, st->timeout_ms);
	return err ? iofd_fail(err, "KVM_ENABLE_CAP(KVM_CAP_IOREGIONFD): %s",
			       strerror(-err)) : 0;
}

static void ioregion_vm_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	caps->flags |= IOFD_CAP_IOREGIONFD;
	if (vm->ioregion->kernel)
		caps->flags |= IOFD_CAP_IOREGIONFD_OFFLOAD;
}

/* The kernel's ioregion failed; its access is complete. The exit's number
 * is provisional: trust it only where the probe did. */
static int ioregion_vm_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	struct iofd_ioregion_vm *st = vcpu->vm->ioregion;

	if (!st->kernel)
		return IOFD_NOT_CLAIMED;
	return iofd_kvm_ioregion_failure(vcpu->run, __atomic_load_n(
		&st->timeout_ms, __ATOMIC_RELAXED), info);
}

static void ioregion_vm_free(struct iofd_vm *vm)
{
	free(vm->ioregion);
	vm->ioregion = NULL;
}

const struct iofd_mech iofd_ioregion_mech = {
	.name = "ioregionfd",
	.vm_flags = IOFD_VM_IOREGION_TIMEOUT,
	.init = ioregion_vm_init,
	.probe = ioregion_vm_probe,
	.caps = ioregion_vm_caps,
	.exit_reason = KVM_EXIT_IOREGIONFD_FAILURE,
	.exit = ioregion_vm_exit,
	.free = ioregion_vm_free,
};
