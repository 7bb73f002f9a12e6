#!/usr/bin/python3
"""pods.py: the pods-per-node benchmark's measuring half (bench/pods.sh
sets up the private containerd with CRI and runs this).

For each shim in turn (handler `nanoshim`: our binary; handler `runc`: the
Go shim), on the same containerd in the same run: start N pods one after
another, each a sandbox and 2 containers (RunPodSandbox, then
CreateContainer + StartContainer twice), measure every pod's shim (RSS,
PSS, USS = private clean + dirty, threads: one shim per pod), then stop
every pod (StopPodSandbox) and remove it (RemovePodSandbox).  Timed: each
CRI call as the client sees it (the CRI plugin's own latency, shim start
and CNI included), and the wall time to start and to stop all pods.
ROUNDS > 1 repeats it with the order of the shims swapped each round;
figures are medians over all pods of all rounds (totals: median of rounds).

Environment: CTR_ADDR D CGROUP_PARENT BUSYBOX_IMAGE CRI_DIR (lib.sh),
PODS (50), ROUNDS (1), BENCH_KV (optional key=value output file).
Prints a plain-text report.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.environ["CRI_DIR"])
from cri import Cri  # noqa: E402

ADDR = os.environ["CTR_ADDR"]
D = os.environ["D"]
CG = os.environ["CGROUP_PARENT"]
BUSYBOX = os.environ["BUSYBOX_IMAGE"]
N = int(os.environ.get("PODS", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "1"))
KINDS = [("nanoshim", "nanoshim"), ("go", "runc")]


def now():
    return time.monotonic()


def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, rest = line.partition(":")
            v = rest.split()
            if v and v[-1] == "kB":
                out[k] = int(v[0])
    th = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                th = int(line.split()[1])
    return {"rss": out.get("Rss", 0), "pss": out.get("Pss", 0),
            "uss": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0),
            "threads": th}


def shims():
    """{sandbox id: pid} of the shim daemons of our containerd."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                a = [x.decode() for x in f.read().split(b"\0")[:-1]]
        except OSError:
            continue
        if len(a) < 3 or a[-1] in ("start", "delete") or "-address" not in a:
            continue
        if a[a.index("-address") + 1] != ADDR or "-id" not in a:
            continue
        out[a[a.index("-id") + 1]] = int(p)
    return out


def pod_config(kind, i, rnd):
    uid = "bench-%s-%d-%d" % (kind, rnd, i)
    return {
        "metadata": {"name": "p%d" % i, "uid": uid, "namespace": "bench",
                     "attempt": 0},
        "hostname": "p%d" % i,
        "log_directory": os.path.join(D, "logs", uid),
        "linux": {"cgroup_parent": "%s/%s" % (CG, uid),
                  "security_context": {"namespace_options": {"pid": 1}}},
    }


def ctr_config(name):
    return {"metadata": {"name": name}, "image": {"image": BUSYBOX},
            "command": ["/bin/sleep", "100000"], "log_path": name + ".log",
            "linux": {"security_context": {"namespace_options": {"pid": 1}}}}


def one_run(c, kind, handler, rnd):
    t = {"run": [], "create": [], "start": [], "stop": [], "remove": []}
    pods = []
    t0 = now()
    for i in range(N):
        cfg = pod_config(kind, i, rnd)
        os.makedirs(cfg["log_directory"], exist_ok=True)
        a = now()
        sid = c.RunPodSandbox({"config": cfg,
                               "runtime_handler": handler}).pod_sandbox_id
        t["run"].append(now() - a)
        for name in ("app", "sidecar"):
            a = now()
            cid = c.CreateContainer({"pod_sandbox_id": sid,
                                     "config": ctr_config(name),
                                     "sandbox_config": cfg}).container_id
            t["create"].append(now() - a)
            a = now()
            c.StartContainer({"container_id": cid})
            t["start"].append(now() - a)
        pods.append(sid)
    start_all = now() - t0
    time.sleep(2)  # let lazily touched pages settle
    by_id = shims()
    mem = []
    missing = 0
    for sid in pods:
        pid = by_id.get(sid)
        if pid is None:
            missing += 1
            continue
        mem.append(smaps(pid))
    n_shims = len(by_id)
    t0 = now()
    for sid in pods:
        a = now()
        c.StopPodSandbox({"pod_sandbox_id": sid})
        t["stop"].append(now() - a)
    stop_all = now() - t0
    for sid in pods:
        a = now()
        c.RemovePodSandbox({"pod_sandbox_id": sid})
        t["remove"].append(now() - a)
    gone_by = now() + 60
    while shims() and now() < gone_by:
        time.sleep(0.1)
    down_all = now() - t0
    return {"t": t, "mem": mem, "start_all": start_all, "stop_all": stop_all,
            "down_all": down_all, "shims": n_shims, "missing": missing,
            "left": len(shims())}


def med(xs):
    return statistics.median(xs) if xs else 0.0


def p90(xs):
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[max(0, int(0.9 * len(s) + 0.999999) - 1)]


