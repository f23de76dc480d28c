/* SPDX-License-Identifier: BSD-3-Clause */
/* eventfd identity: one CLOEXEC dup per distinct eventfd object. */
#ifndef IOFD_EVENTFD_H
#define IOFD_EVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include "fd.h"
#include "rcu.h"

/* What names an eventfd object: a caller's fd and the object's id. */
struct iofd_efd_key {
	int fd;
	int64_t id;		/* the kernel's eventfd-id, -1 if unknown */
};

struct iofd_efd {
	int fd;			/* our CLOEXEC dup */
	int64_t id;		/* the kernel's eventfd-id, -1 if unknown */
	unsigned int refs;	/* registrations using it (writer lock) */
	struct rcu_head rcu;
};

struct iofd_efd_registry {
	void *root;		/* tsearch tree of struct iofd_efd * */
	unsigned long count;
};

/* What an fdinfo (/proc/.../fdinfo/N) says about an eventfd. */
struct iofd_efd_fdinfo {
	bool own_lines;		/* a line past the common ones was seen */
	bool eventfd;		/* the first of them is eventfd's own */
	int64_t id;		/* the last eventfd-id line's value, else -1 */
};

/* Start reading an fdinfo; then give it each line (without its '\n'). */
void iofd_efd_fdinfo_init(struct iofd_efd_fdinfo *info);
void iofd_efd_fdinfo_line(struct iofd_efd_fdinfo *info, const char *line);
/* Check that fd is an open eventfd and learn which object it is: 0, or
 * -EBADF / -EINVAL (the kernel's order) with the reason recorded. */
int iofd_efd_key(int fd, struct iofd_efd_key *key);
/* The registry's dup of key's eventfd object, or NULL. */
struct iofd_efd *iofd_efd_find(struct iofd_efd_registry *reg,
			       const struct iofd_efd_key *key);
/* Take a reference on key's eventfd object (dup'ing it if new): 0 or
 * -errno with the reason recorded. */
int iofd_efd_get(struct iofd_efd_registry *reg, const struct iofd_efd_key *key,
		 struct iofd_efd **out);
/* Drop a reference; the last one closes the dup after a grace period. */
void iofd_efd_put(struct iofd_efd_registry *reg, struct iofd_efd *efd);
/* Signal an eventfd (adds 1). Lock-free; safe in an RCU reader. */
void iofd_efd_signal(const struct iofd_efd *efd);

#endif /* IOFD_EVENTFD_H */
