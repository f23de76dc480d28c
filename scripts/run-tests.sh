#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run every test of a Meson build dir and print one closing line:
#   N passed, N failed, N skipped
# counting the individual TAP test cases of each test program.
BUILD=${1:-build}
shift
meson test -C "$BUILD" --print-errorlogs "$@"
rc=$?
python3 "$(dirname "$0")/count-tests.py" "$BUILD/meson-logs/testlog.json"
crc=$?
[ $rc -eq 0 ] && [ $crc -eq 0 ]
