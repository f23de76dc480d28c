/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * irqfd: KVM_IRQFD with the kernel's rules and errors, registered with the
 * kernel where its irqchip can serve it and served by iofd (irqline.c) for a
 * userspace controller where it cannot.
 *
 * The kernel lets one eventfd back at most one irqfd: across all VMs since
 * 2025, within one VM before (6.1 and 6.12 as Debian ships them). iofd asks
 * the running kernel which rule it has (busy_across_vms) and keeps a
 * process-wide registry of the eventfds behind its irqfds (one CLOEXEC dup
 * each, found by kcmp as in eventfd.c) so the same rule holds for the
 * irqfds it serves itself, and in the kernel's order of checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "irqfd.h"
#include "irqline.h"
#include "mech.h"
#include "rcu.h"
#include "tsan.h"
#include "vcpu.h"
#include "vm.h"

static pthread_mutex_t triggers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iofd_efd_registry triggers;	/* every eventfd behind an irqfd */

static int kvm_irqfd_ioctl(struct iofd_vm *vm, const struct kvm_irqfd *args)
{
	struct kvm_irqfd copy = *args;

	return iofd_ioctl(vm->kvm_fd, KVM_IRQFD, &copy) < 0 ? -errno : 0;
}

/*
 * Ask the kernel, without changing anything: an irqfd its irqchip cannot
 * serve is refused with -EINVAL before the fd is looked at; otherwise the
 * invalid fd gives -EBADF. An irqchip, once made, stays: only NONE is asked
 * again (the VMM may create one after iofd adopted its VM).
 */
static enum iofd_irqchip irqchip_probe(struct iofd_vm *vm)
{
	struct kvm_irqfd probe = { .fd = UINT32_MAX, .resamplefd = UINT32_MAX };
	enum iofd_irqchip chip;

	if (vm->kvm_fd < 0)
		return IOFD_IRQCHIP_NONE;
	chip = __atomic_load_n(&vm->irq->chip, __ATOMIC_RELAXED);
	if (chip != IOFD_IRQCHIP_NONE)
		return chip;
	if (kvm_irqfd_ioctl(vm, &probe) != -EBADF)
		return IOFD_IRQCHIP_NONE;
	probe.flags = KVM_IRQFD_FLAG_RESAMPLE;
	chip = kvm_irqfd_ioctl(vm, &probe) == -EBADF ? IOFD_IRQCHIP_KERNEL :
						       IOFD_IRQCHIP_SPLIT;
	__atomic_store_n(&vm->irq->chip, chip, __ATOMIC_RELAXED);
	return chip;
}

static int irq_vm_init(struct iofd_vm *vm, const struct iofd_vm_options *opts)
{
	struct iofd_irq *irq = iofd_calloc(1, sizeof(*irq));

	(void)opts;
	if (!irq)
		return iofd_fail(-ENOMEM, "out of memory for interrupt state");
	pthread_mutex_init(&irq->lock, NULL);
	irq->epfd = -1;
	vm->irq = irq;
	return 0;
}

/* ---- the source: trigger events, acknowledgements ----------------------- */

static struct iofd_irqfd_obj *irqfd_of(struct iofd_source *src)
{
	return caa_container_of(src, struct iofd_irqfd_obj, src);
}

/* Source op: the trigger of an irqfd iofd serves fired (RCU read side). */
static int irqfd_event(struct iofd_source *src)
{
	struct iofd_irqfd_obj *obj = irqfd_of(src);

	if (atomic_load_explicit(&obj->dead, memory_order_acquire))
		return 0;
	if (!iofd_efd_take(obj->trigger->fd))
		return 0;
	if (obj->resample)
		iofd_line_assert(obj->line);
	else
		iofd_line_pulse(obj->line);
	return 1;
}

/* Source op: the guest acknowledged the GSI of a resample irqfd. */
static void irqfd_ack(struct iofd_source *src)
{
	struct iofd_irqfd_obj *obj = irqfd_of(src);

	if (atomic_load_explicit(&obj->dead, memory_order_acquire))
		return;
	if (obj->owner)
		obj->owner->ops->ack(obj->owner);
	else
		iofd_efd_signal(obj->resamplefd);
}

static const struct iofd_source_ops irqfd_ops = {
	.event = irqfd_event,
	.ack = irqfd_ack,
};

/* ---- assign -------------------------------------------------------------- */

