/* SPDX-License-Identifier: BSD-3-Clause */
/* Admin commands and asynchronous events. */
#include <string.h>

#include "nvme_admin.h"
#include "nvme_dbbuf.h"
#include "nvme_fault.h"
#include "nvme_prp.h"

#define IDENTIFY_SIZE	4096u
#define MODEL		"iofd nvme-device"
#define FIRMWARE	"1.0"
#define NQN_PREFIX	"nqn.2026-01.org.iofd:nvme:"
#define NS_ID		1u	/* the one namespace */
#define NSID_ALL	0xffffffffu

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* An ASCII field padded with spaces, as Identify strings are. */
static void put_str(uint8_t *p, size_t field, const char *s)
{
	size_t n = strlen(s);

	memset(p, ' ', field);
	memcpy(p, s, n < field ? n : field);
}

/* Send @len bytes of @data to the host buffer of command @e. */
static uint16_t send_data(struct nvme_ctrl *c, const struct nvme_sqe *e,
			  const void *data, uint64_t len, uint64_t xfer)
{
	struct nvme_xfer x;
	uint16_t st = nvme_prp_map(c->dev, e->prp1, e->prp2, xfer, &x);

	if (x.used_list)
		c->st.prp_list++;
	if (!st)
		nvme_prp_copy_to_guest(&x, data, len < xfer ? len : xfer);
	return st;
}

/* ---- Identify ---------------------------------------------------------- */

/* A stable NGUID: FNV-1a of the serial number, never all zero. */
static void nguid(const struct nvme_ctrl *c, uint8_t out[16])
{
	uint64_t h[2] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };

	for (int k = 0; k < 2; k++) {
		for (const char *s = c->cfg.serial; *s; s++)
			h[k] = (h[k] ^ (uint8_t)*s) * 0x100000001b3ull;
		h[k] = (h[k] ^ (uint64_t)(k + NS_ID)) * 0x100000001b3ull;
	}
	h[1] |= 1;
	memcpy(out, h, 16);
}

static void identify_ctrl(const struct nvme_ctrl *c, uint8_t *d)
{
	put16(d + 0, c->cfg.vid);
	put16(d + 2, c->cfg.ssvid);
	put_str(d + 4, 20, c->cfg.serial);
	put_str(d + 24, 40, MODEL);
	put_str(d + 64, 8, FIRMWARE);
	d[77] = NVME_MDTS;
	put16(d + 78, 1);			/* CNTLID */
	put32(d + 80, NVME_VS_1_4);
	d[111] = 1;				/* CNTRLTYPE: I/O controller */
	/* OACS: Doorbell Buffer Config only when asked for (--dbbuf) */
	put16(d + 256, c->cfg.dbbuf ? NVME_OACS_DBBUF : 0);
	d[258] = 3;				/* ACL: 4 Aborts */
	d[259] = NVME_AERL;
	d[260] = 0x03;				/* FRMW: 1 slot, read only */
	d[261] = 0x04;				/* LPA: extended Get Log Page */
	d[512] = (NVME_SQES << 4) | NVME_SQES;	/* SQES 0x66 */
	d[513] = (NVME_CQES << 4) | NVME_CQES;	/* CQES 0x44 */
	put32(d + 516, 1);			/* NN */
	/* ONCS 0: Read, Write, Flush only; SGLS 0: PRPs only */
	d[525] = 0x07;		/* VWC present; Flush of all namespaces */
	{
		char nqn[256];

		snprintf(nqn, sizeof(nqn), "%s%s", NQN_PREFIX, c->cfg.serial);
		memcpy(d + 768, nqn, strlen(nqn));
	}
}

