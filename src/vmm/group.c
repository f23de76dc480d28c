/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The 2009 iosignalfd "group" mode: several eventfds at one address, each
 * with an optional trigger value; a write signals every matching item.
 * A group is immutable once published: a change builds a new group, puts
 * it in the bus's range array and retires the old one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "group.h"
#include "space.h"
#include "tsan.h"
#include "mech.h"
#include "vm.h"

/* Bus op: an access reached the group (reads see 0). */
static int group_access(struct iofd_source *obj, struct iofd_bus_access *a,
			struct iofd_source **defer)
{
	const struct iofd_group *g = caa_container_of(obj, struct iofd_group, obj);
	uint64_t val;

	(void)defer;
	if (!a->is_write) {
		memset(a->data, 0, a->len);
		return IOFD_SERVED;
	}
	val = iofd_load_le(a->data, a->len);
	for (size_t i = 0; i < g->n; i++) {
		const struct iofd_group_item *it = &g->items[i];

		if (!it->has_trigger || (a->len == g->len && val == it->trigger))
			iofd_efd_signal(it->efd);
	}
	return IOFD_SERVED;
}

static void group_free_rcu(struct rcu_head *head)
{
	struct iofd_group *g = caa_container_of(head, struct iofd_group, rcu);

	iofd_tsan_grace(g);
	free(g);
}

/* Bus op: the group is off its bus (replaced or removed): drop the
 * references it was told to, free it after a grace period. */
static void group_release(union iofd_source_owner owner, struct iofd_source *obj)
{
	struct iofd_group *g = caa_container_of(obj, struct iofd_group, obj);
	struct iofd_vm *vm = owner.vm;

	for (size_t i = 0; i < g->n; i++)
		if (g->drop_all || g->items[i].efd == g->drop)
			iofd_efd_put(&vm->efds, g->items[i].efd);
	iofd_tsan_retire(g);
	urcu_memb_call_rcu(&g->rcu, group_free_rcu);
}

/* Bus op: the group's range leaves the bus: every reference goes. */
static void group_unplug(union iofd_source_owner owner, struct iofd_source *obj)
{
	(void)owner;
	caa_container_of(obj, struct iofd_group, obj)->drop_all = true;
}

static const struct iofd_source_ops group_ops = {
	.access = group_access,
	.unplug = group_unplug,
	.release = group_release,
};

static struct iofd_group *group_alloc(uint64_t addr, uint32_t len, size_t n)
{
	struct iofd_group *g = iofd_calloc(1, sizeof(*g) + n * sizeof(g->items[0]));

	if (g) {
		g->obj.ops = &group_ops;
		g->addr = addr;
		g->len = len;
		g->n = n;
	}
	return g;
}

/* The group of range idx of arr, or NULL if it holds something else. */
static struct iofd_group *group_at(const struct iofd_range_array *arr, long idx)
{
	if (idx < 0 || arr->r[idx].obj->ops != &group_ops)
		return NULL;
	return caa_container_of(arr->r[idx].obj, struct iofd_group, obj);
}

/* Read the trigger value from the caller's memory; -EFAULT if unreadable. */
static int read_trigger(const struct iofd_iosignalfd *args, uint64_t *out)
{
	struct iovec local = { out, args->len };
	struct iovec remote = { (void *)(uintptr_t)args->trigger, args->len };

	*out = 0;
	if (!args->trigger ||
	    process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)args->len)
		return iofd_fail(-EFAULT, "iosignalfd trigger pointer 0x%llx is not "
				 "readable for %u bytes",
				 (unsigned long long)args->trigger, args->len);
	return 0;
}

/*
 * Replace range idx's group by g (or drop the range if g is NULL) in the
 * writer's copy arr; the old group's release drops the references of the
 * items of eventfd drop. Cannot fail: the caller allocated everything.
 */
static void group_replace(struct iofd_vm *vm, struct iofd_range_array *arr,
			  long idx, struct iofd_group *g, struct iofd_efd *drop)
{
	struct iofd_group *old = group_at(arr, idx);

	old->drop = drop;
	iofd_retire(vm, &old->obj);
	if (g) {
		iofd_tsan_publish(g);
		arr->r[idx].obj = &g->obj;
	} else {
		iofd_ranges_delete(arr, (size_t)idx);
	}
}

/* Does g hold item already: the same eventfd object with the same trigger,
 * or both wildcards? (Each write would signal it twice.) */
static bool group_has(const struct iofd_group *g,
		      const struct iofd_group_item *item)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct iofd_group_item *it = &g->items[i];

		if (it->efd == item->efd && it->has_trigger == item->has_trigger &&
		    (!it->has_trigger || it->trigger == item->trigger))
			return true;
	}
	return false;
}

