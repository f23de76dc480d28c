#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Embed a binary file in C: bin2c.py INPUT OUTPUT.c SYMBOL writes
'const unsigned char SYMBOL[]' with the bytes and 'const size_t SYMBOL_size'."""
import sys

src, dst, sym = sys.argv[1:4]
data = open(src, "rb").read()
if not data:
    sys.exit(f"bin2c: {src} is empty")
lines = []
for i in range(0, len(data), 12):
    lines.append("\t" + " ".join(f"0x{b:02x}," for b in data[i:i + 12]))
with open(dst, "w") as f:
    f.write("/* SPDX-License-Identifier: BSD-3-Clause */\n")
    f.write(f"/* Generated from {src.rsplit('/', 1)[-1]} by bin2c.py; do not edit. */\n")
    f.write("#include <stddef.h>\n\n")
    f.write(f"extern const unsigned char {sym}[];\n")
    f.write(f"extern const size_t {sym}_size;\n\n")
    f.write(f"const unsigned char {sym}[] = {{\n")
    f.write("\n".join(lines) + "\n};\n")
    f.write(f"const size_t {sym}_size = {len(data)};\n")
