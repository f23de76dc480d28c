/* SPDX-License-Identifier: BSD-3-Clause */
/* iofd-vm: a mini VMM built on iofd and the guest runner. */
#ifndef IOFD_VM_VMM_H
#define IOFD_VM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <iofd/iofd.h>

#include "host.h"

#define VMM_MAX_DEVICES		8
#define VMM_MAX_REGIONS		32
#define VMM_MAX_DOORBELLS	64
#define VMM_MAX_ARGS		16

struct vmm_region {
	int dev;		/* index of the device serving it */
	uint64_t gpa, size;
	uint32_t flags;		/* IOFD_IOREGION_FLAG_* */
	int vmm_fd, dev_fd;	/* the two ends of its socketpair */
};

struct vmm_doorbell {
	int dev;
	uint64_t gpa;
	uint32_t len;
	bool pio;
	uint64_t shadow_offset;	/* in the device's shadow memfd */
	int efd;
};

struct vmm_device {
	char *argv[VMM_MAX_ARGS + 1];	/* out of process: the command */
	char *cmdline;			/* storage behind argv */
	bool in_process;		/* the built-in NVMe-style device, a thread */
	char *socket_path;		/* a device already listening there */
	int sock;			/* handoff socket, VMM's end */
	int peer_sock;			/* in process: the device's end */
	pid_t pid;
	pthread_t thread;
	bool thread_started;
	int thread_err;
	int shadow_fd;			/* from the device's REPLY */
};

/* What each exit was, for the report. */
enum vmm_exit_kind {
	VMM_EXIT_DOORBELL,	/* post-write ioeventfd, served */
	VMM_EXIT_REGION_READ,	/* ioregion read, answered by a device */
	VMM_EXIT_REGION_WRITE,	/* ioregion write, acknowledged */
	VMM_EXIT_REGION_POSTED,	/* ioregion posted write */
	VMM_EXIT_UNCLAIMED_MMIO,
	VMM_EXIT_UNCLAIMED_PIO,
	VMM_EXIT_FAILED,	/* an iofd-served access that failed */
	VMM_EXIT_HLT,
	VMM_EXIT_OTHER,
	VMM_NR_EXIT_KINDS,
};

struct vmm {
	struct guest_vm g;
	bool have_guest;
	int ram_fd;		/* guest RAM handed to devices: memfd at GPA 0 */
	uint64_t ram_size;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	struct vmm_device dev[VMM_MAX_DEVICES];
	int ndev;
	struct vmm_region region[VMM_MAX_REGIONS];
	int nregions;
	struct vmm_doorbell doorbell[VMM_MAX_DOORBELLS];
	int ndoorbells;
	bool keep_doorbell_fds;	/* attach leaves the eventfds open for the
				 * caller to take (closed at stop if not) */
	struct guest_op *ops;
	uint64_t *expect;	/* per op: value a read must return, or UINT64_MAX */
	size_t nops;
	unsigned timeout_s;
	double deadline;	/* CLOCK_MONOTONIC seconds */
	uint64_t exits[VMM_NR_EXIT_KINDS];
	uint64_t kvm_runs;
	double seconds;
	char failure[256];	/* why the run failed, if it did */
};

/* devices.c */
/* A device: a command to start, or the built-in one in process, or (with
 * socket_path) a device already listening on a UNIX seqpacket socket. */
int vmm_add_device(struct vmm *m, const char *cmdline, bool in_process,
		   const char *socket_path);
int vmm_add_region(struct vmm *m, uint64_t gpa, uint64_t size, uint32_t flags);
int vmm_add_doorbell(struct vmm *m, uint64_t gpa, uint32_t len, bool pio);
/* Start every device, hand it its fds, register what it serves. */
int vmm_attach_devices(struct vmm *m);
/* Close what the VMM holds for devices and wait for them to finish. */
int vmm_stop_devices(struct vmm *m);

/* run.c: run the script to END; 0, or -1 with m->failure set. */
int vmm_run(struct vmm *m);
const char *vmm_exit_kind_name(enum vmm_exit_kind k);

/* script_text.c: parse a text script into m->ops / m->expect. */
int vmm_load_script(struct vmm *m, const char *path);

#endif /* IOFD_VM_VMM_H */
