/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shim's objects: a VM or vCPU the program made, adopted into iofd.
 *
 * Each object keeps a close-on-exec dup of the KVM fd (iofd works on it,
 * and it names the file for kcmp), so dups of the program's fd made by
 * dup, fcntl or SCM_RIGHTS are recognised as the same VM or vCPU. An
 * object lives while the program holds an fd of it (a VM also while one
 * of its vCPUs lives): close() of the last one releases it and its iofd
 * state, and drops the shim's dups, so the kernel frees the VM as usual.
 */
#ifndef IOFD_SHIM_OBJ_H
#define IOFD_SHIM_OBJ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iofd/iofd.h>

struct shim_obj {
	int kind;		/* SHIM_FD_VM or SHIM_FD_VCPU */
	atomic_int refs;	/* the program's fds (as one), vCPUs, users */
	int own_fd;		/* the shim's CLOEXEC dup, -1 if none */
	int nfds;		/* program fds in the table (under the lock) */
	struct shim_obj *next;	/* every live object (under the lock) */
};

struct shim_vm {
	struct shim_obj o;
	struct iofd_vm *iofd;
};

/* Enters the guest: KVM_RUN on @fd; -1 and errno as ioctl(2). */
typedef int (*shim_enter_fn)(int fd);

struct shim_vcpu {
	struct shim_obj o;
	struct shim_vm *vm;		/* referenced */
	struct kvm_run *run;		/* the shim's own mapping */
	size_t run_size;
	struct iofd_vcpu *iofd;
	shim_enter_fn enter;		/* KVM_RUN (tests feed recorded exits) */
	bool pending;			/* an ioregion access waits to finish */
	uint32_t pending_reason;	/* its exit, shown as KVM_EXIT_INTR */
	bool failed;			/* kvm_run shows a failure exit */
	uint32_t saved_reason;		/* the exit a failure exit replaced */
	unsigned char saved[32];	/* its mmio/io fields */
	uint64_t runs;			/* KVM_RUN calls made by the shim */
	uint64_t served;		/* exits served inside the shim */
};

/**
 * shim_vm_get() - the VM object of @fd, adopting it on first use.
 * @out: NULL when @fd is not a KVM VM fd (the caller passes through).
 * Returns 0, or -ENOMEM / an errno of dup or iofd_vm_create().
 * The object is referenced: release it with shim_obj_put().
 */
int shim_vm_get(int fd, struct shim_vm **out);

/**
 * shim_vcpu_get() - the vCPU object behind @fd (a dup of a vCPU the shim
 * saw created counts), referenced, or NULL: not a vCPU, or a vCPU the
 * shim never saw created (the kernel serves it alone). Allocates nothing
 * once @fd is known.
 */
struct shim_vcpu *shim_vcpu_get(int fd);

/**
 * shim_vcpu_created() - adopt the vCPU fd @fd that KVM_CREATE_VCPU just
 * returned on @vm: map its kvm_run, wrap it in iofd. On failure the vCPU
 * is left to the kernel. Returns 0 or a negative errno.
 */
int shim_vcpu_created(struct shim_vm *vm, int fd);

/**
 * shim_vcpu_attach() - record the set-up vCPU @v for the program's @fd
 * (the table then holds its one reference). 0 or a negative errno.
 */
int shim_vcpu_attach(int fd, struct shim_vcpu *v);

/** shim_obj_put() - drop a reference; the last one releases the object. */
void shim_obj_put(struct shim_obj *o);

/**
 * shim_fd_closing() - the program is about to close (or dup over) @fd:
 * forget it, and release its object if no other fd of the program refers
 * to the same file. Costs nothing for fds the shim never recorded.
 */
void shim_fd_closing(int fd);

/** shim_kvm_run_size() - KVM_GET_VCPU_MMAP_SIZE, asked once; or -errno. */
long shim_kvm_run_size(void);

/** shim_same_file() - kcmp(KCMP_FILE): 1 same open file, 0 not, -errno. */
int shim_same_file(int fd1, int fd2);

/** shim_objs_live() - how many objects exist (tests count releases). */
int shim_objs_live(void);

/*
 * Around fork(): prepare takes the objects' lock, the parent releases it,
 * the child forgets every object (closing the shim's dups) and starts
 * empty. Installed by shim_fork_init() (fork.c).
 */
void shim_objs_fork_prepare(void);
void shim_objs_fork_parent(void);
void shim_objs_fork_child(void);

#endif /* IOFD_SHIM_OBJ_H */
