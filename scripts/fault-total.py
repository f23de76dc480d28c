#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Add up the fault-injection programs of a Meson testlog.json (tests/fault):
each prints 'fault injection: <N> failure points, <M> inconsistencies'. A
program run on several KVM hosts (natively, in the emulated host) walks the
same failure points: its points count once (the most any run reached),
while every run's inconsistencies count. Prints one line per run and the
total; prints nothing when no fault-injection program ran."""
import json
import re
import sys

LINE = re.compile(r"^fault injection: (\d+) failure points, (\d+) inconsistencies$",
                  re.M)
runs = []
for text in open(sys.argv[1]):
    t = json.loads(text)
    m = LINE.search(t.get("stdout", "") or "")
    if m:
        runs.append((t["name"].split(" / ")[-1], int(m.group(1)), int(m.group(2))))
if not runs:
    sys.exit(0)
points, bad = {}, 0
for name, n, m in runs:
    print(f"fault injection in {name}: {n} failure points, {m} inconsistencies")
    program = name.split("@")[0]
    points[program] = max(points.get(program, 0), n)
    bad += m
print(f"fault injection: {sum(points.values())} failure points, {bad} inconsistencies")
