#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run the tests of a Meson build dir (extra arguments go to `meson test`)
# and print one closing line: N passed, N failed, N skipped — counting the
# individual TAP test cases of each test program.
BUILD=${1:-build}
shift
LOG="$BUILD/meson-logs/testlog.json"
rm -f "$LOG"
meson test -C "$BUILD" --print-errorlogs "$@"
rc=$?
if [ ! -f "$LOG" ]; then
	echo "meson test wrote no log (exit $rc)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# -- uapi shim: the acceptance and overhead lines the tests/shim programs
# print on stderr (meson keeps them in its text log).
grep -hE '^(uapi shim|shim overhead): ' "$BUILD/meson-logs/testlog.txt" 2>/dev/null
# --
python3 "$(dirname "$0")/count-tests.py" "$LOG"
crc=$?
[ $rc -eq 0 ] && [ $crc -eq 0 ]
