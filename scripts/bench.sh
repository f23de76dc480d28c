#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The doorbell benchmark (`make bench`): scripts/bench.sh BUILD [iofd-bench args]
# Where /dev/kvm works, iofd-bench runs here as it is. Elsewhere the
# dispatch micro-benchmark (no KVM) runs here, and the guest rows run in the
# emulated host on stock 6.12 with --emulated (times there are not
# hardware's: exits/op and doorbells are judged); their JSON and chart
# script come back to the build directory and gnuplot draws the chart here.
# IOFD_BENCH_KERNEL=patched-6.12 (`make bench-kernel`) runs the guest rows
# in the emulated host on the kernel series' modules instead, native KVM or
# not: the rows served by the kernel's post-write and ioregionfd run there
# beside the userspace ones.
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift
here=$(dirname "$0")
bench="$BUILD/tools/iofd-bench"

kernel=${IOFD_BENCH_KERNEL:-}
if [ -z "$kernel" ] && [ "${IOFD_KVM:-auto}" != emulated ] &&
	python3 "$here/kvm-native.py" 2>/dev/null; then
	exec "$bench" "$@"
fi
if [ -n "$kernel" ]; then
	echo "The micro-benchmark runs here, the guest rows in the emulated" \
		"host ($kernel)."
else
	kernel=stock-6.12
	echo "No native KVM: the micro-benchmark runs here, the guest rows in the" \
		"emulated host (stock 6.12)."
fi
status=0
"$bench" --micro-only --no-chart --json "$BUILD/bench-micro.json" "$@" || status=1
rm -f "$BUILD/bench-results.json" "$BUILD/bench-chart.gp"
"$here/emuhost" --kernel "$kernel" --timeout 1800 \
	--collect "$BUILD/bench-results.json" --collect "$BUILD/bench-chart.gp" \
	-- "$bench" --emulated --no-micro --chart-script "$BUILD/bench-chart.gp" "$@" ||
	status=1
if [ -f "$BUILD/bench-chart.gp" ] && ! command -v gnuplot >/dev/null; then
	echo "gnuplot not found: no chart drawn (make bench installs it)"
elif [ -f "$BUILD/bench-chart.gp" ]; then
	gnuplot "$BUILD/bench-chart.gp" && echo "Chart: $BUILD/bench-chart.png" || status=1
fi
exit $status
