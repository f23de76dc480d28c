/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The controller: its configuration, its state (registers, queues,
 * features, asynchronous events) and its counters. The other modules work
 * on this structure: nvme_regs (BAR0, the CC/CSTS state machine),
 * nvme_queue (rings and doorbells), nvme_admin, nvme_io, nvme_ns, nvme_irq.
 */
#ifndef NVME_CTRL_H
#define NVME_CTRL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <iofd/device.h>

#include "nvme_dbmode.h"
#include "nvme_defs.h"
#include "nvme_irq.h"
#include "nvme_ns.h"

#define NVME_MAX_IO_QUEUES	31	/* 2 * (31 + 1) doorbells fill a handoff */
#define NVME_MQES		1023	/* queue entries 2..1024 */
#define NVME_MDTS		7	/* 2^7 pages: 512 KiB per command */
#define NVME_MAX_XFER		((uint64_t)NVME_PAGE_SIZE << NVME_MDTS)
#define NVME_AERL		3	/* 4 Asynchronous Event Requests held */
#define NVME_MAX_EVENTS		8	/* events waiting for a request */
#define NVME_CAP_TO		20	/* 10 s: CSTS.RDY follows CC.EN at once */

struct nvme_config {
	unsigned queues;	/* I/O queue pairs: 1..NVME_MAX_IO_QUEUES */
	uint16_t vid, ssvid;	/* PCI vendor and subsystem vendor ids */
	char serial[21];	/* SN, 20 ASCII characters at most */
	bool intx;		/* INTx with EOI resample instead of MSI-X */
	bool dbbuf;		/* offer Doorbell Buffer Config (OACS bit 8) */
	bool bad_cid;		/* the bad-CID fault (nvme_fault.h) */
	uint64_t bad_cid_after;	/* I/O commands before it strikes */
};

/* The shadow doorbell and EventIdx buffers (Doorbell Buffer Config). */
struct nvme_dbbuf {
	bool on;		/* set since the last reset */
	uint64_t dbs_gpa, eis_gpa;	/* guest addresses, page aligned */
	uint32_t *dbs, *eis;	/* the device's mappings of the two pages */
};

/* A command executed whose completion the controller keeps back
 * (nvme_fault.h): only an Abort ends it, with Command Abort Requested. */
struct nvme_held {
	bool live;
	uint16_t sqid, cid;
};

/* The injected faults' state. */
struct nvme_fault {
	uint64_t io_seen;	/* I/O commands completed so far */
	bool bad_cid_done;	/* one per run */
	struct nvme_held held;
};

struct nvme_sq {
	bool live;
	uint16_t cqid;
	uint32_t size;		/* entries */
	uint32_t head, tail;	/* indices modulo size */
	uint64_t base;		/* guest address, page aligned */
	uint32_t shadow_bad;	/* last invalid shadow tail reported */
};

struct nvme_cq {
	bool live;
	bool ien;		/* interrupts enabled */
	bool irq_due;		/* completions posted since the last signal */
	uint16_t iv;		/* interrupt vector */
	uint8_t phase;		/* phase tag of the next entry posted */
	uint32_t size;
	uint32_t head, tail;
	uint32_t nr_sqs;	/* submission queues completing here */
	uint64_t base;
	uint32_t shadow_bad;	/* last invalid shadow head reported */
};

struct nvme_stats {
	uint64_t admin[256];	/* admin commands by opcode */
	uint64_t io[256];	/* I/O commands by opcode */
	uint64_t failed;	/* commands completed with an error status */
	uint64_t prp_list;	/* commands whose data needed a PRP list */
	uint64_t sq_db, sq_db_wakeups;	/* SQ tail doorbell writes, wake-ups */
	uint64_t cq_db, cq_db_wakeups;	/* CQ head doorbell writes, wake-ups */
	uint64_t invalid_db;	/* doorbell writes rejected */
	uint64_t reg_reads, reg_writes;
	uint64_t bytes_read, bytes_written;
	uint64_t enables, resets, shutdowns;
	uint64_t events;	/* asynchronous events completed */
	uint64_t dbbuf_configs;	/* Doorbell Buffer Configs that succeeded */
	uint64_t shadow_sq, shadow_cq;	/* new values taken from the shadow
					 * buffer that no MMIO doorbell
					 * announced ("shadow-only") */
	uint64_t event_idx_writes;	/* EventIdx entries published */
	uint64_t wakeup_doorbells;	/* MMIO doorbells of I/O queues that
					 * may have carried no value */
	uint64_t bad_cid_completions;	/* completions posted with a wrong CID */
	uint64_t aborted;	/* commands an Abort completed */
};