/* Does iofd serve this irqfd (true), or the kernel (false)? -EINVAL: nobody. */
static int choose_server(struct iofd_vm *vm, bool resample)
{
	enum iofd_irqchip chip = irqchip_probe(vm);
	bool kernel_can = chip == IOFD_IRQCHIP_KERNEL ||
			  (chip == IOFD_IRQCHIP_SPLIT && !resample);

	if (kernel_can)
		return 0;
	if (vm->irq->ctl)
		return 1;
	if (chip == IOFD_IRQCHIP_NONE)
		return iofd_fail(-EINVAL, "no in-kernel irqchip and no controller set");
	return iofd_fail(-EINVAL, "a split irqchip cannot resample and no controller is set");
}

static pthread_once_t rule_once = PTHREAD_ONCE_INIT;
static bool rule_across_vms = true;	/* today's rule, where nothing answers */

/* A VM with a full in-kernel irqchip on /dev/kvm fd kvm, or -1. */
static int irqchip_vm(int kvm)
{
	int vm = iofd_ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm >= 0 && iofd_ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		close(vm);
		return -1;
	}
	return vm;
}

/*
 * Ask the kernel once per process: one eventfd, an irqfd in one scratch VM,
 * then the same eventfd in a second VM. -EBUSY is the rule across VMs; 0
 * the older rule within one VM; any other failure tells nothing, and the
 * default stays. Everything made here is closed again.
 */
static void probe_busy_rule(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int a = kvm < 0 ? -1 : irqchip_vm(kvm);
	int b = a < 0 ? -1 : irqchip_vm(kvm);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct kvm_irqfd args = { .fd = (uint32_t)efd, .gsi = 0 };
	int made[] = { efd, b, a, kvm };

	if (b >= 0 && efd >= 0 && iofd_ioctl(a, KVM_IRQFD, &args) == 0) {
		if (iofd_ioctl(b, KVM_IRQFD, &args) == 0)
			rule_across_vms = false;
		else if (errno == EBUSY)
			rule_across_vms = true;
	}
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (made[i] >= 0)
			close(made[i]);
}

static bool busy_across_vms(void)
{
	pthread_once(&rule_once, probe_busy_rule);
	return rule_across_vms;
}

/* Does an irqfd of this VM use the eventfd behind efd? (irq->lock) */
static bool backs_irqfd_in(struct iofd_vm *vm, const struct iofd_efd *efd)
{
	for (struct iofd_irqfd_obj *obj = vm->irq->irqfds; obj; obj = obj->next)
		if (obj->trigger == efd)
			return true;
	return false;
}

/*
 * Take the eventfd for a new irqfd, unless it backs one already (-EBUSY):
 * in any VM or in this one, by the running kernel's rule.
 */
static int claim_trigger(struct iofd_vm *vm, const struct iofd_efd_key *key,
			 struct iofd_efd **out)
{
	bool across = busy_across_vms();
	struct iofd_efd *efd;
	int err;

	pthread_mutex_lock(&triggers_lock);
	efd = iofd_efd_find(&triggers, key);
	if (efd && (across || backs_irqfd_in(vm, efd)))
		err = iofd_fail(-EBUSY, "eventfd %d already backs an irqfd%s",
				key->fd, across ? "" : " in this VM");
	else
		err = iofd_efd_get(&triggers, key, out);
	pthread_mutex_unlock(&triggers_lock);
	return err;
}

static void release_trigger(struct iofd_efd *efd)
{
	pthread_mutex_lock(&triggers_lock);
	iofd_efd_put(&triggers, efd);
	pthread_mutex_unlock(&triggers_lock);
}

/* Hook an irqfd iofd serves onto its line and the epoll set. */
static int serve(struct iofd_vm *vm, struct iofd_irqfd_obj *obj,
		 const struct iofd_efd_key *resamplefd)
{
	struct iofd_irq *irq = vm->irq;
	int err;

	obj->line = iofd_line_get(irq, obj->gsi);
	if (!obj->line)
		return iofd_fail(-ENOMEM, "out of memory for GSI %u", obj->gsi);
	if (obj->resample && !obj->owner) {
		err = iofd_efd_get(&irq->resamplefds, resamplefd,
				   &obj->resamplefd);
		if (err)
			goto fail_line;
	}
	if (obj->resample && iofd_line_add_resampler(obj->line, &obj->src)) {
		err = iofd_fail(-ENOMEM, "out of memory for a resampler");
		goto fail_resamplefd;
	}
	err = iofd_irq_watch_add(irq, obj->trigger->fd, &obj->src);
	if (err)
		goto fail_resampler;
	irq->served++;
	return 0;

fail_resampler:
	if (obj->resample)
		iofd_line_del_resampler(obj->line, &obj->src);
fail_resamplefd:
	if (obj->resamplefd)
		iofd_efd_put(&irq->resamplefds, obj->resamplefd);
fail_line:
	iofd_line_put(irq, obj->line);
	return err;
}

