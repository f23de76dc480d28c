#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run a program written against the unmerged KVM uapi (the kernel's
# post-write selftest, a raw ioregionfd program...) and print one line:
#   uapi shim: <program>: <P> passed, <F> failed on <uname -r> (<config>)
# Usage: uapi-shim-run.sh [--label TEXT] --shim LIBIOFD_SHIM_SO | --patched
#                         PROGRAM [ARG ...]
# --label: the line starts with TEXT instead of "uapi shim" (the programs
# added by a kernel review print "kernel review: ...");
# --shim: the program runs with the shim preloaded (config "stock+shim");
# --patched: natively, on a kernel the caller knows has the series. P and F come from
# kselftest's "# Totals: pass:P fail:F ... error:E" line (errors count as
# failures), else from the TAP "ok"/"not ok" lines. The program's output
# is passed on; the exit status is the program's (1 if it failed cases
# but exited 0).
set -u
shim= config= label="uapi shim"
if [ "${1:-}" = --label ]; then
	label=${2:-}
	shift 2
fi
case "${1:-}" in
--shim) shim=${2:-}; config=stock+shim; shift 2 ;;
--patched) config=patched; shift ;;
esac
if [ -z "$config" ] || [ $# -eq 0 ]; then
	echo "usage: $0 [--label TEXT] --shim LIBIOFD_SHIM_SO | --patched" \
		"PROGRAM [ARG ...]" >&2
	exit 2
fi
out=$(mktemp)
if [ -n "$shim" ]; then
	LD_PRELOAD="$shim" "$@" >"$out" 2>&1
else
	"$@" >"$out" 2>&1
fi
rc=$?
cat "$out"
totals=$(grep -E '^# Totals: pass:[0-9]+ fail:[0-9]+' "$out" | tail -n 1)
if [ -n "$totals" ]; then
	p=$(echo "$totals" | sed -E 's/^# Totals: pass:([0-9]+) .*/\1/')
	f=$(echo "$totals" | sed -E 's/^# Totals: pass:[0-9]+ fail:([0-9]+).*/\1/')
	e=$(echo "$totals" | sed -nE 's/.* error:([0-9]+).*/\1/p')
	f=$((f + ${e:-0}))
else
	p=$(grep -E '^ok [0-9]+' "$out" | grep -vcE '# *SKIP' || true)
	f=$(grep -cE '^not ok [0-9]+' "$out" || true)
fi
rm -f "$out"
echo "$label: $(basename "$1"): $p passed, $f failed on $(uname -r) ($config)" >&2
[ "$rc" -eq 0 ] && [ "$f" -gt 0 ] && rc=1
exit "$rc"
