/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Just enough of the kernel's environment to build the io bus functions of
 * virt/kvm/kvm_main.c in userspace (scripts/io-bus-model.sh extracts them
 * from a kernel tree at test time; this file holds none of their code).
 * Allocation is malloc(), RCU and SRCU are plain pointer accesses and the
 * locks are not taken: the harness is single-threaded. The device callbacks
 * are the harness's (io_bus_model.c).
 */
#ifndef IOFD_TEST_IO_BUS_STUBS_H
#define IOFD_TEST_IO_BUS_STUBS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef uint64_t gpa_t;

#define GFP_KERNEL_ACCOUNT 0
#define kmalloc(size, gfp) malloc(size)
#define kzalloc(size, gfp) calloc(1, size)
#define kfree(p) free(p)
#define struct_size(p, member, n) \
	(sizeof(*(p)) + (size_t)(n) * sizeof((p)->member[0]))
#define flex_array_size(p, member, n) ((size_t)(n) * sizeof((p)->member[0]))
#define srcu_dereference(p, ss) (p)
#define rcu_assign_pointer(p, v) ((p) = (v))
#define synchronize_srcu_expedited(ss) ((void)(ss))
#define lockdep_assert_held(l) ((void)(l))
#define pr_err(...) fprintf(stderr, __VA_ARGS__)
#define EXPORT_SYMBOL_GPL(sym) extern int iofd_exported_##sym
#define likely(x) (x)
#define unlikely(x) (x)
#define WARN_ON_ONCE(x) (x)
#define kvm_get_bus(kvm, idx) ((kvm)->buses[idx])

/*
 * The kernel's bsearch() (lib/bsearch.c), for trees whose lookup uses it:
 * halve [base, base + num) around the middle element until the comparison
 * says equal. Its choice of middle decides which of several equal elements
 * it finds, so it is rebuilt here rather than taken from the C library.
 */
static inline void *io_bus_kernel_bsearch(const void *key, const void *base,
					  size_t num, size_t size,
					  int (*cmp)(const void *, const void *))
{
	const char *lo = base;

	while (num > 0) {
		const char *mid = lo + (num / 2) * size;
		int r = cmp(key, mid);

		if (r == 0)
			return (void *)mid;
		if (r > 0) {
			lo = mid + size;
			num--;
		}
		num /= 2;
	}
	return NULL;
}
#define bsearch io_bus_kernel_bsearch

struct kvm_io_device;
struct kvm_io_bus;

struct kvm_io_device_ops {
	void (*destructor)(struct kvm_io_device *dev);
};

/* The harness embeds this in its own device records. */
struct kvm_io_device {
	const struct kvm_io_device_ops *ops;
};

struct kvm {
	struct kvm_io_bus *buses[8];
	int srcu;
	int slots_lock;
};

struct kvm_vcpu {
	struct kvm *kvm;
};

/* The device callbacks (include/kvm/iodev.h): 0 if the device took the
 * access, a negative errno if not. Implemented by the harness. */
int kvm_iodevice_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		       gpa_t addr, int len, const void *val);
int kvm_iodevice_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		      gpa_t addr, int len, void *val);

#endif
