/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iofd handoff: how a VMM and an out-of-process device exchange the file
 * descriptors of a device, over a UNIX seqpacket socket with SCM_RIGHTS.
 *
 *   VMM -> device   HELLO: guest RAM (memfds and their guest-physical map),
 *                   the device's ioregion fds, its doorbell eventfds (with
 *                   the shadow offset the VMM will post each doorbell to),
 *                   optionally a shadow memfd the VMM created;
 *   device -> VMM   REPLY: a status and, usually, the device's shadow memfd
 *                   (as vfio-user devices hand theirs over), which the VMM
 *                   registers as post_fd of POST_WRITE | POST_MEMFD
 *                   ioeventfds.
 *
 * A message is one packet: a versioned header, descriptors, and the fds as
 * one SCM_RIGHTS array that descriptors refer to by index. The receiver
 * checks everything: magic, version, kind, exact length, counts, that the
 * number of fds received is the number declared (and that no ancillary
 * data was cut off), that every fd is used and of the right kind (memfd,
 * socket or pipe, eventfd). A malformed message closes every fd it brought
 * and fails with -EPROTO (-EPROTONOSUPPORT for another version).
 *
 * The device never receives the VM: it can serve what it was given and
 * nothing else; adding, moving or removing regions stays with the VMM.
 *
 * The socket itself is inherited at spawn (iofd_handoff_spawn() and
 * iofd_handoff_inherited()) or connected over a socket path by the caller.
 */
#ifndef IOFD_HANDOFF_H
#define IOFD_HANDOFF_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOFD_HANDOFF_VERSION		1
#define IOFD_HANDOFF_MAX_RAM		8
#define IOFD_HANDOFF_MAX_REGIONS	32
#define IOFD_HANDOFF_MAX_DOORBELLS	64
/* Environment variable naming the inherited handoff socket's fd. */
#define IOFD_HANDOFF_ENV		"IOFD_HANDOFF_FD"
/* The fd number iofd_handoff_spawn() gives the device's socket. */
#define IOFD_HANDOFF_CHILD_FD		3

enum iofd_handoff_kind {
	IOFD_HANDOFF_HELLO = 1,		/* VMM -> device */
	IOFD_HANDOFF_REPLY = 2,		/* device -> VMM */
};

struct iofd_handoff_ram {
	uint64_t gpa;		/* guest-physical address of the range */
	uint64_t size;		/* bytes, > 0 */
	uint64_t offset;	/* offset of the range in the memfd */
	int fd;			/* memfd */
	uint32_t pad;		/* alignment: ignored */
};

struct iofd_handoff_region {
	uint64_t gpa;		/* guest_paddr of the ioregion */
	uint64_t size;		/* memory_size (0: doorbell) */
	uint64_t user_data;	/* the token in every command */
	uint32_t flags;		/* IOFD_IOREGION_FLAG_PIO | POSTED_WRITES */
	int cmd_fd;		/* device's end: commands arrive here */
	int resp_fd;		/* replies go here; may equal cmd_fd; -1 if posted */
	uint32_t pad;		/* alignment: ignored */
};

struct iofd_handoff_doorbell {
	uint64_t gpa;		/* guest address of the doorbell */
	uint64_t datamatch;	/* with IOFD_IOEVENTFD_FLAG_DATAMATCH */
	uint64_t shadow_offset;	/* where the VMM posts the value */
	uint32_t len;		/* 1, 2, 4 or 8 */
	uint32_t flags;		/* IOFD_IOEVENTFD_FLAG_PIO | DATAMATCH */
	int efd;		/* the eventfd the VMM signals */
	uint32_t pad;		/* alignment: ignored */
};

struct iofd_handoff {
	uint32_t kind;		/* enum iofd_handoff_kind */
	int32_t status;		/* REPLY: 0, or the device's negative errno */
	uint32_t nr_ram, nr_regions, nr_doorbells;
	uint32_t pad0;		/* alignment: ignored */
	struct iofd_handoff_ram ram[IOFD_HANDOFF_MAX_RAM];
	struct iofd_handoff_region regions[IOFD_HANDOFF_MAX_REGIONS];
	struct iofd_handoff_doorbell doorbells[IOFD_HANDOFF_MAX_DOORBELLS];
	int shadow_fd;		/* a shadow memfd, or -1 */
	uint32_t pad1;		/* alignment: ignored */
};

/** iofd_handoff_init() - empty message of @kind, every fd -1: 0, or -EINVAL
 * (NULL message, unknown kind). */
int iofd_handoff_init(struct iofd_handoff *h, enum iofd_handoff_kind kind);

/**
 * iofd_handoff_send() - send @h over the seqpacket socket @sock.
 *
 * The fds stay the caller's (the peer receives its own copies). An fd
 * belongs to one descriptor only (a region's resp_fd may equal its
 * cmd_fd). Errors: -EINVAL (counts above the maxima, a missing or shared
 * fd, bad kind or status, not a seqpacket socket), -EPIPE (peer gone),
 * any errno of sendmsg().
 */
int iofd_handoff_send(int sock, const struct iofd_handoff *h);

/**
 * iofd_handoff_recv() - receive and validate one message of kind @kind.
 * @timeout_ms: -1 waits forever.
 *
 * On success @h owns the fds received (close-on-exec); release them with
 * iofd_handoff_close() once done. On failure nothing is kept (every fd
 * that arrived is closed) and @h holds no fd. Errors: -EPROTO (malformed;
 * reason in iofd_last_error()), -EPROTONOSUPPORT (other version),
 * -ECONNRESET (peer closed), -ETIMEDOUT, -EINVAL (bad arguments), any errno
 * of recvmsg().
 */
int iofd_handoff_recv(int sock, enum iofd_handoff_kind kind,
		      struct iofd_handoff *h, int timeout_ms);

/** iofd_handoff_close() - close every fd @h holds and set them to -1. */
void iofd_handoff_close(struct iofd_handoff *h);

/**
 * iofd_handoff_spawn() - start a device process with a handoff socket.
 * @argv: program (looked up in PATH) and arguments, NULL-terminated.
 * @sock: receives the VMM's end of the socket (close-on-exec; the caller's).
 * @pid:  receives the child's pid (the caller reaps it).
 *
 * The child gets its end as fd IOFD_HANDOFF_CHILD_FD, named in the
 * environment as IOFD_HANDOFF_ENV; every other fd above 2 is closed in the
 * child, so it holds only what the handoff gives it.
 * Errors: -EINVAL, any errno of socketpair() or posix_spawn().
 */
int iofd_handoff_spawn(char *const argv[], int *sock, pid_t *pid);

/**
 * iofd_handoff_inherited() - the handoff socket a device was started with.
 *
 * Reads IOFD_HANDOFF_ENV, checks that the fd is a seqpacket socket and
 * makes it close-on-exec. Returns the fd (the caller's), -ENOENT without
 * the variable, -EBADF/-EINVAL for a bad value.
 */
int iofd_handoff_inherited(void);

#ifdef __cplusplus
}
#endif

#endif /* IOFD_HANDOFF_H */
