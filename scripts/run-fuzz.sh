#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run every libFuzzer target of a fuzz build for a while each:
#   scripts/run-fuzz.sh [BUILD [SECONDS_PER_TARGET [extra libFuzzer flags]]]
# Corpora grow in BUILD/corpus/<target>; a crash leaves its input in
# BUILD/crashes/ and makes the script exit non-zero.
BUILD=${1:-build-fuzz}
EACH=${2:-20}
[ $# -ge 2 ] && shift 2 || shift $#
here=$(dirname "$0")
status=0 passed=0 failed=0
mkdir -p "$BUILD/crashes"
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	corpus="$BUILD/corpus/$name"
	mkdir -p "$corpus"
	python3 "$here/../fuzz/seeds.py" "$name" "$corpus"
	echo "== $name: ${EACH}s"
	log="$BUILD/$name.log"
	if "$t" -max_total_time="$EACH" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$BUILD/crashes/$name-" \
		"$@" "$corpus" >"$log" 2>&1; then
		grep -E '^#[0-9]+[[:space:]]+DONE' "$log"
		passed=$((passed + 1))
	else
		status=1
		failed=$((failed + 1))
		grep -E 'ERROR|SUMMARY|Test unit written' "$log"
	fi
done
[ $status -eq 0 ] && echo "fuzz: no crash" || echo "fuzz: CRASH (see $BUILD/crashes)"
echo "$passed passed, $failed failed, 0 skipped"
exit $status
