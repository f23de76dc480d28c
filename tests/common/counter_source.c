/* SPDX-License-Identifier: BSD-3-Clause */
/* The counter source (counter_source.h): its ops and how it plugs in. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "counter_source.h"
#include "device_impl.h"
#include "error.h"
#include "fd.h"
#include "irqline.h"
#include "space.h"
#include "vcpu.h"
#include "vm.h"

/* A write kept in a vCPU's pending slot. */
struct counter_pending {
	uint64_t value;
};

_Static_assert(sizeof(struct counter_pending) <= IOFD_PENDING_STATE_SIZE,
	       "a counter's pending write fits the slot");

static struct counter_source *counter_of(struct iofd_source *src)
{
	return iofd_container_of(src, struct counter_source, src);
}

static void count_write(struct counter_source *c, uint64_t value)
{
	c->writes++;
	c->last = value;
}

/* Bus: a write counts (unless it is to be kept pending: served outside the
 * read-side section then); a read returns the count. */
static int counter_access(struct iofd_source *src, struct iofd_bus_access *a,
			  struct iofd_source **defer)
{
	struct counter_source *c = counter_of(src);

	if (a->is_write && c->pend_next) {
		*defer = src;
		return IOFD_NOT_CLAIMED;
	}
	if (a->is_write)
		count_write(c, iofd_load_le(a->data, a->len));
	else
		memcpy(a->data, &c->writes, a->len);
	return IOFD_SERVED;
}

/* Bus, deferred: on a vCPU the write goes into its pending slot. */
static int counter_serve(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
			 struct iofd_source *src, struct iofd_bus_access *a,
			 struct iofd_exit *info)
{
	struct counter_source *c = counter_of(src);
	struct counter_pending *p;

	(void)vm;
	c->pend_next = false;
	c->served_outside++;
	if (!vcpu) {
		count_write(c, iofd_load_le(a->data, a->len));
		return IOFD_SERVED;
	}
	p = (struct counter_pending *)vcpu->pending.state;
	p->value = iofd_load_le(a->data, a->len);
	vcpu->pending.src = src;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->status = IOFD_PENDING;
		info->err = -EINTR;
	}
	return IOFD_PENDING;
}

/* Pending slot: the next dispatch completes the write. */
static int counter_resume(struct iofd_vcpu *vcpu, struct iofd_source *src,
			  void *state, struct iofd_exit *info)
{
	struct counter_source *c = counter_of(src);
	const struct counter_pending *p = state;

	(void)info;
	count_write(c, p->value);
	c->resumed++;
	vcpu->pending.src = NULL;
	return IOFD_SERVED;
}

static void counter_cancel(struct iofd_vcpu *vcpu, struct iofd_source *src,
			   void *state)
{
	(void)vcpu;
	(void)state;
	counter_of(src)->cancelled++;
}

/* Device set, in a chain: signal the next event, or stop at the last. */
static int chain_device_event(struct counter_source *c, int served)
{
	if (c->dev_events >= c->dev_chain)
		return iofd_device_stop(c->dev) ? -EINVAL : served;
	if (eventfd_write(c->dev_efd, 1) < 0)
		return iofd_fail(-errno, "counter: cannot signal itself");
	return served;
}

/* Irq set and device set: whichever of its eventfds was signalled. An irq
 * event raises the counter's GSI. */
static int counter_event(struct iofd_source *src)
{
	struct counter_source *c = counter_of(src);
	int n = 0;

	if (iofd_efd_take(c->irq_efd)) {
		c->irq_events++;
		if (c->line)
			iofd_line_assert(c->line);
		n++;
	}
	if (iofd_efd_take(c->dev_efd)) {
		c->dev_events++;
		n++;
		if (c->dev_chain)
			return chain_device_event(c, n);
	}
	return n;
}

/* Line: the guest acknowledged the GSI. */
static void counter_ack(struct iofd_source *src)
{
	counter_of(src)->acks++;
}

/* Bus and device: it left its owner's view, then the owner let go. Which
 * owner it was the test knows; the counter keeps its address. */
static void counter_unplug(union iofd_source_owner owner, struct iofd_source *src)
{
	struct counter_source *c = counter_of(src);

	c->unplugged++;
	c->unplugged_by = owner.dev;
}

