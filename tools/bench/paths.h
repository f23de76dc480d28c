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
extern const struct bench_path path_raw_socket_write, path_raw_socket_rt;
extern const struct bench_path path_raw_kvm_ioeventfd, path_raw_kvm_ioeventfd_rt;

/* path_hop.c: a synchronous hop through a VMM main-loop thread. */
extern const struct bench_path path_hop, path_hop_rt;

/* path_iofd.c: iofd's own paths. */
extern const struct bench_path path_iofd_offload, path_iofd_offload_rt;
extern const struct bench_path path_iofd_user_dispatch;
extern const struct bench_path path_iofd_user_run, path_iofd_user_run_rt;
extern const struct bench_path path_iofd_group;
extern const struct bench_path path_iofd_post_addr, path_iofd_post_memfd;

#endif /* IOFD_BENCH_PATHS_H */
