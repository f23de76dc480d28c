#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark (`make bench`): scripts/bench.sh BUILD [iofd-bench args]
#
# The doorbell table (tools/iofd-bench). Where /dev/kvm works, iofd-bench
# runs here as it is, and then its kernel rows (the kernel series'
# post-write and ioregionfd, with their floors) run again in the emulated
# host on patched 6.12, where the series' modules can be loaded: exits/op
# compare there, not times (BUILD/bench-kernel-results.json). Elsewhere the
# dispatch micro-benchmark (no KVM) runs here, and every guest row runs in
# the emulated host on patched 6.12 with --emulated (times there are not
# hardware's: exits/op and doorbells are judged), the userspace rows beside
# the kernel's; their JSON and chart script come back to the build
# directory and gnuplot draws the chart here.
#
# The real-guest table (scripts/bench-real-guest): fio in Linux 6.12 on
# iofd-vm and on QEMU, exits per I/O (BUILD/bench-real-guest.json).
#
# IOFD_BENCH_KERNEL=CONFIG (`make bench-kernel`: patched-6.12) runs every
# guest row in the emulated host on CONFIG, native KVM or not, and leaves
# the real guest out; IOFD_BENCH_REAL_GUEST=no leaves it out too.
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
here=$(dirname "$0")
bench="$BUILD/tools/iofd-bench"
status=0

# The guest rows in the emulated host on kernel $1, then the chart.
emulated_rows() {
	rm -f "$BUILD/bench-results.json" "$BUILD/bench-chart.gp"
	k=$1
	shift
	"$here/emuhost" --kernel "$k" --timeout 1800 \
		--collect "$BUILD/bench-results.json" --collect "$BUILD/bench-chart.gp" \
		-- "$bench" --emulated --no-micro --chart-script "$BUILD/bench-chart.gp" "$@" ||
		status=1
	if [ -f "$BUILD/bench-chart.gp" ] && ! command -v gnuplot >/dev/null; then
		echo "gnuplot not found: no chart drawn (make bench installs it)"
	elif [ -f "$BUILD/bench-chart.gp" ]; then
		gnuplot "$BUILD/bench-chart.gp" && echo "Chart: $BUILD/bench-chart.png" ||
			status=1
	fi
}

kernel=${IOFD_BENCH_KERNEL:-}
if [ -z "$kernel" ] && [ "${IOFD_KVM:-auto}" != emulated ] &&
	python3 "$here/kvm-native.py" 2>/dev/null; then
	"$bench" "$@" || status=1
	echo
	echo "The kernel rows: in the emulated host (patched 6.12), exits/op" \
		"compare, times are emulated."
	rm -f "$BUILD/bench-kernel-results.json"
	"$here/emuhost" --kernel patched-6.12 --timeout 1800 \
		--collect "$BUILD/bench-kernel-results.json" \
		-- "$bench" --emulated --no-micro --no-chart \
		--json "$BUILD/bench-kernel-results.json" "$@" --rows kernel ||
		status=1
else
	if [ -n "$kernel" ]; then
		echo "The micro-benchmark runs here, the guest rows in the emulated" \
			"host ($kernel)."
	else
		kernel=patched-6.12
		echo "No native KVM: the micro-benchmark runs here, the guest rows" \
			"in the emulated host (patched 6.12: the userspace rows and the" \
			"kernel series' rows)."
	fi
	"$bench" --micro-only --no-chart --json "$BUILD/bench-micro.json" "$@" || status=1
	emulated_rows "$kernel" "$@"
fi

if [ -z "${IOFD_BENCH_KERNEL:-}" ] && [ "${IOFD_BENCH_REAL_GUEST:-yes}" != no ]; then
	python3 "$here/bench-real-guest" --build "$BUILD"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1
fi
exit $status
