/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ioregionfd inside the library: regions, the fd pairs ("channels") they
 * talk through, and the state of one access in progress.
 */
#ifndef IOFD_IOREGION_H
#define IOFD_IOREGION_H

#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"

/* Identity of the object behind an fd: the pipe or socket, not the fd. */
struct iofd_file_id {
	dev_t dev;
	ino_t ino;
};

/*
 * One (write_fd, read_fd) pair. Every region registered with the same
 * write_fd object shares it, so one command is in flight per fd and
 * replies can never be taken by the wrong vCPU. Readers reach a channel
 * only through a region they hold a reference on.
 */
struct iofd_chan {
	int wfd;			/* our CLOEXEC dup of write_fd */
	int rfd;			/* of read_fd; -1 while only doorbells use it */
	bool w_sock, r_sock;		/* sockets: per-call MSG_* flags */
	bool r_msg;			/* read side keeps message boundaries */
	struct iofd_file_id w_id, r_id;
	int wake_fd;			/* eventfd: "the lock was released" */
	atomic_int lock;		/* 1 while a command is in flight */
	atomic_int waiters;		/* threads waiting for the lock */
	atomic_int poison;		/* 0, or -errno of the failure */
	char poison_reason[96];		/* written once, before poison */
	atomic_uint refs;		/* region objects using the channel */
	unsigned int registered;	/* registered regions (writer lock) */
	struct iofd_chan *next;		/* vm->chans (writer lock) */
};

/* A registered region; immutable once published, except refs and dead. */
struct iofd_region {
	uint64_t start, size;		/* guest_paddr, memory_size */
	uint64_t end;			/* end of the range array entry */
	uint64_t user_data;
	uint32_t flags;			/* IOFD_IOREGION_FLAG_* */
	enum iofd_bus bus;
	struct iofd_chan *chan;
	atomic_uint refs;		/* registration + accesses in progress */
	atomic_bool dead;		/* deassigned (published) */
	struct rcu_head rcu;
};

enum iofd_req_stage {
	IOFD_REQ_LOCK = 0,	/* waiting for the channel: nothing sent yet */
	IOFD_REQ_SEND = 1,	/* channel held; sending the command */
	IOFD_REQ_RECV = 2,	/* command sent; waiting for the reply */
};

/* One ioregion access, kept in the vCPU while it is pending. */
struct iofd_ioreq {
	struct iofd_region *region;	/* reference held; NULL: none */
	enum iofd_req_stage stage;
	enum iofd_bus bus;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	bool want_resp;
	void *data;			/* the access's bytes (in kvm_run) */
	struct iofd_ioregionfd_cmd cmd;
	size_t sent;
	struct iofd_ioregionfd_resp resp;
	size_t got;
	uint32_t timeout_ms;
	struct timespec deadline;	/* CLOCK_MONOTONIC; unused if forever */
};

/* ---- ioregion.c: registration and lifetime ---- */

/* Take a reference from inside an RCU read-side section; false if the
 * region is already on its way out (treat the access as unclaimed). */
bool iofd_region_tryget(struct iofd_region *r);
/* Drop a reference; the last one frees the region after a grace period. */
void iofd_region_put(struct iofd_region *r);
/* Does the region serve this access? (doorbells: writes at start only) */
bool iofd_region_claims(const struct iofd_region *r, uint64_t addr,
			uint32_t len, bool is_write);
/* Range removed by the writer: unlink from its channel now, drop the
 * registration's reference at the next publication. */
int iofd_region_unregister(struct iofd_vm *vm, struct iofd_region *r);
/* Identity of fd's object; -EBADF if fd is not open. */
int iofd_file_id(int fd, struct iofd_file_id *id);

/* ---- ioregion_io.c: serving accesses ---- */

struct iofd_vcpu;

/* Serve an access that region r (reference given) claimed; the reference
 * is consumed. vcpu may be NULL (iofd_access). Returns an iofd_status. */
int iofd_ioregion_serve(struct iofd_vm *vm, struct iofd_vcpu *vcpu,
			struct iofd_region *r, enum iofd_bus bus, uint64_t addr,
			uint32_t len, bool is_write, void *data,
			struct iofd_exit *info);
/* Continue the vCPU's pending access. Returns an iofd_status. */
int iofd_ioregion_resume(struct iofd_vcpu *vcpu, struct iofd_exit *info);
/* Give up the vCPU's pending access (vCPU destroyed). */
void iofd_ioregion_abandon(struct iofd_ioreq *req);

/* ---- wire.c: the VMM side of the 32-byte protocol ---- */

#define IOFD_WIRE_MSG_SIZE	32

/* Build the command for one access (data zero-extended by the caller). */
void iofd_wire_cmd(struct iofd_ioregionfd_cmd *cmd, bool is_write,
		   uint32_t len, bool want_resp, uint64_t user_data,
		   uint64_t offset, uint64_t data);
/* Check a complete reply; 0 or -EBADMSG with the reason in why. */
int iofd_wire_check_resp(const struct iofd_ioregionfd_resp *resp, char *why,
			 size_t whylen);
/* One attempt to send len bytes without blocking: bytes sent, -EAGAIN,
 * -EPIPE (reader gone; never raises SIGPIPE) or another -errno. */
ssize_t iofd_wire_send(int fd, bool is_sock, const void *buf, size_t len);
/* One attempt to receive at most len bytes without blocking: bytes (> 0),
 * 0 at end of file, -EAGAIN or -errno. On a message socket *msg_len gets
 * the length of the whole message (which is consumed). */
ssize_t iofd_wire_recv(int fd, bool is_sock, bool is_msg, void *buf,
		       size_t len, size_t *msg_len);
/* write(2) to a pipe; EPIPE never leaves a SIGPIPE behind (-1, errno). */
ssize_t iofd_wire_pipe_write(int fd, const void *buf, size_t len);
/* Is something waiting on fd already? 1 data, 0 nothing, -EPIPE closed. */
int iofd_wire_pending(int fd, bool is_sock);
/* Discard whatever is waiting on a new channel's read side (bounded). */
void iofd_wire_drain(int fd, bool is_sock);

#endif /* IOFD_IOREGION_H */
