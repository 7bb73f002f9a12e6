#!/usr/bin/env python3
"""layers.py - the include graph of src/, its layering, and any cycle.

A module is a file name without its extension (proc.c and proc.h are
"proc"), or a group of files sharing a private header: a module X may
keep its inside in X_impl.h, and the files that include it (X.c and
X_*.c) are all module X (proc.c, proc_exec.c, ... and proc_impl.h are
"proc").  Only X and X_* may include X_impl.h; any other file doing so
is an error (it would reach into X's inside).  An edge A -> B means a
file of A includes B's header.  The rule (README, "How it is built"):
modules call only downward, so the graph has no cycle; where a lower
module must tell an upper one something, the upper one registers a
callback at startup.

Prints the layers, bottom first (a module's layer is one more than the
highest layer it includes), the modules of several files, and every
cycle or private-header leak found, and every src/ file over MAX_LINES
lines (a file is one idea a newcomer can hold: split a longer one along
its concerns, as proc and cgroup are; one over WARN_LINES, "about 1,200",
is named as the next to split but passes), and, when SRC_DIR/../README.md
exists, every module its "### Layers" table does not name (and every
file of a module of several it does not list).  Exit 1 on any of them,
0 otherwise.  --selftest checks the checker on small graphs and on a
small src/ tree it writes.

usage: tools/layers.py [--quiet] [SRC_DIR]   |   tools/layers.py --selftest
"""

import contextlib
import io
import os
import re
import sys
import tempfile

WARN_LINES = 1200
MAX_LINES = 1300

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"')


def read_includes(src):
    """{file stem with extension: [included header stems]} of src/."""
    files = {}
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h")):
            continue
        incs = files.setdefault(f, [])
        with open(os.path.join(src, f), errors="replace") as fh:
            for line in fh:
                m = INCLUDE.match(line)
                if m:
                    incs.append(os.path.basename(m.group(1)))
    return files


def long_files(src, limit=MAX_LINES):
    """[(file, lines)] of src/'s .c and .h files over limit lines."""
    out = []
    for f in sorted(os.listdir(src)):
        if f.endswith((".c", ".h")):
            with open(os.path.join(src, f), errors="replace") as fh:
                n = sum(1 for _ in fh)
            if n > limit:
                out.append((f, n))
    return out


