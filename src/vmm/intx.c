/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INTx helper: a level-triggered interrupt source for a device emulator,
 * built on a resample irqfd.
 *
 * The kernel consumes the wake-ups of an irqfd's trigger eventfd, so the
 * helper learns "this source asserted" from its own assert call, and keeps
 * two bits: `wanted` (the device's level) and `pending` (this source raised
 * the line and the guest has not acknowledged it yet). An acknowledgement
 * of the GSI counts for this source only while `pending` is set; all others
 * (another source on a shared line, or one that came before this source
 * asserted) are dropped, so they never reach the device's eoi_fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "intx.h"
#include "irqfd.h"
#include "irqline.h"
#include "mech.h"
#include "rcu.h"
#include "vm.h"

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;	/* EAGAIN at the counter's maximum: already signalled */
}

/* Raise the line for this source (helper lock held, irqfd present). */
static void raise_locked(struct iofd_intx *intx)
{
	if (intx->kernel) {
		/* Acknowledgements so far are of interrupts we did not raise. */
		iofd_efd_take(intx->resample_fd);
		intx->pending = true;
		signal_fd(intx->trigger_fd);
	} else {
		intx->pending = true;
		iofd_line_assert(intx->irqfd->line);
	}
}

/* The guest acknowledged the GSI (helper lock held). */
static void acked_locked(struct iofd_intx *intx)
{
	if (!intx->irqfd || !intx->pending)
		return;		/* not an interrupt this source raised */
	intx->pending = false;
	signal_fd(intx->eoi_fd);
	if (intx->wanted)
		raise_locked(intx);
}

static struct iofd_intx *intx_of(struct iofd_source *src)
{
	return caa_container_of(src, struct iofd_intx, src);
}

/* Source op: the guest acknowledged the helper's GSI (RCU read side, no
 * irq->lock). */
static void intx_ack(struct iofd_source *src)
{
	struct iofd_intx *intx = intx_of(src);

	pthread_mutex_lock(&intx->lock);
	acked_locked(intx);
	pthread_mutex_unlock(&intx->lock);
}

/* Source op: the helper's kernel resamplefd fired (iofd_irq_process()). */
static int intx_event(struct iofd_source *src)
{
	struct iofd_intx *intx = intx_of(src);

	pthread_mutex_lock(&intx->lock);
	if (iofd_efd_take(intx->resample_fd))
		acked_locked(intx);
	pthread_mutex_unlock(&intx->lock);
	return 1;
}

/* Source op: the helper's irqfd was deassigned (irq->lock held). */
static void intx_unplug(union iofd_source_owner owner, struct iofd_source *src)
{
	struct iofd_intx *intx = intx_of(src);

	(void)owner;
	pthread_mutex_lock(&intx->lock);
	intx->irqfd = NULL;
	intx->pending = false;
	pthread_mutex_unlock(&intx->lock);
}

static const struct iofd_source_ops intx_ops = {
	.event = intx_event,
	.ack = intx_ack,
	.unplug = intx_unplug,
};

/* The VM is going away: forget it (irq->lock held). */
static void intx_orphan(struct iofd_intx *intx)
{
	pthread_mutex_lock(&intx->lock);
	intx->vm = NULL;
	intx->watched = false;	/* the epoll set goes with the VM */
	pthread_mutex_unlock(&intx->lock);
}

static void intx_free(struct iofd_intx *intx)
{
	if (intx->trigger_fd >= 0)
		close(intx->trigger_fd);
	if (intx->resample_fd >= 0)
		close(intx->resample_fd);
	if (intx->eoi_fd >= 0)
		close(intx->eoi_fd);
	pthread_mutex_destroy(&intx->lock);
	free(intx);
}

static int intx_alloc(uint32_t gsi, struct iofd_intx **out)
{
	struct iofd_intx *intx = iofd_calloc(1, sizeof(*intx));
	int err;

	if (!intx)
		return iofd_fail(-ENOMEM, "out of memory for an INTx helper");
	pthread_mutex_init(&intx->lock, NULL);
	intx->src.ops = &intx_ops;
	intx->gsi = gsi;
	intx->trigger_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	intx->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	intx->eoi_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (intx->trigger_fd < 0 || intx->resample_fd < 0 || intx->eoi_fd < 0) {
		err = -errno;
		intx_free(intx);
		return iofd_fail(err, "eventfd for an INTx helper failed");
	}
	*out = intx;
	return 0;
}

