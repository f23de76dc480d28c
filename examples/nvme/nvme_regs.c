/* SPDX-License-Identifier: BSD-3-Clause */
/* The register file and the CC/CSTS state machine. */
#include <stdio.h>

#include "nvme_admin.h"
#include "nvme_fault.h"
#include "nvme_queue.h"
#include "nvme_regs.h"

uint64_t nvme_regs_cap(void)
{
	return (uint64_t)NVME_MQES << NVME_CAP_MQES_SHIFT | NVME_CAP_CQR |
	       (uint64_t)NVME_CAP_TO << NVME_CAP_TO_SHIFT | NVME_CAP_CSS_NVM;
	/* DSTRD 0, MPSMIN = MPSMAX = 0 (4 KiB), no NSSR, no CMB, no PMR */
}

static uint32_t reg_dword(const struct nvme_ctrl *c, uint64_t off)
{
	switch (off) {
	case NVME_REG_CAP: return (uint32_t)nvme_regs_cap();
	case NVME_REG_CAP + 4: return (uint32_t)(nvme_regs_cap() >> 32);
	case NVME_REG_VS: return NVME_VS_1_4;
	case NVME_REG_INTMS:
	case NVME_REG_INTMC: return (uint32_t)c->irq.mask;
	case NVME_REG_CC: return c->cc;
	case NVME_REG_CSTS: return c->csts;
	case NVME_REG_AQA: return c->aqa;
	case NVME_REG_ASQ: return (uint32_t)c->asq;
	case NVME_REG_ASQ + 4: return (uint32_t)(c->asq >> 32);
	case NVME_REG_ACQ: return (uint32_t)c->acq;
	case NVME_REG_ACQ + 4: return (uint32_t)(c->acq >> 32);
	default: return 0;	/* reserved, NSSR, CMBLOC, CMBSZ, ... */
	}
}

void nvme_regs_read(void *opaque, uint64_t user_data, uint64_t offset,
		    uint32_t size, uint64_t *data)
{
	struct nvme_ctrl *c = opaque;
	uint64_t v = 0;

	(void)user_data;
	c->st.reg_reads++;
	for (uint32_t i = 0; i < size && offset + i < NVME_REGS_SIZE; i++) {
		uint64_t at = offset + i;
		uint32_t byte = reg_dword(c, at & ~3ull) >> (8 * (at & 3));

		v |= (uint64_t)(byte & 0xff) << (8 * i);
	}
	*data = v;
}

/* ---- the state machine -------------------------------------------------- */

static void enable(struct nvme_ctrl *c)
{
	const char *why = NULL;

	c->st.enables++;
	nvme_queue_reset(c);	/* also: doorbells rung while disabled are void */
	if (NVME_CC_CSS(c->cc) != 0)
		why = "CC.CSS: only the NVM command set";
	else if (NVME_CC_MPS(c->cc) != 0)
		why = "CC.MPS: only 4 KiB pages";
	else if (NVME_CC_AMS(c->cc) != 0)
		why = "CC.AMS: only round robin";
	else if (nvme_queue_enable_admin(c, &why) == 0)
		c->csts |= NVME_CSTS_RDY;
	if (why)
		nvme_ctrl_fatal(c, why);
}

static void reset(struct nvme_ctrl *c)
{
	c->st.resets++;
	nvme_queue_reset(c);
	nvme_admin_reset(c);
	nvme_fault_reset(c);
	nvme_ctrl_features_default(c);
	nvme_irq_reset(&c->irq);
	c->csts = 0;
}

static void shutdown(struct nvme_ctrl *c)
{
	c->st.shutdowns++;
	nvme_ns_flush(&c->ns);	/* a failure is counted as an I/O error */
	c->csts = (c->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_DONE;
}

static void write_cc(struct nvme_ctrl *c, uint32_t v)
{
	uint32_t old = c->cc;

	c->cc = v & NVME_CC_WRITABLE;
	if (!(old & NVME_CC_EN) && (v & NVME_CC_EN))
		enable(c);
	else if ((old & NVME_CC_EN) && !(v & NVME_CC_EN))
		reset(c);
	if (!NVME_CC_SHN(old) && NVME_CC_SHN(v))
		shutdown(c);
	else if (NVME_CC_SHN(old) && !NVME_CC_SHN(v))
		c->csts &= ~NVME_CSTS_SHST_MASK;
}

/* A 64-bit register's half, while the controller is disabled. */
static void write_half(struct nvme_ctrl *c, uint64_t *reg, uint64_t off,
		       uint32_t v)
{
	if (c->cc & NVME_CC_EN)
		return;
	if (off & 4)
		*reg = (*reg & 0xffffffffull) | (uint64_t)v << 32;
	else
		*reg = (*reg & ~0xffffffffull) | v;
}

static void write_dword(struct nvme_ctrl *c, uint64_t off, uint32_t v)
{
	switch (off) {
	case NVME_REG_INTMS: nvme_irq_set_mask(&c->irq, v); break;
	case NVME_REG_INTMC:
		nvme_irq_clear_mask(&c->irq, v);
		if (c->irq.intx)	/* the line, if completions wait */
			nvme_queue_raise_irqs(c);
		break;
	case NVME_REG_CC: write_cc(c, v); break;
	case NVME_REG_AQA:
		if (!(c->cc & NVME_CC_EN))
			c->aqa = v & 0x0fff0fffu;
		break;
	case NVME_REG_ASQ:
	case NVME_REG_ASQ + 4: write_half(c, &c->asq, off, v); break;
	case NVME_REG_ACQ:
	case NVME_REG_ACQ + 4: write_half(c, &c->acq, off, v); break;
	default: break;		/* read-only or reserved */
	}
}

void nvme_regs_write(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t data)
{
	struct nvme_ctrl *c = opaque;

	(void)user_data;
	c->st.reg_writes++;
	if (size == 4 && !(offset & 3)) {
		write_dword(c, offset, (uint32_t)data);
	} else if (size == 8 && !(offset & 7)) {
		write_dword(c, offset, (uint32_t)data);
		write_dword(c, offset + 4, (uint32_t)(data >> 32));
	}
}
