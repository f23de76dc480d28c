#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count test cases in a Meson testlog.json: TAP lines of each program's
output (ok / not ok / # SKIP); a program that crashed or timed out counts as
one failure beyond what it printed. Says why whole programs were skipped
(their '1..0 # SKIP <reason>' plans, grouped by reason), then prints
'N passed, N failed, N skipped' and exits non-zero when anything failed."""
import json
import re
import sys
from collections import Counter

passed = failed = skipped = 0
why_skipped = Counter()
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout", "") or ""
    cases = 0
    for l in out.splitlines():
        m = re.match(r"^(not ok|ok)\b(.*)$", l)
        if not m:
            continue
        cases += 1
        if re.search(r"#\s*SKIP", m.group(2), re.I):
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed += 1
    result = t.get("result", "")
    if result in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
        if not any(l.startswith("not ok") for l in out.splitlines()):
            failed += 1
    elif result == "SKIP" and cases == 0:
        skipped += 1
        plan = re.search(r"^1\.\.0\s*#\s*SKIP\s*(.*)$", out, re.M | re.I)
        if not plan:
            plan = re.search(r"SKIP: (.*)$", t.get("stderr", "") or "", re.M)
        why_skipped[plan.group(1) if plan else "exit status 77"] += 1
    elif cases == 0 and result == "OK":
        passed += 1
for why, n in why_skipped.most_common():
    print(f"skipped {n} test program{'s' if n > 1 else ''}: {why}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
