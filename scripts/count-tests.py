#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count test cases in a Meson testlog.json: TAP lines of each program's
output (ok / not ok / # SKIP); a program that crashed or timed out counts as
one failure beyond what it printed. Prints 'N passed, N failed, N skipped'
and exits non-zero when anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
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
    elif cases == 0 and result == "OK":
        passed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