static void counter_release(union iofd_source_owner owner, struct iofd_source *src)
{
	struct counter_source *c = counter_of(src);

	if (c->released == c->unplugged)
		c->released_before_unplug = true;
	c->released++;
	c->released_by = owner.dev;
}

static const struct iofd_source_ops counter_ops = {
	.access = counter_access,
	.serve = counter_serve,
	.resume = counter_resume,
	.cancel = counter_cancel,
	.event = counter_event,
	.ack = counter_ack,
	.unplug = counter_unplug,
	.release = counter_release,
};

int counter_init(struct counter_source *c, uint64_t base, uint32_t gsi)
{
	memset(c, 0, sizeof(*c));
	c->src.ops = &counter_ops;
	c->base = base;
	c->gsi = gsi;
	c->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->dev_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->irq_efd < 0 || c->dev_efd < 0) {
		counter_fini(c);
		return -errno;
	}
	return 0;
}

int counter_plug_bus(struct iofd_vm *vm, struct counter_source *c)
{
	struct iofd_space *sp = &vm->bus[IOFD_BUS_MMIO];
	struct iofd_range range = { c->base, c->base + 8, &c->src };
	int err;

	iofd_writer_lock(vm);
	if (iofd_ranges_overlap(iofd_space_ranges_view(sp), range.start,
				range.end) >= 0 ||
	    iofd_space_exact_overlap(sp, range.start, range.end))
		err = -EEXIST;
	else if (!iofd_space_ranges_writable(sp))
		err = -ENOMEM;
	else
		err = iofd_ranges_insert(&sp->pending, &range);
	if (!err)
		iofd_publish(vm);
	iofd_writer_unlock(vm);
	return err;
}

int counter_unplug_bus(struct iofd_vm *vm, struct counter_source *c)
{
	struct iofd_space *sp = &vm->bus[IOFD_BUS_MMIO];
	struct iofd_range_array *arr;
	long idx;
	int err = 0;

	iofd_writer_lock(vm);
	idx = iofd_ranges_find_start(iofd_space_ranges_view(sp), c->base);
	arr = iofd_space_ranges_writable(sp);
	if (idx < 0 || !arr || arr->r[idx].obj != &c->src) {
		err = arr ? -ENOENT : -ENOMEM;
	} else {
		iofd_range_retire(vm, &c->src);
		iofd_ranges_delete(arr, (size_t)idx);
		iofd_publish(vm);
	}
	iofd_writer_unlock(vm);
	return err;
}

int counter_plug_irq(struct iofd_vm *vm, struct counter_source *c)
{
	struct iofd_irq *irq = vm->irq;
	int err = -ENOMEM;

	pthread_mutex_lock(&irq->lock);
	c->line = iofd_line_get(irq, c->gsi);
	if (c->line && iofd_line_add_resampler(c->line, &c->src) == 0) {
		err = iofd_irq_watch_add(irq, c->irq_efd, &c->src);
		if (err)
			iofd_line_del_resampler(c->line, &c->src);
	}
	if (err && c->line) {
		iofd_line_put(irq, c->line);
		c->line = NULL;
	}
	pthread_mutex_unlock(&irq->lock);
	return err;
}

void counter_unplug_irq(struct iofd_vm *vm, struct counter_source *c)
{
	struct iofd_irq *irq = vm->irq;

	pthread_mutex_lock(&irq->lock);
	iofd_irq_watch_del(irq, c->irq_efd);
	iofd_line_del_resampler(c->line, &c->src);
	iofd_line_put(irq, c->line);
	c->line = NULL;
	pthread_mutex_unlock(&irq->lock);
}

int counter_plug_device(struct iofd_device *dev, struct counter_source *c)
{
	int err = iofd_dev_watch_add(dev, c->dev_efd, &c->src, 0);

	if (!err)
		c->dev = dev;
	return err;
}

void counter_unplug_device(struct iofd_device *dev, struct counter_source *c)
{
	iofd_dev_watch_remove(dev, &c->src);
	c->dev = NULL;
}

void counter_fini(struct counter_source *c)
{
	if (c->irq_efd >= 0)
		close(c->irq_efd);
	if (c->dev_efd >= 0)
		close(c->dev_efd);
	c->irq_efd = c->dev_efd = -1;
}
