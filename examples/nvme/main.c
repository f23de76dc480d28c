/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme-device: an NVMe 1.4 controller in a process of its own, serving a
 * VMM's guest through the file descriptors the iofd handoff gives it.
 *
 *   nvme-device --queues Q --size BYTES [--backing FILE] [--lba-size N]
 *               [--serial SN] [--vid ID] [--ssvid ID] [--intx] [--dbbuf]
 *               [--bad-cid-after N] [--stats FILE]
 *
 * Started by the VMM with iofd_handoff_spawn(): the handoff socket is
 * inherited (IOFD_HANDOFF_FD). The HELLO brings guest RAM, BAR0's
 * register file as an ioregion and the 2 * (Q + 1) doorbells (SQ y tail,
 * CQ y head, y = 0..Q) as post-write eventfds; the REPLY carries the
 * shadow memfd; a last packet brings the MSI-X vector eventfds, or with
 * --intx the INTx trigger and resample eventfds (nvme_irq.h). --dbbuf
 * offers Doorbell Buffer Config (nvme_dbbuf.h). --bad-cid-after N posts
 * the completion of the I/O command after the first N with a wrong
 * command id and holds the command until an Abort (nvme_fault.h). The
 * device then serves until the VMM closes the socket or the region. Exit status: 0, 1 on a failure (bad handoff, a VMM that
 * broke the protocol, namespace I/O errors), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iofd/device.h>
#include <iofd/handoff.h>

#include "nvme_ctrl.h"
#include "nvme_dbbuf.h"
#include "nvme_queue.h"
#include "nvme_regs.h"

#define HANDOFF_TIMEOUT_MS	10000
#define RUN_BUDGET		64	/* commands per SQ between polls */

struct options {
	struct nvme_config cfg;
	uint64_t size;
	unsigned lba_size;
	const char *backing, *stats;
};

struct doorbell_ctx {
	struct nvme_ctrl *c;
	uint16_t qid;
	bool cq;		/* CQ head (else SQ tail) */
};

struct device {
	struct nvme_ctrl ctrl;
	struct iofd_device *dev;
	int region;		/* id of BAR0's register region */
	uint32_t *shadow;
	size_t shadow_size;
	struct doorbell_ctx db[IOFD_HANDOFF_MAX_DOORBELLS];
	int db_id[IOFD_HANDOFF_MAX_DOORBELLS];	/* iofd's ids */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- options --------------------------------------------------------------- */

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s --queues Q (1..%d) --size BYTES [--backing FILE] "
		"[--lba-size 512|4096] [--serial SN] [--vid ID] [--ssvid ID] "
		"[--intx] [--dbbuf] [--bad-cid-after N] [--stats FILE]\n", prog,
		NVME_MAX_IO_QUEUES);
	return 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 's' },
		{ "backing", required_argument, NULL, 'b' },
		{ "lba-size", required_argument, NULL, 'l' },
		{ "serial", required_argument, NULL, 'n' },
		{ "vid", required_argument, NULL, 'v' },
		{ "ssvid", required_argument, NULL, 'V' },
		{ "stats", required_argument, NULL, 'S' },
		{ "intx", no_argument, NULL, 'i' },
		{ "dbbuf", no_argument, NULL, 'd' },
		{ "bad-cid-after", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int opt;

	*o = (struct options){ .lba_size = 512,
			       .cfg = { .vid = 0, .ssvid = 0, .serial = "iofd-nvme-0001" } };
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'q':
			if (parse_u64(optarg, NVME_MAX_IO_QUEUES, &v) || v == 0)
				return -1;
			o->cfg.queues = (unsigned)v;
			break;
		case 's':
			if (parse_u64(optarg, UINT64_MAX, &o->size))
				return -1;
			break;
		case 'b': o->backing = optarg; break;
		case 'l':
			if (parse_u64(optarg, 4096, &v))
				return -1;
			o->lba_size = (unsigned)v;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > 20)
				return -1;
			snprintf(o->cfg.serial, sizeof(o->cfg.serial), "%s", optarg);
			break;
		case 'v':
		case 'V':
			if (parse_u64(optarg, 0xffff, &v))
				return -1;
			*(opt == 'v' ? &o->cfg.vid : &o->cfg.ssvid) = (uint16_t)v;
			break;
		case 'S': o->stats = optarg; break;
		case 'i': o->cfg.intx = true; break;
		case 'd': o->cfg.dbbuf = true; break;
		case 'c':
			if (parse_u64(optarg, UINT64_MAX, &o->cfg.bad_cid_after))
				return -1;
			o->cfg.bad_cid = true;
			break;
		default: return -1;
		}
	}
	if (optind != argc || !o->cfg.queues || (!o->size && !o->backing))
		return -1;
	return 0;
}