def main():
    c = Cri(ADDR, timeout=120)
    res = {k: [] for k, _ in KINDS}
    for rnd in range(ROUNDS):
        order = KINDS if rnd % 2 == 0 else list(reversed(KINDS))
        for kind, handler in order:
            sys.stderr.write("round %d: %d pods on %s...\n"
                             % (rnd + 1, N, kind))
            res[kind].append(one_run(c, kind, handler, rnd))
    kv = []
    agg = {}
    for kind, _ in KINDS:
        runs = res[kind]
        a = {"t": {}, "mem": {}}
        for key in ("run", "create", "start", "stop", "remove"):
            xs = [x * 1000 for r in runs for x in r["t"][key]]
            a["t"][key] = (med(xs), p90(xs))
        for key in ("rss", "pss", "uss", "threads"):
            per = [m[key] for r in runs for m in r["mem"]]
            sums = [sum(m[key] for m in r["mem"]) for r in runs]
            a["mem"][key] = (med(per), med(sums))
        for key in ("start_all", "stop_all", "down_all"):
            a[key] = med([r[key] for r in runs])
        a["shims"] = min(r["shims"] for r in runs)
        a["missing"] = sum(r["missing"] + r["left"] for r in runs)
        agg[kind] = a
    nano, go = agg["nanoshim"], agg["go"]

    def ratio(x, y):
        return x / y if y else float("nan")

    print("pods-per-node: N=%d pods (sandbox + 2 containers each), "
          "%d round(s), one containerd, CRI over gRPC" % (N, ROUNDS))
    print("shim processes seen with all pods up: nanoshim %d, Go %d "
          "(one per pod)" % (nano["shims"], go["shims"]))
    print("")
    print("%-36s %12s %12s %8s" % ("", "nanoshim", "Go shim", "ratio"))
    for key, label in (("rss", "RSS"), ("pss", "PSS"), ("uss", "USS")):
        print("%-36s %12.0f %12.0f %7.1fx" % (
            "%s per pod, median (kB)" % label, nano["mem"][key][0],
            go["mem"][key][0], ratio(go["mem"][key][0], nano["mem"][key][0])))
        print("%-36s %12.0f %12.0f %7.1fx" % (
            "%s sum over %d pods (kB)" % (label, N), nano["mem"][key][1],
            go["mem"][key][1], ratio(go["mem"][key][1], nano["mem"][key][1])))
        kv += ["pods_%s_%s_median_kb=%.0f" % (k, key, agg[k]["mem"][key][0])
               for k in agg]
        kv += ["pods_%s_%s_sum_kb=%.0f" % (k, key, agg[k]["mem"][key][1])
               for k in agg]
    print("%-36s %12.0f %12.0f" % ("threads per pod's shim, median",
                                   nano["mem"]["threads"][0],
                                   go["mem"]["threads"][0]))
    print("%-36s %12.0f %12.0f" % ("threads, sum", nano["mem"]["threads"][1],
                                   go["mem"]["threads"][1]))
    print("%-36s %12.1f %12.1f %7.2f" % (
        "start all pods (s)", nano["start_all"], go["start_all"],
        ratio(nano["start_all"], go["start_all"])))
    print("%-36s %12.1f %12.1f %7.2f" % (
        "stop all pods (s, StopPodSandbox)", nano["stop_all"],
        go["stop_all"], ratio(nano["stop_all"], go["stop_all"])))
    print("%-36s %12.1f %12.1f %7.2f" % (
        "stop + remove, shims gone (s)", nano["down_all"], go["down_all"],
        ratio(nano["down_all"], go["down_all"])))
    for key, label in (("run", "RunPodSandbox"), ("create", "CreateContainer"),
                       ("start", "StartContainer"),
                       ("stop", "StopPodSandbox"),
                       ("remove", "RemovePodSandbox")):
        print("%-36s %12s %12s %7.2f" % (
            "%s ms, median / p90" % label,
            "%.1f / %.1f" % nano["t"][key], "%.1f / %.1f" % go["t"][key],
            ratio(nano["t"][key][0], go["t"][key][0])))
        kv += ["pods_%s_%s_median_ms=%.1f" % (k, key, agg[k]["t"][key][0])
               for k in agg]
    print("(memory ratios: Go/nanoshim; time ratios: nanoshim/Go)")
    kv += ["pods_n=%d" % N, "pods_rounds=%d" % ROUNDS]
    kv += ["pods_%s_threads_median=%.0f" % (k, agg[k]["mem"]["threads"][0])
           for k in agg]
    kv += ["pods_%s_%s_s=%.2f" % (k, key, agg[k][key]) for k in agg
           for key in ("start_all", "stop_all", "down_all")]
    kv.append("pods_run_ratio_nano_over_go=%.2f"
              % ratio(nano["t"]["run"][0], go["t"]["run"][0]))
    kv.append("pods_stop_ratio_nano_over_go=%.2f"
              % ratio(nano["t"]["stop"][0], go["t"]["stop"][0]))
    if os.environ.get("BENCH_KV"):
        with open(os.environ["BENCH_KV"], "a") as f:
            f.write("".join(x + "\n" for x in kv))
    bad = nano["missing"] + go["missing"]
    if bad:
        print("PROBLEM: %d pods without a shim or shims left behind" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
