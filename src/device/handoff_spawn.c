/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Starting a device process with the handoff socket as its only inherited
 * fd, and finding that socket again in the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "fault.h"
#include "handoff_wire.h"
#include "iofd/iofd.h"

/* ---- spawning ---------------------------------------------------------------- */

/* environ without IOFD_HANDOFF_ENV, plus IOFD_HANDOFF_ENV=<child fd>. */
static char **child_environment(char *entry)
{
	extern char **environ;
	size_t n = 0, k = 0, name_len = strlen(IOFD_HANDOFF_ENV);
	char **env;

	while (environ[n])
		n++;
	env = iofd_calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], IOFD_HANDOFF_ENV, name_len) != 0 ||
		    environ[i][name_len] != '=')
			env[k++] = environ[i];
	env[k++] = entry;
	env[k] = NULL;
	return env;
}

static int spawn_child(char *const argv[], int child_end, pid_t *pid)
{
	char entry[64];
	posix_spawn_file_actions_t fa;
	char **env;
	int err;

	snprintf(entry, sizeof(entry), "%s=%d", IOFD_HANDOFF_ENV,
		 IOFD_HANDOFF_CHILD_FD);
	env = child_environment(entry);
	if (!env)
		return iofd_fail(-ENOMEM, "out of memory for the environment");
	posix_spawn_file_actions_init(&fa);
	/* child_end is above IOFD_HANDOFF_CHILD_FD: dup2 clears close-on-exec. */
	posix_spawn_file_actions_adddup2(&fa, child_end, IOFD_HANDOFF_CHILD_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, IOFD_HANDOFF_CHILD_FD + 1);
	err = posix_spawnp(pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (err)
		return iofd_fail(-err, "cannot start %s: %s", argv[0], strerror(err));
	return 0;
}

IOFD_EXPORT int iofd_handoff_spawn(char *const argv[], int *sock, pid_t *pid)
{
	int sv[2], child_end, err;

	if (!argv || !argv[0] || !sock || !pid)
		return iofd_fail(-EINVAL, "iofd_handoff_spawn: bad arguments");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return iofd_fail(-errno, "socketpair: %s", strerror(errno));
	/* Keep the child's end clear of the number it must end up with. */
	child_end = iofd_dupfd(sv[1], IOFD_HANDOFF_CHILD_FD + 1);
	close(sv[1]);
	if (child_end < 0) {
		err = iofd_fail(-errno, "cannot place the child's socket: %s",
				strerror(errno));
		close(sv[0]);
		return err;
	}
	err = spawn_child(argv, child_end, pid);
	close(child_end);
	if (err) {
		close(sv[0]);
		return err;
	}
	*sock = sv[0];
	return 0;
}

IOFD_EXPORT int iofd_handoff_inherited(void)
{
	const char *val = getenv(IOFD_HANDOFF_ENV);
	char *end;
	long fd;
	int err;

	if (!val)
		return iofd_fail(-ENOENT, "%s is not set", IOFD_HANDOFF_ENV);
	errno = 0;
	fd = strtol(val, &end, 10);
	if (errno || end == val || *end || fd < 0 || fd > INT_MAX)
		return iofd_fail(-EINVAL, "%s=%s is not an fd number",
				 IOFD_HANDOFF_ENV, val);
	err = iofd_handoff_check_socket((int)fd);
	if (err)
		return err;
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return iofd_fail(-errno, "cannot make fd %ld close-on-exec", fd);
	return (int)fd;
}
