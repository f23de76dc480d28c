/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The GSI lines iofd drives for a userspace interrupt controller, as the
 * kernel's resampler does for its own irqchip: a resample irqfd raises its
 * line, the guest's acknowledgement (iofd_irq_eoi()) lowers it and signals
 * every resampler of the GSI (through its ack op). Also the VM's epoll fd
 * and its process call, through which the sources in it (trigger eventfds,
 * resamplefds) are served by their event op without a thread of iofd's.
 *
 * Lines live in a sorted array that writers copy and publish whole (there
 * are few); readers (EOI, process) find them under RCU without a lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "eventfd.h"
#include "irqline.h"
#include "rcu.h"
#include "tsan.h"
#include "vm.h"

/* ---- the line array ------------------------------------------------------ */

IOFD_RCU_ARRAY_CHECK(struct iofd_line_array, v);
IOFD_RCU_ARRAY_CHECK(struct iofd_resampler_list, v);

/* Index of the first slot whose GSI is not below gsi (a->h.n if none). */
static size_t lines_lower_bound(const struct iofd_line_array *a, uint32_t gsi)
{
	size_t lo = 0, hi = a ? a->h.n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->v[mid].gsi < gsi)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The slot of gsi, or -1. Its line may be NULL (gone). */
static long lines_find(const struct iofd_line_array *a, uint32_t gsi)
{
	size_t i = lines_lower_bound(a, gsi);

	return a && i < a->h.n && a->v[i].gsi == gsi ? (long)i : -1;
}

/* Drop the slots of lines that went away from a writer's copy. */
static void lines_compact(struct iofd_line_array *a)
{
	size_t j = 0;

	for (size_t i = 0; i < a->h.n; i++)
		if (a->v[i].line)
			a->v[j++] = a->v[i];
	a->h.n = j;
}

struct iofd_irq_line *iofd_line_get(struct iofd_irq *irq, uint32_t gsi)
{
	long idx = lines_find(irq->lines, gsi);
	struct iofd_line_array *arr;
	struct iofd_irq_line *line = idx >= 0 ? irq->lines->v[idx].line : NULL;
	size_t pos;

	if (line) {
		line->users++;
		return line;
	}
	line = iofd_calloc(1, sizeof(*line));
	/* A slot left by a line that went away is reused in the copy. */
	pos = idx >= 0 ? (size_t)idx : lines_lower_bound(irq->lines, gsi);
	arr = line ? iofd_rcu_array_copy(irq->lines, sizeof(arr->v[0]),
					 idx >= 0 ? -1 : (long)pos, -1) : NULL;
	if (!arr) {
		free(line);
		return NULL;
	}
	line->gsi = gsi;
	line->users = 1;
	line->ctl = irq->ctl;
	pthread_mutex_init(&line->level_lock, NULL);
	arr->v[pos] = (struct iofd_line_slot){ gsi, line };
	lines_compact(arr);
	iofd_tsan_publish(line);
	iofd_rcu_array_publish(&irq->lines, arr);
	return line;
}

static void line_free_rcu(struct rcu_head *head)
{
	struct iofd_irq_line *line = caa_container_of(head, struct iofd_irq_line, rcu);

	iofd_tsan_grace(line);
	free(line->resamplers);
	pthread_mutex_destroy(&line->level_lock);
	free(line);
}

void iofd_line_put(struct iofd_irq *irq, struct iofd_irq_line *line)
{
	long idx;
	struct iofd_line_array *arr;

	if (--line->users)
		return;
	idx = lines_find(irq->lines, line->gsi);
	arr = iofd_rcu_array_copy(irq->lines, sizeof(arr->v[0]), -1, idx);
	if (arr) {
		lines_compact(arr);
		iofd_rcu_array_publish(&irq->lines, arr);
	} else {
		/* No memory for a smaller copy: the slot forgets its line. */
		rcu_assign_pointer(irq->lines->v[idx].line, NULL);
	}
	iofd_tsan_retire(line);
	urcu_memb_call_rcu(&line->rcu, line_free_rcu);
}

/* ---- resamplers of a line ------------------------------------------------ */

/* Does the line have a resample irqfd left? */
static bool resamplers_live(const struct iofd_resampler_list *list)
{
	for (size_t i = 0; list && i < list->h.n; i++)
		if (list->v[i])
			return true;
	return false;
}

