#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run a command as on a machine without /dev/kvm (root only):
#   scripts/without-kvm.sh COMMAND [ARG ...]
# It runs in a private mount namespace whose /dev is a fresh tmpfs holding
# the host's /dev entries except kvm, so the no-KVM paths (TAP skips, the
# emulated host) can be tried on a machine that has KVM.
set -e
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG ...]" >&2; exit 2; }
exec unshare --mount --propagation private sh -c '
	set -e
	keep=$(mktemp -d)
	mount --bind /dev "$keep"
	mount -t tmpfs -o mode=755 iofd-nokvm /dev
	for e in "$keep"/* "$keep"/.[!.]*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		n=${e##*/}
		[ "$n" = kvm ] && continue
		if [ -L "$e" ]; then cp -P "$e" "/dev/$n"
		elif [ -d "$e" ]; then mkdir "/dev/$n" && mount --rbind "$e" "/dev/$n"
		else touch "/dev/$n" && mount --bind "$e" "/dev/$n"
		fi
	done
	exec "$@"' without-kvm "$@"
