/* SPDX-License-Identifier: BSD-3-Clause */
/* iosignalfd group mode: one range, several eventfds told apart by value. */
#ifndef IOFD_GROUP_H
#define IOFD_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventfd.h"
#include "space.h"

struct iofd_vm;

struct iofd_group_item {
	struct iofd_efd *efd;
	bool has_trigger;
	uint64_t trigger;		/* len bytes, little end first */
};

/*
 * A group on its bus (a range). Immutable once published, but for the two
 * writer-only fields that say what its release drops: a group replaced by
 * a copy drops the references of the items the copy left out (drop), a
 * group whose range went away drops them all (drop_all).
 */
struct iofd_group {
	struct iofd_source obj;	/* first: ops, retire link */
	uint64_t addr;
	uint32_t len;
	struct iofd_efd *drop;		/* writer: items of this eventfd */
	bool drop_all;			/* writer: every item */
	struct rcu_head rcu;
	size_t n;
	struct iofd_group_item items[];
};

#endif /* IOFD_GROUP_H */
