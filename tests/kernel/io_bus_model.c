/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The io bus lookup of a KVM source tree against the rule that
 * kernel/io-bus sets, in userspace, over random configurations.
 * scripts/io-bus-model.sh extracts the bus functions (kvm_io_bus_*) of the
 * tree's virt/kvm/kvm_main.c and the bus structs of its kvm_host.h at test
 * time and builds them with this harness and io_bus_stubs.h.
 *
 * The rule (the reference model): the candidates for an access are the
 * devices whose range covers it (a zero-length device covers its exact
 * address, at any width); they are tried in this order: zero-length ones,
 * then by the address where the range ends, of ranges that end together
 * the shorter first, and devices with the same range in the order they
 * were registered; the first whose callback accepts serves the access, and
 * if none does the access exits to userspace.
 *
 * Devices as KVM has them: ioeventfds (length 0, 1, 2, 4 or 8, some with a
 * datamatch, never two that KVM would refuse with EEXIST; write only; a
 * zero-length MMIO one is on the fast MMIO bus too), coalesced zones (write
 * only) and in-kernel devices taking reads and writes of some widths only.
 * A configuration registers some on the MMIO or the PIO bus (PIO: 16-bit
 * ports and widths up to 4), in random order, then checks every write and
 * read of every width at every address around them, the cookie path,
 * kvm_io_bus_get_dev() and zero-length writes on the fast MMIO bus;
 * unregisters some, registers more and checks again.
 *
 * Usage: io_bus_model [CONFIGURATIONS [SEED]]; prints TAP, one test per
 * function, and the first differences as comments.
 */
#include <inttypes.h>

#include "io_bus_kernel.h"

int kvm_io_bus_write(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx, gpa_t addr,
		     int len, const void *val);
int kvm_io_bus_write_cookie(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx,
			    gpa_t addr, int len, const void *val, long cookie);
int kvm_io_bus_read(struct kvm_vcpu *vcpu, enum kvm_bus bus_idx, gpa_t addr,
		    int len, void *val);
int kvm_io_bus_register_dev(struct kvm *kvm, enum kvm_bus bus_idx, gpa_t addr,
			    int len, struct kvm_io_device *dev);
int kvm_io_bus_unregister_dev(struct kvm *kvm, enum kvm_bus bus_idx,
			      struct kvm_io_device *dev);
struct kvm_io_device *kvm_io_bus_get_dev(struct kvm *kvm,
					 enum kvm_bus bus_idx, gpa_t addr);

#define MAX_DEVS 16
#define MAX_SHOWN 5

enum dev_kind { IOEVENTFD, ZONE, KDEV };

struct mdev {
	struct kvm_io_device dev;	/* what the bus holds */
	enum dev_kind kind;
	enum kvm_bus bus;
	uint64_t addr;
	int len;
	bool datamatch;
	uint64_t value;
	unsigned int widths;		/* KDEV: bit w set when it takes width w */
	int seq;			/* registration order */
	bool registered;
};

static const struct kvm_io_device_ops mdev_ops = { .destructor = NULL };

struct config {
	struct mdev devs[MAX_DEVS];
	int nr;
	int next_seq;
	bool pio;
	uint64_t base;
};

/* What the harness's callbacks saw last: the device that accepted. */
static struct mdev *accepted;

enum check { CK_WRITE, CK_READ, CK_COOKIE, CK_GET_DEV, CK_FAST, CK_NR };

static const char *const check_name[CK_NR] = {
	"kvm_io_bus_write() serves each write as the model does",
	"kvm_io_bus_read() serves each read as the model does",
	"kvm_io_bus_write_cookie() serves each write as the model does, "
	"and its cookie finds the same device again",
	"kvm_io_bus_get_dev() returns the first device the model would try",
	"zero-length writes on the fast MMIO bus reach the zero-length "
	"ioeventfd at their address",
};

static unsigned long checked[CK_NR], differences[CK_NR];
/* Whether the configuration being checked has shown a difference. */
static bool config_differs;

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	/* xorshift64*: the same sequence for a seed on every platform. */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

static unsigned int rnd_below(unsigned int n)
{
	return rnd() % n;
}

static struct mdev *to_mdev(struct kvm_io_device *dev)
{
	return (struct mdev *)((char *)dev - offsetof(struct mdev, dev));
}

static uint64_t load(const void *val, int len)
{
	uint64_t v = 0;

	memcpy(&v, val, len > 8 ? 8 : len);	/* x86 and arm64: little endian */
	return v;
}

static bool contains(const struct mdev *d, uint64_t addr, int len)
{
	return addr >= d->addr && addr + len <= d->addr + (uint64_t)d->len;
}

