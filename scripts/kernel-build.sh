#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build the kernel side of iofd: the series in kernel/ (the io-bus fix,
# post-write, then ioregionfd on top of them) applied to the pinned Debian
# 6.12 source, and print where the results are:
#   scripts/kernel-build.sh modules    dir with kvm.ko and kvm-amd.ko built
#                                      from the patched source (uncompressed;
#                                      irqbypass and ccp come from the image)
#   scripts/kernel-build.sh selftests  dir with the built x86 KVM selftests,
#                                      the series' own included
#   scripts/kernel-build.sh headers    the patched tree's usr/include
#   scripts/kernel-build.sh checkpatch the tree's checkpatch.pl --strict on
#                                      each patch; fails on any error
#   scripts/kernel-build.sh bisect     each patch of each series applied in
#                                      turn to the stock source, and what it
#                                      touches built at every step (the
#                                      modules, the uapi headers, the KVM
#                                      selftests); fails at the first patch
#                                      that does not build (slow, not in CI)
# The path is the last line on stdout; progress goes to stderr.
#
# The pinned packages come from scripts/kernel-fetch.sh. From the source
# tarball one tar pass extracts only what the build needs; the series is
# applied with patch(1), without fuzz, and a patch that does not apply
# exactly stops the build with patch's own reason. The modules are built
# against the headers package (make -C <headers> M=...), with the patched
# uapi headers put in front of the package's stock ones: otherwise the build
# silently compiles against the stock <linux/kvm.h>. Everything is kept under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/iofd/kernel/<release>/patched-<hash>/
# where <hash> covers the series (kernel/<series>/) and this script, so a
# second run is instant and a change to either rebuilds. Builds of other
# hashes unused for a week are removed.
# Exit status 0, or 1 with the reason on stderr.
set -eu

SERIES=6.12
# The patch series, in the order they apply (each a kernel/<dir>/series).
SERIES_DIRS="io-bus post-write ioregionfd"
JOBS=${IOFD_KERNEL_JOBS:-2}
# Run from make (make kernel), the environment says "sub-make": the
# selftests' Makefile then leaves OUTPUT empty and writes to /. Start clean.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

die() { echo "kernel-build: $*" >&2; exit 1; }
say() { echo "kernel-build: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 modules|selftests|headers|checkpatch|bisect"
what=$1
case $what in
modules | selftests | headers | checkpatch | bisect) ;;
*) die "unknown part '$what' (modules, selftests, headers, checkpatch or bisect)" ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
fetch=$top/scripts/kernel-fetch.sh
kdir=$top/kernel
for d in $SERIES_DIRS; do
	[ -f "$kdir/$d/series" ] || die "no $kdir/$d/series"
done

# Every patch of every series, in order, as <dir>/<file> lines.
patches() {
	for d in $SERIES_DIRS; do
		sed "s|^|$d/|" "$kdir/$d/series"
	done
}

for tool in make gcc gcc-12 patch xz strings flock; do
	command -v $tool >/dev/null 2>&1 ||
		die "$tool is missing (scripts/install-deps.sh installs it)"
done

image=$("$fetch" image $SERIES) || die "cannot fetch the $SERIES image"
release=$(cat "$image/release")

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/iofd
hash=$( (cd "$top" && for d in $SERIES_DIRS; do
	find "kernel/$d" -type f \( -name '*.patch' -o -name series \)
done | LC_ALL=C sort | xargs cat && cat scripts/kernel-build.sh) |
	sha256sum | cut -c1-16)
W=$CACHE/kernel/$release/patched-$hash
mkdir -p "$W"
exec 8>"$W/.lock"
flock 8

# ---- source: one tar pass, then the series --------------------------------

# Paths of the source tree the series touches (from its diff headers).
touched() {
	patches | while read -r p; do
		sed -n 's|^+++ b/||p' "$kdir/$p"
	done | sort -u
}