/* NSID_ALL: the capabilities common to all namespaces (no sizes). */
static void identify_ns(const struct nvme_ctrl *c, uint32_t nsid, uint8_t *d)
{
	if (nsid == NS_ID) {
		put64(d + 0, c->ns.nlb);		/* NSZE */
		put64(d + 8, c->ns.nlb);		/* NCAP */
		put64(d + 16, c->ns.nlb);		/* NUSE */
		put64(d + 48, c->ns.nlb << c->ns.lba_shift);	/* NVMCAP */
		nguid(c, d + 104);
	}
	d[25] = 0;				/* NLBAF: one format */
	d[26] = 0;				/* FLBAS: format 0, no metadata */
	d[128 + 2] = (uint8_t)c->ns.lba_shift;	/* LBAF0.LBADS */
}

static void identify_active_list(uint32_t nsid, uint8_t *d)
{
	if (nsid < NS_ID)
		put32(d, NS_ID);
}

static void identify_descriptors(const struct nvme_ctrl *c, uint8_t *d)
{
	d[0] = 2;		/* NIDT: NGUID */
	d[1] = 16;		/* NIDL */
	nguid(c, d + 4);
}

static uint16_t identify(struct nvme_ctrl *c, const struct nvme_sqe *e)
{
	uint8_t d[IDENTIFY_SIZE];
	uint8_t cns = e->cdw10 & 0xff, csi = e->cdw11 >> 24;

	memset(d, 0, sizeof(d));
	switch (cns) {
	case NVME_CNS_NS:
		if (e->nsid != NS_ID && e->nsid != NSID_ALL)
			return (NVME_SC_INVALID_NS | NVME_DNR);
		identify_ns(c, e->nsid, d);
		break;
	case NVME_CNS_CTRL:
		identify_ctrl(c, d);
		break;
	case NVME_CNS_NS_ACTIVE_LIST:
		if (e->nsid >= 0xfffffffeu)
			return (NVME_SC_INVALID_NS | NVME_DNR);
		identify_active_list(e->nsid, d);
		break;
	case NVME_CNS_NS_DESC_LIST:
		if (e->nsid != NS_ID)
			return (NVME_SC_INVALID_NS | NVME_DNR);
		identify_descriptors(c, d);
		break;
	case NVME_CNS_CS_CTRL:
		/* The NVM command set's controller data: no limits to state. */
		if (csi != 0)
			return (NVME_SC_INVALID_FIELD | NVME_DNR);
		break;
	default:
		return (NVME_SC_INVALID_FIELD | NVME_DNR);
	}
	return send_data(c, e, d, sizeof(d), sizeof(d));
}

/* ---- Get Log Page ----------------------------------------------------- */

/* 16-byte counter (the low 8 bytes are enough here). */
static void put128(uint8_t *p, uint64_t v)
{
	put64(p, v);
	put64(p + 8, 0);
}

static uint64_t data_units(uint64_t bytes)
{
	return (bytes / 512 + 999) / 1000;	/* thousands of 512 B, rounded up */
}

/* Build log page @lid into @d; its size, or 0 for a log not supported. */
static size_t build_log(const struct nvme_ctrl *c, uint8_t lid, uint8_t *d)
{
	switch (lid) {
	case NVME_LOG_ERROR:	/* one entry (ELPE 0) */
		if (c->error_count) {
			put64(d + 0, c->error_count);
			put16(d + 8, c->error_sqid);
			put16(d + 10, c->error_cid);
			put16(d + 12, (uint16_t)(c->error_status << 1));
			put16(d + 14, c->error_param);
		}
		return 64;
	case NVME_LOG_SMART:
		put128(d + 32, data_units(c->st.bytes_read));
		put128(d + 48, data_units(c->st.bytes_written));
		put128(d + 64, c->st.io[NVME_IO_READ]);
		put128(d + 80, c->st.io[NVME_IO_WRITE]);
		put128(d + 112, 1);		/* power cycles: this run */
		put128(d + 176, c->error_count);	/* error log entries */
		return 512;
	case NVME_LOG_FW_SLOT:
		d[0] = 1;			/* AFI: slot 1 active */
		put_str(d + 8, 8, FIRMWARE);
		return 512;
	default:
		return 0;
	}
}

/* The event type a log page read unmasks. */
static int event_type_of_log(uint8_t lid)
{
	return lid == NVME_LOG_ERROR ? 0 : lid == NVME_LOG_SMART ? 1 :
	       lid == NVME_LOG_FW_SLOT ? 2 : -1;
}

