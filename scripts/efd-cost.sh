#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The cost of an ioeventfd assign in fds and system calls, at 1, 100 and
# 2,000 distinct eventfds (or the counts given), on a KVM VM: runs
# iofd-efd-cost under strace and counts, by kind, the system calls the
# registering thread makes between the program's markers (the assign of a
# new eventfd, then of one the VM already knows).
#
# usage: scripts/efd-cost.sh [BUILD_DIR] [N...]   (default: build 1 100 2000)
# Needs strace and /dev/kvm.
set -e
build=${1:-build}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- 1 100 2000
tool="$build/tools/iofd-efd-cost"
if [ ! -x "$tool" ]; then
	echo "efd-cost: $tool is not built" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in "$@"; do
	rc=0
	strace -f -qq -o "$tmp/trace" "$tool" "$n" >"$tmp/out" || rc=$?
	if [ "$rc" = 77 ]; then
		echo "efd-cost: skipped: $(cat "$tmp/out")"
		exit 77
	fi
	[ "$rc" = 0 ] || { cat "$tmp/out"; exit 1; }
	cat "$tmp/out"
	for step in assign-new assign-known; do
		awk -v step="iofd-efd-cost:$step" '
			index($0, "\"" step ":begin\"") { pid = $1; on = 1; next }
			index($0, "\"" step ":end\"") { on = 0; next }
			on && $1 == pid {
				call = $2; sub(/\(.*/, "", call)
				if (call ~ /^</ || call == "---") next
				n[call]++; total++
			}
			END {
				printf "  %-13s %3d syscalls:", step, total
				for (c in n) printf " %s %d", c, n[c]
				printf "\n"
			}' "$tmp/trace"
	done
done
