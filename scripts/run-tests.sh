#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run the tests of a Meson build dir (extra arguments go to `meson test`)
# and print one closing line: N passed, N failed, N skipped — counting the
# individual TAP test cases of each test program.
#
# Tests that need KVM exist twice (tests/meson.build): natively (suite
# 'native') and in the emulated host on each kernel of the matrix (suite
# 'emulated'). IOFD_KVM picks which run: 'native' or 'emulated' alone,
# 'all' for both, 'none' for neither (tests without KVM only), and 'auto'
# (the default) for native where /dev/kvm works and emulated elsewhere.
# The kernel series' tests (suite 'series': the patched kernel, its
# selftests) run in every mode but 'none'; its modules and selftests are
# built first (scripts/kernel-build.sh, cached).
# The real Linux guest (suite 'real-guest': fio on iofd-vm in the
# emulated host) runs in every mode but 'none' too.
BUILD=${1:-build}
[ $# -gt 0 ] && shift
LOG="$BUILD/meson-logs/testlog.json"
here=$(dirname "$0")

kvm=${IOFD_KVM:-auto}
if [ "$kvm" = auto ]; then
	if python3 "$here/kvm-native.py"; then kvm=native; else kvm=emulated; fi
fi
case $kvm in
native) select="--no-suite emulated" ;;
emulated) select="--no-suite native" ;;
all) select="" ;;
none) select="--no-suite native --no-suite emulated --no-suite series --no-suite real-guest" ;;
*) echo "IOFD_KVM must be auto, native, emulated, all or none, not '$kvm'" >&2; exit 2 ;;
esac
echo "KVM tests: $kvm"

# Build the kernel series before its tests, not inside their time limits.
# A failed build is reported here, and the tests that need it then fail.
case "$kvm $*" in
none*|*"--no-suite series"*) ;;
*)
	if command -v qemu-system-x86_64 >/dev/null; then
		"$here/kernel-build.sh" modules >/dev/null &&
			"$here/kernel-build.sh" selftests >/dev/null ||
			echo "the kernel series did not build: its tests will fail" >&2
	fi
	;;
esac

rm -f "$LOG"
# shellcheck disable=SC2086
meson test -C "$BUILD" --print-errorlogs $select "$@"
rc=$?
if [ ! -f "$LOG" ]; then
	echo "meson test wrote no log (exit $rc)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# A test whose emulated host stalled (the machine stopped, not the
# program) runs once more, announced; the second result counts.
cp "$LOG" "$LOG.first"
rm -f "$BUILD/meson-logs/rerun.txt"
python3 "$here/rerun-stalled.py" "$BUILD" "$LOG"
if ! cmp -s "$LOG" "$LOG.first"; then
	python3 "$here/count-tests.py" "$LOG" >/dev/null && rc=0
fi
rm -f "$LOG.first"
# -- uapi shim: the acceptance and overhead lines the tests/shim programs
# print on stderr (meson keeps them in its text log); kernel review: the
# same line for the selftests a review of the kernel series added; real
# guest: the figures of fio in a Linux guest (scripts/real-guest).
grep -hE '^(uapi shim|shim overhead|kernel review|real guest( idle| fault)?): ' \
	"$BUILD/meson-logs/testlog.txt" "$BUILD/meson-logs/rerun.txt" 2>/dev/null
# -- fault injection: each program's figure and the total (tests/fault).
python3 "$here/fault-total.py" "$LOG"
# --
python3 "$here/count-tests.py" "$LOG"
crc=$?
[ $rc -eq 0 ] && [ $crc -eq 0 ]