int iofd_line_add_resampler(struct iofd_irq_line *line, struct iofd_source *obj)
{
	struct iofd_resampler_list *old = line->resamplers, *list;
	size_t j = 0;

	list = iofd_rcu_array_copy(old, sizeof(list->v[0]),
				   old ? (long)old->h.n : 0, -1);
	if (!list)
		return -ENOMEM;
	list->v[list->h.n - 1] = obj;
	for (size_t i = 0; i < list->h.n; i++)	/* drop removed ones */
		if (list->v[i])
			list->v[j++] = list->v[i];
	list->h.n = j;
	iofd_rcu_array_publish(&line->resamplers, list);
	return 0;
}

/* Drop the resample source's level (the controller hears 1 -> 0). */
static void line_lower(struct iofd_irq_line *line)
{
	pthread_mutex_lock(&line->level_lock);
	if (line->resample_level) {
		line->resample_level = false;
		line->ctl->ops.set_level(line->ctl->opaque, line->gsi, 0);
	}
	pthread_mutex_unlock(&line->level_lock);
}

void iofd_line_del_resampler(struct iofd_irq_line *line, struct iofd_source *obj)
{
	struct iofd_resampler_list *old = line->resamplers, *list;
	long idx = -1;

	for (size_t i = 0; old && i < old->h.n; i++)
		if (old->v[i] == obj)
			idx = (long)i;
	if (idx >= 0) {
		list = iofd_rcu_array_copy(old, sizeof(list->v[0]), -1, idx);
		if (list)
			iofd_rcu_array_publish(&line->resamplers, list);
		else	/* no memory for a copy: the slot forgets it */
			rcu_assign_pointer(old->v[idx], NULL);
	}
	/* As the kernel does: the GSI's last resampler leaves the line low. */
	if (!resamplers_live(line->resamplers))
		line_lower(line);
}

/* ---- levels -------------------------------------------------------------- */

void iofd_line_assert(struct iofd_irq_line *line)
{
	pthread_mutex_lock(&line->level_lock);
	if (!line->resample_level) {
		line->resample_level = true;
		line->ctl->ops.set_level(line->ctl->opaque, line->gsi, 1);
	}
	pthread_mutex_unlock(&line->level_lock);
}

void iofd_line_pulse(struct iofd_irq_line *line)
{
	pthread_mutex_lock(&line->level_lock);
	line->ctl->ops.set_level(line->ctl->opaque, line->gsi, 1);
	if (!line->resample_level)
		line->ctl->ops.set_level(line->ctl->opaque, line->gsi, 0);
	pthread_mutex_unlock(&line->level_lock);
}

/* The guest acknowledged the GSI: lower the line, then tell every resampler. */
static void line_eoi(struct iofd_irq_line *line)
{
	struct iofd_resampler_list *list = rcu_dereference(line->resamplers);
	size_t n;

	if (!list)
		return;
	iofd_tsan_read(list);
	line_lower(line);
	n = list->h.n;
	for (size_t i = 0; i < n; i++) {
		struct iofd_source *src = rcu_dereference(list->v[i]);

		if (src)
			src->ops->ack(src);
	}
	iofd_tsan_read_done(list);
}

static struct iofd_irq_line *line_lookup(struct iofd_irq *irq, uint32_t gsi)
{
	struct iofd_line_array *arr = rcu_dereference(irq->lines);
	long idx;

	if (!arr)
		return NULL;
	iofd_tsan_read(arr);
	idx = lines_find(arr, gsi);
	return idx >= 0 ? rcu_dereference(arr->v[idx].line) : NULL;
}

IOFD_EXPORT int iofd_irq_eoi(struct iofd_vm *vm, uint32_t gsi)
{
	struct iofd_irq_line *line;

	if (!vm)
		return iofd_fail(-EINVAL, "iofd_irq_eoi: NULL vm");
	iofd_rcu_thread();
	urcu_memb_read_lock();
	line = line_lookup(vm->irq, gsi);
	if (line)
		line_eoi(line);
	urcu_memb_read_unlock();
	return 0;
}

/* KVM_EXIT_IOAPIC_EOI: the controller says which GSIs the vector names. */
void iofd_irq_ioapic_eoi(struct iofd_vm *vm, uint8_t vector)
{
	uint32_t gsis[64];
	const struct iofd_irq_ctl *ctl;
	size_t n = 0;

	iofd_rcu_thread();
	urcu_memb_read_lock();
	ctl = rcu_dereference(vm->irq->ctl);
	if (ctl && ctl->ops.eoi_gsis && rcu_dereference(vm->irq->lines)) {
		n = ctl->ops.eoi_gsis(ctl->opaque, vector, gsis, 64);
		if (n > 64)
			n = 64;
	}
	for (size_t i = 0; i < n; i++) {
		struct iofd_irq_line *line = line_lookup(vm->irq, gsis[i]);

		if (line)
			line_eoi(line);
	}
	urcu_memb_read_unlock();
}