def readme_missing(readme, mod):
    """What the README's layers table does not name: `module` for every
    module, `file.c` and `X_impl.h` for each module of several files."""
    with open(readme, errors="replace") as fh:
        text = "\n" + fh.read()
    at = text.find("\n### Layers\n")
    if at < 0:
        return ["the \"### Layers\" section"]
    section = re.split(r"\n##+ ", text[at + 1:].split("\n", 1)[1])[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("|"):
            names.update(re.findall(r"`([^`]+)`", line))
    want = sorted(set(mod.values()))
    for m, fs in sorted(groups(mod).items()):
        want += [f + ".c" for f in fs] + [m + "_impl.h"]
    return [w for w in want if w not in names]


def modules(files):
    """({file: module}, [private-header leaks]) for read_includes' files."""
    stems = {f.rsplit(".", 1)[0] for f in files}
    mod, leaks = {}, []
    for f, incs in files.items():
        stem = f.rsplit(".", 1)[0]
        mod[f] = stem
        if stem.endswith("_impl") and stem[:-5] in stems:
            mod[f] = stem[:-5]
    for f, incs in files.items():
        stem = f.rsplit(".", 1)[0]
        for h in incs:
            if not h.endswith("_impl") or h not in stems or h == stem:
                continue
            owner = h[:-5]
            if stem == owner or stem.startswith(owner + "_"):
                mod[f] = owner
            else:
                leaks.append((f, h + ".h"))
    return mod, leaks


def graph(files, mod=None):
    """Module -> set of modules it includes (headers of other trees, gen/
    and nanopb, are not modules of ours)."""
    if mod is None:
        mod = modules(files)[0]
    stem_mod = {f.rsplit(".", 1)[0]: m for f, m in mod.items()}
    g = {}
    for f, incs in files.items():
        deps = g.setdefault(mod[f], set())
        for h in incs:
            d = stem_mod.get(h)
            if d is not None and d != mod[f]:
                deps.add(d)
    return g


def groups(mod):
    """Modules of more than one .c file: {module: [its files' stems]}."""
    by = {}
    for f, m in mod.items():
        if f.endswith(".c"):
            by.setdefault(m, []).append(f[:-2])
    return {m: sorted(v) for m, v in by.items() if len(v) > 1}


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
    # A module in several files: calls among them are not cycles.
    files = {"proc.h": ["pool"], "proc.c": ["proc", "proc_impl", "pool"],
             "proc_impl.h": ["proc", "pool"],
             "proc_exit.c": ["proc_impl", "pool"],
             "pool.h": [], "pool.c": ["pool"],
             "task.c": ["proc", "task"], "task.h": ["proc"]}
    mod, leaks = modules(files)
    g = graph(files, mod)
    ok &= leaks == [] and cycles(g) == []
    ok &= layers(g) == [["pool"], ["proc"], ["task"]]
    ok &= groups(mod) == {"proc": ["proc", "proc_exit"]}
    # ... but an upward include from one of its files is.
    files["proc_exit.c"].append("task")
    ok &= len(cycles(graph(files, modules(files)[0]))) == 1
    files["proc_exit.c"].pop()
    # Another module reaching into the inside is a leak.
    files["task.c"].append("proc_impl")
    ok &= modules(files)[1] == [("task.c", "proc_impl.h")]
    # The whole check on a tree: clean, then a cycle, then a long file
    # (its messages are the expected ones, so they are not shown).
    with tempfile.TemporaryDirectory() as d, \
            contextlib.redirect_stdout(io.StringIO()):
        one = os.path.join(d, "one")
        os.mkdir(one)
        def put(name, text):
            with open(os.path.join(d, name), "w") as fh:
                fh.write(text)
        put("one/a.h", "")
        put("one/a.c", '#include "a.h"\n#include "b.h"\n')
        put("one/b.h", "")
        put("one/b.c", '#include "b.h"\n')
        ok &= main(["layers.py", "--quiet", one]) == 0
        put("one/b.c", '#include "b.h"\n#include "a.h"\n')
        ok &= main(["layers.py", "--quiet", one]) == 1
        put("one/b.c", '#include "b.h"\n')
        put("one/a.c", "\n" * MAX_LINES)
        ok &= main(["layers.py", "--quiet", one]) == 0
        put("one/a.c", "\n" * (MAX_LINES + 1))
        ok &= long_files(one) == [("a.c", MAX_LINES + 1)]
        ok &= main(["layers.py", "--quiet", one]) == 1
        # The README next to the tree must name every module.
        os.mkdir(os.path.join(d, "src"))
        for f in ("a.c", "a.h", "a_x.c", "a_impl.h", "b.c", "b.h"):
            put(os.path.join("src", f), '#include "a_impl.h"\n'
                if f == "a_x.c" else "")
        put("README.md", "## How\n\n### Layers\n\n| 1 | `a` | "
            "`a.c`, `a_x.c` |\n\n## Tests\n| `b` |\n")
        ok &= main(["layers.py", "--quiet", os.path.join(d, "src")]) == 1
        ok &= readme_missing(os.path.join(d, "README.md"), modules(
            read_includes(os.path.join(d, "src")))[0]) == ["b", "a_impl.h"]
        put("README.md", "### Layers\n| `a` | `a.c`, `a_x.c`, "
            "`a_impl.h` |\n| `b` | |\n")
        ok &= main(["layers.py", "--quiet", os.path.join(d, "src")]) == 0
    print("layers.py selftest: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if argv[1:2] == ["--selftest"]:
        return selftest()
    quiet = "--quiet" in argv
    args = [a for a in argv[1:] if not a.startswith("--")]
    src = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    files = read_includes(src)
    mod, leaks = modules(files)
    g = graph(files, mod)
    cyc = cycles(g)
    if not quiet:
        print("layers of src/ (bottom first; a module includes only "
              "layers below it):")
        for i, mods in enumerate(layers(g)):
            print("  %d: %s" % (i, " ".join(mods)))
        for m, fs in sorted(groups(mod).items()):
            print("  module %s is %s, sharing %s_impl.h" %
                  (m, ", ".join(f + ".c" for f in fs), m))
    for c in cyc:
        print("include cycle: %s" % " -> ".join(c))
    for f, h in leaks:
        print("private header: %s includes %s" % (f, h))
    if cyc:
        print("layers.py: %d cycle(s): a module must call only downward "
              "(register a callback at startup instead)" % len(cyc))
    if leaks:
        print("layers.py: %d private header(s) included outside their "
              "module" % len(leaks))
    for f, n in long_files(src, WARN_LINES):
        if n <= MAX_LINES:
            print("layers.py: src/%s has %d lines, over %d: the next file "
                  "to split along its concerns" % (f, n, WARN_LINES))
    long = long_files(src)
    for f, n in long:
        print("layers.py: src/%s has %d lines, over %d: split it along "
              "its concerns" % (f, n, MAX_LINES))
    readme = os.path.join(src, "..", "README.md")
    missing = readme_missing(readme, mod) if os.path.exists(readme) else []
    for w in missing:
        print("layers.py: README.md's layers table does not name %s" % w)
    if cyc or leaks or long or missing:
        return 1
    print("layers.py: no include cycle among %d modules" % len(g))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
