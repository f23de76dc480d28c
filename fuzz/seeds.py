#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a few valid inputs for a fuzz target into its corpus directory, so
short runs start from messages that pass the first checks."""
import os
import struct
import sys

IOFD_MAGIC = 0x44464F49
NONE = 0xFFFFFFFF


def cmd(kind, exp, resp, user_data, offset, data):
    return struct.pack("<BB6xQQQ", kind, exp | (resp << 4), user_data, offset, data)


def device_cmd():
    seeds = {}
    # config: reply fd, size 0x100, stream
    seeds["rw-stream"] = bytes([2 | (1 << 2)]) + cmd(0, 2, 1, 0, 0x10, 0) + \
        cmd(1, 3, 1, 0, 0x20, 0x1234) + cmd(1, 0, 0, 0, 0x30, 0x5A)
    # config: reply fd, size 4096, seqpacket (length-prefixed messages)
    msgs = [cmd(0, 1, 1, 0, 0x100, 0), cmd(1, 2, 0, 0, 0x200, 7)]
    seeds["rw-packets"] = bytes([2 | (2 << 2) | 16]) + b"".join(
        bytes([len(m)]) + m for m in msgs)
    # config: check user_data, posted-only doorbell region
    seeds["doorbell"] = bytes([1]) + cmd(1, 2, 0, 0, 0, 3)
    return seeds


def header(kind, length, status, nr_ram, nr_regions, nr_doorbells, nr_fds, shadow):
    return struct.pack("<IHHIiHHHHII", IOFD_MAGIC, 1, kind, length, status,
                       nr_ram, nr_regions, nr_doorbells, nr_fds, shadow, 0)


def handoff():
    # fds: 4 starting with the pipe: pipe(0) memfd(1) socket(2) eventfd(3)
    ram = struct.pack("<QQQII", 0, 8192, 0, 1, 0)
    region_sock = struct.pack("<QQQIIII", 0xD0000000, 0x100, 0, 0, 2, 2, 0)
    region_pipe = struct.pack("<QQQIIII", 0xD0001000, 0, 0, 2, 0, NONE, 0)
    doorbell = struct.pack("<QQQIIII", 0xD0002000, 0, 8, 4, 0, 3, 0)
    body = ram + region_sock + region_pipe + doorbell
    hello = header(1, 32 + len(body), 0, 1, 2, 1, 4, NONE) + body
    # reply: one fd, the memfd, as the shadow
    reply = header(2, 32, 0, 0, 0, 0, 1, 0)
    return {"hello": bytes([4 | (3 << 3)]) + hello,
            "reply": bytes([0x80 | 1 | (0 << 3)]) + reply}


def vmm_reply():
    reply = struct.pack("<Q24x", 0x1122334455667788)
    # stream, 4-byte read; seqpacket, 8-byte read; stream, acknowledged write
    return {"read4-stream": bytes([2 << 1]) + reply,
            "read8-packets": bytes([1 | (3 << 1), 32]) + reply,
            "write-stream": bytes([8 | (1 << 1)]) + reply}


def main():
    target, outdir = sys.argv[1], sys.argv[2]
    seeds = {"fuzz_device_cmd": device_cmd, "fuzz_handoff": handoff,
             "fuzz_vmm_reply": vmm_reply}.get(target)
    if not seeds:
        return
    os.makedirs(outdir, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(outdir, "seed-" + name), "wb") as f:
            f.write(data)


main()