/* ---- handoff ---------------------------------------------------------------- */

static void on_doorbell(void *opaque, uint64_t value, uint64_t signals)
{
	struct doorbell_ctx *d = opaque;

	if (d->cq)
		nvme_queue_cq_doorbell(d->c, d->qid, value, signals);
	else
		nvme_queue_sq_doorbell(d->c, d->qid, value, signals);
}

static int attach_region(struct device *d, const struct iofd_handoff *h)
{
	const struct iofd_handoff_region *r = &h->regions[0];
	struct iofd_device_region reg = {
		.cmd_fd = r->cmd_fd, .resp_fd = r->resp_fd, .size = NVME_REGS_SIZE,
		.user_data = r->user_data, .flags = IOFD_DEVICE_REGION_CHECK_USER_DATA,
		.read = nvme_regs_read, .write = nvme_regs_write, .opaque = &d->ctrl,
	};

	if (h->nr_regions != 1 || r->size != NVME_REGS_SIZE || r->resp_fd < 0 ||
	    r->flags) {
		fprintf(stderr, "nvme-device: need one region: BAR0's registers "
			"(0x%x bytes, with replies, MMIO)\n", NVME_REGS_SIZE);
		return -EINVAL;
	}
	d->region = iofd_device_add_region(d->dev, &reg);
	return d->region < 0 ? d->region : 0;
}

/* doorbells[i]: BAR0 + 0x1000 + 4 i (SQ i/2 tail, or CQ i/2 head), slot 8 i. */
static int check_doorbells(const struct iofd_handoff *h, unsigned queues)
{
	if (h->nr_doorbells != 2 * (queues + 1)) {
		fprintf(stderr, "nvme-device: %u doorbells for %u I/O queues "
			"(need %u)\n", h->nr_doorbells, queues, 2 * (queues + 1));
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_doorbells; i++) {
		const struct iofd_handoff_doorbell *db = &h->doorbells[i];

		if (db->len != 4 || db->flags || db->shadow_offset != 8ull * i ||
		    db->gpa != h->regions[0].gpa + NVME_DB_OFFSET + 4ull * i) {
			fprintf(stderr, "nvme-device: doorbell %u: want MMIO "
				"0x%llx, 4 bytes, shadow slot %u\n", i,
				(unsigned long long)(h->regions[0].gpa + NVME_DB_OFFSET + 4ull * i),
				8 * i);
			return -EINVAL;
		}
	}
	return 0;
}

static int attach_doorbells(struct device *d, const struct iofd_handoff *h)
{
	int err = iofd_device_create_shadow(d->dev, 8ull * h->nr_doorbells);

	if (err)
		return err;
	/* The device's own view of the slots: a reset zeroes them. */
	d->shadow_size = 8ull * h->nr_doorbells;
	d->shadow = mmap(NULL, d->shadow_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 iofd_device_shadow_fd(d->dev), 0);
	if (d->shadow == MAP_FAILED) {
		d->shadow = NULL;
		return -errno;
	}
	for (uint32_t i = 0; i < h->nr_doorbells; i++) {
		struct iofd_device_doorbell db = {
			.efd = h->doorbells[i].efd, .shadow_offset = 8ull * i,
			.len = 4, .fn = on_doorbell, .opaque = &d->db[i],
		};

		d->db[i] = (struct doorbell_ctx){ .c = &d->ctrl, .qid = (uint16_t)(i / 2),
						  .cq = i & 1 };
		err = iofd_device_add_doorbell(d->dev, &db);
		if (err < 0)
			return err;
		d->db_id[i] = err;
	}
	return 0;
}

static int attach(struct device *d, const struct iofd_handoff *h, unsigned queues)
{
	int err;

	if (h->nr_ram == 0 || h->nr_regions == 0) {
		fprintf(stderr, "nvme-device: the HELLO lacks guest RAM or BAR0\n");
		return -EINVAL;
	}
	err = iofd_device_create(&d->dev);
	for (uint32_t i = 0; !err && i < h->nr_ram; i++)
		err = iofd_device_add_ram(d->dev, h->ram[i].fd, h->ram[i].gpa,
					  h->ram[i].size, h->ram[i].offset);
	if (!err)
		err = attach_region(d, h);
	if (!err)
		err = check_doorbells(h, queues);
	if (!err)
		err = attach_doorbells(d, h);
	if (err && err != -EINVAL)
		fprintf(stderr, "nvme-device: %s\n", iofd_last_error());
	return err;
}

