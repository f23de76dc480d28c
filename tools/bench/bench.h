/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-bench: the doorbell benchmark.
 *
 * A row is one way of carrying a guest doorbell (or a round trip) to a
 * device. Rows are described by a struct bench_row and registered by the
 * family that implements them; the runner measures every selected row once
 * per round, rounds interleaved, and reports medians and ratios against
 * the references named in the descriptor (the bare exit of the same kind,
 * the row's raw floor, the synchronous main-loop hop).
 */
#ifndef IOFD_BENCH_H
#define IOFD_BENCH_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_ROWS		64
#define BENCH_MAX_ROUNDS	64

enum bench_bus {
	BENCH_MMIO = 0,
	BENCH_PIO = 1,
};

/* Reference rows every other row is compared with. */
#define BENCH_EXIT_MMIO	"exit-mmio"
#define BENCH_EXIT_PIO	"exit-pio"
#define BENCH_HOP	"hop-mmio"

/* Targets (time ratios: row us/op divided by the reference's us/op). */
#define BENCH_LIMIT_OFFLOAD	(1.0 / 0.95)	/* >= 0.95x the raw KVM_IOEVENTFD */
#define BENCH_LIMIT_USERSPACE	1.05		/* <= 1.05x the raw floor */
#define BENCH_LIMIT_HOP		(1.0 / 1.5)	/* >= 1.5x faster than the hop */

/* What one measurement of one row produced. */
struct bench_sample {
	double ns_per_op;	/* wall-clock time of the timed ops / ops */
	double exits_per_op;	/* userspace (MMIO/PIO) exits / ops */
	uint64_t observed;	/* doorbells (or answers) the device saw */
	uint64_t expected;	/* doorbells (or answers) the guest made */
};

struct bench_row;

/* Measure `ops` operations of `row`; 0, or -errno with a reason in `why`. */
typedef int (*bench_measure_fn)(const struct bench_row *row, uint64_t ops,
				struct bench_sample *out, char *why, size_t whylen);

struct bench_row {
	const char *name;	/* unique, short: "iofd-offload-mmio" */
	const char *section;	/* table section: "exit", "raw floor", ... */
	const char *what;	/* one line: what the row measures */
	enum bench_bus bus;
	bool no_exit_ratio;	/* the exits themselves, and rows of another kind */
	const char *floor;	/* name of the row's raw floor, or NULL */
	double floor_limit;	/* target on the floor ratio, 0 = none */
	bool vs_hop;		/* target: >= 1.5x faster than the hop */
	unsigned ops_div;	/* slow rows run ops / ops_div (0 = 1) */
	bool needs_kvm;
	/* Optional: can this host measure the row? false with the reason in
	 * why (the row is skipped, e.g. a kernel without the POST_WRITE
	 * series). Asked once per run, after the /dev/kvm check. */
	bool (*available)(char *why, size_t len);
	const void *param;	/* the family's own data */
	bench_measure_fn measure;
};

/* ---- rows.c: the registry ---- */

/* Add a row (the descriptor must outlive the run). 0, -EEXIST or -ENOSPC. */
int bench_register(const struct bench_row *row);
/* Add n rows of an array; the first error, or 0. */
int bench_register_rows(const struct bench_row *rows, size_t n);
/* Call every family's registration function once. */
void bench_register_all(void);
size_t bench_row_count(void);
const struct bench_row *bench_row_at(size_t i);
const struct bench_row *bench_row_find(const char *name);

/* The sections of the table, in the order rows are registered. */
enum bench_phase {
	BENCH_PHASE_EXIT,	/* the bare exit */
	BENCH_PHASE_RAW,	/* raw floors */
	BENCH_PHASE_HOP,	/* the main-loop hop */
	BENCH_PHASE_DOORBELL,	/* iofd's doorbells */
	BENCH_PHASE_IOREGION,	/* ioregionfd */
	BENCH_PHASE_ROUNDTRIP,	/* round trips */
	BENCH_PHASE_IRQFD,	/* irqfd round trips */
	BENCH_NR_PHASES,
};

#define BENCH_REGISTER_ROWS(table) \
	bench_register_rows(table, sizeof(table) / sizeof((table)[0]))

/* A round-trip row (the guest waits for the device's answer in its RAM;
 * two operations per round trip), measured by bench_measure_path. */
#define RT(name_, bus_, what_, path_, floor_, limit_)                           \
	{ .name = name_, .section = "round trip", .bus = bus_, .what = what_,  \
	  .floor = floor_, .floor_limit = limit_, .ops_div = 2,               \
	  .needs_kvm = true, .param = &path_, .measure = bench_measure_path }

/* One file per mechanism, with its paths: each registers its rows of a
 * section. */
void bench_rows_exit(enum bench_phase phase);
void bench_rows_raw(enum bench_phase phase);
void bench_rows_hop(enum bench_phase phase);
void bench_rows_ioeventfd(enum bench_phase phase);
void bench_rows_ioregion(enum bench_phase phase);
void bench_rows_irqfd(enum bench_phase phase);

/* ---- results.c: what the runner collected, and what it means ---- */

struct bench_result {
	const struct bench_row *row;
	bool selected;		/* asked for, or a reference of one that was */
	bool skipped;
	bool failed;		/* an error, or a lost / invented doorbell */
	char note[160];		/* skip or failure reason */
	unsigned nsamples;
	struct bench_sample samples[BENCH_MAX_ROUNDS];
	bool sample_ok[BENCH_MAX_ROUNDS];
	/* Computed by bench_results_finish(): */
	double us_per_op, ops_per_s, exits_per_op;	/* medians */
	double ratio_vs_exit, ratio_vs_floor, ratio_vs_hop; /* NAN = n/a */
	uint64_t observed, expected;			/* summed over rounds */
	bool has_target, target_met;
	bool target_unknown;	/* a reference was not measured: n/a */
	char target[96];	/* "floor<=1.05 hop<=0.67" */
};

struct bench_results {
	size_t n;
	struct bench_result r[BENCH_MAX_ROWS];
	unsigned rounds;
	uint64_t ops;
	double load_before, load_after;	/* 1-minute load average */
	double seconds;			/* wall-clock time of the rows */
	bool emulated;		/* the CPU is emulated: times are not judged */
};

/* Compute medians, per-round ratios and targets. */
void bench_results_finish(struct bench_results *res);
struct bench_result *bench_result_find(struct bench_results *res, const char *name);

/* ---- runner.c ---- */

struct bench_options {
	const char *rows;	/* comma-separated substrings, NULL = all */
	unsigned rounds;
	uint64_t ops;
	bool quiet;		/* no progress on stderr */
	bool pin;		/* vCPU on one CPU, devices on another */
	bool emulated;		/* running in an emulated host (software CPU) */
};

/* Select rows, run the rounds interleaved, fill res. 0, or -errno. */
int bench_run_rows(const struct bench_options *opt, struct bench_results *res);

/* ---- micro.c: dispatch micro-benchmark (no KVM) ---- */

#define MICRO_SIZES 4

struct micro_point {
	unsigned long nreg;	/* registrations in the VM */
	double miss_ns;		/* iofd_access, datamatch miss, loop subtracted */
	double hit_ns;		/* iofd_access hit, eventfd write() included */
	double hit_net_ns;	/* hit minus a bare eventfd write() */
	double linear_ns;	/* linear-scan baseline, loop subtracted */
	double loop_ns;		/* the loop's own cost (subtracted above) */
	double write_ns;	/* a bare eventfd write(), timed alongside */
	double reg_us;		/* registration cost per entry, in a batch */
	double floor_ns;	/* memory floor: two dependent random loads,
				 * lookups chained (no overlap) */
	double floor_overlap_ns;	/* the same, lookups free to overlap */
	unsigned long floor_buckets;	/* the floor's model: bucket count */
	size_t floor_bytes;	/* and footprint (buckets + entries) */
	double ir_miss, ir_hit;	/* callgrind instructions per call (0 = n/a) */
	uint64_t hits_expected, hits_observed;
};

struct micro_report {
	bool ran;
	unsigned n;
	struct micro_point p[MICRO_SIZES];
	unsigned eventfds;	/* distinct eventfds the registrations use */
	double efd_write_ns;	/* one write() to an eventfd */
	unsigned long mem_nreg;
	double heap_bytes_per_reg;	/* mallinfo2() uordblks+hblkhd delta */
	double rss_bytes_per_reg;	/* /proc/self/statm resident delta */
	bool callgrind;
	bool failed;
	char note[160];
};

/* Run the micro-benchmark; 0 or -errno (with report->note). */
int bench_micro(struct micro_report *report);
/* Re-execute under callgrind for instruction counts; fills ir_*. */
int bench_callgrind(struct micro_report *report, const char *self);
/* The small loop callgrind runs: `--callgrind-child MODE NREG CALLS`. */
int bench_callgrind_child(const char *mode, unsigned long nreg, unsigned long calls);

/* ---- output: table.c, json.c, chart.c ---- */

void bench_print_table(FILE *f, const struct bench_results *res);
void bench_print_micro(FILE *f, const struct micro_report *m);
int bench_write_json(const char *path, const struct bench_results *res,
		     const struct micro_report *m);
int bench_write_chart(const char *path, const struct bench_results *res);
/* Only write the gnuplot script that draws png (for a host that has
 * gnuplot when this one does not). 0, or -errno. */
int bench_write_chart_script(const char *script, const char *png,
			     const struct bench_results *res);

/* ---- util.c ---- */

uint64_t bench_now_ns(void);
/* Median of n values (sorts a copy); NAN when n == 0. */
double bench_median(const double *v, size_t n);
/* splitmix64: a fast, seedable generator for addresses and orders. */
uint64_t bench_rand(uint64_t *state);
/* Progress line on stderr (unless quiet was set with bench_set_quiet). */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_set_quiet(bool quiet);
/* Where a thread runs with --pin: vCPU threads on one CPU, device and
 * main-loop threads on another; without --pin the scheduler decides. */
enum bench_role { BENCH_ROLE_VCPU, BENCH_ROLE_DEVICE };
/* Turn pinning on (two CPUs: vcpu_cpu, device_cpu); 0 or -errno. */
int bench_pin_enable(int vcpu_cpu, int device_cpu);
/* Pin the calling thread for its role (no-op without --pin). */
void bench_pin_self(enum bench_role role);
/* The 1-minute load average (NAN if unknown): how busy the machine was. */
double bench_loadavg(void);
/* Describe the machine in one line: kernel, CPUs. */
void bench_machine(char *buf, size_t len);

#endif /* IOFD_BENCH_H */
