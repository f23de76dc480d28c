/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe 1.4 definitions the controller uses: register offsets and fields,
 * queue entry layouts, opcodes and status codes. Constants only.
 */
#ifndef NVME_DEFS_H
#define NVME_DEFS_H

#include <stdint.h>

/*
 * Fences order the controller's accesses to memory it shares with the guest
 * (and, in the test, with the driver it plays). ThreadSanitizer does not
 * model fences (GCC refuses them under -fsanitize=thread) and cannot see
 * the guest anyway: its build leaves them out.
 */
#if defined(__SANITIZE_THREAD__)
#define nvme_fence(order) ((void)(order))
#else
#define nvme_fence(order) __atomic_thread_fence(order)
#endif

/* ---- BAR0 layout --------------------------------------------------------- */

#define NVME_REGS_SIZE		0x1000u	/* the register file (an ioregion) */
#define NVME_DB_OFFSET		0x1000u	/* first doorbell, DSTRD = 0 */
#define NVME_PAGE_SHIFT		12	/* CAP.MPSMIN = MPSMAX = 0: 4 KiB */
#define NVME_PAGE_SIZE		(1u << NVME_PAGE_SHIFT)

#define NVME_REG_CAP		0x00	/* 8, RO */
#define NVME_REG_VS		0x08	/* 4, RO */
#define NVME_REG_INTMS		0x0c	/* 4, write 1 to mask a vector */
#define NVME_REG_INTMC		0x10	/* 4, write 1 to unmask a vector */
#define NVME_REG_CC		0x14	/* 4 */
#define NVME_REG_CSTS		0x1c	/* 4, RO */
#define NVME_REG_NSSR		0x20	/* 4: subsystem reset, not supported */
#define NVME_REG_AQA		0x24	/* 4 */
#define NVME_REG_ASQ		0x28	/* 8 */
#define NVME_REG_ACQ		0x30	/* 8 */
#define NVME_REG_CMBLOC		0x38	/* 4: 0, no controller memory buffer */
#define NVME_REG_CMBSZ		0x3c	/* 4: 0 */

#define NVME_OACS_DBBUF		(1u << 8)	/* Doorbell Buffer Config */

/* CAP fields */
#define NVME_CAP_MQES_SHIFT	0	/* max queue entries, 0-based */
#define NVME_CAP_CQR		(1ull << 16)	/* contiguous queues required */
#define NVME_CAP_TO_SHIFT	24	/* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD_SHIFT	32
#define NVME_CAP_CSS_NVM	(1ull << 37)	/* NVM command set */
#define NVME_CAP_MPSMIN_SHIFT	48
#define NVME_CAP_MPSMAX_SHIFT	52

#define NVME_VS_1_4		0x00010400u

/* CC fields */
#define NVME_CC_EN		(1u << 0)
#define NVME_CC_CSS(cc)		(((cc) >> 4) & 0x7)
#define NVME_CC_MPS(cc)		(((cc) >> 7) & 0xf)
#define NVME_CC_AMS(cc)		(((cc) >> 11) & 0x7)
#define NVME_CC_SHN(cc)		(((cc) >> 14) & 0x3)
#define NVME_CC_IOSQES(cc)	(((cc) >> 16) & 0xf)
#define NVME_CC_IOCQES(cc)	(((cc) >> 20) & 0xf)
#define NVME_CC_WRITABLE	0x00fffff1u	/* EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES */

/* CSTS fields */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)
#define NVME_CSTS_SHST_MASK	(3u << 2)
#define NVME_CSTS_SHST_DONE	(2u << 2)

/* ---- queue entries ------------------------------------------------------- */

#define NVME_SQES		6	/* 64-byte submission entries */
#define NVME_CQES		4	/* 16-byte completion entries */
#define NVME_SQE_SIZE		(1u << NVME_SQES)
#define NVME_CQE_SIZE		(1u << NVME_CQES)

/* A submission queue entry, as 16 little-endian dwords (x86 only). */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* bits 1:0 FUSE, bits 7:6 PSDT */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0;		/* command specific */
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* bit 0 phase, bits 15:1 the status field */
};

_Static_assert(sizeof(struct nvme_sqe) == NVME_SQE_SIZE, "SQE layout");
_Static_assert(sizeof(struct nvme_cqe) == NVME_CQE_SIZE, "CQE layout");

/* ---- opcodes ------------------------------------------------------------- */

