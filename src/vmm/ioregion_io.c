/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serving an ioregion access on the thread that took it: wait for the
 * channel (one command in flight per fd pair), send the command, wait for
 * the reply, check it. Never inside an RCU read-side section: the caller
 * holds a reference on the region instead. The rules this keeps (waits,
 * the signal mask, pending accesses, failure and poison) are the contract
 * of iofd(7), "IOREGION ACCESSES"; docs/ARCHITECTURE.md ("ioregionfd")
 * says why they are so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "ioregion.h"
#include "ioregion_io.h"
#include "space.h"
#include "vcpu.h"
#include "vm.h"
#include "wire.h"

_Static_assert(sizeof(struct iofd_ioreq) <= IOFD_PENDING_STATE_SIZE,
	       "an ioregion access fits in the vCPU's pending slot");

/* How the calling thread waits. */
struct waiter {
	struct kvm_run *run;	/* vCPU: kicks and signals may end a wait */
	bool may_pause;		/* vCPU: a new access, not a pending one */
	bool signalled;		/* a signal came during a wait it did not end */
	bool masked;		/* vCPU: signals blocked since the first wait */
	sigset_t orig;		/* the vCPU thread's own mask (once masked) */
};

/* ---- time ---- */

static bool forever(const struct iofd_ioreq *req)
{
	return req->timeout_ms == IOFD_TIMEOUT_FOREVER;
}