static uint16_t get_log_page(struct nvme_ctrl *c, const struct nvme_sqe *e)
{
	uint8_t lid = e->cdw10 & 0xff, d[512];
	bool rae = e->cdw10 & (1u << 15);
	uint64_t numd = ((uint64_t)(e->cdw11 & 0xffff) << 16 | e->cdw10 >> 16) + 1;
	uint64_t off = (uint64_t)e->cdw13 << 32 | e->cdw12, len = numd * 4;
	size_t size;
	uint16_t st;

	memset(d, 0, sizeof(d));
	size = build_log(c, lid, d);
	if (!size)
		return (NVME_SC_INVALID_LOG_PAGE | NVME_DNR);
	if (e->nsid != 0 && e->nsid != NS_ID && e->nsid != NSID_ALL)
		return (NVME_SC_INVALID_FIELD | NVME_DNR);
	if ((off & 3) || off >= size || len > NVME_MAX_XFER)
		return (NVME_SC_INVALID_FIELD | NVME_DNR);
	st = send_data(c, e, d + off, size - off, len);
	if (!st && !rae && event_type_of_log(lid) >= 0)
		c->masked_types &= ~(1u << event_type_of_log(lid));
	return st;
}

/* ---- Features --------------------------------------------------------- */

static uint16_t set_num_queues(struct nvme_ctrl *c, uint32_t dw11, uint32_t *dw0)
{
	uint32_t nsqr = (dw11 & 0xffff) + 1, ncqr = (dw11 >> 16) + 1;

	if (nsqr > 0xffff || ncqr > 0xffff)	/* 0xffff: 65536 queues */
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	if (c->io_queue_created)
		return NVME_SC_CMD_SEQ_ERROR | NVME_DNR;
	c->nsq = nsqr < c->cfg.queues ? nsqr : c->cfg.queues;
	c->ncq = ncqr < c->cfg.queues ? ncqr : c->cfg.queues;
	*dw0 = (c->nsq - 1) | (c->ncq - 1) << 16;
	return NVME_SC_SUCCESS;
}

/* The temperature threshold selected by @dw11, or NULL if none. */
static uint16_t *temp_threshold(struct nvme_ctrl *c, uint32_t dw11)
{
	uint32_t tmpsel = (dw11 >> 16) & 0xf, thsel = (dw11 >> 20) & 0x3;

	if (tmpsel != 0 || thsel > 1)	/* composite temperature only */
		return NULL;
	return thsel ? &c->temp_under : &c->temp_over;
}

static uint16_t set_feature(struct nvme_ctrl *c, uint8_t fid, uint32_t v,
			    uint32_t *dw0)
{
	uint16_t *t;

	switch (fid) {
	case NVME_FEAT_ARBITRATION: c->arbitration = v; break;
	case NVME_FEAT_POWER_MGMT:
		if (v & 0x1f)		/* one power state (NPSS 0) */
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		c->power_state = v & 0xff;
		break;
	case NVME_FEAT_TEMP_THRESH:
		t = temp_threshold(c, v);
		if (!t)
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		*t = (uint16_t)v;
		break;
	case NVME_FEAT_ERR_RECOVERY:
		if (v & (1u << 16))	/* DULBE: no deallocated blocks */
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		c->err_recovery = v & 0xffff;
		break;
	case NVME_FEAT_VOLATILE_WC: c->write_cache = v & 1; break;
	case NVME_FEAT_NUM_QUEUES: return set_num_queues(c, v, dw0);
	case NVME_FEAT_IRQ_COALESCE: c->irq_coalesce = v & 0xffff; break;
	case NVME_FEAT_IRQ_CONFIG:
		if ((v & 0xffff) >= c->irq.nr || ((v & 0xffff) == 0 && (v >> 16 & 1)))
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		c->irq_config[v & 0xffff] = v & (1u << 16);
		break;
	case NVME_FEAT_WRITE_ATOMIC: c->write_atomic = v & 1; break;
	case NVME_FEAT_ASYNC_EVENT: c->async_config = v; break;
	default:	/* Timestamp and the rest: not supported */
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	}
	return NVME_SC_SUCCESS;
}

