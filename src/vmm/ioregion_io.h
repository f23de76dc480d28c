/* SPDX-License-Identifier: BSD-3-Clause */
/* Serving an ioregion access: the state of one access in progress. */
#ifndef IOFD_IOREGION_IO_H
#define IOFD_IOREGION_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ioregion.h"

struct iofd_vcpu;

enum iofd_req_stage {
	IOFD_REQ_LOCK = 0,	/* waiting for the channel: nothing sent yet */
	IOFD_REQ_SEND = 1,	/* channel held; sending the command */
	IOFD_REQ_RECV = 2,	/* command sent; waiting for the reply */
};

/* One ioregion access; kept in the vCPU's pending slot while it pends. */
struct iofd_ioreq {
	struct iofd_region *region;	/* reference held; NULL: none */
	enum iofd_req_stage stage;
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	bool want_resp;
	void *data;			/* the access's bytes (in kvm_run) */
	struct iofd_ioregionfd_cmd cmd;
	size_t sent;
	struct iofd_ioregionfd_resp resp;
	size_t got;
	uint32_t timeout_ms;
	struct timespec deadline;	/* CLOCK_MONOTONIC; unused if forever */
};

/* Serve an access that region r (reference given) claimed; the reference
 * is consumed. vcpu may be NULL (iofd_access). Returns an iofd_status. */
int iofd_ioregion_serve(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
			struct iofd_region *r, enum iofd_bus bus, uint64_t addr,
			uint32_t len, bool is_write, void *data,
			struct iofd_exit *info);
/* Continue the vCPU's pending access kept in state (its pending slot).
 * Returns an iofd_status. */
int iofd_ioregion_resume(struct iofd_vcpu *vcpu, void *state,
			 struct iofd_exit *info);
/* Give up the pending access kept in state (vCPU destroyed). */
void iofd_ioregion_cancel(void *state);

#endif /* IOFD_IOREGION_IO_H */