enum nvme_admin_opcode {
	NVME_ADMIN_DELETE_SQ = 0x00,
	NVME_ADMIN_CREATE_SQ = 0x01,
	NVME_ADMIN_GET_LOG_PAGE = 0x02,
	NVME_ADMIN_DELETE_CQ = 0x04,
	NVME_ADMIN_CREATE_CQ = 0x05,
	NVME_ADMIN_IDENTIFY = 0x06,
	NVME_ADMIN_ABORT = 0x08,
	NVME_ADMIN_SET_FEATURES = 0x09,
	NVME_ADMIN_GET_FEATURES = 0x0a,
	NVME_ADMIN_ASYNC_EVENT = 0x0c,
	NVME_ADMIN_DBBUF_CONFIG = 0x7c,	/* Doorbell Buffer Config (1.3) */
};

enum nvme_io_opcode {
	NVME_IO_FLUSH = 0x00,
	NVME_IO_WRITE = 0x01,
	NVME_IO_READ = 0x02,
};

/* Feature identifiers */
enum nvme_feature {
	NVME_FEAT_ARBITRATION = 0x01,
	NVME_FEAT_POWER_MGMT = 0x02,
	NVME_FEAT_TEMP_THRESH = 0x04,
	NVME_FEAT_ERR_RECOVERY = 0x05,
	NVME_FEAT_VOLATILE_WC = 0x06,
	NVME_FEAT_NUM_QUEUES = 0x07,
	NVME_FEAT_IRQ_COALESCE = 0x08,
	NVME_FEAT_IRQ_CONFIG = 0x09,
	NVME_FEAT_WRITE_ATOMIC = 0x0a,
	NVME_FEAT_ASYNC_EVENT = 0x0b,
	NVME_FEAT_TIMESTAMP = 0x0e,
};

/* Identify CNS values */
enum nvme_cns {
	NVME_CNS_NS = 0x00,
	NVME_CNS_CTRL = 0x01,
	NVME_CNS_NS_ACTIVE_LIST = 0x02,
	NVME_CNS_NS_DESC_LIST = 0x03,
	NVME_CNS_CS_CTRL = 0x06,
};

/* Log page identifiers */
enum nvme_log {
	NVME_LOG_ERROR = 0x01,
	NVME_LOG_SMART = 0x02,
	NVME_LOG_FW_SLOT = 0x03,
};

/* ---- status -------------------------------------------------------------- */

/*
 * A status field (CQE dword 3 bits 31:17, shifted down by 17): bits 7:0
 * the status code, bits 10:8 the status code type, bit 14 Do Not Retry.
 */
#define NVME_SCT_GENERIC	0
#define NVME_SCT_CMD		1
#define NVME_STATUS(sct, sc)	((uint16_t)(((sct) << 8) | (sc)))
#define NVME_DNR		0x4000u

#define NVME_SC_SUCCESS			NVME_STATUS(0, 0x00)
#define NVME_SC_INVALID_OPCODE		NVME_STATUS(0, 0x01)
#define NVME_SC_INVALID_FIELD		NVME_STATUS(0, 0x02)
#define NVME_SC_CID_CONFLICT		NVME_STATUS(0, 0x03)
#define NVME_SC_DATA_XFER_ERROR		NVME_STATUS(0, 0x04)
#define NVME_SC_INTERNAL		NVME_STATUS(0, 0x06)
#define NVME_SC_ABORT_REQ		NVME_STATUS(0, 0x07)	/* Command Abort Requested */
#define NVME_SC_INVALID_NS		NVME_STATUS(0, 0x0b)
#define NVME_SC_CMD_SEQ_ERROR		NVME_STATUS(0, 0x0c)
#define NVME_SC_PRP_OFFSET_INVALID	NVME_STATUS(0, 0x13)
#define NVME_SC_LBA_RANGE		NVME_STATUS(0, 0x80)
#define NVME_SC_CQ_INVALID		NVME_STATUS(1, 0x00)
#define NVME_SC_QID_INVALID		NVME_STATUS(1, 0x01)
#define NVME_SC_QUEUE_SIZE		NVME_STATUS(1, 0x02)
#define NVME_SC_AER_LIMIT		NVME_STATUS(1, 0x05)
#define NVME_SC_INVALID_VECTOR		NVME_STATUS(1, 0x08)
#define NVME_SC_INVALID_LOG_PAGE	NVME_STATUS(1, 0x09)
#define NVME_SC_INVALID_QUEUE_DELETION	NVME_STATUS(1, 0x0c)
#define NVME_SC_FEATURE_NOT_SAVEABLE	NVME_STATUS(1, 0x0d)

/* Asynchronous event: type Error status, and its information codes. */
#define NVME_AER_TYPE_ERROR		0
#define NVME_AER_INFO_INVALID_DB_REG	0x00	/* no such doorbell */
#define NVME_AER_INFO_INVALID_DB_VALUE	0x01	/* a value out of bounds */

#endif /* NVME_DEFS_H */
