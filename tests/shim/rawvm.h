/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny VM through the raw KVM uapi, for the shim's acceptance programs:
 * no iofd header, only <linux/kvm.h> (and the numbers header). The guest
 * runs 16-bit real-mode snippets at 0x1000, each ended by HLT; DS points
 * at RAWVM_MMIO (outside the 64 KiB of RAM), so [DS:off] is MMIO.
 * Also the one summary line each acceptance program prints on stderr.
 */
#ifndef RAWVM_H
#define RAWVM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#define RAWVM_MMIO	0xd0000ull	/* guest physical base of [DS:0] */

struct rawvm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

struct rawcode {
	uint8_t b[256];
	size_t n;
};

/** rawvm_open() - VM, 64 KiB of RAM at 0, one vCPU. 0 or -errno. */
int rawvm_open(struct rawvm *m);
void rawvm_close(struct rawvm *m);

/* Emitters: one guest instruction (or two) each. Sizes 1, 2 or 4. */
void rawcode_mmio_write(struct rawcode *c, uint16_t off, int size, uint32_t v);
void rawcode_mmio_read(struct rawcode *c, uint16_t off, int size);
void rawcode_out(struct rawcode *c, uint16_t port, int size, uint32_t v);
void rawcode_in(struct rawcode *c, uint16_t port, int size);

/**
 * rawvm_start() - load @c (HLT appended) at 0x1000, clear RAX, point RIP
 * at it. Then rawvm_run() returns each exit the program sees.
 */
int rawvm_start(struct rawvm *m, const struct rawcode *c);

/** rawvm_run() - one KVM_RUN: the exit reason, or -errno. */
int rawvm_run(struct rawvm *m);

/** rawvm_exec() - start @c and run to its HLT; the exit reason, or -errno. */
int rawvm_exec(struct rawvm *m, const struct rawcode *c);

/** rawvm_rax() - the guest's RAX (after a read snippet), or ~0 on error. */
uint64_t rawvm_rax(struct rawvm *m);

/**
 * rawvm_report() - TAP "ok"/"not ok" for one case on stdout, counted;
 * rawvm_summary() prints "uapi shim: <prog>: P passed, F failed on
 * <uname -r> (<stock+shim|patched>)" on stderr and returns the exit code.
 * Without the shim, a kernel that lacks capability @cap (asked on @kvm)
 * is named "stock".
 */
void rawvm_report(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rawvm_summary(const char *prog, int kvm, int cap);

/** rawvm_skip_all() - "1..0 # SKIP reason"; returns 0 for main (TAP skip). */
int rawvm_skip_all(const char *why);

#endif /* RAWVM_H */
