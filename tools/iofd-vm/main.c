/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-vm: a mini VMM, an example of embedding iofd. Two modes:
 *
 *   script mode (the default): the project's guest runner executes a
 *	script of MMIO/PIO accesses; devices (in process, or out of process
 *	by command line) are attached through iofd's handoff; the guest's
 *	verdict and the exits by kind are reported. Without arguments it
 *	runs the bundled NVMe-style example. (main.c, run.c, devices.c,
 *	script_text.c)
 *
 *   Linux mode (--linux BZIMAGE --initrd CPIO): boots a real Linux kernel
 *	at its 64-bit entry on N vCPU threads with KVM's in-kernel irqchip
 *	and PIT, an MP table, an 8250 console streamed to stdout, the legacy
 *	ports a PC kernel touches, PCI with an NVMe function whose controller
 *	is a device process (--nvme) serving BAR0 through iofd's ioregion and
 *	post-write doorbells, with MSI-X interrupts through irqfds. The run
 *	ends when the guest resets the machine. (linux_*.c, mptable.c,
 *	serial.c, legacy.c, pci.c, nvme_pci.c, kvm_stats.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux_vm.h"
#include "nvme.h"
#include "vmm.h"

#define EXIT_SKIP 77	/* no KVM here (the test harnesses' convention) */

struct options {
	const char *script;
	bool layout_given;		/* --region / --doorbell */
	struct nvme_scenario scenario;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: iofd-vm [options]             (script mode)\n"
"       iofd-vm --linux BZIMAGE --initrd CPIO [options]   (Linux mode;\n"
"                         iofd-vm --linux x --help lists its options)\n"
"  (no options)           run the bundled NVMe-style example: the device in\n"
"                         its own process, 4 queues x 16 commands\n"
"  --script FILE          run a text script (see tools/iofd-vm/script_text.c)\n"
"  --device 'CMD ARGS'    start a device process; the --region/--doorbell\n"
"                         options that follow belong to it\n"
"  --in-process           the built-in NVMe-style device, in a thread\n"
"  --device-socket PATH   a device already listening on a UNIX seqpacket\n"
"                         socket (e.g. nvme-doorbell-device --listen PATH)\n"
"  --region GPA:SIZE[:posted][:pio]   an ioregion served by the device\n"
"  --doorbell GPA:LEN[:pio]           a post-write doorbell of the device\n"
"  --queues N --qsize N --commands N  shape of the bundled example\n"
"  --timeout SEC          give up on the guest after SEC seconds (30)\n"
"Exit status: 0 when the guest's verdict is PASS, 1 otherwise, %d when\n"
"/dev/kvm is not available.\n", EXIT_SKIP);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

/* "GPA:SIZE[:posted][:pio]" or "GPA:LEN[:pio]" */
static int parse_spec(struct vmm *m, const char *spec, bool doorbell)
{
	char *copy = strdup(spec), *save = NULL;
	char *gpa_s = strtok_r(copy, ":", &save), *size_s = strtok_r(NULL, ":", &save);
	uint64_t gpa, size;
	uint32_t flags = 0;
	bool pio = false;
	int err = -1;

	if (!gpa_s || !size_s || parse_u64(gpa_s, &gpa) || parse_u64(size_s, &size))
		goto out;
	for (char *t = strtok_r(NULL, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (strcmp(t, "pio") == 0)
			pio = true;
		else if (strcmp(t, "posted") == 0 && !doorbell)
			flags |= IOFD_IOREGION_FLAG_POSTED_WRITES;
		else
			goto out;
	}
	if (pio)
		flags |= IOFD_IOREGION_FLAG_PIO;
	err = doorbell ? vmm_add_doorbell(m, gpa, (uint32_t)size, pio)
		       : vmm_add_region(m, gpa, size, flags);
out:
	if (err)
		fprintf(stderr, "iofd-vm: bad %s '%s'\n",
			doorbell ? "doorbell" : "region", spec);
	free(copy);
	return err;
}

static int parse_args(int argc, char **argv, struct vmm *m, struct options *o)
{
	enum { O_SCRIPT = 1, O_DEVICE, O_INPROC, O_SOCKET, O_REGION, O_DOORBELL, O_QUEUES,
	       O_QSIZE, O_COMMANDS, O_TIMEOUT, O_HELP };
	static const struct option longopts[] = {
		{ "script", required_argument, NULL, O_SCRIPT },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "in-process", no_argument, NULL, O_INPROC },
		{ "device-socket", required_argument, NULL, O_SOCKET },
		{ "region", required_argument, NULL, O_REGION },
		{ "doorbell", required_argument, NULL, O_DOORBELL },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "qsize", required_argument, NULL, O_QSIZE },
		{ "commands", required_argument, NULL, O_COMMANDS },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int err = 0;

		switch (c) {
		case O_SCRIPT: o->script = optarg; break;
		case O_DEVICE: err = vmm_add_device(m, optarg, false, NULL); break;
		case O_INPROC: err = vmm_add_device(m, NULL, true, NULL); break;
		case O_SOCKET: err = vmm_add_device(m, NULL, false, optarg); break;
		case O_REGION: err = parse_spec(m, optarg, false); o->layout_given = true; break;
		case O_DOORBELL: err = parse_spec(m, optarg, true); o->layout_given = true; break;
		case O_QUEUES: o->scenario.queues = (unsigned)atoi(optarg); break;
		case O_QSIZE: o->scenario.qsize = (unsigned)atoi(optarg); break;
		case O_COMMANDS: o->scenario.commands = (unsigned)atoi(optarg); break;
		case O_TIMEOUT: m->timeout_s = (unsigned)atoi(optarg); break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (err)
			return -1;
	}
	if (optind != argc || (o->layout_given && !o->script)) {
		if (o->layout_given && !o->script)
			fprintf(stderr, "iofd-vm: --region/--doorbell go with --script "
				"(the bundled example has its own layout)\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The example device next to this program (build tree or installed). */
static char *example_device_path(void)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *dir;

	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		snprintf(path, sizeof(path), "%s/../examples/nvme-doorbell/"
			 "nvme-doorbell-device", dir);
		if (access(path, X_OK) == 0)
			return path;
		snprintf(path, sizeof(path), "%s/nvme-doorbell-device", dir);
		if (access(path, X_OK) == 0)
			return path;
	}
	return "nvme-doorbell-device";	/* from PATH */
}

/* The bundled example: its device (unless given) and its layout. */
static int setup_example(struct vmm *m, const struct nvme_scenario *s)
{
	size_t max = ((size_t)s->commands * 4 + 5) * s->queues + 16;

	if (m->ndev == 0 && vmm_add_device(m, example_device_path(), false, NULL))
		return -1;
	if (vmm_add_region(m, NVME_BAR, NVME_REGS_SIZE, 0))
		return -1;
	for (unsigned q = 0; q < s->queues; q++)
		if (vmm_add_doorbell(m, NVME_SQ_TAIL_DB(q), 4, false) ||
		    vmm_add_region(m, NVME_CQ_HEAD_DB(q), 0,
				   IOFD_IOREGION_FLAG_POSTED_WRITES))
			return -1;
	m->ops = calloc(max, sizeof(*m->ops));
	m->expect = calloc(max, sizeof(*m->expect));
	if (!m->ops || !m->expect)
		return -1;
	m->nops = nvme_build_script(s, m->ops, m->expect, max);
	if (!m->nops) {
		fprintf(stderr, "iofd-vm: invalid example shape (queues 1..%d, "
			"qsize 2..%d, commands 1..65535)\n", NVME_MAX_QUEUES,
			NVME_MAX_QSIZE);
		return -1;
	}
	return 0;
}

/* Reads whose value the script names must have read that value. */
static long check_reads(struct vmm *m)
{
	long checked = 0;

	for (size_t i = 0; i < m->nops; i++) {
		uint64_t got = m->g.script->ops[i].value;

		if (m->expect[i] == UINT64_MAX)
			continue;
		if (got != m->expect[i]) {
			snprintf(m->failure, sizeof(m->failure), "op %zu read 0x%llx "
				 "from 0x%llx, expected 0x%llx", i,
				 (unsigned long long)got,
				 (unsigned long long)m->ops[i].addr,
				 (unsigned long long)m->expect[i]);
			return -1;
		}
		checked++;
	}
	return checked;
}

static void report(struct vmm *m, bool pass, long reads, long completions)
{
	printf("iofd-vm: guest verdict: %s", pass ? "PASS" : "FAIL");
	if (pass) {
		printf(" (script ended in %.3f s; %ld reads as expected", m->seconds,
		       reads);
		if (completions >= 0)
			printf("; %ld completions checked", completions);
		printf(")\n");
	} else {
		printf(": %s\n", m->failure);
	}
	printf("iofd-vm: exits by kind (%llu KVM_RUN calls):\n",
	       (unsigned long long)m->kvm_runs);
	for (int k = 0; k < VMM_NR_EXIT_KINDS; k++)
		if (m->exits[k])
			printf("  %-40s %10llu\n", vmm_exit_kind_name(k),
			       (unsigned long long)m->exits[k]);
	fflush(stdout);
}

static int start_vm(struct vmm *m)
{
	struct iofd_vm_options vo = { .kvm_vm_fd = m->g.vm_fd };

	if (iofd_vm_create(&vo, &m->vm) ||
	    iofd_vcpu_adopt(m->vm, m->g.vcpu_fd, m->g.run, &m->vcpu)) {
		fprintf(stderr, "iofd-vm: %s\n", iofd_last_error());
		return -1;
	}
	if (guest_script_set(&m->g, m->ops, m->nops)) {
		fprintf(stderr, "iofd-vm: script: %s\n", guest_last_error());
		return -1;
	}
	return 0;
}

/* Run and judge; returns true for PASS. */
static bool run_and_judge(struct vmm *m, bool example, const struct nvme_scenario *s)
{
	long reads = -1, completions = -1;
	bool pass = vmm_run(m) == 0;

	if (pass)
		reads = check_reads(m);
	pass = pass && reads >= 0;
	if (pass && example) {
		completions = nvme_check_completions(s, m->g.ram, m->failure,
						     sizeof(m->failure));
		pass = completions >= 0;
	}
	report(m, pass, reads, completions);
	return pass;
}

static void teardown(struct vmm *m, bool *pass)
{
	iofd_vcpu_destroy(m->vcpu);
	iofd_vm_destroy(m->vm);		/* closes the region fds: devices end */
	if (vmm_stop_devices(m) && *pass) {
		printf("iofd-vm: a device did not exit cleanly\n");
		*pass = false;
	}
	if (m->have_guest)
		guest_vm_destroy(&m->g);
	free(m->ops);
	free(m->expect);
}

/* Linux mode: any --linux on the command line. */
static bool linux_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--linux") == 0 || strncmp(argv[i], "--linux=", 8) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static struct vmm m = { .timeout_s = 30 };
	struct options o = { .scenario = NVME_SCENARIO_DEFAULT };
	bool pass = false;
	int err;

	if (linux_mode(argc, argv))
		return linux_main(argc, argv);
	if (parse_args(argc, argv, &m, &o))
		return 2;
	err = guest_vm_create(&m.g, 0);
	if (err == -ENOENT || err == -EACCES || err == -ENODEV) {
		fprintf(stderr, "iofd-vm: SKIP: cannot open /dev/kvm (%s)\n",
			strerror(-err));
		return EXIT_SKIP;
	}
	if (err) {
		fprintf(stderr, "iofd-vm: guest: %s\n", guest_last_error());
		return 1;
	}
	m.have_guest = true;
	m.ram_fd = m.g.ram_memfd;
	m.ram_size = GUEST_RAM_SIZE;
	if (o.script ? vmm_load_script(&m, o.script) : setup_example(&m, &o.scenario))
		goto out;
	if (!o.script)
		printf("iofd-vm: NVMe-style example: %u queues x %u commands "
		       "(queue size %u), device %s\n", o.scenario.queues,
		       o.scenario.commands, o.scenario.qsize,
		       m.dev[0].in_process ? "in process" :
		       m.dev[0].socket_path ? m.dev[0].socket_path : m.dev[0].argv[0]);
	if (start_vm(&m) || vmm_attach_devices(&m))
		goto out;
	pass = run_and_judge(&m, !o.script, &o.scenario);
out:
	teardown(&m, &pass);
	return pass ? 0 : 1;
}
