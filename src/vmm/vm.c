/* SPDX-License-Identifier: BSD-3-Clause */
/* VMs: creation or adoption of a KVM VM, teardown, quiesce, batches, caps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "mech.h"
#include "rcu.h"
#include "space.h"
#include "tsan.h"
#include "vm.h"

static int open_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Create a KVM VM (when asked) and learn the kvm_run size. */
static int vm_attach_kvm(struct iofd_vm *vm, int kvm_vm_fd)
{
	int kvm = open_kvm(), err;

	if (kvm < 0)
		return iofd_fail(kvm, "cannot open /dev/kvm: %s", strerror(-kvm));
	if (kvm_vm_fd == IOFD_KVM_CREATE) {
		vm->kvm_fd = iofd_ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm->kvm_fd < 0) {
			err = -errno;
			close(kvm);
			return iofd_fail(err, "KVM_CREATE_VM: %s", strerror(-err));
		}
		fcntl(vm->kvm_fd, F_SETFD, FD_CLOEXEC);
		vm->own_kvm_fd = true;
	} else {
		vm->kvm_fd = kvm_vm_fd;
	}
	vm->kvm_run_size = iofd_ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	close(kvm);
	if (vm->kvm_run_size <= 0)
		return iofd_fail(-EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	return 0;
}

/*
 * An adopted VM fd must be a KVM VM. kvm_vm_fd 0 is a valid fd number, so
 * a zero-initialised iofd_vm_options asks to adopt fd 0: usually stdin,
 * refused here with a hint.
 */
static int check_vm_fd(int fd)
{
	static const char hint[] = " (a zero-initialised iofd_vm_options adopts "
				   "fd 0: set kvm_vm_fd to IOFD_KVM_NONE or "
				   "IOFD_KVM_CREATE)";
	char target[64];
	int err = iofd_fd_link(fd, target, sizeof(target));

	if (err == -EBADF)
		return iofd_fail(-EINVAL, "iofd_vm_create: kvm_vm_fd %d is not an "
				 "open file descriptor%s", fd, fd ? "" : hint);
	if (err)
		return iofd_fail(-EINVAL, "iofd_vm_create: cannot tell whether fd "
				 "%d is a KVM VM: %s", fd, strerror(-err));
	if (strcmp(target, "anon_inode:kvm-vm") != 0)
		return iofd_fail(-EINVAL, "iofd_vm_create: kvm_vm_fd %d is not a "
				 "KVM VM (%s)%s", fd, target, fd ? "" : hint);
	return 0;
}

/* The ABI: sizes of the structs iofd defines stay put; new fields go into
 * their reserved space. */
_Static_assert(sizeof(struct iofd_vm_options) == 32, "iofd_vm_options ABI");
_Static_assert(sizeof(struct iofd_caps) == 32, "iofd_caps ABI");
_Static_assert(sizeof(struct iofd_exit) == 160, "iofd_exit ABI");
_Static_assert(sizeof(struct iofd_vcpu_stats) == 128, "iofd_vcpu_stats ABI");
_Static_assert(sizeof(struct iofd_irq_controller) == 64, "iofd_irq_controller ABI");

IOFD_EXPORT int iofd_vm_create(const struct iofd_vm_options *opts,
			       struct iofd_vm **out)
{
	struct iofd_vm_options def = { .kvm_vm_fd = IOFD_KVM_NONE };
	const struct iofd_mech *m;
	struct iofd_vm *vm;
	int err = 0;

	if (!out)
		return iofd_fail(-EINVAL, "iofd_vm_create: NULL out");
	*out = NULL;
	if (!opts)
		opts = &def;
	if (opts->kvm_vm_fd < IOFD_KVM_CREATE)
		return iofd_fail(-EINVAL, "iofd_vm_create: kvm_vm_fd %d is neither "
				 "an fd nor IOFD_KVM_NONE/CREATE", opts->kvm_vm_fd);
	if (opts->flags & ~(IOFD_VM_NO_OFFLOAD | iofd_mech_vm_flags()))
		return iofd_fail(-EINVAL, "iofd_vm_create: unknown flags 0x%x",
				 opts->flags);
	if (!iofd_zero(opts->reserved, sizeof(opts->reserved)))
		return iofd_fail(-EINVAL, "iofd_vm_create: iofd_vm_options reserved "
				 "fields not 0");
	if (opts->kvm_vm_fd >= 0 && check_vm_fd(opts->kvm_vm_fd))
		return -EINVAL;
	iofd_rcu_thread();
	vm = iofd_calloc(1, sizeof(*vm));
	if (!vm)
		return iofd_fail(-ENOMEM, "out of memory for a VM");
	vm->kvm_fd = -1;
	vm->flags = opts->flags;
	pthread_mutex_init(&vm->lock, NULL);
	for (int b = 0; b < IOFD_NR_BUSES && !err; b++)
		err = iofd_space_init(&vm->bus[b]);
	iofd_for_each_mech(m, i)
		if (!err && m->init)
			err = m->init(vm, opts);
	if (!err && opts->kvm_vm_fd != IOFD_KVM_NONE)
		err = vm_attach_kvm(vm, opts->kvm_vm_fd);
	iofd_for_each_mech(m, i)
		if (!err && vm->kvm_fd >= 0 && m->probe)
			err = m->probe(vm);
	if (err) {
		iofd_vm_destroy(vm);
		return err;
	}
	*out = vm;
	return 0;
}

