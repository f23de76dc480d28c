/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Embedding libiofd in a VMM: the program the README quotes, run by
 * `make check` (natively where /dev/kvm works, else in the emulated host).
 *
 * The VMM makes its VM and vCPU with KVM as it always did and adopts them
 * into iofd. It registers
 *   - an ioeventfd: the guest's doorbell write at 0xd0000 adds 1 to an
 *     eventfd, with no VMM code on the way;
 *   - an ioregion at 0xd1000: the guest's accesses become commands on a
 *     socket, answered by a device thread (libiofd's device side);
 *   - an ioregion at 0xd2000 whose device has died (its end is closed).
 * The guest, a few bytes of real-mode code, rings the doorbell, writes and
 * reads the device's registers, reads the dead device, reports each value
 * it read on port 0x500 (the VMM's own) and halts. The main thread kicks
 * the vCPU, as a pause of the VM would, while the vCPU waits for the
 * device's answer to one register: a wait for a reply is never cut short
 * (the device has the command), so the access completes once the device
 * answers, and the vCPU then takes the kick (IOFD_PENDING, or -EINTR from
 * iofd_vcpu_run()) before the guest runs on.
 *
 * The guest runs twice: under the VMM's own KVM_RUN loop with
 * iofd_dispatch_exit(), then under iofd_vcpu_run(). iofd(7) has the model,
 * the threading rules and the return codes. Output: TAP.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <iofd/device.h>
#include <iofd/iofd.h>

#define RAM_SIZE	0x1000u		/* the guest's code, at address 0 */
#define DOORBELL	0xd0000u	/* ioeventfd */
#define DEV_BASE	0xd1000u	/* ioregion served by the device thread */
#define DEAD_BASE	0xd2000u	/* ioregion whose device is gone */
#define REGS_SIZE	0x10u
#define REG_ID		0x0u		/* reads DEV_ID */
#define REG_SCRATCH	0x2u		/* reads what was written */
#define REG_SLOW	0x4u		/* reads the scratch once the VMM allows */
#define DEV_ID		0x10fdu
#define REPORT_PORT	0x500u		/* the VMM's own port: iofd leaves it */
#define NR_REPORTS	3

/* The guest: 16-bit real mode, run from address 0. */
static const unsigned char guest_code[] = {
	0xb8, 0x00, 0xd0,		/* mov ax, 0xd000 */
	0x8e, 0xd8,			/* mov ds, ax: [x] is 0xd0000 + x */
	0xba, 0x00, 0x05,		/* mov dx, REPORT_PORT */
	0xc7, 0x06, 0x00, 0x00, 0x01, 0x00, /* mov word [0x0000], 1: doorbell */
	0xc7, 0x06, 0x02, 0x10, 0xaa, 0x55, /* mov word [0x1002], 0x55aa */
	0xa1, 0x00, 0x10,		/* mov ax, [0x1000]: REG_ID */
	0xef,				/* out dx, ax */
	0xa1, 0x04, 0x10,		/* mov ax, [0x1004]: REG_SLOW */
	0xef,				/* out dx, ax */
	0xa1, 0x00, 0x20,		/* mov ax, [0x2000]: the dead device */
	0xef,				/* out dx, ax */
	0xf4,				/* hlt */
};

/* The VMM's side of one VM with one vCPU, as it was before iofd. */
struct vmm {
	int kvm, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	void *ram;
	struct iofd_vm *vm;
	struct iofd_vcpu *vcpu;
	int doorbell;			/* eventfd */
	uint16_t reports[NR_REPORTS];	/* what the guest wrote to REPORT_PORT */
	int nr_reports;
	int kicks;			/* kicks the vCPU thread handled */
	int failed;			/* IOFD_FAILED results */
	int failed_err;			/* the last one's errno */
};

/*
 * What the threads tell each other: the device that the guest waits for
 * REG_SLOW, the main thread that the device may answer, and the pause
 * handshake between the main thread and the vCPU thread.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool slow_asked;	/* device: a REG_SLOW read arrived */
	bool slow_answer;	/* main: the device may answer it */
	bool pause;		/* main: the vCPU thread is to pause */
	bool paused;		/* vCPU thread: paused */
	bool vcpu_done;		/* vCPU thread: its loop returned */
} ctl = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void ctl_set(bool *flag, bool value)
{
	pthread_mutex_lock(&ctl.lock);
	*flag = value;
	pthread_cond_broadcast(&ctl.cond);
	pthread_mutex_unlock(&ctl.lock);
}

/* Wait until *flag is @value; false if the vCPU thread ended first. */
static bool ctl_wait(bool *flag, bool value)
{
	pthread_mutex_lock(&ctl.lock);
	while (*flag != value && !ctl.vcpu_done)
		pthread_cond_wait(&ctl.cond, &ctl.lock);
	bool ok = *flag == value;
	pthread_mutex_unlock(&ctl.lock);
	return ok;
}

static int tests;
static bool all_ok = true;

static void check(bool ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++tests, what);
	all_ok = all_ok && ok;
}

