#!/usr/bin/python3
"""bench/plot.py KV OUTDIR: the charts of bench/run.sh.

KV: the key=value lines the bench scripts wrote (bench_kv).  Writes
OUTDIR/density.png (memory per container against N, both shims, the
kernel's charge and PSS, and the node total) and OUTDIR/throughput.png
(MB/s and shim CPU seconds per output mode).  A chart whose figures are
missing is skipped with a note on stderr; exit 0 unless matplotlib is
missing (exit 77).
"""
import os
import re
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("plot.py: SKIP: python3-matplotlib is not installed\n")
    sys.exit(77)

NANO = "#1f77b4"
GO = "#d62728"


def load(path):
    kv = {}
    with open(path) as f:
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep:
                kv[k] = v
    return kv


def num(kv, key):
    try:
        return float(kv[key])
    except (KeyError, ValueError):
        return None


def series(kv, kind, what):
    """[(n, value)] for density_<kind>_<n>_<what>, sorted by n."""
    pat = re.compile(r"density_%s_(\d+)_%s$" % (kind, re.escape(what)))
    out = []
    for k, v in kv.items():
        m = pat.match(k)
        if m:
            try:
                out.append((int(m.group(1)), float(v)))
            except ValueError:
                pass
    return sorted(out)


def stamp(fig, kv):
    s = kv.get("bench_stamp")
    if s:
        fig.text(0.99, 0.01, s, ha="right", va="bottom", fontsize=7,
                 color="#666666")


def density(kv, out):
    nc = series(kv, "nano", "charged_kib")
    gc = series(kv, "go", "charged_kib")
    if not nc or not gc:
        sys.stderr.write("plot.py: no density figures, density.png skipped\n")
        return
    np_ = series(kv, "nano", "pss_kib")
    gp = series(kv, "go", "pss_kib")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot([n for n, _ in nc], [v for _, v in nc], "o-", color=NANO,
           label="nanoshim, charged (kernel incl.)")
    a.plot([n for n, _ in gc], [v for _, v in gc], "o-", color=GO,
           label="Go shim, charged (kernel incl.)")
    if np_:
        a.plot([n for n, _ in np_], [v for _, v in np_], "s:", color=NANO,
               label="nanoshim, PSS")
    if gp:
        a.plot([n for n, _ in gp], [v for _, v in gp], "s:", color=GO,
               label="Go shim, PSS")
    a.axhline(268, color="#888888", lw=0.8, ls="--")
    a.text(1, 268 * 1.08, "conmon, published: 268 KiB", fontsize=7,
           color="#555555")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("containers on the node (one shim each)")
    a.set_ylabel("KiB per container")
    a.set_title("Memory per container, by the shim")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=7)

    # Node total: charged MiB against N; the Go shim's line goes on,
    # dashed, where it is extrapolated.
    ns = [n for n, _ in nc]
    b.plot(ns, [n * v / 1024 for n, v in nc], "o-", color=NANO,
           label="nanoshim")
    gmax = max(n for n, _ in gc)
    b.plot([n for n, _ in gc], [n * v / 1024 for n, v in gc], "o-",
           color=GO, label="Go shim")
    per = dict(gc)[gmax]
    ext = [n for n in ns if n >= gmax]
    if len(ext) > 1:
        b.plot(ext, [n * per / 1024 for n in ext], "o--", color=GO,
               mfc="white", label="Go shim, extrapolated")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("containers on the node")
    b.set_ylabel("MiB charged to the shims")
    b.set_title("What the node loses to shims")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=7)
    stamp(fig, kv)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "density.png"), dpi=80)
    plt.close(fig)


def throughput(kv, out):
    modes = [m for m in ("fifo", "file", "binary")
             if num(kv, "tp_%s_nano_mbs" % m) is not None]
    if not modes:
        sys.stderr.write("plot.py: no throughput figures, "
                         "throughput.png skipped\n")
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    x = range(len(modes))
    w = 0.38
    for i, (kind, col, lab) in enumerate((("nano", NANO, "nanoshim"),
                                          ("go", GO, "Go shim"))):
        xs = [j + (i - 0.5) * w for j in x]
        a.bar(xs, [num(kv, "tp_%s_%s_mbs" % (m, kind)) or 0 for m in modes],
              w, color=col, label=lab)
        b.bar(xs, [num(kv, "tp_%s_%s_cpu_s" % (m, kind)) or 0
                   for m in modes], w, color=col, label=lab)
    mib = kv.get("tp_mib", "1024")
    names = {"fifo": "FIFO to ctr", "file": "file://", "binary": "binary://"}
    for ax in (a, b):
        ax.set_xticks(list(x))
        ax.set_xticklabels([names[m] for m in modes])
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    a.set_ylabel("MB/s (higher is better)")
    a.set_title("%s MiB to stdout: throughput" % mib)
    b.set_ylabel("shim CPU seconds (lower is better)")
    b.set_title("%s MiB to stdout: the shim's CPU" % mib)
    stamp(fig, kv)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput.png"), dpi=80)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    kv = load(argv[0])
    os.makedirs(argv[1], exist_ok=True)
    density(kv, argv[1])
    throughput(kv, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
