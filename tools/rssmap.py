#!/usr/bin/python3
"""rssmap: which symbols and regions of a running nanoshim hold resident pages.

usage: tools/rssmap.py PID UNSTRIPPED_BINARY

For the binary's .data/.bss it names the symbols on every resident page
(from `nm -S`); for anonymous mappings it prints resident pages per mapping.
Reads /proc/PID/pagemap, so it needs root.  A tool for keeping RSS small:
run it against a release build linked without -s.
"""
import struct
import subprocess
import sys

PAGE = 4096


def resident(pid, start, end):
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read((end - start) // PAGE * 8)
    for i in range(len(data) // 8):
        (v,) = struct.unpack("<Q", data[8 * i:8 * i + 8])
        if v >> 63:
            yield start + i * PAGE


def main():
    pid, binary = int(sys.argv[1]), sys.argv[2]
    syms = []
    for line in subprocess.run(["nm", "-S", "--size-sort", binary],
                               capture_output=True, text=True).stdout.split("\n"):
        f = line.split()
        if len(f) == 4 and f[2] in "bBdD":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    maps = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            f2 = line.split()
            lo, hi = (int(x, 16) for x in f2[0].split("-"))
            maps.append((lo, hi, f2[1], f2[5] if len(f2) > 5 else ""))
    total = 0
    for lo, hi, perm, name in maps:
        if "w" not in perm:
            continue
        pages = list(resident(pid, lo, hi))
        total += len(pages)
        print("%-10s %6d kB resident of %8d kB  %x-%x %s" %
              (perm, len(pages) * 4, (hi - lo) // 1024, lo, hi, name))
        if name == "" or name.endswith(binary.split("/")[-1]):
            for pg in pages:
                hit = [s for s in syms if s[0] < pg + PAGE and s[0] + s[1] > pg]
                if hit:
                    print("    page %x: %s" % (pg, ", ".join(
                        "%s(%d)" % (s[2], s[1]) for s in hit[:6])))
    print("writable resident total: %d kB" % (total * 4))


main()
