#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fetch a pinned Debian kernel package set into the cache and print where
# its parts are:
#   scripts/kernel-fetch.sh image   SERIES   dir with vmlinuz, modules/*.ko
#                                            (decompressed), release, version
#   scripts/kernel-fetch.sh guest   SERIES   dir with vmlinuz, System.map and
#                                            modules/*.ko (decompressed) of
#                                            the NVMe driver, for a guest
#   scripts/kernel-fetch.sh headers SERIES   the linux-headers-<release> dir
#                                            (its -common and kbuild beside it)
#   scripts/kernel-fetch.sh source  SERIES   path of linux-source-SERIES.tar.xz
#   scripts/kernel-fetch.sh version SERIES   the package version in use
# SERIES is 6.1 or 6.12. Packages come from the Debian registry with
# `apt-get download`, are kept in ${XDG_CACHE_HOME:-$HOME/.cache}/iofd/debs
# and only the paths needed are extracted, never into /boot. When the pinned
# version is gone from the registry, the newest of the same series is used
# and a line on stderr says so. Exit status 0, or 1 with the reason.
set -eu

# The pins: package version and kernel release (ABI) of each series.
PIN_6_1_VERSION=6.1.192-3
PIN_6_1_RELEASE=6.1.0-57-amd64
PIN_6_12_VERSION=6.12.117-1~deb12u1
PIN_6_12_RELEASE=6.12.117+deb12-amd64

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/iofd
DEBS=$CACHE/debs

die() { echo "kernel-fetch: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 image|guest|headers|source|version 6.1|6.12"
what=$1 series=$2
case $series in
6.1) version=$PIN_6_1_VERSION release=$PIN_6_1_RELEASE ;;
6.12) version=$PIN_6_12_VERSION release=$PIN_6_12_RELEASE ;;
*) die "unknown series '$series' (6.1 or 6.12)" ;;
esac

mkdir -p "$DEBS"
exec 9>"$CACHE/.fetch.lock"
flock 9

# apt-cache knows nothing before the first `apt-get update` of a machine.
apt_ready() {
	apt-cache show "$1" >/dev/null 2>&1 && return 0
	[ -f "$CACHE/.apt-updated" ] && return 1
	if [ "$(id -u)" -eq 0 ]; then apt-get update -q >&2; else sudo apt-get update -q >&2; fi
	touch "$CACHE/.apt-updated"
	apt-cache show "$1" >/dev/null 2>&1
}

image_pkg() { echo "linux-image-$1-unsigned"; }

# Pick the pinned version if the registry still has it, else the newest of
# the series (said on stderr); sets version and release.
resolve() {
	pkg=$(image_pkg "$release")
	if apt_ready "$pkg" && apt-cache show "$pkg=$version" >/dev/null 2>&1; then
		return 0
	fi
	case $series in
	6.1) pat='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
	6.12) pat='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	esac
	pkg=$(apt-cache search --names-only "$pat" | cut -d' ' -f1 | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "the registry has no $series kernel image"
	new_release=${pkg#linux-image-}
	new_release=${new_release%-unsigned}
	new_version=$(apt-cache show "$pkg" | sed -n 's/^Version: //p' | sort -V | tail -n 1)
	echo "kernel-fetch: pinned $series kernel $version is gone from the registry;" \
		"using the newest, $new_version ($new_release)" >&2
	version=$new_version release=$new_release
}

# Download package $1 at $2 into the cache (once); print the .deb's path.
download() {
	deb=$(ls "$DEBS/$1_$(echo "$2" | sed 's/:/%3a/')_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$DEBS" && apt-get download -q "$1=$2" >&2 2>/dev/null) ||
			(cd "$DEBS" && apt-get download -q "$1=$2" >&2) ||
			die "cannot download $1=$2"
		deb=$(ls "$DEBS/$1_"*.deb | head -n 1)
	fi
	echo "$deb"
}

# Extract only the paths matching the patterns from a .deb into $1.
extract() {
	dest=$1 deb=$2
	shift 2
	mkdir -p "$dest"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" --wildcards "$@"
}

# The modules extracted under DIR/lib, uncompressed into DIR/modules
# (busybox insmod reads plain .ko files).
unpack_modules() {
	mkdir -p "$1/modules"
	for m in $(find "$1/lib" -name '*.ko*'); do
		case $m in
		*.xz) xz -dc "$m" >"$1/modules/$(basename "$m" .xz)" ;;
		*) cp "$m" "$1/modules/" ;;
		esac
	done
}