/* HELLO, REPLY, vector packet. On success the controller is set up. */
static int handoff(int sock, struct device *d, const struct options *o)
{
	struct iofd_handoff hello, reply;
	struct nvme_irq irq;
	struct nvme_ns ns;
	int err;

	err = iofd_handoff_recv(sock, IOFD_HANDOFF_HELLO, &hello, HANDOFF_TIMEOUT_MS);
	if (err) {
		fprintf(stderr, "nvme-device: handoff: %s\n", iofd_last_error());
		return err;
	}
	err = nvme_ns_open(&ns, o->backing, o->size, o->lba_size);
	if (!err) {
		err = attach(d, &hello, o->cfg.queues);
		if (err)
			nvme_ns_close(&ns);
	}
	iofd_handoff_close(&hello);	/* the device keeps its own dups */
	iofd_handoff_init(&reply, IOFD_HANDOFF_REPLY);
	reply.status = err;
	reply.shadow_fd = err ? -1 : iofd_device_shadow_fd(d->dev);
	if (iofd_handoff_send(sock, &reply) && !err)
		err = -EPIPE;
	if (!err) {
		err = nvme_irq_recv(sock, &irq, o->cfg.intx, HANDOFF_TIMEOUT_MS);
		if (err == -ETIMEDOUT || err == -ECONNRESET)
			fprintf(stderr, "nvme-device: no vector packet: %s\n",
				strerror(-err));
		if (err)
			nvme_ns_close(&ns);
	}
	if (!err) {
		nvme_ctrl_init(&d->ctrl, &o->cfg, d->dev, &ns, &irq, d->shadow,
			       (unsigned)(d->shadow_size / 8));
		memcpy(d->ctrl.db_id, d->db_id,
		       sizeof(int) * (d->shadow_size / 8));
		if (d->ctrl.irq.vmm_flags & NVME_IRQ_F_DOORBELL_MODES)
			nvme_dbmode_init(&d->ctrl.dbmode, sock);
	}
	return err;
}

/* ---- serving ---------------------------------------------------------------- */

/* The handoff socket: 0 while open (a doorbell mode answer taken), 1 once
 * the VMM closed it, -EPROTO for any other packet. */
static int socket_state(struct device *d, int sock)
{
	uint64_t buf[4];
	ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return 1;
	return nvme_dbbuf_mode_answer(&d->ctrl, buf, (size_t)n);
}

static int serve(struct device *d, int sock)
{
	struct pollfd p[3] = { { .fd = iofd_device_fd(d->dev), .events = POLLIN },
			       { .fd = sock, .events = POLLIN },
			       { .fd = d->ctrl.irq.resample_fd, .events = POLLIN } };
	bool more = false;

	while (!stop_signal) {
		int n, st;

		if (!more)	/* shadow doorbells: EventIdx, then a last look */
			more = nvme_queue_before_sleep(&d->ctrl);
		n = poll(p, 3, more ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents && (st = socket_state(d, sock)) != 0)
			return st < 0 ? st : 0;
		if (p[2].revents)	/* an EOI: the line is down */
			nvme_irq_intx_resample(&d->ctrl.irq);
		if (p[0].revents && (st = iofd_device_process(d->dev)) < 0) {
			fprintf(stderr, "nvme-device: %s\n", iofd_last_error());
			return st;
		}
		st = iofd_device_region_status(d->dev, d->region);
		if (st == -ENOTCONN)
			return 0;	/* the VMM closed the register region */
		if (st < 0)
			return st;
		more = nvme_queue_run(&d->ctrl, RUN_BUDGET);
	}
	return 0;
}

static int write_stats(const struct nvme_ctrl *c, const char *path)
{
	FILE *f = fopen(path, "we");
	int err;

	if (!f) {
		fprintf(stderr, "nvme-device: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	err = nvme_ctrl_write_stats(c, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		fprintf(stderr, "nvme-device: %s: write failed\n", path);
	return err;
}

int main(int argc, char **argv)
{
	static struct device d;	/* large: not on the stack */
	struct options o;
	struct sigaction sa = { .sa_handler = on_signal };
	int sock, err;

	if (parse_options(argc, argv, &o))
		return usage(argv[0]);
	sock = iofd_handoff_inherited();
	if (sock < 0) {
		fprintf(stderr, "nvme-device: %s (start me from a VMM)\n",
			iofd_last_error());
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = handoff(sock, &d, &o);
	if (!err) {
		err = serve(&d, sock);
		if (o.stats && write_stats(&d.ctrl, o.stats) && !err)
			err = -EIO;
		if (d.ctrl.ns.io_errors && !err)
			err = -EIO;
		nvme_ctrl_fini(&d.ctrl);
	}
	if (d.shadow)
		munmap(d.shadow, d.shadow_size);
	iofd_device_destroy(d.dev);
	close(sock);
	return err ? 1 : 0;
}