static uint16_t get_feature(struct nvme_ctrl *c, uint8_t fid, uint32_t dw11,
			    uint32_t *dw0)
{
	uint16_t *t;

	switch (fid) {
	case NVME_FEAT_ARBITRATION: *dw0 = c->arbitration; break;
	case NVME_FEAT_POWER_MGMT: *dw0 = c->power_state; break;
	case NVME_FEAT_TEMP_THRESH:
		t = temp_threshold(c, dw11);
		if (!t)
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		*dw0 = *t;
		break;
	case NVME_FEAT_ERR_RECOVERY: *dw0 = c->err_recovery; break;
	case NVME_FEAT_VOLATILE_WC: *dw0 = c->write_cache; break;
	case NVME_FEAT_NUM_QUEUES: *dw0 = (c->nsq - 1) | (c->ncq - 1) << 16; break;
	case NVME_FEAT_IRQ_COALESCE: *dw0 = c->irq_coalesce; break;
	case NVME_FEAT_IRQ_CONFIG:
		if ((dw11 & 0xffff) >= c->irq.nr)
			return NVME_SC_INVALID_FIELD | NVME_DNR;
		*dw0 = (dw11 & 0xffff) | c->irq_config[dw11 & 0xffff];
		break;
	case NVME_FEAT_WRITE_ATOMIC: *dw0 = c->write_atomic; break;
	case NVME_FEAT_ASYNC_EVENT: *dw0 = c->async_config; break;
	default:
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	}
	return NVME_SC_SUCCESS;
}

static uint16_t set_features(struct nvme_ctrl *c, const struct nvme_sqe *e,
			 struct nvme_result *r)
{
	if (e->cdw10 & (1u << 31))	/* SV: nothing is saveable */
		return (NVME_SC_FEATURE_NOT_SAVEABLE | NVME_DNR);
	return set_feature(c, e->cdw10 & 0xff, e->cdw11, &r->dw0);
}

/* SEL (current, default, saved, capabilities) is not supported (ONCS
 * bit 4 clear): every Get Features reports the current value. */
static uint16_t get_features(struct nvme_ctrl *c, const struct nvme_sqe *e,
			 struct nvme_result *r)
{
	return get_feature(c, e->cdw10 & 0xff, e->cdw11, &r->dw0);
}

/* ---- queues ------------------------------------------------------------ */

static uint16_t create_cq(struct nvme_ctrl *c, const struct nvme_sqe *e)
{
	if (!(e->cdw11 & 1))	/* PC: CAP.CQR asks for contiguous queues */
		return (NVME_SC_INVALID_FIELD | NVME_DNR);
	return nvme_queue_create_cq(c, e->cdw10 & 0xffff, (e->cdw10 >> 16) + 1,
					 e->prp1, e->cdw11 & 2, e->cdw11 >> 16);
}

static uint16_t create_sq(struct nvme_ctrl *c, const struct nvme_sqe *e)
{
	if (!(e->cdw11 & 1))
		return (NVME_SC_INVALID_FIELD | NVME_DNR);
	return nvme_queue_create_sq(c, e->cdw10 & 0xffff, (e->cdw10 >> 16) + 1,
					 e->prp1, e->cdw11 >> 16);
}

/* A held command goes with its SQ. */
static uint16_t delete_sq(struct nvme_ctrl *c, uint32_t qid)
{
	uint16_t st = nvme_queue_delete_sq(c, qid);

	if (st == NVME_SC_SUCCESS)
		nvme_fault_sq_deleted(c, (uint16_t)qid);
	return st;
}

/* ---- asynchronous events ------------------------------------------------ */