/* ---- the controller ------------------------------------------------------ */

static void ctl_free_rcu(struct rcu_head *head)
{
	struct iofd_irq_ctl *ctl = caa_container_of(head, struct iofd_irq_ctl, rcu);

	iofd_tsan_grace(ctl);
	free(ctl);
}

IOFD_EXPORT int iofd_irq_set_controller(struct iofd_vm *vm,
					const struct iofd_irq_controller *ops,
					void *opaque)
{
	struct iofd_irq_ctl *ctl = NULL, *old;
	struct iofd_irq *irq;

	if (!vm || (ops && !ops->set_level))
		return iofd_fail(-EINVAL, "iofd_irq_set_controller: NULL vm, or a "
				 "controller without set_level");
	if (ops && !iofd_zero(ops->reserved, sizeof(ops->reserved)))
		return iofd_fail(-EINVAL, "iofd_irq_set_controller: reserved calls "
				 "of iofd_irq_controller not NULL");
	if (ops) {
		ctl = iofd_calloc(1, sizeof(*ctl));
		if (!ctl)
			return iofd_fail(-ENOMEM, "out of memory for a controller");
		ctl->ops = *ops;
		ctl->opaque = opaque;
	}
	iofd_rcu_thread();
	irq = vm->irq;
	pthread_mutex_lock(&irq->lock);
	if (irq->served) {
		pthread_mutex_unlock(&irq->lock);
		free(ctl);
		return iofd_fail(-EBUSY, "%u irqfds served by iofd use the controller",
				 irq->served);
	}
	old = irq->ctl;
	iofd_tsan_publish(ctl);
	rcu_assign_pointer(irq->ctl, ctl);
	pthread_mutex_unlock(&irq->lock);
	if (old) {
		iofd_tsan_retire(old);
		urcu_memb_call_rcu(&old->rcu, ctl_free_rcu);
	}
	return 0;
}

/* ---- the epoll fd and the process call ----------------------------------- */

static int irq_epoll_locked(struct iofd_irq *irq)
{
	int fd;

	if (irq->epfd >= 0)
		return irq->epfd;
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return iofd_fail(-errno, "epoll_create1: %s", strerror(errno));
	__atomic_store_n(&irq->epfd, fd, __ATOMIC_RELEASE);
	return fd;
}

int iofd_irq_watch_add(struct iofd_irq *irq, int fd, struct iofd_source *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	int epfd = irq_epoll_locked(irq);

	if (epfd < 0)
		return epfd;
	iofd_tsan_publish(src);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return iofd_fail(-errno, "cannot watch fd %d: %s", fd, strerror(errno));
	return 0;
}

void iofd_irq_watch_del(struct iofd_irq *irq, int fd)
{
	if (irq->epfd >= 0)
		epoll_ctl(irq->epfd, EPOLL_CTL_DEL, fd, NULL);
}

IOFD_EXPORT int iofd_irq_fd(struct iofd_vm *vm)
{
	int fd;

	if (!vm)
		return iofd_fail(-EINVAL, "iofd_irq_fd: NULL vm");
	pthread_mutex_lock(&vm->irq->lock);
	fd = irq_epoll_locked(vm->irq);
	pthread_mutex_unlock(&vm->irq->lock);
	return fd;
}

/* One ready fd of the set: its source serves it (what it handled, >= 0). */
static int handle_event(struct iofd_source *src)
{
	int n;

	iofd_tsan_read(src);
	n = src->ops->event(src);
	iofd_tsan_read_done(src);
	return n > 0 ? n : 0;
}

IOFD_EXPORT int iofd_irq_process(struct iofd_vm *vm)
{
	struct epoll_event ev[32];
	int epfd, n, handled = 0;

	if (!vm)
		return iofd_fail(-EINVAL, "iofd_irq_process: NULL vm");
	epfd = __atomic_load_n(&vm->irq->epfd, __ATOMIC_ACQUIRE);
	if (epfd < 0)
		return 0;
	iofd_rcu_thread();
	urcu_memb_read_lock();
	n = epoll_wait(epfd, ev, 32, 0);
	for (int i = 0; i < n; i++)
		handled += handle_event(ev[i].data.ptr);
	urcu_memb_read_unlock();
	return handled;
}
