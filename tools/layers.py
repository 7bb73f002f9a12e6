#!/usr/bin/env python3
"""layers.py - the include graph of src/, its layering, and any cycle.

A module is a file name without its extension (proc.c and proc.h are
"proc").  An edge A -> B means a file of A includes B's header.  The rule
(README, "How it is built"): modules call only downward, so the graph has
no cycle; where a lower module must tell an upper one something, the upper
one registers a callback at startup.

Prints the layers, bottom first (a module's layer is one more than the
highest layer it includes), and every cycle found.  Exit 1 on a cycle,
0 otherwise.  --selftest checks the checker on small graphs.

usage: tools/layers.py [--quiet] [SRC_DIR]   |   tools/layers.py --selftest
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"')


def graph(src):
    g = {}
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h")):
            continue
        mod = f.rsplit(".", 1)[0]
        deps = g.setdefault(mod, set())
        with open(os.path.join(src, f), errors="replace") as fh:
            for line in fh:
                m = INCLUDE.match(line)
                if m:
                    dep = os.path.basename(m.group(1))
                    if dep != mod:
                        deps.add(dep)
    # Headers of other trees (gen/, nanopb) are not modules of ours.
    for mod in g:
        g[mod] = {d for d in g[mod] if d in g}
    return g


def cycles(g):
    """Every elementary cycle reachable by DFS (one per back edge)."""
    out, state, stack = [], {}, []

    def dfs(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(g.get(u, ())):
            if state.get(v) == 1:
                out.append(stack[stack.index(v):] + [v])
            elif v not in state:
                dfs(v)
        stack.pop()
        state[u] = 2

    for m in sorted(g):
        if m not in state:
            dfs(m)
    return out


def layers(g):
    level = {}

    def lv(m, seen=()):
        if m in level:
            return level[m]
        if m in seen:          # a cycle: reported separately
            return 0
        deps = [lv(d, seen + (m,)) for d in g.get(m, ())]
        level[m] = 1 + max(deps) if deps else 0
        return level[m]

    for m in g:
        lv(m)
    by = {}
    for m, n in level.items():
        by.setdefault(n, []).append(m)
    return [sorted(by[n]) for n in sorted(by)]


def selftest():
    ok = True
    g = {"a": {"b"}, "b": {"c"}, "c": set()}
    ok &= cycles(g) == [] and layers(g) == [["c"], ["b"], ["a"]]
    g = {"log": {"scratch"}, "scratch": {"pool"}, "pool": {"log"}}
    ok &= cycles(g) == [["log", "scratch", "pool", "log"]]
    g = {"task": {"proc"}, "proc": {"task"}}
    ok &= len(cycles(g)) == 1
    print("layers.py selftest: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if argv[1:2] == ["--selftest"]:
        return selftest()
    quiet = "--quiet" in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    src = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    g = graph(src)
    cyc = cycles(g)
    if not quiet:
        print("layers of src/ (bottom first; a module includes only "
              "layers below it):")
        for i, mods in enumerate(layers(g)):
            print("  %d: %s" % (i, " ".join(mods)))
    for c in cyc:
        print("include cycle: %s" % " -> ".join(c))
    if cyc:
        print("layers.py: %d cycle(s): a module must call only downward "
              "(register a callback at startup instead)" % len(cyc))
        return 1
    print("layers.py: no include cycle among %d modules" % len(g))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