static uint16_t async_event_request(struct nvme_ctrl *c, const struct nvme_sqe *e,
				struct nvme_result *r)
{
	if (c->nr_aer > NVME_AERL)
		return (NVME_SC_AER_LIMIT | NVME_DNR);
	c->aer_cid[c->nr_aer++] = e->cid;
	r->held = true;
	return NVME_SC_SUCCESS;
}

void nvme_admin_post_event(struct nvme_ctrl *c, uint8_t type, uint8_t info,
			   uint8_t log)
{
	uint32_t dw0 = (uint32_t)(type & 7) | (uint32_t)info << 8 | (uint32_t)log << 16;

	for (unsigned i = 0; i < c->nr_events; i++)
		if (c->event[i] == dw0)
			return;		/* already waiting */
	if (c->nr_events == NVME_MAX_EVENTS)
		return;
	c->event[c->nr_events++] = dw0;
	nvme_admin_deliver_events(c);
}

void nvme_admin_deliver_events(struct nvme_ctrl *c)
{
	unsigned i = 0;

	while (i < c->nr_events && c->nr_aer) {
		uint32_t type = c->event[i] & 7;

		if (c->masked_types & (1u << type)) {
			i++;
			continue;
		}
		if (nvme_queue_post(c, 0, 0, c->aer_cid[0], c->event[i], 0))
			return;		/* admin CQ full: later */
		memmove(c->aer_cid, c->aer_cid + 1, --c->nr_aer * sizeof(c->aer_cid[0]));
		memmove(c->event + i, c->event + i + 1,
			(--c->nr_events - i) * sizeof(c->event[0]));
		c->masked_types |= 1u << type;
		c->st.events++;
	}
}

void nvme_admin_reset(struct nvme_ctrl *c)
{
	c->nr_aer = 0;
	c->nr_events = 0;
	c->masked_types = 0;
}

/* ---- dispatch ---------------------------------------------------------- */

static bool cid_held(const struct nvme_ctrl *c, uint16_t cid)
{
	for (unsigned i = 0; i < c->nr_aer; i++)
		if (c->aer_cid[i] == cid)
			return true;
	return false;
}

static uint16_t dispatch(struct nvme_ctrl *c, const struct nvme_sqe *e,
			 struct nvme_result *r)
{
	if (cid_held(c, e->cid))
		return NVME_SC_CID_CONFLICT | NVME_DNR;
	if (e->flags)		/* fused operations, SGLs: not supported */
		return NVME_SC_INVALID_FIELD | NVME_DNR;
	switch (e->opcode) {
	case NVME_ADMIN_DELETE_SQ: return delete_sq(c, e->cdw10 & 0xffff);
	case NVME_ADMIN_CREATE_SQ: return create_sq(c, e);
	case NVME_ADMIN_GET_LOG_PAGE: return get_log_page(c, e);
	case NVME_ADMIN_DELETE_CQ: return nvme_queue_delete_cq(c, e->cdw10 & 0xffff);
	case NVME_ADMIN_CREATE_CQ: return create_cq(c, e);
	case NVME_ADMIN_IDENTIFY: return identify(c, e);
	case NVME_ADMIN_ABORT:
		/* Commands complete as they are fetched: only a held one
		 * can be aborted (cdw10: SQID 15:0, CID 31:16). */
		return nvme_fault_abort(c, e->cdw10 & 0xffff, e->cdw10 >> 16, &r->dw0);
	case NVME_ADMIN_SET_FEATURES: return set_features(c, e, r);
	case NVME_ADMIN_GET_FEATURES: return get_features(c, e, r);
	case NVME_ADMIN_ASYNC_EVENT: return async_event_request(c, e, r);
	case NVME_ADMIN_DBBUF_CONFIG:
		if (!c->cfg.dbbuf)
			return NVME_SC_INVALID_OPCODE | NVME_DNR;
		return nvme_dbbuf_config(c, e->prp1, e->prp2);
	default: return NVME_SC_INVALID_OPCODE | NVME_DNR;
	}
}

void nvme_admin_exec(struct nvme_ctrl *c, const struct nvme_sqe *e,
		     struct nvme_result *r)
{
	r->status = dispatch(c, e, r);
}