int iofd_irqfd_assign_locked(struct iofd_vm *vm, const struct kvm_irqfd *args,
			     struct iofd_source *owner, struct iofd_irqfd_obj **out)
{
	bool resample = args->flags & KVM_IRQFD_FLAG_RESAMPLE;
	struct iofd_efd_key trigger, resamplefd = { .fd = -1, .id = -1 };
	struct iofd_irqfd_obj *obj;
	int user, err;

	user = choose_server(vm, resample);
	if (user < 0)
		return user;
	err = iofd_efd_key((int)args->fd, &trigger);
	if (!err && resample)
		err = iofd_efd_key((int)args->resamplefd, &resamplefd);
	if (err)
		return err;
	obj = iofd_calloc(1, sizeof(*obj));
	if (!obj)
		return iofd_fail(-ENOMEM, "out of memory for an irqfd");
	obj->src.ops = &irqfd_ops;
	obj->gsi = args->gsi;
	obj->resample = resample;
	obj->owner = owner;
	err = claim_trigger(vm, &trigger, &obj->trigger);
	if (err)
		goto fail;
	if (user) {
		err = serve(vm, obj, &resamplefd);
	} else {
		err = kvm_irqfd_ioctl(vm, args);
		if (err)
			iofd_fail(err, "KVM_IRQFD: %s", strerror(-err));
		obj->offloaded = true;
	}
	if (err)
		goto fail_trigger;
	obj->next = vm->irq->irqfds;
	vm->irq->irqfds = obj;
	if (out)
		*out = obj;
	return 0;

fail_trigger:
	release_trigger(obj->trigger);
fail:
	free(obj);
	return err;
}

/* ---- deassign ------------------------------------------------------------ */

static void irqfd_free_rcu(struct rcu_head *head)
{
	struct iofd_irqfd_obj *obj = caa_container_of(head, struct iofd_irqfd_obj, rcu);

	iofd_tsan_grace(obj);
	free(obj);
}

