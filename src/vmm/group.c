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
#include "eventfd.h"
#include "group.h"
#include "ioeventfd.h"
#include "post.h"
#include "space.h"
#include "tsan.h"
#include "vm.h"

void iofd_group_access(const struct iofd_group *g, uint32_t len, bool is_write,
		       void *data)
{
	uint64_t val;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	val = iofd_load_le(data, len);
	for (size_t i = 0; i < g->n; i++) {
		const struct iofd_group_item *it = &g->items[i];

		if (!it->has_trigger || (len == g->len && val == it->trigger))
			iofd_efd_signal(it->efd);
	}
}

static struct iofd_group *group_alloc(uint64_t addr, uint32_t len, size_t n)
{
	struct iofd_group *g = calloc(1, sizeof(*g) + n * sizeof(g->items[0]));

	if (g) {
		g->addr = addr;
		g->len = len;
		g->n = n;
	}
	return g;
}

static void group_free_rcu(struct rcu_head *head)
{
	struct iofd_group *g = caa_container_of(head, struct iofd_group, rcu);

	iofd_tsan_grace(g);
	free(g);
}

/* Release of a replaced group's memory (its items live on elsewhere). */
static void group_retire_shell(struct iofd_vm *vm, void *obj)
{
	struct iofd_group *g = obj;

	(void)vm;
	iofd_tsan_retire(g);
	urcu_memb_call_rcu(&g->rcu, group_free_rcu);
}

void iofd_group_release(struct iofd_vm *vm, void *obj)
{
	struct iofd_group *g = obj;

	for (size_t i = 0; i < g->n; i++)
		iofd_efd_put(&vm->efds, g->items[i].efd);
	iofd_tsan_retire(g);
	urcu_memb_call_rcu(&g->rcu, group_free_rcu);
}

/* Release of an eventfd reference held by an item that was removed. */
static void group_retire_efd(struct iofd_vm *vm, void *obj)
{
	iofd_efd_put(&vm->efds, obj);
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

/* Replace range idx's group by g (or drop the range if g is NULL). */
static int group_replace(struct iofd_vm *vm, struct iofd_space *sp, long idx,
			 struct iofd_group *g)
{
	struct iofd_range_array *arr = iofd_space_ranges_writable(sp);
	struct iofd_group *old;

	if (!arr)
		return iofd_fail(-ENOMEM, "out of memory for the range array");
	old = arr->r[idx].obj;
	if (iofd_retire(vm, group_retire_shell, old))
		return -ENOMEM;
	if (g) {
		iofd_tsan_publish(g);
		arr->r[idx].obj = g;
	} else {
		iofd_ranges_delete(arr, (size_t)idx);
	}
	return 0;
}

static int group_add_item(struct iofd_vm *vm, struct iofd_space *sp,
			  const struct iofd_iosignalfd *args,
			  const struct iofd_group_item *item)
{
	struct iofd_range_array *view = iofd_space_ranges_view(sp);
	uint64_t end = args->addr + args->len;
	long idx = iofd_ranges_find(view, args->addr);
	struct iofd_group *old = NULL, *g;
	size_t n = 0;
	int err;

	if (idx >= 0 && view->r[idx].kind == IOFD_KIND_GROUP &&
	    view->r[idx].start == args->addr) {
		old = view->r[idx].obj;
		if (old->len != args->len)
			return iofd_fail(-EINVAL, "the iosignalfd group at 0x%llx has "
					 "len %u, not %u",
					 (unsigned long long)args->addr, old->len,
					 args->len);
		n = old->n;
	} else if (iofd_ranges_overlap(view, args->addr, end) >= 0 ||
		   iofd_space_exact_overlap(sp, args->addr, end)) {
		return iofd_fail(-EEXIST, "[0x%llx, 0x%llx) overlaps another "
				 "registration", (unsigned long long)args->addr,
				 (unsigned long long)end);
	}
	g = group_alloc(args->addr, args->len, n + 1);
	if (!g)
		return iofd_fail(-ENOMEM, "out of memory for an iosignalfd group");
	if (old)
		memcpy(g->items, old->items, n * sizeof(g->items[0]));
	g->items[n] = *item;
	if (old) {
		err = group_replace(vm, sp, idx, g);
	} else {
		struct iofd_range r = { args->addr, end, IOFD_KIND_GROUP, g };
		struct iofd_range_array *arr = iofd_space_ranges_writable(sp);

		iofd_tsan_publish(g);
		err = arr ? iofd_ranges_insert(&sp->pending, &r)
			  : iofd_fail(-ENOMEM, "out of memory for the range array");
	}
	if (err)
		free(g);
	return err;
}

static int group_assign(struct iofd_vm *vm, const struct iofd_iosignalfd *args)
{
	struct iofd_space *sp = &vm->bus[args->flags & IOFD_IOSIGNALFD_FLAG_PIO ?
					 IOFD_BUS_PIO : IOFD_BUS_MMIO];
	struct iofd_group_item item = { 0 };
	int err;

	if (args->flags & IOFD_IOSIGNALFD_FLAG_TRIGGER) {
		err = read_trigger(args, &item.trigger);
		if (err)
			return err;
		item.has_trigger = true;
	}
	err = iofd_efd_get(&vm->efds, args->fd, &item.efd);
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
	struct iofd_range_array *view = iofd_space_ranges_view(sp);
	long idx = iofd_ranges_find(view, args->addr);
	struct iofd_group *old, *g;
	struct iofd_efd *efd;
	size_t kept = 0;
	int err = iofd_efd_check(args->fd);

	if (err)
		return err;
	if (idx < 0 || view->r[idx].kind != IOFD_KIND_GROUP ||
	    view->r[idx].start != args->addr ||
	    ((struct iofd_group *)view->r[idx].obj)->len != args->len)
		return iofd_fail(-EINVAL, "no iosignalfd group at 0x%llx len %u",
				 (unsigned long long)args->addr, args->len);
	old = view->r[idx].obj;
	efd = iofd_efd_find(&vm->efds, args->fd);
	g = group_alloc(old->addr, old->len, old->n);
	if (!g)
		return iofd_fail(-ENOMEM, "out of memory for an iosignalfd group");
	for (size_t i = 0; i < old->n; i++)
		if (old->items[i].efd != efd)
			g->items[kept++] = old->items[i];
	if (kept == old->n) {
		free(g);
		return 0;		/* nothing used this eventfd: not an error */
	}
	g->n = kept;
	for (size_t i = 0; i < old->n; i++)
		if (old->items[i].efd == efd && iofd_retire(vm, group_retire_efd, efd)) {
			free(g);
			return -ENOMEM;
		}
	err = group_replace(vm, sp, idx, kept ? g : NULL);
	if (!kept || err)
		free(g);
	if (!err)
		iofd_publish(vm);
	return err;
}

IOFD_EXPORT int iofd_iosignalfd(struct iofd_vm *vm,
				const struct iofd_iosignalfd *args)
{
	int err;

	if (!vm || !args)
		return iofd_fail(-EINVAL, "NULL vm or args");
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
