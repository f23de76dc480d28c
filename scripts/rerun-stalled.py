#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run once more each test of a Meson testlog.json that failed because its
emulated host stalled (scripts/emuhost: 'the emulated host stalled'), and
put the second run's result in the log in place of the first.

    scripts/rerun-stalled.py BUILD LOG [meson test args ...]

The rerun's own logs are BUILD/meson-logs/rerun.{json,txt}.

A stall stops the whole emulated machine, kernel and program alike, and
says nothing about the program: it is seen now and then under nested KVM
and not reproduced on demand. Only such failures are run again, and only
once; each rerun is announced on stdout with both results, and the entry
keeps the first run's output beside the second's."""
import json
import os
import subprocess
import sys

STALLED = "the emulated host stalled"


def stalled(t):
    return t.get("result") not in ("OK", "SKIP") and any(
        STALLED in (t.get(k) or "") for k in ("stdout", "stderr"))


def main(argv):
    build, log, extra = argv[0], argv[1], argv[2:]
    with open(log) as f:
        tests = [json.loads(line) for line in f]
    again = [t for t in tests if stalled(t)]
    if not again:
        return 0
    names = [t["name"].split(" / ", 1)[-1] for t in again]
    print(f"the emulated host stalled in {len(names)} test(s), running them "
          f"once more: {' '.join(names)}", flush=True)
    subprocess.call(["meson", "test", "-C", build, "--print-errorlogs",
                     "--logbase", "rerun"] + extra + names)
    second = {}
    rerun_log = os.path.join(build, "meson-logs", "rerun.json")
    if os.path.exists(rerun_log):
        with open(rerun_log) as f:
            for line in f:
                t = json.loads(line)
                second[t["name"]] = t
    with open(log, "w") as f:
        for t in tests:
            if stalled(t) and t["name"] in second:
                new = second[t["name"]]
                print(f"rerun after a stall: {t['name']}: {t['result']} "
                      f"then {new['result']}", flush=True)
                new["stderr"] = ((t.get("stderr") or "") + "\n--- run again "
                                 "after the stall ---\n" + (new.get("stderr") or ""))
                t = new
            f.write(json.dumps(t) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
