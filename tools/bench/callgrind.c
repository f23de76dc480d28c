/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Instruction counts per dispatch (optional, --callgrind): the benchmark
 * runs itself under `valgrind --tool=callgrind`, collecting only inside
 * iofd_access(), on a small loop of misses or hits over the same random
 * registrations as the micro-benchmark. Callgrind counts user-space
 * instructions: the eventfd write() of a hit costs one `syscall` there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define CG_CALLS	2000ul
#define CG_EVENTFDS	16u

int bench_callgrind_child(const char *mode, unsigned long nreg, unsigned long calls)
{
	int efds[CG_EVENTFDS], err;
	bool hit = strcmp(mode, "hit") == 0;
	struct micro_vm m;
	char why[160];

	if (!hit && strcmp(mode, "miss") != 0)
		return -EINVAL;
	err = micro_eventfds_open(efds, CG_EVENTFDS);
	if (err)
		return err;
	err = micro_vm_alloc(&m, nreg, why, sizeof(why));
	if (!err)
		err = micro_vm_register(&m, efds, CG_EVENTFDS, why, sizeof(why));
	if (!err && micro_access_loop(&m, iofd_access, hit, calls) != (hit ? calls : 0))
		err = -EPROTO;
	if (err)
		fprintf(stderr, "callgrind child: %s\n", why);
	micro_vm_free(&m);
	micro_eventfds_close(efds, CG_EVENTFDS);
	return err;
}

/* The "totals:" (or "summary:") count of a callgrind output file. */
static double callgrind_total(const char *path)
{
	char line[256];
	double total = NAN;
	FILE *f = fopen(path, "re");

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "totals:", 7) == 0)
			total = strtod(line + 7, NULL);
		else if (strncmp(line, "summary:", 8) == 0 && isnan(total))
			total = strtod(line + 8, NULL);
	}
	fclose(f);
	return total;
}

/* Run one child under callgrind; instructions per call, or NAN. */
static double run_child(const char *self, const char *mode, unsigned long nreg)
{
	char out[] = "/tmp/iofd-bench-cg-XXXXXX", nstr[32], cstr[32];
	int fd = mkstemp(out), status = 0;
	double total;
	pid_t pid;

	if (fd < 0)
		return NAN;
	close(fd);
	snprintf(nstr, sizeof(nstr), "%lu", nreg);
	snprintf(cstr, sizeof(cstr), "%lu", CG_CALLS);
	pid = fork();
	if (pid == 0) {
		char file_opt[64];
		int devnull = open("/dev/null", O_WRONLY);

		snprintf(file_opt, sizeof(file_opt), "--callgrind-out-file=%s", out);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execlp("valgrind", "valgrind", "--tool=callgrind", file_opt,
		       "--toggle-collect=iofd_access", self, "--callgrind-child",
		       mode, nstr, cstr, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		unlink(out);
		return NAN;
	}
	total = callgrind_total(out);
	unlink(out);
	return total / (double)CG_CALLS;
}

int bench_callgrind(struct micro_report *rep, const char *self)
{
	if (system("valgrind --version >/dev/null 2>&1") != 0) {
		snprintf(rep->note, sizeof(rep->note),
			 "--callgrind: valgrind is not installed");
		return -ENOENT;
	}
	for (unsigned i = 0; i < rep->n; i++) {
		struct micro_point *p = &rep->p[i];

		bench_progress("callgrind: %lu registrations", p->nreg);
		p->ir_miss = run_child(self, "miss", p->nreg);
		p->ir_hit = run_child(self, "hit", p->nreg);
		if (isnan(p->ir_miss) || isnan(p->ir_hit)) {
			snprintf(rep->note, sizeof(rep->note),
				 "callgrind run failed at %lu registrations", p->nreg);
			return -EIO;
		}
	}
	rep->callgrind = true;
	return 0;
}
