/* SPDX-License-Identifier: BSD-3-Clause */
/* The controller object: set-up, defaults, errors, counters. */
#include <errno.h>
#include <string.h>

#include "nvme_ctrl.h"

void nvme_ctrl_init(struct nvme_ctrl *c, const struct nvme_config *cfg,
		    struct iofd_device *dev, struct nvme_ns *ns,
		    struct nvme_irq *irq, uint32_t *shadow,
		    unsigned nr_doorbells)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->dev = dev;
	c->ns = *ns;
	ns->fd = -1;
	c->irq = *irq;
	irq->nr = 0;
	c->shadow = shadow;
	c->nr_doorbells = nr_doorbells;
	for (unsigned i = 0; i < 2 * (NVME_MAX_IO_QUEUES + 1); i++)
		c->db_id[i] = -1;
	nvme_dbmode_init(&c->dbmode, -1);
	nvme_ctrl_features_default(c);
}

void nvme_ctrl_fini(struct nvme_ctrl *c)
{
	nvme_ns_close(&c->ns);
	nvme_irq_close(&c->irq);
}

void nvme_ctrl_features_default(struct nvme_ctrl *c)
{
	c->nsq = c->ncq = c->cfg.queues;
	c->arbitration = 0;
	c->power_state = 0;
	c->err_recovery = 0;
	c->irq_coalesce = 0;
	c->write_atomic = 0;
	c->async_config = 0;
	c->temp_over = 0x157;	/* 343 K (70 C): the usual over-temperature */
	c->temp_under = 0;
	c->write_cache = true;
	memset(c->irq_config, 0, sizeof(c->irq_config));
}

void nvme_ctrl_fatal(struct nvme_ctrl *c, const char *why)
{
	if (!(c->csts & NVME_CSTS_CFS))
		fprintf(stderr, "nvme-device: controller fatal status: %s\n", why);
	c->csts |= NVME_CSTS_CFS;
	c->fatal = true;
}

void nvme_ctrl_log_error(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid,
			 uint16_t status, uint16_t param)
{
	c->error_count++;
	c->error_sqid = sqid;
	c->error_cid = cid;
	c->error_status = status;
	c->error_param = param;
}

static const char *const admin_names[256] = {
	[0x00] = "delete_sq", [0x01] = "create_sq", [0x02] = "get_log_page",
	[0x04] = "delete_cq", [0x05] = "create_cq", [0x06] = "identify",
	[0x08] = "abort", [0x09] = "set_features", [0x0a] = "get_features",
	[0x0c] = "async_event", [0x7c] = "doorbell_buffer_config",
};
static const char *const io_names[256] = {
	[0x00] = "flush", [0x01] = "write", [0x02] = "read",
};

/* Named opcodes always, others when they were seen (as "other"). */
static void write_opcodes(FILE *f, const char *prefix, const uint64_t *count,
			  const char *const *names)
{
	uint64_t other = 0;

	for (unsigned op = 0; op < 256; op++) {
		if (names[op])
			fprintf(f, "%s_%s %llu\n", prefix, names[op],
				(unsigned long long)count[op]);
		else
			other += count[op];
	}
	fprintf(f, "%s_other %llu\n", prefix, (unsigned long long)other);
}

int nvme_ctrl_write_stats(const struct nvme_ctrl *c, FILE *f)
{
	const struct nvme_stats *s = &c->st;
	const struct { const char *key; uint64_t v; } kv[] = {
		{ "io_queues", c->cfg.queues },
		{ "vectors", c->irq.nr },
		{ "commands_failed", s->failed },
		{ "prp_list_commands", s->prp_list },
		{ "doorbell_sq_tail", s->sq_db },
		{ "doorbell_sq_tail_wakeups", s->sq_db_wakeups },
		{ "doorbell_cq_head", s->cq_db },
		{ "doorbell_cq_head_wakeups", s->cq_db_wakeups },
		{ "doorbell_invalid", s->invalid_db },
		{ "register_reads", s->reg_reads },
		{ "register_writes", s->reg_writes },
		{ "interrupts", c->irq.signals },
		{ "interrupt_failures", c->irq.failures },
		{ "bytes_read", s->bytes_read },
		{ "bytes_written", s->bytes_written },
		{ "enables", s->enables },
		{ "resets", s->resets },
		{ "shutdowns", s->shutdowns },
		{ "async_events", s->events },
		{ "namespace_io_errors", c->ns.io_errors },
		{ "controller_fatal", c->fatal },
		{ "intx", c->irq.intx },
		{ "intx_asserts", c->irq.asserts },
		{ "intx_eois", c->irq.eois },
		{ "intx_resample_reads", c->irq.resample_reads },
		{ "dbbuf", c->cfg.dbbuf },
		{ "dbbuf_configs", s->dbbuf_configs },
		{ "shadow_sq_tail", s->shadow_sq },
		{ "shadow_cq_head", s->shadow_cq },
		{ "event_index_writes", s->event_idx_writes },
		{ "doorbell_mode_requests", c->dbmode.requests },
		{ "doorbell_mode_answers", c->dbmode.answers },
		{ "doorbell_mode_refusals", c->dbmode.refusals },
		{ "doorbell_mode_wakeups", c->dbmode.mode == NVME_DBMODE_WAKEUPS },
		{ "doorbell_wakeups_only", s->wakeup_doorbells },
		{ "bad_cid_completions", s->bad_cid_completions },
		{ "commands_aborted", s->aborted },
	};

	write_opcodes(f, "admin", s->admin, admin_names);
	write_opcodes(f, "io", s->io, io_names);
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		fprintf(f, "%s %llu\n", kv[i].key, (unsigned long long)kv[i].v);
	return ferror(f) ? -EIO : 0;
}
