#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run a list of KVM selftests on the running kernel and print one line per
# test. Meant to run inside the emulated host (busybox sh is enough):
#   scripts/emuhost --kernel stock-6.12|patched-6.12 --timeout 600 \
#       --with DIR --with LIST -- scripts/kvm-selftests.sh DIR LIST
# DIR holds the selftest binaries (scripts/kernel-build.sh selftests); LIST
# names one binary a line (# starts a comment). First the kernel's lines
# about the KVM modules are printed, then per test
#   ok|skip|FAIL <name> <seconds> s [exit <status>]
# and a summary line. Exit status 0 when no test failed (skips included:
# the caller decides whether a skip is acceptable), 1 otherwise.
# A test gets IOFD_SELFTEST_TIMEOUT seconds (default 120).
# A failing test is run again, up to IOFD_SELFTEST_RUNS times in all
# (default 3): QEMU's TCG now and then mis-emulates a guest instruction (seen:
# state_test's guest takes #UD on a VEX instruction right after XSETBV, on
# stock and patched modules alike). A test that fails and then passes prints
#   ok <name> <seconds> s flaky: run 1 exit <status>
# with the failed run's last lines as comments; one that fails every run is
# a FAIL, so a regression (deterministic) still shows.
set -u

[ $# -eq 2 ] || { echo "usage: $0 DIR LIST" >&2; exit 2; }
dir=$1 list=$2
limit=${IOFD_SELFTEST_TIMEOUT:-120}

# Centiseconds since boot, from /proc/uptime (busybox date has no %N).
now() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }

echo "# kernel $(uname -r)"
dmesg 2>/dev/null | grep -E 'kvm|taint' | sed 's/^/# dmesg: /'

pass=0 skip=0 fail=0
start=$(now)
while read -r name rest; do
	case $name in '' | '#'*) continue ;; esac
	runs=${IOFD_SELFTEST_RUNS:-3}
	run=1 first=
	while :; do
		t0=$(now)
		out=$(timeout "$limit" "$dir/$name" 2>&1)
		rc=$?
		t1=$(now)
		secs=$(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 / 10 ))
		case $rc in 0 | 4) break ;; esac
		[ -n "$first" ] || first="run $run exit $rc"
		[ "$run" -lt "$runs" ] || break
		echo "# $name: run $run failed, exit $rc:"
		echo "$out" | tail -n 15 | sed 's/^/#   /'
		run=$((run + 1))
	done
	case $rc in
	0)
		echo "ok $name $secs s${first:+ flaky: $first}"
		pass=$((pass + 1))
		;;
	4) echo "skip $name $secs s"; skip=$((skip + 1)) ;;
	*)
		echo "FAIL $name $secs s exit $rc (all $run runs failed)"
		echo "$out" | tail -n 15 | sed 's/^/#   /'
		fail=$((fail + 1))
		;;
	esac
done <"$list"
end=$(now)
echo "# $pass passed, $skip skipped, $fail failed in $(( (end - start) / 100 )) s"
[ $fail -eq 0 ]