/* Whether @d takes the access, as its KVM callback decides. */
static bool takes(const struct mdev *d, bool write, uint64_t addr, int len,
		  const void *val)
{
	switch (d->kind) {
	case IOEVENTFD:
		if (!write || addr != d->addr)
			return false;
		if (!d->len)
			return true;
		if (len != d->len)
			return false;
		return !d->datamatch || load(val, len) == d->value;
	case ZONE:
		return write && len >= 0 && contains(d, addr, len);
	case KDEV:
		return len > 0 && len <= 8 && contains(d, addr, len) &&
		       (d->widths & (1u << len));
	}
	return false;
}

static int callback(struct kvm_io_device *dev, bool write, gpa_t addr,
		    int len, const void *val)
{
	struct mdev *d = to_mdev(dev);

	if (!takes(d, write, addr, len, val))
		return -EOPNOTSUPP;
	accepted = d;
	return 0;
}

int kvm_iodevice_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		       gpa_t addr, int len, const void *val)
{
	(void)vcpu;
	return callback(dev, true, addr, len, val);
}

int kvm_iodevice_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		      gpa_t addr, int len, void *val)
{
	(void)vcpu;
	return callback(dev, false, addr, len, val);
}

/* ---- the model ---------------------------------------------------------- */

static bool covers(const struct mdev *d, uint64_t addr, int len)
{
	if (!d->len)
		return addr == d->addr;
	return contains(d, addr, len);
}

static bool tried_before(const struct mdev *x, const struct mdev *y)
{
	uint64_t xend = x->addr + x->len, yend = y->addr + y->len;

	if (!x->len != !y->len)
		return !x->len;
	if (xend != yend)
		return xend < yend;
	if (x->addr != y->addr)
		return x->addr > y->addr;
	return x->seq < y->seq;
}

