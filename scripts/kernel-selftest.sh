#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run one selftest of the kernel series (built by scripts/kernel-build.sh)
# in the emulated host, unchanged, and print the uapi shim line
# (scripts/uapi-shim-run.sh):
#   scripts/kernel-selftest.sh --kernel CONFIG [--shim LIBIOFD_SHIM_SO]
#                              [--review] NAME [ARG ...]
# --review: the line reads "kernel review: ..." (the programs a review of
# the series added, or the cases of a program given as ARGs, kselftest's
# -f/-t filters) instead of "uapi shim: ...". ARGs go to the program.
# With --shim the binary runs with the shim preloaded (the kernel matrix's
# "stock 6.12 + uapi shim"); without it, as it is on a kernel that has the
# series (patched-6.12). CONFIG native runs it on this machine's own KVM
# (with --shim only: no machine here has the series natively). Exit status:
# the program's; 77 when the emulated host cannot be had.
set -u
here=$(cd "$(dirname "$0")" && pwd)
kernel= shim= label="uapi shim"
while [ $# -gt 1 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--shim) shim=$2; shift 2 ;;
	--review) label="kernel review"; shift ;;
	*) break ;;
	esac
done
if [ -z "$kernel" ] || [ $# -lt 1 ]; then
	echo "usage: $0 --kernel CONFIG [--shim SO] [--review] NAME [ARG ...]" >&2
	exit 2
fi
st=$("$here/kernel-build.sh" selftests | tail -n 1) || {
	echo "kernel-selftest: the selftests did not build" >&2
	exit 1
}
name=$1
shift
[ -x "$st/$name" ] || { echo "kernel-selftest: no selftest $name in $st" >&2; exit 1; }
# pthread_cancel() loads libgcc_s, which no program links: bring it along.
libgcc_s=$(readlink -f "$(gcc -print-file-name=libgcc_s.so.1)")
if [ "$kernel" = native ]; then
	[ -n "$shim" ] || { echo "kernel-selftest: native needs --shim" >&2; exit 2; }
	exec "$here/uapi-shim-run.sh" --label "$label" --shim "$shim" "$st/$name" "$@"
fi
if [ -n "$shim" ]; then
	exec "$here/emuhost" --kernel "$kernel" --timeout 600 --rmmod --with "$st/$name" \
		--with "$shim" --with "$libgcc_s" -- \
		"$here/uapi-shim-run.sh" --label "$label" --shim "$shim" "$st/$name" "$@"
fi
exec "$here/emuhost" --kernel "$kernel" --timeout 600 --rmmod --with "$st/$name" \
	--with "$libgcc_s" -- "$here/uapi-shim-run.sh" --label "$label" \
	--patched "$st/$name" "$@"