# Unpack the image package's kernel and the modules matching the patterns
# into $CACHE/kernel/<release>/NAME (vmlinuz, System.map, modules/,
# release, version), once; print the directory.
fetch_image_parts() {
	dir=$CACHE/kernel/$release/$1
	shift
	if [ ! -f "$dir/.done" ]; then
		rm -rf "$dir"
		deb=$(download "$(image_pkg "$release")" "$version")
		tmp=$dir.tmp
		rm -rf "$tmp"
		extract "$tmp" "$deb" "./boot/vmlinuz-*" "./boot/System.map-*" "$@"
		unpack_modules "$tmp"
		mv "$tmp"/boot/vmlinuz-* "$tmp/vmlinuz"
		mv "$tmp"/boot/System.map-* "$tmp/System.map"
		rm -rf "$tmp/lib" "$tmp/boot"
		echo "$release" >"$tmp/release"
		echo "$version" >"$tmp/version"
		touch "$tmp/.done"
		mv "$tmp" "$dir"
	fi
	echo "$dir"
}

# KVM and what it needs, for the emulated host.
fetch_image() {
	fetch_image_parts image \
		"./lib/modules/*/kernel/arch/x86/kvm/kvm.ko*" \
		"./lib/modules/*/kernel/arch/x86/kvm/kvm-amd.ko*" \
		"./lib/modules/*/kernel/drivers/crypto/ccp/ccp.ko*" \
		"./lib/modules/*/kernel/virt/lib/irqbypass.ko*"
}

# The same image package as a guest kernel: its NVMe driver is modular.
fetch_guest() {
	fetch_image_parts guest \
		"./lib/modules/*/kernel/drivers/nvme/host/nvme.ko*" \
		"./lib/modules/*/kernel/drivers/nvme/host/nvme-core.ko*" \
		"./lib/modules/*/kernel/drivers/nvme/common/*.ko*"
}

fetch_headers() {
	[ "$series" = 6.12 ] || die "headers are pinned for 6.12 only"
	dir=$CACHE/kernel/$release/headers
	abi=${release%-amd64}
	if [ ! -f "$dir/.done" ]; then
		rm -rf "$dir"
		tmp=$dir.tmp
		rm -rf "$tmp"
		for p in "linux-headers-$release" "linux-headers-$abi-common" "linux-kbuild-$abi"; do
			extract "$tmp" "$(download "$p" "$version")" "./usr/*"
		done
		touch "$tmp/.done"
		mv "$tmp" "$dir"
	fi
	echo "$dir/usr/src/linux-headers-$release"
}

fetch_source() {
	[ "$series" = 6.12 ] || die "source is pinned for 6.12 only"
	dir=$CACHE/kernel/$release/source
	if [ ! -f "$dir/.done" ]; then
		rm -rf "$dir"
		extract "$dir" "$(download "linux-source-$series" "$version")" \
			"./usr/src/linux-source-$series.tar.xz"
		touch "$dir/.done"
	fi
	echo "$dir/usr/src/linux-source-$series.tar.xz"
}

resolve
case $what in
image) fetch_image ;;
guest) fetch_guest ;;
headers) fetch_headers ;;
source) fetch_source ;;
version) echo "$version" ;;
*) die "unknown part '$what' (image, guest, headers, source or version)" ;;
esac
