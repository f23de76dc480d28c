#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian 12 packages one use of iofd needs, if any is missing:
#   scripts/install-deps.sh [lib|check|bench|fuzz|kernel]...   (default: lib)
# Runs apt-get as root, or through sudo. Each profile is what its make
# target needs and nothing more, so `make install` pulls only what builds
# the libraries:
#   lib     Meson, Ninja, pkg-config, the C toolchain and liburcu: the
#           libraries, their headers, the shim and the manual pages.
#   check   (make check) cmocka for the unit tests; g++ and clang for the
#           public headers' C/C++ check; the emulated KVM host where
#           /dev/kvm is missing: qemu-system-x86, busybox-static and
#           xz-utils (cpio reads its initramfs when debugging a boot);
#           abigail-tools (abidw, abidiff) checks the ABI against abi/;
#           mandoc lints the manual pages; valgrind gives the shim's
#           callgrind figures; fio runs in the real Linux guest
#           (scripts/real-guest); and the kernel profile.
#   bench   (make bench) gnuplot draws the chart; valgrind for
#           --callgrind; the emulated host and the kernel profile, for the
#           guest rows without /dev/kvm and on the kernel series; fio for
#           the real guest's figures.
#   fuzz    (make fuzz) clang and libclang-rt-14-dev: libFuzzer's runtime
#           is only a recommendation of clang's, so it is named.
#   kernel  (make kernel) gcc-12 (the compiler of Debian's 6.12 kernel),
#           patch and xz-utils build the kernel series in kernel/
#           (scripts/kernel-build.sh); python3 runs the project's helpers.
set -e
LIB="meson ninja-build pkg-config gcc libc6-dev linux-libc-dev liburcu-dev"
KERNEL="gcc-12 patch xz-utils binutils python3"
EMUHOST="qemu-system-x86 busybox-static cpio xz-utils"
CHECK="libcmocka-dev g++ clang abigail-tools mandoc valgrind fio $EMUHOST $KERNEL"
BENCH="gnuplot-nox valgrind fio $EMUHOST $KERNEL"
FUZZ="clang libclang-rt-14-dev"

[ $# -gt 0 ] || set -- lib
PKGS="$LIB"
for profile in "$@"; do
	case $profile in
	lib) ;;
	check) PKGS="$PKGS $CHECK" ;;
	bench) PKGS="$PKGS $BENCH" ;;
	fuzz) PKGS="$PKGS $FUZZ" ;;
	kernel) PKGS="$PKGS $KERNEL" ;;
	*)
		echo "install-deps: unknown profile '$profile' (lib, check, bench, fuzz, kernel)" >&2
		exit 2
		;;
	esac
done
missing=""
for p in $PKGS; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "iofd: installing build dependencies ($*):$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