/* Remove every registration of every bus (writer lock held). */
static void vm_clear(struct iofd_vm *vm)
{
	for (int b = 0; b < IOFD_NR_BUSES; b++) {
		struct iofd_space *sp = &vm->bus[b];
		struct iofd_ioeventfd_entry *e, *head;
		struct cds_lfht_iter it;

		if (!sp->exact)
			continue;
		iofd_for_each_head(sp, it, head)
			iofd_for_each_same(e, head)
				if (e->died == IOFD_GEN_ALIVE)
					iofd_space_remove_entry(vm, e);
		iofd_space_ranges_clear(vm, sp);
	}
	iofd_publish_now(vm);
}

/*
 * Does the calling thread hold an open batch (and so the writer lock)?
 * Other threads read this without the lock, hence the atomics: only the
 * owner ever stores its own id, so a match cannot be stale.
 */
static bool batch_is_mine(struct iofd_vm *vm)
{
	return atomic_load(&vm->batch_active) &&
	       pthread_equal(atomic_load_explicit(&vm->batch_owner,
						  memory_order_relaxed),
			     pthread_self());
}

IOFD_EXPORT void iofd_vm_destroy(struct iofd_vm *vm)
{
	const struct iofd_mech *m;

	if (!vm)
		return;
	iofd_rcu_thread();
	/* Mechanisms first: their kernel registrations need the VM fd. */
	iofd_for_each_mech(m, i)
		if (m->destroy)
			m->destroy(vm);
	/* The batch's owner holds the lock already; anyone else waits. */
	if (!batch_is_mine(vm))
		pthread_mutex_lock(&vm->lock);
	urcu_memb_read_lock();
	vm->in_batch = false;
	atomic_store(&vm->batch_active, false);
	vm_clear(vm);
	urcu_memb_read_unlock();
	pthread_mutex_unlock(&vm->lock);
	urcu_memb_barrier();
	iofd_tsan_grace(vm);	/* no reader can hold the tables any more */
	for (int b = 0; b < IOFD_NR_BUSES; b++)
		iofd_space_fini(&vm->bus[b]);
	iofd_for_each_mech(m, i)
		if (m->free)
			m->free(vm);
	if (vm->own_kvm_fd)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

IOFD_EXPORT int iofd_vm_kvm_fd(const struct iofd_vm *vm)
{
	if (!vm)
		return iofd_fail(-EINVAL, "iofd_vm_kvm_fd: NULL vm");
	return vm->kvm_fd >= 0 ? vm->kvm_fd
			       : iofd_fail(-ENODEV, "iofd_vm_kvm_fd: the VM has no "
					   "KVM VM");
}

IOFD_EXPORT int iofd_quiesce(struct iofd_vm *vm)
{
	if (!vm)
		return iofd_fail(-EINVAL, "iofd_quiesce: NULL vm");
	iofd_rcu_thread();
	urcu_memb_barrier();
	return 0;
}

void iofd_writer_lock(struct iofd_vm *vm)
{
	iofd_rcu_thread();
	if (!batch_is_mine(vm))
		pthread_mutex_lock(&vm->lock);
	urcu_memb_read_lock();
}

static void vm_fit(struct iofd_vm *vm)
{
	for (int b = 0; b < IOFD_NR_BUSES; b++)
		iofd_space_fit(&vm->bus[b]);
}

void iofd_writer_unlock(struct iofd_vm *vm)
{
	urcu_memb_read_unlock();
	if (!vm->in_batch) {
		vm_fit(vm);
		pthread_mutex_unlock(&vm->lock);
	}
}

IOFD_EXPORT int iofd_batch_begin(struct iofd_vm *vm)
{
	if (!vm)
		return iofd_fail(-EINVAL, "iofd_batch_begin: NULL vm");
	if (batch_is_mine(vm))
		return iofd_fail(-EBUSY, "iofd_batch_begin: this thread has a "
				 "batch open already");
	iofd_rcu_thread();
	pthread_mutex_lock(&vm->lock);
	vm->in_batch = true;
	atomic_store_explicit(&vm->batch_owner, pthread_self(), memory_order_relaxed);
	atomic_store(&vm->batch_active, true);
	return 0;
}

IOFD_EXPORT int iofd_batch_commit(struct iofd_vm *vm)
{
	if (!vm || !batch_is_mine(vm))
		return iofd_fail(-EINVAL, "iofd_batch_commit: no batch open on "
				 "this thread");
	urcu_memb_read_lock();
	iofd_publish_now(vm);
	urcu_memb_read_unlock();
	vm_fit(vm);
	vm->in_batch = false;
	atomic_store(&vm->batch_active, false);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

bool iofd_vm_kvm_cap(struct iofd_vm *vm, long cap)
{
	return vm->kvm_fd >= 0 &&
	       iofd_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

IOFD_EXPORT int iofd_query_caps(struct iofd_vm *vm, struct iofd_caps *caps)
{
	const struct iofd_mech *m;

	if (!vm || !caps)
		return iofd_fail(-EINVAL, "iofd_query_caps: NULL vm or caps");
	memset(caps, 0, sizeof(*caps));
	if (vm->kvm_fd >= 0)
		caps->flags |= IOFD_CAP_KVM;
	iofd_for_each_mech(m, i)
		if (m->caps)
			m->caps(vm, caps);
	return 0;
}
