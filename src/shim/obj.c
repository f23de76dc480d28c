/* SPDX-License-Identifier: BSD-3-Clause */
/* VM and vCPU objects: adoption, lookup, dups and release. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtab.h"
#include "fork.h"
#include "obj.h"
#include "real.h"
#include "run.h"

/* Writers (adoption, close) hold it exclusively; lookups share it just
 * long enough to take a reference. */
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct shim_obj *all;
static atomic_int nr_objs;
/* Recorded for vCPU fds the shim never saw created: the kernel's alone. */
static struct shim_obj pass_vcpu = { .kind = SHIM_FD_VCPU, .own_fd = -1 };

static pthread_once_t run_size_once = PTHREAD_ONCE_INIT;
static long run_size;

static void ask_run_size(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0) {
		run_size = -errno;
		return;
	}
	run_size = shim_real_ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		run_size = -errno;
	shim_real_close(kvm);
}

long shim_kvm_run_size(void)
{
	pthread_once(&run_size_once, ask_run_size);
	return run_size;
}

int shim_same_file(int fd1, int fd2)
{
	pid_t pid = getpid();
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, fd1, fd2);

	return r < 0 ? -errno : r == 0;
}

int shim_objs_live(void)
{
	return atomic_load(&nr_objs);
}

static struct shim_obj *forget_locked(int fd);

