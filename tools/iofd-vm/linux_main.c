/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd-vm --linux: the command line, the kernel and initrd files, and the
 * exit status (0 the guest reset itself, 1 failure, 2 usage or a kernel
 * that cannot be loaded, 77 no /dev/kvm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux_vm.h"

#define MAX_FILE	(1ull << 30)

static void usage(FILE *f)
{
	fprintf(f,
"usage: iofd-vm --linux BZIMAGE --initrd CPIO [options]\n"
"  --append 'ARGS'        more kernel command line (after 'console=ttyS0\n"
"                         reboot=t panic=-1')\n"
"  --mem MIB              guest RAM (256; 64..3072, below the 32-bit hole)\n"
"  --smp N                vCPUs (1; 1..%d)\n"
"  --nvme 'CMD ARGS'      the NVMe controller's device process (PCI 00:01.0,\n"
"                         ids f10d:0e01; it gets N I/O queue pairs and N+1\n"
"                         MSI-X vectors, N = --smp)\n"
"  --nvme-intx            the NVMe function interrupts on INTA (IOAPIC pin\n"
"                         16, level, EOI resample) and has no MSI-X; the\n"
"                         device must run with --intx\n"
"  --timeout SEC          fail when the guest has not ended after SEC (120)\n"
"  --ioregion-timeout MS  how long an NVMe register access may wait (iofd's\n"
"                         default 5000; 0: forever)\n"
"  --device-fault kill|stop[@SEC]\n"
"                         SIGKILL or SIGSTOP the device process SEC seconds\n"
"                         after the start (0); debug marks 0xfd (kill) and\n"
"                         0xfc (stop) do the same when the guest writes them\n"
"The guest's console (ttyS0) goes to stdout; iofd-vm's messages to stderr.\n"
"A guest write of V to port 0x4f0 prints a 'mark V' line of counters.\n"
"A device that dies or stops does not stop the guest: its failed register\n"
"accesses are bus errors (reads all ones, writes dropped), counted; the run\n"
"goes on until the guest resets, then fails naming the fault.\n"
"Exit status: 0 when the guest resets the machine (reboot -f) and no device\n"
"access failed, 1 on failure (timeout, BUG/Oops/panic on the console, a\n"
"device that died, stopped or failed an access), 2 for usage errors or a\n"
"kernel that cannot be loaded, 77 without /dev/kvm.\n",
		LVM_MAX_CPUS);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_option(int c, struct linux_options *o)
{
	unsigned ms;

	switch (c) {
	case 'k': o->kernel = optarg; return 0;
	case 'i': o->initrd = optarg; return 0;
	case 'a': o->append = optarg; return 0;
	case 'n': o->nvme = optarg; return 0;
	case 'm': return parse_uint(optarg, 64, LB_RAM_MAX >> 20, &o->mem_mib);
	case 's': return parse_uint(optarg, 1, LVM_MAX_CPUS, &o->smp);
	case 't': return parse_uint(optarg, 1, 86400, &o->timeout_s);
	case 'r':
		o->ioregion_timeout_set = true;
		if (parse_uint(optarg, 0, 3600000, &ms))
			return -1;
		o->ioregion_timeout_ms = ms;
		return 0;
	case 'x': o->nvme_intx = true; return 0;
	case 'f': return device_watch_parse(optarg, &o->fault, &o->fault_at);
	case 'h': usage(stdout); exit(0);
	default: return -1;
	}
}

static int parse_args(int argc, char **argv, struct linux_options *o)
{
	static const struct option longopts[] = {
		{ "linux", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "nvme", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "smp", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "ioregion-timeout", required_argument, NULL, 'r' },
		{ "nvme-intx", no_argument, NULL, 'x' },
		{ "device-fault", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1)
		if (parse_option(c, o)) {
			if (c != '?')
				fprintf(stderr, "iofd-vm: bad value for --%s: '%s'\n",
					longopts[idx].name, optarg);
			usage(stderr);
			return -1;
		}
	if ((o->nvme_intx || o->fault != DW_NONE) && !o->nvme) {
		fprintf(stderr, "iofd-vm: --nvme-intx and --device-fault need --nvme\n");
		return -1;
	}
	if (optind != argc || !o->kernel || !o->initrd) {
		fprintf(stderr, "iofd-vm: --linux BZIMAGE and --initrd CPIO are "
			"needed, and nothing else\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The whole file in memory: 0, or -1 with a message. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "iofd-vm: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
		fprintf(stderr, "iofd-vm: %s: not a regular file of at most 1 GiB\n",
			path);
		close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	for (size_t at = 0; *buf && at < *len; at += (size_t)got) {
		got = read(fd, *buf + at, *len - at);
		if (got <= 0)
			break;
	}
	close(fd);
	if (!*buf || got < 0 || (*len && got == 0)) {
		fprintf(stderr, "iofd-vm: reading %s failed\n", path);
		free(*buf);
		return -1;
	}
	return 0;
}

int linux_main(int argc, char **argv)
{
	struct linux_options o = { .mem_mib = 256, .smp = 1, .timeout_s = 120 };
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	struct bzimage bz;
	char why[256];
	int status = LVM_EXIT_USAGE;

	if (parse_args(argc, argv, &o))
		return LVM_EXIT_USAGE;
	if (read_file(o.kernel, &kernel, &kernel_len) ||
	    read_file(o.initrd, &initrd, &initrd_len))
		goto out;
	if (bzimage_parse(kernel, kernel_len, &bz, why, sizeof(why))) {
		fprintf(stderr, "iofd-vm: %s: %s\n", o.kernel, why);
		goto out;
	}
	status = linux_vm_run(&o, &bz, initrd, initrd_len);
out:
	free(kernel);
	free(initrd);
	return status;
}
