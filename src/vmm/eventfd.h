/* SPDX-License-Identifier: BSD-3-Clause */
/* eventfd identity: one CLOEXEC dup per distinct eventfd object. */
#ifndef IOFD_EVENTFD_H
#define IOFD_EVENTFD_H

#include <stdint.h>

#include "fd.h"
#include "rcu.h"

struct iofd_efd {
	int fd;			/* our CLOEXEC dup */
	unsigned int refs;	/* registrations using it (writer lock) */
	uint64_t id;		/* eventfd-id, when kcmp is unavailable */
	struct rcu_head rcu;
};

struct iofd_efd_registry {
	void *root;		/* tsearch tree of struct iofd_efd * */
	unsigned long count;
};

/* Find the registry's dup of fd's eventfd object, or NULL. fd is checked. */
struct iofd_efd *iofd_efd_find(struct iofd_efd_registry *reg, int fd);
/* Take a reference on fd's eventfd (dup'ing it if new). */
int iofd_efd_get(struct iofd_efd_registry *reg, int fd, struct iofd_efd **out);
/* Drop a reference; the last one closes the dup after a grace period. */
void iofd_efd_put(struct iofd_efd_registry *reg, struct iofd_efd *efd);
/* Signal an eventfd (adds 1). Lock-free; safe in an RCU reader. */
void iofd_efd_signal(const struct iofd_efd *efd);

#endif /* IOFD_EVENTFD_H */