static void obj_ref(struct shim_obj *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

/* Take a reference on what the table holds for @fd (shared lock). */
static struct shim_obj *lookup_ref(int fd)
{
	struct shim_obj *o;

	pthread_rwlock_rdlock(&lock);
	o = shim_fdtab_get(fd);
	if (o && o != &pass_vcpu)
		obj_ref(o);
	pthread_rwlock_unlock(&lock);
	return o;
}

/* The live object of @kind whose dup is the same file as @fd (locked). */
static struct shim_obj *find_same_locked(int kind, int fd)
{
	for (struct shim_obj *o = all; o; o = o->next)
		if (o->kind == kind && shim_same_file(o->own_fd, fd) == 1)
			return o;
	return NULL;
}

static void link_locked(struct shim_obj *o)
{
	o->next = all;
	all = o;
	atomic_fetch_add(&nr_objs, 1);
}

static void unlink_locked(struct shim_obj *o)
{
	for (struct shim_obj **p = &all; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			atomic_fetch_sub(&nr_objs, 1);
			return;
		}
}

/* Record @fd as one more program fd of @o (locked). */
static int attach_locked(int fd, struct shim_obj *o)
{
	int err = shim_fdtab_set(fd, o);

	if (!err)
		o->nfds++;
	return err;
}

static void vm_release(struct shim_vm *vm)
{
	shim_debug("releasing VM (dup fd %d)", vm->o.own_fd);
	shim_enter();
	iofd_vm_destroy(vm->iofd);
	shim_leave();
	shim_real_close(vm->o.own_fd);
	free(vm);
}

static void vcpu_release(struct shim_vcpu *v)
{
	shim_debug("releasing vCPU (dup fd %d)", v->o.own_fd);
	shim_enter();
	iofd_vcpu_destroy(v->iofd);
	shim_leave();
	if (v->run && v->run_size)
		munmap(v->run, v->run_size);
	shim_real_close(v->o.own_fd);
	if (v->vm)
		shim_obj_put(&v->vm->o);
	free(v);
}

void shim_obj_put(struct shim_obj *o)
{
	if (!o || o == &pass_vcpu)
		return;
	if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (o->kind == SHIM_FD_VM)
		vm_release((struct shim_vm *)o);
	else
		vcpu_release((struct shim_vcpu *)o);
}

/* IOFD_SHIM_IOREGION_TIMEOUT_MS: how long an ioregion access may wait
 * for its device (0: forever, as the RFC); iofd's default otherwise. */
static void vm_apply_env(struct iofd_vm *vm)
{
	const char *t = getenv("IOFD_SHIM_IOREGION_TIMEOUT_MS");
	unsigned long ms;
	char *end;

	if (!t || !*t)
		return;
	errno = 0;
	ms = strtoul(t, &end, 10);
	if (*end || errno || ms > UINT32_MAX) {
		shim_debug("IOFD_SHIM_IOREGION_TIMEOUT_MS=%s ignored", t);
		return;
	}
	iofd_vm_set_ioregion_timeout(vm, (uint32_t)ms);
}

/* A new VM object for @fd: the shim's dup, adopted by iofd. Unlocked:
 * iofd may wait for liburcu's worker, which may be closing an fd. */
static int vm_new(int fd, struct shim_vm **out)
{
	struct iofd_vm_options opts = { .kvm_vm_fd = -1 };
	struct shim_vm *vm = calloc(1, sizeof(*vm));
	int err;

	if (!vm)
		return -ENOMEM;
	shim_fork_init();
	vm->o.kind = SHIM_FD_VM;
	vm->o.own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (vm->o.own_fd < 0) {
		err = -errno;
		free(vm);
		return err;
	}
	opts.kvm_vm_fd = vm->o.own_fd;
	shim_enter();
	err = iofd_vm_create(&opts, &vm->iofd);
	if (!err)
		vm_apply_env(vm->iofd);
	shim_leave();
	if (err) {
		shim_real_close(vm->o.own_fd);
		free(vm);
		return err;
	}
	atomic_store(&vm->o.refs, 1);	/* the program's fds */
	*out = vm;
	return 0;
}

/* The VM object already known for @fd, attached to it (locked). */
static struct shim_obj *vm_known_locked(int fd, int *err)
{
	struct shim_obj *o = shim_fdtab_get(fd);

	*err = 0;
	if (o && o->kind == SHIM_FD_VM)
		return o;
	o = find_same_locked(SHIM_FD_VM, fd);
	if (o) {
		shim_fdtab_set(fd, NULL);
		*err = attach_locked(fd, o);
	}
	return o;
}

/* Attach @fresh to @fd unless another thread adopted the VM meanwhile;
 * the object to use, referenced, or NULL with *err (locked). */
static struct shim_obj *vm_adopt_locked(int fd, struct shim_vm **fresh, int *err)
{
	struct shim_obj *o = vm_known_locked(fd, err);

	if (!o && *fresh) {
		shim_fdtab_set(fd, NULL);
		*err = attach_locked(fd, &(*fresh)->o);
		if (!*err) {
			o = &(*fresh)->o;
			link_locked(o);
			*fresh = NULL;
			shim_debug("adopted VM fd %d (dup %d)", fd, o->own_fd);
		}
	}
	if (!o || *err)
		return NULL;
	obj_ref(o);
	return o;
}

int shim_vm_get(int fd, struct shim_vm **out)
{
	struct shim_obj *o = lookup_ref(fd);
	struct shim_vm *fresh = NULL;
	int err;

	*out = NULL;
	if (o && o->kind == SHIM_FD_VM) {
		*out = (struct shim_vm *)o;
		return 0;
	}
	shim_obj_put(o);
	if (shim_fd_classify(fd) != SHIM_FD_VM)
		return 0;
	pthread_rwlock_wrlock(&lock);
	o = vm_adopt_locked(fd, &fresh, &err);
	pthread_rwlock_unlock(&lock);
	if (!o && !err) {	/* a VM the shim has not seen: adopt it */
		err = vm_new(fd, &fresh);
		if (err)
			return err;
		pthread_rwlock_wrlock(&lock);
		o = vm_adopt_locked(fd, &fresh, &err);
		pthread_rwlock_unlock(&lock);
		shim_obj_put(fresh ? &fresh->o : NULL);	/* lost a race */
	}
	if (!o)
		return err;
	*out = (struct shim_vm *)o;
	return 0;
}

struct shim_vcpu *shim_vcpu_get(int fd)
{
	struct shim_obj *o;

	if (atomic_load_explicit(&nr_objs, memory_order_relaxed) == 0)
		return NULL;	/* nothing adopted: nothing to serve */
	o = lookup_ref(fd);
	if (o)
		return o == &pass_vcpu ? NULL : (struct shim_vcpu *)o;
	if (shim_fd_classify(fd) != SHIM_FD_VCPU)
		return NULL;
	pthread_rwlock_wrlock(&lock);
	o = shim_fdtab_get(fd);
	if (!o) {
		o = find_same_locked(SHIM_FD_VCPU, fd);
		if (!o) {
			shim_debug("vCPU fd %d was never seen created: "
				   "left to the kernel", fd);
			o = &pass_vcpu;
			shim_fdtab_set(fd, o);
		} else if (attach_locked(fd, o)) {
			o = &pass_vcpu;
		}
	}
	if (o != &pass_vcpu)
		obj_ref(o);
	pthread_rwlock_unlock(&lock);
	return o == &pass_vcpu ? NULL : (struct shim_vcpu *)o;
}

/* Map kvm_run and wrap the vCPU in iofd. */
static int vcpu_setup(struct shim_vcpu *v)
{
	long size = shim_kvm_run_size();
	int err;

	if (size <= 0)
		return size < 0 ? (int)size : -EINVAL;
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->o.own_fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	shim_enter();
	err = iofd_vcpu_adopt(v->vm->iofd, v->o.own_fd, v->run, &v->iofd);
	shim_leave();
	return err;
}

int shim_vcpu_attach(int fd, struct shim_vcpu *v)
{
	struct shim_obj *stale;
	int err;

	pthread_rwlock_wrlock(&lock);
	stale = forget_locked(fd);	/* a number reused behind our back */
	err = attach_locked(fd, &v->o);
	if (!err) {
		atomic_store(&v->o.refs, 1);
		link_locked(&v->o);
	}
	pthread_rwlock_unlock(&lock);
	shim_obj_put(stale);
	return err;
}

int shim_vcpu_created(struct shim_vm *vm, int fd)
{
	struct shim_vcpu *v = calloc(1, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	v->o.kind = SHIM_FD_VCPU;
	v->vm = vm;
	v->enter = shim_kvm_enter;
	obj_ref(&vm->o);
	v->o.own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	err = v->o.own_fd < 0 ? -errno : vcpu_setup(v);
	if (!err)
		err = shim_vcpu_attach(fd, v);
	if (err) {
		shim_debug("vCPU fd %d left to the kernel: %s", fd, strerror(-err));
		atomic_store(&v->o.refs, 1);
		if (v->o.own_fd < 0)
			v->o.own_fd = -1;
		shim_obj_put(&v->o);
		return err;
	}
	shim_debug("adopted vCPU fd %d (dup %d)", fd, v->o.own_fd);
	return 0;
}

/* Another program fd on the same file as @o, but not @except (locked). */
static int find_other_fd_locked(struct shim_obj *o, int except)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || n == except || n == o->own_fd ||
		    n == dirfd(d))
			continue;
		if (shim_fd_classify((int)n) == o->kind &&
		    shim_same_file(o->own_fd, (int)n) == 1)
			found = (int)n;
	}
	closedir(d);
	return found;
}