static int group_add_item(struct iofd_vm *vm, struct iofd_space *sp,
			  const struct iofd_iosignalfd *args,
			  const struct iofd_group_item *item)
{
	struct iofd_range_array *view = iofd_space_ranges_view(sp), *arr;
	uint64_t end = args->addr + args->len;
	long idx = iofd_ranges_find(view, args->addr);
	struct iofd_group *old = view ? group_at(view, idx) : NULL, *g;
	size_t n = 0;
	int err = 0;

	if (old && old->addr == args->addr) {
		if (old->len != args->len)
			return iofd_fail(-EINVAL, "the iosignalfd group at 0x%llx has "
					 "len %u, not %u",
					 (unsigned long long)args->addr, old->len,
					 args->len);
		if (group_has(old, item))
			return iofd_fail(-EEXIST, "the iosignalfd group at 0x%llx "
					 "already has eventfd %d %s",
					 (unsigned long long)args->addr, args->fd,
					 item->has_trigger ? "with this trigger" :
							     "as a wildcard");
		n = old->n;
	} else if (iofd_ranges_overlap(view, args->addr, end) >= 0 ||
		   iofd_space_exact_overlap(sp, args->addr, end)) {
		return iofd_fail(-EEXIST, "[0x%llx, 0x%llx) overlaps another "
				 "registration", (unsigned long long)args->addr,
				 (unsigned long long)end);
	} else {
		old = NULL;
	}
	g = group_alloc(args->addr, args->len, n + 1);
	arr = g ? iofd_space_ranges_writable(sp) : NULL;
	if (!arr) {
		free(g);
		return iofd_fail(-ENOMEM, "out of memory for an iosignalfd group");
	}
	if (old)
		memcpy(g->items, old->items, n * sizeof(g->items[0]));
	g->items[n] = *item;
	if (old) {
		group_replace(vm, arr, idx, g, NULL);
	} else {
		struct iofd_range r = { args->addr, end, &g->obj };

		iofd_tsan_publish(g);
		err = iofd_ranges_insert(&sp->pending, &r);
		if (err)
			free(g);
	}
	return err;
}

static int group_assign(struct iofd_vm *vm, const struct iofd_iosignalfd *args)
{
	struct iofd_space *sp = &vm->bus[args->flags & IOFD_IOSIGNALFD_FLAG_PIO ?
					 IOFD_BUS_PIO : IOFD_BUS_MMIO];
	struct iofd_group_item item = { 0 };
	struct iofd_efd_key key;
	int err;

	if (args->flags & IOFD_IOSIGNALFD_FLAG_TRIGGER) {
		err = read_trigger(args, &item.trigger);
		if (err)
			return err;
		item.has_trigger = true;
	}
	err = iofd_efd_key(args->fd, &key);
	if (!err)
		err = iofd_efd_get(&vm->efds, &key, &item.efd);
	if (err)
		return err;
	err = group_add_item(vm, sp, args, &item);
	if (err) {
		iofd_efd_put(&vm->efds, item.efd);
		return err;
	}
	iofd_publish(vm);
	return 0;
}

static int group_deassign(struct iofd_vm *vm, const struct iofd_iosignalfd *args)
{
	struct iofd_space *sp = &vm->bus[args->flags & IOFD_IOSIGNALFD_FLAG_PIO ?
					 IOFD_BUS_PIO : IOFD_BUS_MMIO];
	struct iofd_range_array *view = iofd_space_ranges_view(sp), *arr;
	long idx = iofd_ranges_find(view, args->addr);
	struct iofd_group *old = view ? group_at(view, idx) : NULL, *g = NULL;
	struct iofd_efd_key key;
	struct iofd_efd *efd;
	size_t kept = 0;
	int err = iofd_efd_key(args->fd, &key);

	if (err)
		return err;
	if (!old || old->addr != args->addr || old->len != args->len)
		return iofd_fail(-EINVAL, "no iosignalfd group at 0x%llx len %u",
				 (unsigned long long)args->addr, args->len);
	efd = iofd_efd_find(&vm->efds, &key);
	for (size_t i = 0; i < old->n; i++)
		kept += old->items[i].efd != efd;
	if (kept == old->n)
		return 0;		/* nothing used this eventfd: not an error */
	/* Everything that can fail comes first. */
	if (kept && !(g = group_alloc(old->addr, old->len, kept)))
		return iofd_fail(-ENOMEM, "out of memory for an iosignalfd group");
	arr = iofd_space_ranges_writable(sp);
	if (!arr) {
		free(g);
		return iofd_fail(-ENOMEM, "out of memory for the range array");
	}
	for (size_t i = 0, k = 0; g && i < old->n; i++)
		if (old->items[i].efd != efd)
			g->items[k++] = old->items[i];
	group_replace(vm, arr, idx, g, efd);
	iofd_publish(vm);
	return 0;
}

IOFD_EXPORT int iofd_iosignalfd(struct iofd_vm *vm,
				const struct iofd_iosignalfd *args)
{
	int err;

	if (!vm || !args)
		return iofd_fail(-EINVAL, "iofd_iosignalfd: NULL vm or args");
	if (args->flags & ~IOFD_IOSIGNALFD_VALID_FLAGS)
		return iofd_fail(-EINVAL, "iosignalfd flags 0x%x has unknown bits",
				 args->flags);
	if (args->len != 1 && args->len != 2 && args->len != 4 && args->len != 8)
		return iofd_fail(-EINVAL, "iosignalfd len %u is not 1, 2, 4 or 8",
				 args->len);
	if (args->addr + args->len < args->addr)
		return iofd_fail(-EINVAL, "iosignalfd addr + len wraps");
	iofd_writer_lock(vm);
	if (args->flags & IOFD_IOSIGNALFD_FLAG_DEASSIGN)
		err = group_deassign(vm, args);
	else
		err = group_assign(vm, args);
	iofd_writer_unlock(vm);
	return err;
}

/* ---- the mechanism ---- */

static void group_vm_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	(void)vm;
	caps->flags |= IOFD_CAP_IOSIGNALFD;
}

const struct iofd_mech iofd_group_mech = {
	.name = "iosignalfd group",
	.caps = group_vm_caps,
};
