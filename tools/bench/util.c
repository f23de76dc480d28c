/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers of the benchmark: clock, median, random numbers, progress. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static bool progress_quiet;
static int pin_cpu[2] = { -1, -1 };	/* by enum bench_role */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

double bench_median(const double *v, size_t n)
{
	double tmp[BENCH_MAX_ROUNDS * 2], m;

	if (!n)
		return NAN;
	if (n > sizeof(tmp) / sizeof(tmp[0]))
		n = sizeof(tmp) / sizeof(tmp[0]);
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	m = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	return m;
}

uint64_t bench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void bench_set_quiet(bool quiet)
{
	progress_quiet = quiet;
}

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	if (progress_quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bench_pin_enable(int vcpu_cpu, int device_cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (vcpu_cpu < 0 || device_cpu < 0 || vcpu_cpu >= n || device_cpu >= n)
		return -EINVAL;
	pin_cpu[BENCH_ROLE_VCPU] = vcpu_cpu;
	pin_cpu[BENCH_ROLE_DEVICE] = device_cpu;
	bench_pin_self(BENCH_ROLE_VCPU);
	return 0;
}

void bench_pin_self(enum bench_role role)
{
	cpu_set_t set;

	if (pin_cpu[role] < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(pin_cpu[role], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double bench_loadavg(void)
{
	double load = NAN;
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = NAN;
		fclose(f);
	}
	return load;
}

void bench_machine(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	snprintf(buf, len, "Linux %s %s, %ld online CPUs", u.release, u.machine,
		 sysconf(_SC_NPROCESSORS_ONLN));
}
