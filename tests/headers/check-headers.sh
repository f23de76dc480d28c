#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every public header compiles on its own, twice included, in each language
# mode a VMM may use: C99 -pedantic and C11 (gcc and clang), C++11 and C++17
# (g++ and clang++), with -Wall -Wextra -Werror and -Wpadded (no struct of
# iofd's has implicit padding). Then the layout assertions (layout.c: the
# size of every public struct and the offset of each member) in the same
# modes. One TAP case per header and mode; a missing compiler is a skip.
# TAP on stdout; a compiler's complaints go to stderr.
#
# usage: check-headers.sh INCLUDE_DIR LAYOUT_C
set -u
inc=${1:?usage: check-headers.sh INCLUDE_DIR LAYOUT_C}
layout=${2:?usage: check-headers.sh INCLUDE_DIR LAYOUT_C}
headers="iofd.h uapi.h device.h handoff.h error.h kvm-unmerged.h"
# name|compiler|language and standard
modes="C99 -pedantic (gcc)|gcc|-x c -std=c99
C99 -pedantic (clang)|clang|-x c -std=c99
C11 (gcc)|gcc|-x c -std=c11
C11 (clang)|clang|-x c -std=c11
C++11 (g++)|g++|-x c++ -std=c++11
C++11 (clang++)|clang++|-x c++ -std=c++11
C++17 (g++)|g++|-x c++ -std=c++17
C++17 (clang++)|clang++|-x c++ -std=c++17"
warn="-pedantic -Wall -Wextra -Werror -Wpadded"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

nr_modes=$(printf '%s\n' "$modes" | wc -l)
nr_headers=$(echo "$headers" | wc -w)
echo "1..$(((nr_headers + 1) * nr_modes))"

n=0
# compile_case NAME COMPILER STD SOURCE: one compilation, one TAP line.
compile_case() {
	n=$((n + 1))
	if ! command -v "$2" >/dev/null 2>&1; then
		echo "ok $n - $1 # SKIP $2 is not installed"
		return
	fi
	# shellcheck disable=SC2086
	if "$2" $3 $warn -I"$inc" -c "$4" -o "$tmp/out.o" 2>"$tmp/err"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed "s|^|$1: |" "$tmp/err" >&2
	fi
}

for h in $headers; do
	src=$tmp/$h.c
	printf '#include <iofd/%s>\n#include <iofd/%s>\n\nint main(void)\n{\n\treturn 0;\n}\n' \
		"$h" "$h" >"$src"
	while IFS='|' read -r name cc std; do
		compile_case "$h: $name" "$cc" "$std" "$src"
	done <<EOF
$modes
EOF
done
while IFS='|' read -r name cc std; do
	compile_case "struct layouts: $name" "$cc" "$std" "$layout"
done <<EOF
$modes
EOF
