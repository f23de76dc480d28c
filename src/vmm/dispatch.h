/* SPDX-License-Identifier: BSD-3-Clause */
/* The hot path: lookup, match, serve; and the dispatch of a vCPU exit. */
#ifndef IOFD_DISPATCH_H
#define IOFD_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "iofd/iofd.h"

struct iofd_vcpu;

/* iofd_access() on behalf of vcpu (NULL: no vCPU, nothing can pend). */
int iofd_access_from(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
		     enum iofd_bus bus, uint64_t addr, uint32_t len,
		     bool is_write, void *data, struct iofd_exit *info);

#endif /* IOFD_DISPATCH_H */
