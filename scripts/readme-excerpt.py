#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check that every ```c block of README.md is an excerpt of a program.

    scripts/readme-excerpt.py README.md examples/embed/embed.c

A block is cut into pieces at lines that hold only "..."; each piece must
be lines of the program as they stand there (trailing blanks aside), one
after another. Prints TAP: one case per block."""
import sys


def blocks(text):
    """The ```c fenced blocks of a Markdown text, as lists of lines."""
    out, cur = [], None
    for line in text.splitlines():
        if cur is None and line.strip() == "```c":
            cur = []
        elif cur is not None and line.strip() == "```":
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(line.rstrip())
    return out


def pieces(block):
    cur = []
    for line in block:
        if line.strip() == "...":
            if cur:
                yield cur
            cur = []
        else:
            cur.append(line)
    if cur:
        yield cur


def found_in(prog, piece):
    """Whether piece is lines of prog, one after another."""
    return any(prog[i:i + len(piece)] == piece
               for i in range(len(prog) - len(piece) + 1))


def main():
    readme, program = sys.argv[1], sys.argv[2]
    with open(program) as f:
        prog = [line.rstrip() for line in f.read().splitlines()]
    with open(readme) as f:
        found = blocks(f.read())
    if not found:
        print("1..1\nnot ok 1 - %s has a ```c block" % readme)
        return 1
    failed = 0
    for n, block in enumerate(found, 1):
        bad = next((p[0] for p in pieces(block) if not found_in(prog, p)), None)
        if bad is None:
            print("ok %d - %s block %d is an excerpt of %s" % (n, readme, n, program))
        else:
            failed += 1
            print("not ok %d - %s block %d is an excerpt of %s" % (n, readme, n, program))
            print("# not in the program: the piece that starts: %s" % bad)
    print("1..%d" % len(found))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