/* Forget @fd; returns the object to put if that was its last fd (locked). */
static struct shim_obj *forget_locked(int fd)
{
	struct shim_obj *o = shim_fdtab_get(fd);
	int other;

	shim_fdtab_set(fd, NULL);
	if (!o || o == &pass_vcpu || --o->nfds > 0)
		return NULL;
	other = find_other_fd_locked(o, fd);
	if (other >= 0 && !shim_fdtab_get(other) && !attach_locked(other, o)) {
		shim_debug("fd %d closed; fd %d still holds it", fd, other);
		return NULL;
	}
	unlink_locked(o);
	return o;
}

void shim_fd_closing(int fd)
{
	struct shim_obj *o;

	if (!shim_fdtab_get(fd))
		return;
	pthread_rwlock_wrlock(&lock);
	o = forget_locked(fd);
	pthread_rwlock_unlock(&lock);
	shim_obj_put(o);	/* releases outside the lock */
}

void shim_objs_fork_prepare(void)
{
	pthread_rwlock_wrlock(&lock);
}

void shim_objs_fork_parent(void)
{
	pthread_rwlock_unlock(&lock);
}

/* The parent's objects are not the child's: forget them, close the dups. */
void shim_objs_fork_child(void)
{
	pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;
	struct shim_obj *o;

	for (o = all; o; o = o->next)
		shim_real_close(o->own_fd);
	shim_fdtab_clear();
	all = NULL;
	atomic_store(&nr_objs, 0);
	lock = fresh;
}
