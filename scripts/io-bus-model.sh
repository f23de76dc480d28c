#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Compare the io bus lookup of a KVM source tree with the rule kernel/io-bus
# sets (tests/kernel/io_bus_model.c), in userspace:
#   scripts/io-bus-model.sh [--tree DIR --name TEXT] [CONFIGURATIONS [SEED]]
# Without --tree: the 6.12 tree with the whole series applied, from
# scripts/kernel-build.sh. The bus functions of DIR/virt/kvm/kvm_main.c
# (kvm_iodevice_destructor() to kvm_io_bus_get_dev()) and the bus structs of
# DIR/include/linux/kvm_host.h are copied out of the tree at run time, into
# a temporary directory, and built there with the harness and its stubs;
# no kernel code is kept in this tree. Prints the harness's TAP on stdout,
# then on stderr:
#   kernel review: io_bus_model: P passed, F failed on <kernel> (<config>)
# Exit status 0 when every check agrees, 1 if not; a TAP skip (status 0)
# when the kernel source cannot be fetched.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tree= name=
while [ $# -gt 0 ]; do
	case $1 in
	--tree) tree=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	*) break ;;
	esac
done

if [ -z "$tree" ]; then
	if ! "$here/kernel-fetch.sh" source 6.12 >/dev/null 2>&1; then
		echo "1..0 # SKIP the 6.12 kernel source cannot be fetched"
		exit 0
	fi
	hdr=$("$here/kernel-build.sh" headers | tail -n 1) || {
		echo "io-bus-model: the patched tree did not build" >&2
		exit 1
	}
	tree=${hdr%/usr/include}
	# .../kernel/<release>/patched-<hash>/src
	name="$(basename "$(dirname "$(dirname "$tree")")") (patched, userspace)"
fi
[ -n "$name" ] || name="$tree"
main=$tree/virt/kvm/kvm_main.c
host=$tree/include/linux/kvm_host.h
for f in "$main" "$host"; do
	[ -f "$f" ] || { echo "io-bus-model: no $f" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/iofd-io-bus-model.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

{
	echo '#include "io_bus_stubs.h"'
	awk '/^struct kvm_io_range \{/ { on = 1 }
	     on { print }
	     on && /^enum kvm_bus \{/ { last = 1 }
	     last && /^\};/ { exit }' "$host"
} >"$work/io_bus_kernel.h"
{
	echo '#include "io_bus_kernel.h"'
	awk '/^static void kvm_iodevice_destructor\(/ { on = 1 }
	     on { print }
	     /^EXPORT_SYMBOL_GPL\(kvm_io_bus_get_dev\);/ { exit }' "$main"
} >"$work/io_bus_kernel.c"
grep -q 'enum kvm_bus' "$work/io_bus_kernel.h" &&
	grep -q 'kvm_io_bus_get_dev' "$work/io_bus_kernel.c" || {
	echo "io-bus-model: the io bus code was not found in $tree" >&2
	exit 1
}

cc=${CC:-cc}
inc="-I$work -I$top/tests/kernel"
# The extracted code is built as the kernel builds it, warnings and all;
# the harness with every warning an error.
$cc -std=gnu11 -O2 -fno-strict-aliasing $inc -c -o "$work/kernel.o" \
	"$work/io_bus_kernel.c" 2>"$work/cc.err" &&
	$cc -std=gnu11 -O2 -Wall -Wextra -Werror $inc -c -o "$work/model.o" \
		"$top/tests/kernel/io_bus_model.c" 2>>"$work/cc.err" &&
	$cc -o "$work/io_bus_model" "$work/model.o" "$work/kernel.o" \
		2>>"$work/cc.err" || {
	cat "$work/cc.err" >&2
	echo "io-bus-model: building the harness failed" >&2
	exit 1
}

"$work/io_bus_model" "$@" >"$work/out"
rc=$?
cat "$work/out"
p=$(grep -cE '^ok [0-9]+' "$work/out")
f=$(grep -cE '^not ok [0-9]+' "$work/out")
echo "kernel review: io_bus_model: $p passed, $f failed on $name" >&2
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
