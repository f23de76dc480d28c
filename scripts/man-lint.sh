#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Lint the manual pages (mandoc -T lint, warnings and up), check that
# every call the libraries export has a page or a link to one, and that
# every page is installed and has EXAMPLES.
# usage: scripts/man-lint.sh [BUILD_DIR]   (default: build; for the check
# of the exported calls, skipped when the library is not built)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
mandoc -T lint -W warning "$top"/man/*.[37]
status=0
for page in "$top"/man/*.[37]; do
	if ! grep -q "'$(basename "$page")'" "$top/man/meson.build"; then
		echo "man-lint: man/$(basename "$page") is not installed (man/meson.build)" >&2
		status=1
	fi
	if ! grep -q '^\.SH EXAMPLES' "$page"; then
		echo "man-lint: man/$(basename "$page") has no EXAMPLES" >&2
		status=1
	fi
done
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
[ $status = 0 ] && echo "man-lint: $(ls "$top"/man/*.[37] | wc -l) pages clean"
exit $status
