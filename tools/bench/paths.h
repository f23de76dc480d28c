/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The doorbell paths, one object per mechanism and shape (doorbell or
 * round trip). The rows_*.c files describe rows that point at them.
 */
#ifndef IOFD_BENCH_PATHS_H
#define IOFD_BENCH_PATHS_H

#include "path.h"

/* path_exit.c: a bare exit served by a trivial in-VMM handler. */
extern const struct bench_path path_exit, path_exit_rt;

/* path_raw.c: floors made with plain syscalls, no iofd in the path. */
extern const struct bench_path path_raw_eventfd, path_raw_eventfd_rt;
extern const struct bench_path path_raw_store_eventfd;
extern const struct bench_path path_raw_socket_write, path_raw_socket_write_proc;
extern const struct bench_path path_raw_socket_rt, path_raw_socket_rt_proc;
extern const struct bench_path path_raw_socket_read, path_raw_socket_read_proc;
extern const struct bench_path path_raw_kvm_ioeventfd, path_raw_kvm_ioeventfd_rt;
extern const struct bench_path path_raw_kvm_post_write;
extern const struct bench_path path_raw_kvm_ioregion_posted;
extern const struct bench_path path_raw_kvm_ioregion_posted_proc;
extern const struct bench_path path_raw_kvm_ioregion_write;
extern const struct bench_path path_raw_kvm_ioregion_write_proc;
extern const struct bench_path path_raw_kvm_ioregion_read;
extern const struct bench_path path_raw_kvm_ioregion_read_proc;

/* path_hop.c: a synchronous hop through a VMM main-loop thread. */
extern const struct bench_path path_hop, path_hop_rt;

/* path_iofd.c: iofd's own paths. */
extern const struct bench_path path_iofd_offload, path_iofd_offload_rt;
extern const struct bench_path path_iofd_user_dispatch;
extern const struct bench_path path_iofd_user_run, path_iofd_user_run_rt;
extern const struct bench_path path_iofd_group;
extern const struct bench_path path_iofd_post_addr, path_iofd_post_memfd;
extern const struct bench_path path_iofd_post_kernel, path_iofd_post_memfd_kernel;
/* Row availability: does iofd offload post-write ioeventfds on this host
 * (IOFD_CAP_POST_WRITE_OFFLOAD of a fresh VM)? */
bool bench_kernel_post_write(char *why, size_t len);
/* Row availability: does iofd offload ioregions (IOFD_CAP_IOREGIONFD_OFFLOAD)? */
bool bench_kernel_ioregionfd(char *why, size_t len);

/* path_ioregion.c: ioregionfd to a device thread or process. */
extern const struct bench_path path_ioregion_posted, path_ioregion_posted_proc;
extern const struct bench_path path_ioregion_write, path_ioregion_write_proc;
extern const struct bench_path path_ioregion_read, path_ioregion_read_proc;
extern const struct bench_path path_ioregion_posted_lib, path_ioregion_read_lib;
/* ... the same regions served by the kernel's ioregionfd (iofd offloads). */
extern const struct bench_path path_ioregion_kernel_posted;
extern const struct bench_path path_ioregion_kernel_posted_proc;
extern const struct bench_path path_ioregion_kernel_write;
extern const struct bench_path path_ioregion_kernel_write_proc;
extern const struct bench_path path_ioregion_kernel_read;
extern const struct bench_path path_ioregion_kernel_read_proc;

/* path_irqfd.c: irqfd -> guest acknowledge -> resamplefd round trips. The
 * row's param points to one of these shapes. */
enum irq_shape {
	IRQ_RAW,	/* KVM_IRQFD with RESAMPLE, no iofd */
	IRQ_IOFD,	/* iofd_irqfd(), offloaded to KVM_IRQFD */
	IRQ_INTX,	/* iofd's INTx helper */
};

int bench_measure_irqfd(const struct bench_row *row, uint64_t ops,
			struct bench_sample *out, char *why, size_t whylen);

#endif /* IOFD_BENCH_PATHS_H */