/* KVM_IRQFD deassign of an irqfd the kernel serves: 0 or -errno. */
static int kernel_deassign(struct iofd_vm *vm, const struct iofd_irqfd_obj *obj)
{
	struct kvm_irqfd d = { .fd = (uint32_t)obj->trigger->fd, .gsi = obj->gsi,
			       .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return kvm_irqfd_ioctl(vm, &d);
}

/* Take obj out of the VM; with kernel, its kernel registration too. */
static void unlink_irqfd(struct iofd_vm *vm, struct iofd_irqfd_obj *obj,
			 bool kernel)
{
	struct iofd_irq *irq = vm->irq;
	struct iofd_irqfd_obj **pp;

	atomic_store_explicit(&obj->dead, true, memory_order_release);
	for (pp = &irq->irqfds; *pp; pp = &(*pp)->next)
		if (*pp == obj) {
			*pp = obj->next;
			break;
		}
	if (obj->owner && obj->owner->ops->unplug)
		obj->owner->ops->unplug(vm, obj->owner);
	if (obj->offloaded) {
		int err = kernel ? kernel_deassign(vm, obj) : 0;

		/* Nobody to return it to: the kernel's irqfd stays until
		 * the VM fd closes, and the log says so. */
		if (err)
			iofd_log(IOFD_LOG_WARNING, err, "KVM_IRQFD deassign of "
				 "GSI %u failed (%s): the kernel keeps it",
				 obj->gsi, strerror(-err));
	} else {
		iofd_irq_watch_del(irq, obj->trigger->fd);
		if (obj->resample)
			iofd_line_del_resampler(obj->line, &obj->src);
		if (obj->resamplefd)
			iofd_efd_put(&irq->resamplefds, obj->resamplefd);
		iofd_line_put(irq, obj->line);
		irq->served--;
	}
	/* The dups close after a grace period: readers may still hold them. */
	release_trigger(obj->trigger);
	iofd_tsan_retire(obj);
	urcu_memb_call_rcu(&obj->rcu, irqfd_free_rcu);
}

void iofd_irqfd_remove_locked(struct iofd_vm *vm, struct iofd_irqfd_obj *obj)
{
	unlink_irqfd(vm, obj, true);
}

static int deassign_locked(struct iofd_vm *vm, const struct kvm_irqfd *args)
{
	struct iofd_irqfd_obj *obj, *next;
	struct iofd_efd_key key;
	struct iofd_efd *efd;
	bool found = false;
	int err = iofd_efd_key((int)args->fd, &key);

	if (err)
		return err;
	pthread_mutex_lock(&triggers_lock);
	efd = iofd_efd_find(&triggers, &key);
	pthread_mutex_unlock(&triggers_lock);
	for (obj = vm->irq->irqfds; efd && obj; obj = next) {
		next = obj->next;
		if (obj->trigger != efd || obj->gsi != args->gsi)
			continue;
		/* The kernel first: if it refuses, nothing has changed. */
		err = obj->offloaded ? kernel_deassign(vm, obj) : 0;
		if (err)
			return iofd_fail(err, "KVM_IRQFD deassign of GSI %u: %s",
					 obj->gsi, strerror(-err));
		unlink_irqfd(vm, obj, false);
		found = true;
	}
	/* One the VMM registered with the kernel itself: the kernel's answer. */
	if (!found && vm->kvm_fd >= 0)
		kvm_irqfd_ioctl(vm, args);
	return 0;
}

IOFD_EXPORT int iofd_irqfd(struct iofd_vm *vm, const struct kvm_irqfd *args)
{
	int err;

	if (!vm || !args)
		return iofd_fail(-EINVAL, "iofd_irqfd: NULL vm or args");
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return iofd_fail(-EINVAL, "unknown irqfd flags 0x%x", args->flags);
	iofd_rcu_thread();
	pthread_mutex_lock(&vm->irq->lock);
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		err = deassign_locked(vm, args);
	else
		err = iofd_irqfd_assign_locked(vm, args, NULL, NULL);
	pthread_mutex_unlock(&vm->irq->lock);
	return err;
}

/* ---- the VM goes away ---------------------------------------------------- */

/* Deassign every irqfd (the kernel's VM fd still open). */
static void irq_vm_destroy(struct iofd_vm *vm)
{
	struct iofd_irq *irq = vm->irq;

	if (!irq)
		return;
	iofd_rcu_thread();
	pthread_mutex_lock(&irq->lock);
	while (irq->irqfds)
		iofd_irqfd_remove_locked(vm, irq->irqfds);
	if (irq->epfd >= 0)
		close(irq->epfd);
	irq->epfd = -1;
	pthread_mutex_unlock(&irq->lock);
}

/* Free what is left, after the final grace period. */
static void irq_vm_free(struct iofd_vm *vm)
{
	struct iofd_irq *irq = vm->irq;

	if (!irq)
		return;
	free(irq->ctl);
	free(irq->lines);	/* at most slots of lines already gone */
	pthread_mutex_destroy(&irq->lock);
	free(irq);
	vm->irq = NULL;
}

/* ---- the mechanism ------------------------------------------------------- */

static void irq_vm_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	caps->irqchip = irqchip_probe(vm);
	if (__atomic_load_n(&vm->irq->ctl, __ATOMIC_ACQUIRE) &&
	    caps->irqchip != IOFD_IRQCHIP_KERNEL)
		caps->flags |= IOFD_CAP_IRQFD_USERSPACE;
	if (iofd_vm_kvm_cap(vm, KVM_CAP_IRQFD))
		caps->flags |= IOFD_CAP_IRQFD;
	if (iofd_vm_kvm_cap(vm, KVM_CAP_IRQFD_RESAMPLE))
		caps->flags |= IOFD_CAP_IRQFD_RESAMPLE;
}

/* A split irqchip's EOI: lower the lines first; the exit stays the VMM's,
 * whose IOAPIC still sees it. */
static int irq_vm_exit(struct iofd_vcpu *vcpu, struct iofd_exit *info)
{
	(void)info;
	iofd_irq_ioapic_eoi(vcpu->vm, vcpu->run->eoi.vector);
	return IOFD_NOT_CLAIMED;
}

const struct iofd_mech iofd_irqfd_mech = {
	.name = "irqfd",
	.init = irq_vm_init,
	.caps = irq_vm_caps,
	.exit_reason = KVM_EXIT_IOAPIC_EOI,
	.exit = irq_vm_exit,
	.destroy = irq_vm_destroy,
	.free = irq_vm_free,
};
