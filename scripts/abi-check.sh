#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The ABI of the shared libraries against the committed baseline
# (abi/<lib>.abi, written by abidw from the debug info and the public
# headers). Any difference fails, additions included: a change that adds
# to the ABI updates the baseline in the same commit (--update).
#
# usage: scripts/abi-check.sh [--update] [BUILD_DIR]   (default: build)
# Needs abigail-tools (abidw, abidiff) and a build with debug info.
set -e
update=0
if [ "$1" = "--update" ]; then
	update=1
	shift
fi
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for lib in libiofd libiofd-device; do
	so="$build/src/$lib.so"
	if [ ! -f "$so" ]; then
		echo "abi-check: $so is not built" >&2
		exit 2
	fi
	abidw --no-corpus-path --no-comp-dir-path --no-show-locs \
		--drop-private-types --headers-dir "$top/include/iofd" \
		--out-file "$tmp/$lib.abi" "$so"
	if [ "$update" = 1 ]; then
		cp "$tmp/$lib.abi" "$top/abi/$lib.abi"
		echo "abi-check: abi/$lib.abi updated"
	elif abidiff "$top/abi/$lib.abi" "$tmp/$lib.abi" >"$tmp/$lib.diff"; then
		echo "abi-check: $lib: same ABI as abi/$lib.abi"
	else
		echo "abi-check: $lib: the ABI differs from abi/$lib.abi" \
			"(update it with scripts/abi-check.sh --update if meant):"
		cat "$tmp/$lib.diff"
		status=1
	fi
done
exit $status