/* ---- the device: a thread serving the ioregion at DEV_BASE ------------ */

struct device {
	struct iofd_device *dev;
	pthread_t thread;
	uint16_t scratch;
};

static void dev_read(void *opaque, uint64_t user_data, uint64_t offset,
		     uint32_t size, uint64_t *data)
{
	struct device *d = opaque;

	(void)user_data;
	(void)size;
	if (offset == REG_SLOW) {
		ctl_set(&ctl.slow_asked, true);
		pthread_mutex_lock(&ctl.lock);
		while (!ctl.slow_answer)
			pthread_cond_wait(&ctl.cond, &ctl.lock);
		pthread_mutex_unlock(&ctl.lock);
	}
	*data = offset == REG_ID ? DEV_ID : d->scratch;
}

static void dev_write(void *opaque, uint64_t user_data, uint64_t offset,
		      uint32_t size, uint64_t data)
{
	struct device *d = opaque;

	(void)user_data;
	(void)size;
	if (offset == REG_SCRATCH)
		d->scratch = (uint16_t)data;
}

/* Serves until the VMM closes the region (iofd_vm_destroy()). */
static void *dev_thread(void *arg)
{
	struct device *d = arg;
	int err = iofd_device_run(d->dev);

	if (err < 0)
		printf("# device: %s\n", iofd_last_error());
	return NULL;
}

/* The device and its end of a socket pair; *vmm_end receives the other. */
static int device_start(struct device *d, int *vmm_end)
{
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	struct iofd_device_region region = {
		.cmd_fd = sv[1], .resp_fd = sv[1], .size = REGS_SIZE,
		.read = dev_read, .write = dev_write, .opaque = d,
	};
	err = iofd_device_create(&d->dev);
	if (!err)
		err = iofd_device_add_region(d->dev, &region);
	close(sv[1]);			/* the device keeps its own dup */
	if (err >= 0)
		err = -pthread_create(&d->thread, NULL, dev_thread, d);
	if (err < 0) {
		iofd_device_destroy(d->dev);
		close(sv[0]);
		return err;
	}
	*vmm_end = sv[0];
	return 0;
}

/* ---- the VMM's KVM set-up, without iofd -------------------------------- */