/* The devices of @bus that cover the access, in the order they are tried. */
static int candidates(struct config *c, enum kvm_bus bus, uint64_t addr,
		      int len, struct mdev **out)
{
	int n = 0;

	for (int i = 0; i < c->nr; i++) {
		struct mdev *d = &c->devs[i];
		int j;

		if (!d->registered || d->bus != bus || !covers(d, addr, len))
			continue;
		for (j = n; j > 0 && tried_before(d, out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = d;
		n++;
	}
	return n;
}

static struct mdev *model_serves(struct config *c, enum kvm_bus bus,
				 bool write, uint64_t addr, int len,
				 const void *val)
{
	struct mdev *cand[MAX_DEVS];
	int n = candidates(c, bus, addr, len, cand);

	for (int i = 0; i < n; i++)
		if (takes(cand[i], write, addr, len, val))
			return cand[i];
	return NULL;
}

/* ---- configurations ------------------------------------------------------ */

static const char *kind_name(enum dev_kind k)
{
	return k == IOEVENTFD ? "ioeventfd" : k == ZONE ? "zone" : "device";
}

static void show_config(const struct config *c)
{
	printf("#   %s bus, devices in registration order:\n",
	       c->pio ? "PIO" : "MMIO");
	for (int s = 0; s < c->next_seq; s++)
		for (int i = 0; i < c->nr; i++) {
			const struct mdev *d = &c->devs[i];

			if (d->seq != s || !d->registered ||
			    d->bus == KVM_FAST_MMIO_BUS)
				continue;
			printf("#     %s at base+%" PRId64 " len %d", kind_name(d->kind),
			       (int64_t)(d->addr - c->base), d->len);
			if (d->datamatch)
				printf(" datamatch %" PRIu64, d->value);
			if (d->kind == KDEV)
				printf(" widths 0x%x", d->widths);
			printf("\n");
		}
}

static void describe(const struct mdev *d, const struct config *c, char *buf,
		     size_t n, bool get_dev)
{
	if (!d)
		snprintf(buf, n, get_dev ? "no device" : "an exit");
	else
		snprintf(buf, n, "the %s at base+%" PRId64 " len %d",
			 kind_name(d->kind), (int64_t)(d->addr - c->base), d->len);
}

static void difference(enum check ck, const struct config *c, bool write,
		       uint64_t addr, int len, uint64_t value,
		       const struct mdev *want, const struct mdev *got)
{
	char w[64], g[64], what[64];

	config_differs = true;
	if (differences[ck]++ >= MAX_SHOWN)
		return;
	describe(want, c, w, sizeof(w), ck == CK_GET_DEV);
	describe(got, c, g, sizeof(g), ck == CK_GET_DEV);
	if (ck == CK_GET_DEV)
		snprintf(what, sizeof(what), "kvm_io_bus_get_dev(base+%" PRId64 ")",
			 (int64_t)(addr - c->base));
	else
		snprintf(what, sizeof(what), "%s%d-byte %s of %" PRIu64
			 " at base+%" PRId64, ck == CK_COOKIE ? "cookie path, " :
			 ck == CK_FAST ? "fast MMIO bus, " : "", len,
			 write ? "write" : "read", value, (int64_t)(addr - c->base));
	printf("# difference: %s: the model gives %s, the kernel code %s\n",
	       what, w, g);
	show_config(c);
}

/* Whether KVM refuses @d with EEXIST next to the ioeventfds registered. */
static bool ioeventfd_collides(const struct config *c, const struct mdev *d)
{
	for (int i = 0; i < c->nr; i++) {
		const struct mdev *o = &c->devs[i];

		if (!o->registered || o->kind != IOEVENTFD || o->bus != d->bus ||
		    o->addr != d->addr)
			continue;
		if (!o->len || !d->len)
			return true;
		if (o->len == d->len &&
		    (!o->datamatch || !d->datamatch || o->value == d->value))
			return true;
	}
	return false;
}

static struct kvm kvm;

static void register_dev(struct mdev *d, struct config *c)
{
	d->dev.ops = &mdev_ops;
	d->seq = c->next_seq++;
	d->registered = true;
	if (kvm_io_bus_register_dev(&kvm, d->bus, d->addr, d->len, &d->dev))
		d->registered = false;
	/* eventfd.c puts a zero-length MMIO ioeventfd on both MMIO buses. */
	if (d->registered && d->kind == IOEVENTFD && !d->len && !c->pio) {
		struct mdev *f = &c->devs[c->nr++];

		*f = *d;
		f->bus = KVM_FAST_MMIO_BUS;
		f->seq = c->next_seq++;
		if (kvm_io_bus_register_dev(&kvm, f->bus, f->addr, 0, &f->dev))
			f->registered = false;
	}
}

/* Add a random device (one KVM would accept) and register it. */
static void add_random(struct config *c)
{
	static const int efd_len[] = { 0, 1, 2, 4, 8 };
	static const int zone_len[] = { 1, 2, 3, 4, 8, 12, 16, 24, 32, 64 };
	struct mdev d = { .bus = c->pio ? KVM_PIO_BUS : KVM_MMIO_BUS };
	int nr_widths = c->pio ? 3 : 4;

	unsigned int k = rnd_below(8);

	if (c->nr > MAX_DEVS - 2)
		return;
	d.kind = k < 4 ? IOEVENTFD : k < 7 ? ZONE : KDEV;
	d.addr = c->base + rnd_below(32);
	if (d.kind == IOEVENTFD) {
		d.len = efd_len[rnd_below(nr_widths + 1)];
		d.datamatch = d.len && !rnd_below(3);
		d.value = d.datamatch ? rnd_below(3) : 0;
		if (ioeventfd_collides(c, &d))
			return;
	} else if (d.kind == ZONE) {
		d.len = zone_len[rnd_below(10)];
		/* now and then, one zone around everything */
		if (!rnd_below(6)) {
			d.addr = c->base - rnd_below(64);
			d.len = 256;
		}
	} else {
		unsigned int pick = 1 + rnd_below(15);	/* a subset of 1, 2, 4, 8 */

		d.len = 1 + rnd_below(16);
		for (int w = 0; w < nr_widths; w++)
			if (pick & (1u << w))
				d.widths |= 1u << (1 << w);
		if (!d.widths)
			d.widths = 1u << 1;
	}
	c->devs[c->nr] = d;
	register_dev(&c->devs[c->nr++], c);
}

/* ---- the checks ----------------------------------------------------------- */

static void check_access(struct config *c, enum kvm_bus bus, bool write,
			 uint64_t addr, int len, uint64_t value)
{
	struct kvm_vcpu vcpu = { .kvm = &kvm };
	struct mdev *want = model_serves(c, bus, write, addr, len, &value);
	uint64_t buf = value;
	int r;

	accepted = NULL;
	if (write)
		r = kvm_io_bus_write(&vcpu, bus, addr, len, &buf);
	else
		r = kvm_io_bus_read(&vcpu, bus, addr, len, &buf);
	checked[write ? CK_WRITE : CK_READ]++;
	if ((r == 0) != (accepted != NULL) || (r == 0 ? accepted : NULL) != want)
		difference(write ? CK_WRITE : CK_READ, c, write, addr, len,
			   value, want, r == 0 ? accepted : NULL);
	if (!write)
		return;

	accepted = NULL;
	r = kvm_io_bus_write_cookie(&vcpu, bus, addr, len, &buf, -1);
	checked[CK_COOKIE]++;
	if ((r >= 0 ? accepted : NULL) != want) {
		difference(CK_COOKIE, c, write, addr, len, value, want,
			   r >= 0 ? accepted : NULL);
		return;
	}
	if (r < 0)
		return;
	accepted = NULL;
	r = kvm_io_bus_write_cookie(&vcpu, bus, addr, len, &buf, r);
	if ((r >= 0 ? accepted : NULL) != want)
		difference(CK_COOKIE, c, write, addr, len, value, want,
			   r >= 0 ? accepted : NULL);
}

static void check_get_dev(struct config *c, enum kvm_bus bus, uint64_t addr)
{
	struct mdev *cand[MAX_DEVS];
	int n = candidates(c, bus, addr, 1, cand);
	struct kvm_io_device *dev = kvm_io_bus_get_dev(&kvm, bus, addr);
	struct mdev *got = dev ? to_mdev(dev) : NULL;

	checked[CK_GET_DEV]++;
	if (got != (n ? cand[0] : NULL))
		difference(CK_GET_DEV, c, false, addr, 1, 0, n ? cand[0] : NULL,
			   got);
}

static void check_fast(struct config *c, uint64_t addr)
{
	struct mdev *want = model_serves(c, KVM_FAST_MMIO_BUS, true, addr, 0,
					 NULL);
	struct kvm_vcpu vcpu = { .kvm = &kvm };
	int r;

	accepted = NULL;
	r = kvm_io_bus_write(&vcpu, KVM_FAST_MMIO_BUS, addr, 0, NULL);
	checked[CK_FAST]++;
	if ((r == 0 ? accepted : NULL) != want)
		difference(CK_FAST, c, true, addr, 0, 0, want,
			   r == 0 ? accepted : NULL);
}

static void check_at(struct config *c, uint64_t addr)
{
	enum kvm_bus bus = c->pio ? KVM_PIO_BUS : KVM_MMIO_BUS;
	int max_width = c->pio ? 4 : 8;

	for (int w = 1; w <= max_width; w *= 2) {
		for (uint64_t v = 0; v < 3; v++)
			check_access(c, bus, true, addr, w, v);
		check_access(c, bus, false, addr, w, 0);
	}
	check_get_dev(c, bus, addr);
	if (!c->pio)
		check_fast(c, addr);
}

/* Every address the devices start at or reach, and a few around. */
static void check_all(struct config *c)
{
	for (uint64_t a = c->base - 8; a < c->base + 44; a++)
		check_at(c, a);
	for (int i = 0; i < 4; i++)
		check_at(c, c->base - 72 + rnd_below(272));
}

static void reset_buses(void)
{
	for (int i = 0; i < KVM_NR_BUSES; i++) {
		free(kvm.buses[i]);
		kvm.buses[i] = calloc(1, sizeof(struct kvm_io_bus));
		if (!kvm.buses[i]) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
}

static void unregister_dev(struct config *c, struct mdev *d)
{
	kvm_io_bus_unregister_dev(&kvm, d->bus, &d->dev);
	d->registered = false;
	/* ...and its fast MMIO bus twin, as eventfd.c does. */
	for (int i = 0; i < c->nr; i++) {
		struct mdev *f = &c->devs[i];

		if (f != d && f->registered && f->bus == KVM_FAST_MMIO_BUS &&
		    d->kind == IOEVENTFD && !d->len && f->addr == d->addr &&
		    d->bus == KVM_MMIO_BUS) {
			kvm_io_bus_unregister_dev(&kvm, f->bus, &f->dev);
			f->registered = false;
		}
	}
}

static void run_config(struct config *c, bool pio)
{
	memset(c, 0, sizeof(*c));
	c->pio = pio;
	c->base = pio ? 0x100 + rnd_below(0xfe00) :
		  (rnd_below(2) ? 0xfe000000ull : 1ull << 40) +
		  0x1000 * rnd_below(256) + 0x100;
	reset_buses();
	for (int n = 1 + rnd_below(8); n > 0; n--)
		add_random(c);
	check_all(c);

	/* Unregister some, in any order, register a few more: again. */
	for (int i = 0; i < c->nr; i++)
		if (c->devs[i].registered && c->devs[i].bus != KVM_FAST_MMIO_BUS &&
		    !rnd_below(3))
			unregister_dev(c, &c->devs[i]);
	for (int n = rnd_below(3); n > 0; n--)
		add_random(c);
	check_all(c);
}

int main(int argc, char **argv)
{
	unsigned long configs = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x10b05;
	static struct config c;

	unsigned long differing = 0;

	rnd_state = seed ? seed : 1;
	printf("TAP version 13\n1..%d\n", CK_NR);
	for (unsigned long i = 0; i < configs; i++) {
		config_differs = false;
		run_config(&c, i & 1);
		differing += config_differs;
	}
	printf("# seed 0x%" PRIx64 ": %lu configurations (half MMIO, half PIO), "
	       "%lu with a difference\n", seed, configs, differing);
	for (int ck = 0; ck < CK_NR; ck++)
		printf("%s %d - %s (%lu checked, %lu differ)\n",
		       differences[ck] ? "not ok" : "ok", ck + 1, check_name[ck],
		       checked[ck], differences[ck]);
	return 0;
}
