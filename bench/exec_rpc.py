#!/usr/bin/python3
"""bench/exec_rpc.py - exec round trip straight over a shim's ttrpc socket.

usage: exec_rpc.py --ns NS --cycles R [--warmup W] NAME=ADDR=ID ...

For each target (a shim socket address, unix:///..., and the id of a
running container it serves) runs R cycles of
    Exec(null IO, spec `true`) -> Wait (sent first, parked) -> Start ->
    Wait returns -> Delete
and times each cycle with a monotonic clock.  Targets are interleaved per
cycle (A, B, A, B, ...; the order alternates every cycle), so noise from
other jobs on the machine hits every shim alike.  One connection per
target, opened before timing, like containerd's.  Prints one line per
target: "NAME n=R median_us=.. p90_us=.. min_us=.. max_us=..
exec_median_us=.. start_median_us=.. wait_median_us=.. delete_median_us=.."
(per call; wait = from Start's reply to Wait's), and exits
non-zero when any call fails or an exec exits non-zero.
Uses tools/ttrpc.py as a library (containerd namespace metadata set).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import ttrpc  # noqa: E402

SPEC_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
SPEC = {"args": ["true"], "cwd": "/", "env": ["PATH=/bin"],
        "user": {"uid": 0, "gid": 0}, "terminal": False}


def stats(v):
    v = sorted(v)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p90 = v[max(0, min(n - 1, -(-9 * n // 10) - 1))]
    return med, p90, v[0], v[-1]


PHASES = ("exec", "start", "wait", "delete")


def cycle(pb, c, cid, eid, spec):
    """One round trip; returns microseconds: [total, exec, start, wait,
    delete] (wait: from Start's reply to Wait's)."""
    t = [time.perf_counter_ns()]
    req = pb.shim.ExecProcessRequest(id=cid, exec_id=eid, terminal=False)
    req.spec.type_url = SPEC_URL
    req.spec.value = spec
    c.call("Exec", req)
    t.append(time.perf_counter_ns())
    w = c.start(ttrpc.TASK_SERVICE, "Wait",
                pb.shim.WaitRequest(id=cid, exec_id=eid))
    c.call("Start", pb.shim.StartRequest(id=cid, exec_id=eid))
    t.append(time.perf_counter_ns())
    resp = c.finish(w)
    t.append(time.perf_counter_ns())
    if resp.HasField("status") and resp.status.code:
        raise ttrpc.StatusError(resp.status.code, resp.status.message)
    wr = pb.shim.WaitResponse.FromString(resp.payload)
    d = c.call("Delete", pb.shim.DeleteRequest(id=cid, exec_id=eid))
    t.append(time.perf_counter_ns())
    if wr.exit_status != 0 or d.exit_status != 0:
        raise RuntimeError("exec %s in %s exited %d/%d" % (
            eid, cid, wr.exit_status, d.exit_status))
    return [(t[-1] - t[0]) / 1000.0] + [(t[i + 1] - t[i]) / 1000.0
                                         for i in range(4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", required=True)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("targets", nargs="+", metavar="NAME=ADDR=ID")
    a = ap.parse_args()
    pb = ttrpc.load()
    spec = json.dumps(SPEC, separators=(",", ":")).encode()
    targets = []
    for t in a.targets:
        name, addr, cid = t.split("=", 2)
        targets.append((name, ttrpc.Client(addr, 30, namespace=a.ns), cid))
    lat = {name: [] for name, _, _ in targets}
    try:
        for i in range(a.warmup + a.cycles):
            order = targets if i % 2 == 0 else targets[::-1]
            for name, c, cid in order:
                us = cycle(pb, c, cid, "rpc%d" % i, spec)
                if i >= a.warmup:
                    lat[name].append(us)
    except (ttrpc.StatusError, OSError, EOFError, RuntimeError) as e:
        sys.stderr.write("exec_rpc: %s\n" % e)
        return 1
    finally:
        for _, c, _ in targets:
            c.close()
    for name, _, _ in targets:
        med, p90, lo, hi = stats([x[0] for x in lat[name]])
        phases = " ".join("%s_median_us=%.0f" % (
            p, stats([x[i + 1] for x in lat[name]])[0])
            for i, p in enumerate(PHASES))
        print("%s n=%d median_us=%.0f p90_us=%.0f min_us=%.0f max_us=%.0f %s"
              % (name, len(lat[name]), med, p90, lo, hi, phases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