struct nvme_ctrl {
	struct iofd_device *dev;
	struct nvme_config cfg;
	struct nvme_ns ns;
	struct nvme_irq irq;
	uint32_t *shadow;	/* doorbell values (the shadow memfd), or NULL */
	unsigned nr_doorbells;
	int db_id[2 * (NVME_MAX_IO_QUEUES + 1)];	/* iofd doorbell ids */
	struct nvme_dbbuf dbbuf;
	struct nvme_dbmode dbmode;	/* what the I/O queues' MMIO doorbells carry */

	/* registers */
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;

	/* queues: index 0 is the admin pair */
	struct nvme_sq sq[NVME_MAX_IO_QUEUES + 1];
	struct nvme_cq cq[NVME_MAX_IO_QUEUES + 1];
	bool io_queue_created;	/* since the last reset */

	/* features (current values) */
	uint32_t nsq, ncq;	/* I/O queues allocated (1-based) */
	uint32_t arbitration, power_state, err_recovery, irq_coalesce;
	uint32_t write_atomic, async_config;
	uint16_t temp_over, temp_under;
	bool write_cache;
	uint32_t irq_config[NVME_IRQ_MAX_VECTORS];	/* CD bit per vector */

	/* asynchronous events */
	uint16_t aer_cid[NVME_AERL + 1];
	unsigned nr_aer;
	uint32_t event[NVME_MAX_EVENTS];	/* completion dword 0 of each */
	unsigned nr_events;
	uint32_t masked_types;	/* event types awaiting their log page read */

	/* the error information log (one entry) */
	uint64_t error_count;
	uint16_t error_sqid, error_cid, error_status, error_param;

	struct nvme_fault fault;
	bool fatal;		/* CSTS.CFS was set since the start */
	struct nvme_stats st;
};

/**
 * nvme_ctrl_init() - a disabled controller with @cfg over namespace @ns
 * (moved in; closed by nvme_ctrl_fini()), vectors @irq (moved in), DMA
 * through @dev (still the caller's). @shadow maps the @nr_doorbells
 * doorbell slots (4 bytes each, 8 apart), or is NULL. Doorbell modes are
 * not offered until nvme_dbmode_init() names the socket.
 */
void nvme_ctrl_init(struct nvme_ctrl *c, const struct nvme_config *cfg,
		    struct iofd_device *dev, struct nvme_ns *ns,
		    struct nvme_irq *irq, uint32_t *shadow,
		    unsigned nr_doorbells);

/** nvme_ctrl_fini() - close the namespace and the vector fds. */
void nvme_ctrl_fini(struct nvme_ctrl *c);

/**
 * nvme_ctrl_features_default() - every feature back to its default and
 * all I/O queues allocatable (power-on and controller reset).
 */
void nvme_ctrl_features_default(struct nvme_ctrl *c);

/**
 * nvme_ctrl_fatal() - set CSTS.CFS (first reason on stderr): the
 * controller stops fetching commands until the next reset.
 */
void nvme_ctrl_fatal(struct nvme_ctrl *c, const char *why);

/**
 * nvme_ctrl_log_error() - record an error in the error information log:
 * @sqid/@cid of the command (0xffff: none), @status, @param (the byte
 * offset of the bad field, 0xffff: none).
 */
void nvme_ctrl_log_error(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			 uint16_t status, uint16_t param);

/** nvme_ctrl_write_stats() - the counters as `key value` lines to @f.
 * Returns 0, or -EIO when the stream failed. */
int nvme_ctrl_write_stats(const struct nvme_ctrl *c, FILE *f);

#endif /* NVME_CTRL_H */
