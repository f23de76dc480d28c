/* SPDX-License-Identifier: BSD-3-Clause */
/* iosignalfd group mode: one range, several eventfds told apart by value. */
#ifndef IOFD_GROUP_H
#define IOFD_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventfd.h"

struct iofd_vm;

struct iofd_group_item {
	struct iofd_efd *efd;
	bool has_trigger;
	uint64_t trigger;		/* len bytes, little end first */
};

struct iofd_group {
	uint64_t addr;
	uint32_t len;
	struct rcu_head rcu;
	size_t n;
	struct iofd_group_item items[];
};

/* Release a group and every item's eventfd reference (retire callback). */
void iofd_group_release(struct iofd_vm *vm, void *group);
/* Serve an access reaching the group g. */
void iofd_group_access(const struct iofd_group *g, uint32_t len, bool is_write,
		       void *data);

#endif /* IOFD_GROUP_H */
