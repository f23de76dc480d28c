#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian 12 packages iofd needs to build, test and benchmark,
# if any is missing. Runs apt-get as root, or through sudo.
# clang and libclang-rt-14-dev build the libFuzzer targets (`make fuzz`);
# libFuzzer's runtime is only a recommendation of clang's, so it is named.
# qemu-system-x86, busybox-static and xz-utils make the emulated KVM host
# (scripts/emuhost) where /dev/kvm is missing; cpio reads its initramfs
# when debugging a boot. abigail-tools (abidw, abidiff) checks the ABI
# against abi/ (scripts/abi-check.sh); mandoc lints the manual pages
# (scripts/man-lint.sh). gcc-12 (the compiler of Debian's 6.12 kernel) and
# patch build the kernel series in kernel/ (scripts/kernel-build.sh).
set -e
PKGS="meson ninja-build pkg-config gcc libc6-dev linux-libc-dev liburcu-dev \
libcmocka-dev python3 gnuplot-nox binutils clang libclang-rt-14-dev \
qemu-system-x86 busybox-static cpio xz-utils abigail-tools mandoc gcc-12 patch"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "iofd: installing build dependencies:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