/* Register the helper's irqfd and watch (irq->lock held). */
static int intx_plug_locked(struct iofd_vm *vm, struct iofd_intx *intx)
{
	struct kvm_irqfd args = { .fd = (uint32_t)intx->trigger_fd, .gsi = intx->gsi,
				  .flags = KVM_IRQFD_FLAG_RESAMPLE,
				  .resamplefd = (uint32_t)intx->resample_fd };
	struct iofd_irqfd_obj *obj;
	int err = iofd_irqfd_assign_locked(vm, &args, &intx->src, &obj);

	if (err)
		return err;
	intx->irqfd = obj;
	intx->kernel = obj->offloaded;
	if (intx->kernel) {
		err = iofd_irq_watch_add(vm->irq, intx->resample_fd, &intx->src);
		if (err) {
			iofd_irqfd_remove_locked(vm, obj);
			return err;
		}
		intx->watched = true;
	}
	intx->vm = vm;
	intx->next = vm->irq->intxs;
	vm->irq->intxs = intx;
	return 0;
}

IOFD_EXPORT int iofd_intx_create(struct iofd_vm *vm, uint32_t gsi,
				 struct iofd_intx **out)
{
	struct iofd_intx *intx = NULL;
	int err;

	if (!vm || !out)
		return iofd_fail(-EINVAL, "iofd_intx_create: NULL vm or out");
	*out = NULL;
	err = intx_alloc(gsi, &intx);
	if (err)
		return err;
	iofd_rcu_thread();
	pthread_mutex_lock(&vm->irq->lock);
	err = intx_plug_locked(vm, intx);
	pthread_mutex_unlock(&vm->irq->lock);
	if (err) {
		/* A failed plug left nothing that readers could reach. */
		intx_free(intx);
		return err;
	}
	*out = intx;
	return 0;
}

/* 0 if the helper can drive its line, else why not (helper lock held). */
static int intx_usable(const struct iofd_intx *intx)
{
	if (!intx->vm)
		return iofd_fail(-ENODEV, "the INTx helper's VM was destroyed");
	if (!intx->irqfd)
		return iofd_fail(-ENOTCONN, "the INTx helper's irqfd was deassigned");
	return 0;
}

IOFD_EXPORT int iofd_intx_assert(struct iofd_intx *intx)
{
	int err;

	if (!intx)
		return iofd_fail(-EINVAL, "iofd_intx_assert: NULL INTx helper");
	pthread_mutex_lock(&intx->lock);
	err = intx_usable(intx);
	if (!err) {
		intx->wanted = true;
		if (!intx->pending)
			raise_locked(intx);
	}
	pthread_mutex_unlock(&intx->lock);
	return err;
}

IOFD_EXPORT int iofd_intx_deassert(struct iofd_intx *intx)
{
	int err;

	if (!intx)
		return iofd_fail(-EINVAL, "iofd_intx_deassert: NULL INTx helper");
	pthread_mutex_lock(&intx->lock);
	err = intx_usable(intx);
	if (!err)
		intx->wanted = false;	/* the line drops at the acknowledgement */
	pthread_mutex_unlock(&intx->lock);
	return err;
}

IOFD_EXPORT int iofd_intx_eoi_fd(const struct iofd_intx *intx)
{
	return intx ? intx->eoi_fd
		    : iofd_fail(-EINVAL, "iofd_intx_eoi_fd: NULL INTx helper");
}

IOFD_EXPORT int iofd_intx_trigger_fd(const struct iofd_intx *intx)
{
	return intx ? intx->trigger_fd
		    : iofd_fail(-EINVAL, "iofd_intx_trigger_fd: NULL INTx helper");
}

IOFD_EXPORT void iofd_intx_destroy(struct iofd_intx *intx)
{
	struct iofd_vm *vm;

	if (!intx)
		return;
	pthread_mutex_lock(&intx->lock);
	vm = intx->vm;
	pthread_mutex_unlock(&intx->lock);
	if (vm) {
		struct iofd_irq *irq = vm->irq;

		iofd_rcu_thread();
		pthread_mutex_lock(&irq->lock);
		for (struct iofd_intx **pp = &irq->intxs; *pp; pp = &(*pp)->next)
			if (*pp == intx) {
				*pp = intx->next;
				break;
			}
		if (intx->watched)
			iofd_irq_watch_del(irq, intx->resample_fd);
		if (intx->irqfd)
			iofd_irqfd_remove_locked(vm, intx->irqfd);
		pthread_mutex_unlock(&irq->lock);
		/* iofd_irq_process() or an EOI may still hold the helper. */
		urcu_memb_synchronize_rcu();
	}
	intx_free(intx);
}

/* ---- the mechanism ---- */

/* The VM goes: every helper forgets it, before its irqfd is removed. */
static void intx_vm_destroy(struct iofd_vm *vm)
{
	struct iofd_irq *irq = vm->irq;

	if (!irq)
		return;
	iofd_rcu_thread();
	pthread_mutex_lock(&irq->lock);
	for (struct iofd_intx *h = irq->intxs; h; h = h->next)
		intx_orphan(h);
	irq->intxs = NULL;
	pthread_mutex_unlock(&irq->lock);
}

const struct iofd_mech iofd_intx_mech = {
	.name = "intx",
	.destroy = intx_vm_destroy,
};