static void set_deadline(struct iofd_ioreq *req)
{
	struct timespec *d = &req->deadline;

	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += req->timeout_ms / 1000;
	d->tv_nsec += (long)(req->timeout_ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

static struct timespec time_left(const struct timespec *deadline)
{
	struct timespec now, left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left.tv_sec = deadline->tv_sec - now.tv_sec;
	left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (left.tv_nsec < 0) {
		left.tv_sec--;
		left.tv_nsec += 1000000000L;
	}
	if (left.tv_sec < 0)
		left.tv_sec = left.tv_nsec = 0;
	return left;
}

static bool expired(const struct iofd_ioreq *req)
{
	struct timespec left;

	if (forever(req))
		return false;
	left = time_left(&req->deadline);
	return left.tv_sec == 0 && left.tv_nsec == 0;
}

/* ---- waiting ---- */

/*
 * Before a vCPU's first wait: block its signals, so one that arrives from
 * here on stays pending until a ppoll() unblocks the thread's own mask.
 * Faults in this thread must still reach their handlers.
 */
static void waiter_mask(struct waiter *w)
{
	sigset_t block;

	if (!w->run || w->masked)
		return;
	sigfillset(&block);
	sigdelset(&block, SIGSEGV);
	sigdelset(&block, SIGBUS);
	sigdelset(&block, SIGFPE);
	sigdelset(&block, SIGILL);
	sigdelset(&block, SIGTRAP);
	sigdelset(&block, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &block, &w->orig);
	w->masked = true;
}

/* When the access returns: the thread's own mask again, if it was changed. */
static void waiter_unmask(struct waiter *w)
{
	if (!w->masked)
		return;
	pthread_sigmask(SIG_SETMASK, &w->orig, NULL);
	w->masked = false;
}

/*
 * A kick ends a wait only while nothing of the command is out, and only
 * for a new access: a pending one is made whatever signals say, as the
 * kernel's next KVM_RUN makes it.
 */
static bool pausable(const struct waiter *w, const struct iofd_ioreq *req)
{
	return w->run && w->may_pause &&
	       (req->stage == IOFD_REQ_LOCK ||
		(req->stage == IOFD_REQ_SEND && req->sent == 0));
}

static bool kicked(const struct waiter *w)
{
	return w->run && __atomic_load_n(&w->run->immediate_exit, __ATOMIC_ACQUIRE);
}

/*
 * Wait until fd reports one of events (or an error/hang-up). Returns 0,
 * -EINTR (a vCPU was kicked or signalled before its command went out) or
 * -ETIMEDOUT.
 */
static int wait_fd_until(struct waiter *w, const struct iofd_ioreq *req,
			 int fd, short events, bool bounded)
{
	bool pause = pausable(w, req);

	waiter_mask(w);		/* before immediate_exit is looked at */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		struct timespec left, *tp = NULL;
		bool kick = pause && kicked(w);
		int n;

		if (bounded) {
			left = time_left(&req->deadline);
			tp = &left;
		}
		if (kick) {
			left.tv_sec = left.tv_nsec = 0;	/* look, do not block */
			tp = &left;
		}
		n = ppoll(&p, 1, tp, w->run ? &w->orig : NULL);
		if (n > 0)
			return 0;
		if (n < 0 && errno == EINTR) {
			if (pause)
				return -EINTR;
			w->signalled = w->run != NULL;
			continue;
		}
		if (n < 0)
			return -errno;
		if (kick)
			return -EINTR;
		if (bounded && expired(req))
			return -ETIMEDOUT;
	}
}


static int wait_fd(struct waiter *w, const struct iofd_ioreq *req, int fd,
		   short events)
{
	return wait_fd_until(w, req, fd, events, !forever(req));
}

/* ---- the channel lock: one command in flight per fd pair ---- */

static bool chan_trylock(struct iofd_chan *c)
{
	int unlocked = 0;

	return atomic_compare_exchange_strong(&c->lock, &unlocked, 1);
}

static void chan_unlock(struct iofd_chan *c)
{
	uint64_t one = 1;
	ssize_t n;

	atomic_store(&c->lock, 0);
	if (atomic_load(&c->waiters) > 0) {
		n = write(c->wake_fd, &one, sizeof(one));
		(void)n;	/* a full counter already wakes everyone */
	}
}

/*
 * Take the channel. Uncontended: one compare-and-swap. Contended: wait on
 * the channel's eventfd, which the holder writes when it lets go. As in the
 * kernel, the wait for the turn has no deadline of its own: the holder's
 * exchange is bounded by its timeout. A kick may end it (nothing is sent).
 */
static int chan_lock(struct waiter *w, const struct iofd_ioreq *req,
		     struct iofd_chan *c)
{
	uint64_t drain;
	ssize_t n;
	int err = 0;

	if (chan_trylock(c))
		return 0;
	atomic_fetch_add(&c->waiters, 1);
	while (!chan_trylock(c)) {
		err = wait_fd_until(w, req, c->wake_fd, POLLIN, false);
		if (err)
			break;
		n = read(c->wake_fd, &drain, sizeof(drain));
		(void)n;
	}
	atomic_fetch_sub(&c->waiters, 1);
	return err;
}

/* ---- outcomes ---- */

/* Copy a reason, cut to fit (always NUL-terminated). */
static void copy_reason(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	while (n + 1 < size && src[n]) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

static void fill_info(struct iofd_exit *info, const struct iofd_ioreq *req,
		      int status, int err, const char *reason)
{
	if (!info)
		return;
	info->status = status;
	info->bus = req->bus;
	info->addr = req->addr;
	info->len = req->len;
	info->is_write = req->is_write;
	memset(info->pad0, 0, sizeof(info->pad0));
	info->err = err;
	copy_reason(info->reason, sizeof(info->reason), reason);
	info->pad1 = 0;
	memset(info->reserved, 0, sizeof(info->reserved));
}

/* Release what the access holds: the channel (if taken), the region. */
static void req_finish(struct iofd_ioreq *req)
{
	if (req->stage != IOFD_REQ_LOCK)
		chan_unlock(req->region->chan);
	iofd_region_put(req->region);
	req->region = NULL;
}

static void chan_poison(struct iofd_chan *c, int err, const char *reason)
{
	/* Only the channel's holder gets here: no other writer races. */
	if (atomic_load_explicit(&c->poison, memory_order_relaxed))
		return;
	copy_reason(c->poison_reason, sizeof(c->poison_reason), reason);
	atomic_store_explicit(&c->poison, err, memory_order_release);
}

static int req_fail(struct iofd_ioreq *req, struct iofd_exit *info, int err,
		    bool poison, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The reasons the kernel's failure exit documents; else -EIO. */
static int documented(int err)
{
	switch (err) {
	case -EPIPE:
	case -EPROTO:
	case -EBADMSG:
	case -ETIMEDOUT:
		return err;
	default:
		return -EIO;
	}
}

static int req_fail(struct iofd_ioreq *req, struct iofd_exit *info, int err,
		    bool poison, const char *fmt, ...)
{
	char reason[96];
	va_list ap;

	err = documented(err);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (poison)
		chan_poison(req->region->chan, err, reason);
	iofd_fail(err, "ioregion access at 0x%llx failed: %s",
		  (unsigned long long)req->addr, reason);
	fill_info(info, req, IOFD_FAILED, err, reason);
	req_finish(req);
	return IOFD_FAILED;
}

/* Fail at once if an earlier failure poisoned the channel. */
static int check_poison(struct iofd_ioreq *req, struct iofd_exit *info)
{
	struct iofd_chan *c = req->region->chan;
	int err = atomic_load_explicit(&c->poison, memory_order_acquire);

	if (!err)
		return 0;
	return req_fail(req, info, err, false, "fd poisoned: %.80s", c->poison_reason);
}

static int req_pend(struct iofd_ioreq *req, struct iofd_exit *info)
{
	fill_info(info, req, IOFD_PENDING, -EINTR,
		  req->stage == IOFD_REQ_RECV ? "interrupted waiting for the reply"
					      : "interrupted before the command was sent");
	return IOFD_PENDING;
}

static int req_done(struct iofd_ioreq *req, struct iofd_exit *info)
{
	if (!req->is_write)
		memcpy(req->data, &req->resp.data, req->len);
	fill_info(info, req, IOFD_SERVED, 0, "");
	req_finish(req);
	return IOFD_SERVED;
}

/* ---- the stages ---- */

static int stage_lock(struct waiter *w, struct iofd_ioreq *req,
		      struct iofd_exit *info)
{
	struct iofd_chan *c = req->region->chan;
	int err, status;

	if ((status = check_poison(req, info)))
		return status;
	err = chan_lock(w, req, c);
	if (err == -EINTR)
		return req_pend(req, info);
	if (err)
		return req_fail(req, info, err, false, "waiting for the turn "
				"on the fd: %s", strerror(-err));
	req->stage = IOFD_REQ_SEND;
	set_deadline(req);		/* the device's time starts now */
	if ((status = check_poison(req, info)))
		return status;
	if (req->want_resp) {
		/* Nothing can be owed before the command goes out. */
		err = iofd_wire_pending(&c->r);
		if (err == 1)
			return req_fail(req, info, -EPROTO, true, "unsolicited data "
					"on read_fd before the command");
		if (err == -EPIPE)
			return req_fail(req, info, -EPIPE, true, "device closed "
					"read_fd");
	}
	return 0;
}

static int stage_send(struct waiter *w, struct iofd_ioreq *req,
		      struct iofd_exit *info)
{
	struct iofd_chan *c = req->region->chan;

	while (req->sent < IOFD_WIRE_MSG_SIZE) {
		ssize_t n = iofd_wire_send(&c->w,
					   (char *)&req->cmd + req->sent,
					   IOFD_WIRE_MSG_SIZE - req->sent);
		int err;

		if (n > 0) {
			req->sent += (size_t)n;
			continue;
		}
		if (n == -EPIPE)
			return req_fail(req, info, -EPIPE, true, "device closed "
					"write_fd");
		if (n < 0 && n != -EAGAIN)
			return req_fail(req, info, (int)n, true, "write_fd: %s",
					strerror((int)-n));
		err = wait_fd(w, req, c->w.fd, POLLOUT);
		if (err == -EINTR)
			return req_pend(req, info);
		if (err)
			return req_fail(req, info, err, true, "device took no command "
					"within %u ms", req->timeout_ms);
	}
	return 0;
}

/* The reply could not be read whole: say why. */
static int recv_failed(struct iofd_ioreq *req, struct iofd_exit *info,
		       ssize_t n, int wait_err)
{
	if (wait_err == -ETIMEDOUT && req->got)
		return req_fail(req, info, -EPROTO, true, "short reply: %zu of 32 "
				"bytes, then nothing for %u ms", req->got,
				req->timeout_ms);
	if (wait_err == -ETIMEDOUT)
		return req_fail(req, info, -ETIMEDOUT, true, "no reply within %u ms",
				req->timeout_ms);
	if (wait_err)
		return req_fail(req, info, wait_err, true, "waiting for the reply: %s",
				strerror(-wait_err));
	if (n == 0 && req->got)
		return req_fail(req, info, -EPROTO, true, "short reply: %zu of 32 "
				"bytes, then the device closed read_fd", req->got);
	if (n == 0)
		return req_fail(req, info, -EPIPE, true, "device closed read_fd "
				"instead of replying");
	return req_fail(req, info, (int)n, true, "read_fd: %s", strerror((int)-n));
}

static int stage_recv(struct waiter *w, struct iofd_ioreq *req,
		      struct iofd_exit *info)
{
	struct iofd_chan *c = req->region->chan;
	char why[80];

	bool wait = false;	/* the reply may be there already: look first */

	while (req->got < IOFD_WIRE_MSG_SIZE) {
		size_t msg_len = 0;
		ssize_t n;
		int err = wait ? wait_fd(w, req, c->r.fd, POLLIN) : 0;

		if (err == -EINTR)
			return req_pend(req, info);
		if (err)
			return recv_failed(req, info, 0, err);
		wait = true;
		n = iofd_wire_recv(&c->r, (char *)&req->resp + req->got,
				   IOFD_WIRE_MSG_SIZE - req->got, &msg_len);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)
			return recv_failed(req, info, n, 0);
		if (c->r.msg && msg_len < IOFD_WIRE_MSG_SIZE)
			return req_fail(req, info, -EPROTO, true, "short reply: a "
					"%zu-byte message", msg_len);
		if (c->r.msg && msg_len > IOFD_WIRE_MSG_SIZE)
			return req_fail(req, info, -EBADMSG, true, "malformed reply: "
					"a %zu-byte message", msg_len);
		req->got += (size_t)n;
	}
	if (iofd_wire_check_resp(&req->resp, why, sizeof(why)))
		return req_fail(req, info, -EBADMSG, true, "%s", why);
	return 0;
}

/* Run the access from where it stands to an outcome. */
static int req_run(struct waiter *w, struct iofd_ioreq *req,
		   struct iofd_exit *info)
{
	int status;

	if (req->stage == IOFD_REQ_LOCK && (status = stage_lock(w, req, info)))
		return status;
	if (req->stage == IOFD_REQ_SEND) {
		if ((status = stage_send(w, req, info)))
			return status;
		if (!req->want_resp)
			return req_done(req, info);
		req->stage = IOFD_REQ_RECV;
	}
	if ((status = stage_recv(w, req, info)))
		return status;
	return req_done(req, info);
}

/* Run req on a vCPU thread: once it has to wait, its signals are blocked
 * except inside ppoll, until it returns. */
static int req_run_vcpu(struct iofd_vcpu *vcpu, struct iofd_ioreq *req,
			struct iofd_exit *info, bool may_pause)
{
	struct waiter w = { .run = vcpu->run, .may_pause = may_pause };
	int status;

	status = req_run(&w, req, info);
	waiter_unmask(&w);
	if (status == IOFD_SERVED && w.signalled)
		vcpu->interrupted = true;
	/* An access that did not finish stays in the vCPU's pending slot. */
	vcpu->pending.src = req->region ? &req->region->obj : NULL;
	return status;
}

int iofd_ioregion_serve(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
			struct iofd_region *r, enum iofd_bus bus, uint64_t addr,
			uint32_t len, bool is_write, void *data,
			struct iofd_exit *info)
{
	struct iofd_ioreq local, *req = vcpu ? (struct iofd_ioreq *)vcpu->pending.state
					      : &local;
	bool posted = is_write && (r->flags & IOFD_IOREGION_FLAG_POSTED_WRITES);

	memset(req, 0, sizeof(*req));
	req->region = r;
	req->stage = IOFD_REQ_LOCK;
	req->bus = bus;
	req->addr = addr;
	req->len = len;
	req->is_write = is_write;
	req->want_resp = !posted;
	req->data = data;
	req->timeout_ms = __atomic_load_n(&vm->ioregion->timeout_ms, __ATOMIC_RELAXED);
	set_deadline(req);		/* set again once the channel is held */
	iofd_wire_cmd(&req->cmd, is_write, len, req->want_resp, r->user_data,
		      addr - r->start, is_write ? iofd_load_le(data, len) : 0);
	if (vcpu)
		return req_run_vcpu(vcpu, req, info, true);
	struct waiter w = { .run = NULL };
	return req_run(&w, req, info);
}

/* Did giving up req leave bytes on the wire the device will answer? */
static bool reply_owed(const struct iofd_ioreq *req)
{
	return req->stage == IOFD_REQ_RECV ||
	       (req->stage == IOFD_REQ_SEND && req->sent > 0);
}

void iofd_ioregion_cancel(void *state)
{
	struct iofd_ioreq *req = state;

	if (!req->region)
		return;
	if (reply_owed(req))
		chan_poison(req->region->chan, -EIO, "an access was "
			    "abandoned with its reply owed");
	req_finish(req);
}

int iofd_ioregion_resume(struct iofd_vcpu *vcpu, void *state,
			 struct iofd_exit *info)
{
	struct iofd_ioreq *req = state;

	if (atomic_load(&req->region->dead)) {
		/* Deassigned meanwhile: the access becomes an ordinary exit. */
		fill_info(info, req, IOFD_NOT_CLAIMED, 0, "region deassigned "
			  "while the access was pending");
		iofd_ioregion_cancel(req);
		vcpu->pending.src = NULL;
		return IOFD_NOT_CLAIMED;
	}
	return req_run_vcpu(vcpu, req, info, false);
}