src=$W/src
if [ ! -f "$src/.done" ]; then
	tarball=$("$fetch" source $SERIES) || die "cannot fetch the $SERIES source"
	say "extracting the $SERIES source and applying kernel/{$(echo $SERIES_DIRS | tr ' ' ,)}"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	top_dir=linux-source-$SERIES
	# make headers needs the top Makefile, scripts/ and the uapi dirs (plus
	# the x86 syscall tables and tools); the modules need virt/kvm and arch/x86/kvm;
	# the selftests need tools/. Add what the series touches.
	set -- Makefile scripts include/uapi arch/x86/include/uapi \
		arch/x86/entry/syscalls arch/x86/tools arch/x86/Makefile \
		arch/x86/Makefile_32.cpu \
		virt/kvm arch/x86/kvm tools
	list=$src.paths
	: >"$list"
	for p in "$@"; do echo "$top_dir/$p" >>"$list"; done
	for p in $(touched); do
		covered=no
		for d in "$@"; do
			case $p in "$d" | "$d"/*) covered=yes ;; esac
		done
		[ $covered = yes ] || echo "$top_dir/$p" >>"$list"
	done
	xz -dc "$tarball" | tar -x -C "$src.tmp" --strip-components=1 \
		--no-wildcards -T "$list" 2>"$W/tar.err" ||
		die "extracting $tarball failed: $(tail -n 3 "$W/tar.err")"
	for p in $(patches); do
		say "applying $p"
		out=$(patch -d "$src.tmp" -p1 --forward --batch --fuzz=0 \
			-i "$kdir/$p" 2>&1) ||
			die "$p does not apply to linux-source-$SERIES" \
				"$(cat "$image/version"):
$out"
	done
	find "$src.tmp" -name '*.orig' -delete
	touch "$src.tmp/.done"
	mv "$src.tmp" "$src"
fi

# ---- headers: make headers in the patched tree ----------------------------

if [ ! -f "$W/.headers.done" ]; then
	say "make headers"
	make -C "$src" -s -j"$JOBS" headers >"$W/headers.log" 2>&1 ||
		die "make headers failed: $(tail -n 5 "$W/headers.log")"
	touch "$W/.headers.done"
fi

# ---- modules: kvm.ko and kvm-amd.ko against the headers package -----------

build_modules() {
	headers=$("$fetch" headers $SERIES) || die "cannot fetch the $SERIES headers"
	# The arch headers' Makefile includes the -common tree by its
	# installed path, which does not exist here: point make at it.
	common=$(dirname "$headers")/linux-headers-${release%-amd64}-common
	[ -f "$common/Makefile" ] || die "no $common/Makefile"
	kb=$W/kbuild
	rm -rf "$kb" "$W/modules"
	mkdir -p "$kb/arch/x86" "$kb/virt" "$kb/include/trace" "$kb/uapi/linux"
	cp -R "$src/arch/x86/kvm" "$kb/arch/x86/"
	cp -R "$src/virt/kvm" "$kb/virt/"
	# The kvm Makefile finds its own dirs through $(srctree), which is
	# the headers package in an M= build.
	sed -i "s|\$(srctree)/|$kb/|g" "$kb/arch/x86/kvm/Makefile"
	# The patched uapi headers the series touches, ahead of the
	# package's: only those, since a whole include/uapi in front would
	# shadow the kernel-internal headers of the same names.
	for p in $(touched); do
		# (a bisect step builds a tree some patches have not reached yet)
		[ -f "$src/$p" ] || continue
		case $p in
		include/uapi/*)
			mkdir -p "$kb/uapi/$(dirname "${p#include/uapi/}")"
			cp "$src/$p" "$kb/uapi/${p#include/uapi/}"
			;;
		arch/x86/include/uapi/*)
			mkdir -p "$kb/uapi/$(dirname "${p#arch/x86/include/uapi/}")"
			cp "$src/$p" "$kb/uapi/${p#arch/x86/include/uapi/}"
			;;
		include/linux/*)
			# A kernel-internal header the series changes
			# (kvm_host.h): it too must win over the package's.
			mkdir -p "$kb/uapi/$(dirname "${p#include/}")"
			cp "$src/$p" "$kb/uapi/${p#include/}"
			;;
		esac
	done
	# trace.h is included as ../../arch/x86/kvm/trace.h from an include
	# dir: an empty include/trace of our own resolves it to the copy.
	# No BTF: it needs pahole and the modules load without it.
	say "building kvm.ko and kvm-amd.ko"
	make -C "$headers" -f "$common/Makefile" M="$kb/arch/x86/kvm" \
		-j"$JOBS" CONFIG_KVM_INTEL= CONFIG_DEBUG_INFO_BTF_MODULES= \
		NOSTDINC_FLAGS="-I$kb/uapi -nostdinc" \
		KCFLAGS="-I$kb/include/trace" modules >"$W/modules.log" 2>&1 ||
		die "building the modules failed: $(grep -m 3 -E 'error|Error' "$W/modules.log")"
	# Check that the patched uapi is what was compiled in.
	grep -q "$kb/uapi/linux/kvm.h" "$kb/virt/kvm/.eventfd.o.cmd" ||
		die "eventfd.o was not built against the patched linux/kvm.h"
	magic() { strings "$1" | sed -n 's/^vermagic=//p'; }
	[ "$(magic "$kb/arch/x86/kvm/kvm.ko")" = "$(magic "$image/modules/kvm.ko")" ] ||
		die "vermagic differs from the image's kvm.ko"
	mkdir -p "$W/modules.tmp"
	for m in kvm.ko kvm-amd.ko; do
		strip --strip-debug -o "$W/modules.tmp/$m" "$kb/arch/x86/kvm/$m"
	done
	mv "$W/modules.tmp" "$W/modules"
	touch "$W/.modules.done"
}

# ---- selftests: the x86 KVM selftests of the patched tree ----------------

build_selftests() {
	st=$src/tools/testing/selftests/kvm
	rm -rf "$W/selftests" "$W/selftests.tmp"
	say "building the KVM selftests"
	make -C "$st" -j"$JOBS" OUTPUT="$st" >"$W/selftests.log" 2>&1 ||
		die "building the selftests failed: $(grep -m 3 -E 'error|Error' "$W/selftests.log")"
	mkdir -p "$W/selftests.tmp"
	for f in "$st"/* "$st"/x86_64/*; do
		case $f in *.sh) continue ;; esac
		if [ -f "$f" ] && [ -x "$f" ]; then
			cp "$f" "$W/selftests.tmp/"
		fi
	done
	for t in io_bus_order_test io_bus_nested_test ioeventfd_post_write_test \
		ioeventfd_post_write_fault_test ioeventfd_post_write_tear_test \
		ioregionfd_test; do
		[ -x "$W/selftests.tmp/$t" ] || die "selftest $t was not built"
	done
	mv "$W/selftests.tmp" "$W/selftests"
	touch "$W/.selftests.done"
}

# Builds of other versions of the series pile up: drop those unused for a
# week (every run opens its build's .lock, which dates the last use) and
# not being built right now (a build holds its lock). Other trees with
# another version of the series share the cache, so anything recent stays.
prune() {
	for old in "$CACHE/kernel/$release"/patched-*; do
		[ "$old" != "$W" ] && [ -d "$old" ] || continue
		[ -z "$(find "$old" -maxdepth 1 -name .lock -mtime -7)" ] || continue
		(flock -n 9 && rm -rf "$old") 9>>"$old/.lock" 2>/dev/null || true
	done
}

# ---- bisect: every patch on its own ----------------------------------------

# The patched tree taken back to stock (each patch reversed, last first),
# then the patches applied again one at a time; after each, what it
# touches is built: the uapi headers (make headers), the modules, the
# selftests. Prints one line per patch and fails at the first that breaks.
bisect() {
	b=$W/bisect
	rm -rf "$b"
	mkdir -p "$b"
	say "copying the patched tree and taking it back to stock"
	cp -a "$src" "$b/src"
	for p in $(patches | tac); do
		patch -d "$b/src" -p1 -R --batch --fuzz=0 -i "$kdir/$p" >"$b/patch.log" 2>&1 ||
			die "$p does not reverse: $(tail -n 3 "$b/patch.log")"
	done
	find "$b/src" -name '*.orig' -delete
	# The copy carries the patched tree's usr/include: make it stock's.
	make -C "$b/src" -s -j"$JOBS" headers >"$b/headers.log" 2>&1 ||
		die "make headers failed on the stock tree: $(tail -n 5 "$b/headers.log")"
	n=0
	for p in $(patches); do
		n=$((n + 1))
		patch -d "$b/src" -p1 --forward --batch --fuzz=0 -i "$kdir/$p" \
			>"$b/patch.log" 2>&1 || die "$p does not apply: $(tail -n 3 "$b/patch.log")"
		files=$(sed -n 's|^+++ b/||p' "$kdir/$p")
		built=""
		if echo "$files" | grep -qE '^(arch/x86/)?include/uapi/'; then
			make -C "$b/src" -s -j"$JOBS" headers >"$b/headers.log" 2>&1 ||
				die "$p: make headers failed: $(tail -n 5 "$b/headers.log")"
			built="$built headers"
		fi
		if echo "$files" | grep -qE '^(virt/kvm|arch/x86/kvm|include)/'; then
			(src=$b/src W=$b && build_modules) ||
				die "$p: the modules do not build (see $b/modules.log)"
			built="$built modules"
		fi
		if echo "$files" | grep -qE '^(tools/testing/selftests/kvm|include/uapi)/'; then
			st=$b/src/tools/testing/selftests/kvm
			make -C "$st" -j"$JOBS" OUTPUT="$st" >"$b/selftests.log" 2>&1 ||
				die "$p: the selftests do not build: $(grep -m 3 -E 'error|Error' "$b/selftests.log")"
			built="$built selftests"
		fi
		echo "ok $n - $p builds:${built:- nothing to build (documentation)}"
	done
	echo "bisect: all $n patches build on their own, in order"
}

case $what in
bisect)
	bisect
	;;
modules)
	[ -f "$W/.modules.done" ] || { build_modules; prune; }
	echo "$W/modules"
	;;
selftests)
	[ -f "$W/.selftests.done" ] || { build_selftests; prune; }
	echo "$W/selftests"
	;;
headers)
	echo "$src/usr/include"
	;;
checkpatch)
	# From the extracted tree (not a full one, hence --no-tree), and
	# outside any git work tree: inside one, checkpatch reads the patch
	# files as changes of that repository.
	errors=0 warnings=0
	for p in $(patches); do
		out=$(cd "$src" && perl scripts/checkpatch.pl --strict --no-tree \
			"$kdir/$p" 2>&1) || true
		echo "$out" | grep -E '^(ERROR|WARNING|CHECK):' | sed "s|^|$p: |"
		total=$(echo "$out" | sed -n 's/^total: //p')
		echo "$p: $total"
		e=$(echo "$total" | sed -n 's/^\([0-9]*\) errors.*/\1/p')
		w=$(echo "$total" | sed -n 's/.* \([0-9]*\) warnings.*/\1/p')
		[ -n "$e" ] || die "checkpatch gave no verdict on $p: $out"
		errors=$((errors + e)) warnings=$((warnings + ${w:-0}))
	done
	echo "checkpatch --strict: $errors errors, $warnings warnings"
	[ "$errors" -eq 0 ]
	;;
esac