static int vmm_create(struct vmm *m)
{
	struct kvm_userspace_memory_region mem = { .memory_size = RAM_SIZE };
	struct kvm_sregs sregs;
	long size;

	m->vm_fd = ioctl(m->kvm, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		return -errno;
	m->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->ram == MAP_FAILED)
		return -errno;
	memcpy(m->ram, guest_code, sizeof(guest_code));
	mem.userspace_addr = (uintptr_t)m->ram;
	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem) < 0)
		return -errno;
	m->vcpu_fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, 0);
	size = ioctl(m->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->vcpu_fd < 0 || size <= 0)
		return -errno;
	m->run_size = (size_t)size;
	m->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->vcpu_fd, 0);
	if (m->run == MAP_FAILED)
		return -errno;
	if (ioctl(m->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	return ioctl(m->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

/* Point the vCPU at the guest's first instruction. */
static int vmm_reset(struct vmm *m)
{
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };

	m->nr_reports = m->kicks = m->failed = m->failed_err = 0;
	return ioctl(m->vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

/* ---- the vCPU thread ------------------------------------------------- */

/* The VMM's own exits: its port, and the guest's halt. 1: halted. */
static int vmm_exit(struct vmm *m)
{
	struct kvm_run *run = m->run;

	if (run->exit_reason == KVM_EXIT_HLT)
		return 1;
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == REPORT_PORT &&
	    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 2 &&
	    run->io.count == 1 && m->nr_reports < NR_REPORTS) {
		memcpy(&m->reports[m->nr_reports++],
		       (char *)run + run->io.data_offset, 2);
		return 0;
	}
	printf("# unexpected exit %u\n", run->exit_reason);
	return -EIO;
}

/*
 * IOFD_FAILED: iofd claimed the access and it failed. The VMM must not
 * emulate it; here it completes it as a bus error, as the kernel does
 * (a read sees all ones, a write is dropped), and the guest goes on.
 * The kernel's own failure exit (KVM_EXIT_IOREGIONFD_FAILURE) comes
 * already completed.
 */
static void complete_as_bus_error(struct vmm *m, const struct iofd_exit *info)
{
	struct kvm_run *run = m->run;

	m->failed++;
	m->failed_err = info->err;
	printf("# guest access at 0x%llx failed: %s\n",
	       (unsigned long long)info->addr, info->reason);
	if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0xff, run->mmio.len);
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN)
		memset((char *)run + run->io.data_offset, 0xff,
		       (size_t)run->io.size * run->io.count);
}

/*
 * A kick: another thread set immediate_exit and sent SIGUSR1. Take the
 * request (here: pause until resumed) before the guest runs again.
 */
static void vcpu_kicked(struct vmm *m)
{
	__atomic_store_n(&m->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	m->kicks++;
	pthread_mutex_lock(&ctl.lock);
	if (ctl.pause) {
		ctl.paused = true;
		pthread_cond_broadcast(&ctl.cond);
		while (ctl.pause)
			pthread_cond_wait(&ctl.cond, &ctl.lock);
		ctl.paused = false;
	}
	pthread_mutex_unlock(&ctl.lock);
}

/* The VMM's own loop: KVM_RUN, then iofd_dispatch_exit(). 0 at the halt. */
static int run_with_dispatch(struct vmm *m)
{
	struct iofd_exit info;
	bool finish = false;	/* an access iofd started is pending */
	int r;

	for (;;) {
		if (!finish && ioctl(m->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR)
				return -errno;
			vcpu_kicked(m);
			continue;
		}
		finish = false;
		switch (iofd_dispatch_exit(m->vcpu, &info)) {
		case IOFD_SERVED:	/* iofd did the access */
			break;
		case IOFD_NOT_CLAIMED:	/* the exit is the VMM's */
			r = vmm_exit(m);
			if (r)
				return r < 0 ? r : 0;
			break;
		case IOFD_PENDING:	/* a kick: an access may be pending */
			vcpu_kicked(m);
			finish = true;	/* dispatch again before KVM_RUN */
			break;
		case IOFD_FAILED:	/* iofd's access failed */
			complete_as_bus_error(m, &info);
			break;
		default:		/* -EINVAL: no vCPU */
			return -EINVAL;
		}
	}
}

/* The same with iofd_vcpu_run(), which loops while iofd serves. */
static int run_with_vcpu_run(struct vmm *m)
{
	struct iofd_exit info;
	int r;

	for (;;) {
		r = iofd_vcpu_run(m->vcpu, &info);
		if (r == IOFD_NOT_CLAIMED) {
			r = vmm_exit(m);
			if (r)
				return r < 0 ? r : 0;
		} else if (r == IOFD_FAILED) {
			complete_as_bus_error(m, &info);
		} else if (r == -EINTR) {	/* a kick; the next call makes */
			vcpu_kicked(m);		/* an access left pending */
		} else {
			printf("# iofd_vcpu_run: %s\n", iofd_last_error());
			return r;
		}
	}
}

struct vcpu_thread {
	struct vmm *m;
	int (*loop)(struct vmm *m);
	int result;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;

	t->result = t->loop(t->m);
	ctl_set(&ctl.vcpu_done, true);
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;	/* only to interrupt KVM_RUN or iofd's wait */
}

/* ---- the main thread ----------------------------------------------------- */

/* Run the guest once with @loop; the main thread kicks it when it waits. */
static void run_guest(struct vmm *m, int (*loop)(struct vmm *m),
		      const char *name)
{
	struct vcpu_thread t = { .m = m, .loop = loop, .result = -1 };
	char what[128];
	pthread_t thread;
	uint64_t rings = 0;
	bool kicked;

	pthread_mutex_lock(&ctl.lock);
	ctl.slow_asked = ctl.slow_answer = ctl.pause = ctl.vcpu_done = false;
	pthread_mutex_unlock(&ctl.lock);
	if (vmm_reset(m) || pthread_create(&thread, NULL, vcpu_thread, &t)) {
		check(false, "the vCPU thread started");
		return;
	}
	/* The guest waits for REG_SLOW: ask the vCPU to pause, as a VMM does
	 * to change the VM; the access it is in completes first, once the
	 * device answers; then resume. */
	kicked = ctl_wait(&ctl.slow_asked, true);
	if (kicked) {
		ctl_set(&ctl.pause, true);
		__atomic_store_n(&m->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(thread, SIGUSR1);
		ctl_set(&ctl.slow_answer, true);
		kicked = ctl_wait(&ctl.paused, true);
	}
	ctl_set(&ctl.slow_answer, true);
	ctl_set(&ctl.pause, false);
	pthread_join(thread, NULL);

	snprintf(what, sizeof(what), "%s: the guest halted", name);
	check(t.result == 0, what);
	snprintf(what, sizeof(what), "%s: the doorbell rang the eventfd once", name);
	check(read(m->doorbell, &rings, sizeof(rings)) == sizeof(rings) &&
	      rings == 1, what);
	snprintf(what, sizeof(what), "%s: the device answered (id 0x%x)", name,
		 m->reports[0]);
	check(m->nr_reports == NR_REPORTS && m->reports[0] == DEV_ID, what);
	snprintf(what, sizeof(what), "%s: one kick paused the vCPU once the "
		 "access it was in completed (0x%x)", name, m->reports[1]);
	check(kicked && m->kicks == 1 && m->reports[1] == 0x55aa, what);
	snprintf(what, sizeof(what), "%s: the dead device failed its access "
		 "(%d), read as 0x%x", name, m->failed_err, m->reports[2]);
	check(m->failed == 1 && m->failed_err == -EPIPE &&
	      m->reports[2] == 0xffff, what);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* An ioregion whose device has gone: its end of the socket is closed. */
static int add_dead_device(struct vmm *m)
{
	struct iofd_ioregion dead = { .guest_paddr = DEAD_BASE,
				      .memory_size = REGS_SIZE };
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	dead.read_fd = dead.write_fd = sv[0];
	err = iofd_set_ioregion(m->vm, &dead);
	close(sv[0]);
	close(sv[1]);
	return err;
}

/*
 * Adopt the VMM's VM and vCPU into iofd and register the guest's devices:
 * the doorbell, the device thread's registers, the dead device.
 */
static int vmm_adopt(struct vmm *m, struct device *d)
{
	struct iofd_vm_options opts = { .kvm_vm_fd = m->vm_fd };
	struct kvm_ioeventfd bell = { .addr = DOORBELL, .len = 2 };
	struct iofd_ioregion regs = { .guest_paddr = DEV_BASE,
				      .memory_size = REGS_SIZE };
	int err;

	/* The VM fd, the vCPU fd and kvm_run stay the VMM's. */
	err = iofd_vm_create(&opts, &m->vm);
	if (err)
		return err;
	err = iofd_vcpu_adopt(m->vm, m->vcpu_fd, m->run, &m->vcpu);
	if (err)
		return err;

	/* A guest write at DOORBELL adds 1 to the eventfd. */
	m->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->doorbell < 0)
		return -errno;
	bell.fd = m->doorbell;
	err = iofd_ioeventfd(m->vm, &bell);
	if (err)
		return err;

	/* Accesses to the registers become commands to the device thread. */
	err = device_start(d, &regs.read_fd);
	if (err)
		return err;
	regs.write_fd = regs.read_fd;
	err = iofd_set_ioregion(m->vm, &regs);
	close(regs.read_fd);		/* iofd keeps its own dup */
	if (err)
		return err;
	return add_dead_device(m);
}

/*
 * The vCPU before the VM. The VM removes every registration and closes
 * iofd's fds: the device sees its region closed, and its
 * iofd_device_run() returns. The VMM's own fds last: iofd used them.
 */
static void vmm_teardown(struct vmm *m, struct device *d)
{
	iofd_vcpu_destroy(m->vcpu);
	iofd_vm_destroy(m->vm);
	pthread_join(d->thread, NULL);
	iofd_device_destroy(d->dev);
	close(m->doorbell);
	munmap(m->run, m->run_size);
	close(m->vcpu_fd);
	munmap(m->ram, RAM_SIZE);
	close(m->vm_fd);
	close(m->kvm);
}

int main(void)
{
	struct vmm m = { .vm_fd = -1, .vcpu_fd = -1, .doorbell = -1 };
	struct device d = { 0 };
	struct sigaction sa = { .sa_handler = on_kick };
	int fds_before = open_fds(), err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	m.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m.kvm < 0) {
		printf("1..0 # SKIP /dev/kvm: %s\n", strerror(errno));
		return 0;
	}
	sigaction(SIGUSR1, &sa, NULL);
	err = vmm_create(&m);
	if (err) {
		printf("Bail out! KVM set-up: %s\n", strerror(-err));
		return 1;
	}
	err = vmm_adopt(&m, &d);
	if (err) {
		printf("Bail out! %s\n", iofd_last_error());
		return 1;
	}

	run_guest(&m, run_with_dispatch, "iofd_dispatch_exit");
	run_guest(&m, run_with_vcpu_run, "iofd_vcpu_run");

	vmm_teardown(&m, &d);
	check(open_fds() == fds_before, "teardown left no fd open");
	printf("1..%d\n", tests);
	return all_ok ? 0 : 1;
}
