#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Lint the section 3 manual pages (mandoc -T lint, warnings and up) and
# check that every call the libraries export has a page or a link to one.
# usage: scripts/man-lint.sh [BUILD_DIR]   (default: build; for the check
# of the exported calls, skipped when the library is not built)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
mandoc -T lint -W warning "$top"/man/*.3
status=0
if [ -f "$build/src/libiofd.so" ]; then
	for sym in $(nm -D --defined-only "$build/src/libiofd.so" |
		     awk '$3 ~ /^iofd_/ { sub(/@.*/, "", $3); print $3 }'); do
		if [ ! -f "$top/man/$sym.3" ] &&
		   ! grep -q "'$sym.3'" "$top/man/meson.build"; then
			echo "man-lint: $sym has no manual page" >&2
			status=1
		fi
	done
fi
[ $status = 0 ] && echo "man-lint: $(ls "$top"/man/*.3 | wc -l) pages clean"
exit $status
