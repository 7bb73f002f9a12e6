#!/usr/bin/python3
"""bench/exec_rpc.py - exec round trip straight over a shim's ttrpc socket.

usage: exec_rpc.py --ns NS --cycles R [--warmup W] TARGET ...
  TARGET  NAME=unix:///shim/socket=ID   a shim and a running container
          NAME=runc:/runc/root=ID       runc alone, no shim (the floor)

For a shim target, one cycle is
    Exec(null IO, spec `true`) -> Wait (sent first, parked) -> Start ->
    Wait returns -> Delete
over one connection opened before timing (like containerd's), with the
containerd namespace metadata; tools/ttrpc.py is the client library.
For a runc target, one cycle is what a shim does underneath:
    runc --root ROOT exec --process F --detach --pid-file P ID, then wait
    for the exec'd process to exit (this process is a child subreaper,
    as a shim is, and reaps it).
Targets are interleaved per cycle (A, B, C, A, ...; the order reverses
every cycle), so noise from other jobs on the machine hits all alike.

Prints one line per target:
  NAME n=R median_us=.. p90_us=.. min_us=.. max_us=.. [exec_median_us=..
  start_median_us=.. wait_median_us=.. delete_median_us=..]
(per call, shim targets only; wait = from Start's reply to Wait's).
Exits non-zero when a call fails or an exec exits non-zero.
"""

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import ttrpc  # noqa: E402

SPEC_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
SPEC = {"args": ["true"], "cwd": "/", "env": ["PATH=/bin"],
        "user": {"uid": 0, "gid": 0}, "terminal": False}
SPEC_JSON = json.dumps(SPEC, separators=(",", ":")).encode()
PHASES = ("exec", "start", "wait", "delete")
PR_SET_CHILD_SUBREAPER = 36


def stats(v):
    v = sorted(v)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p90 = v[max(0, min(n - 1, -(-9 * n // 10) - 1))]
    return med, p90, v[0], v[-1]


class ShimTarget:
    def __init__(self, name, addr, cid, ns):
        self.name, self.cid = name, cid
        self.pb = ttrpc.load()
        self.c = ttrpc.Client(addr, 30, namespace=ns)

    def cycle(self, i):
        """One round trip: microseconds [total, exec, start, wait, delete]."""
        pb, c, cid, eid = self.pb, self.c, self.cid, "rpc%d" % i
        t = [time.perf_counter_ns()]
        req = pb.shim.ExecProcessRequest(id=cid, exec_id=eid, terminal=False)
        req.spec.type_url = SPEC_URL
        req.spec.value = SPEC_JSON
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
        return [(t[-1] - t[0]) / 1000.0] + [(t[k + 1] - t[k]) / 1000.0
                                             for k in range(4)]

    def close(self):
        self.c.close()


class RuncTarget:
    def __init__(self, name, root, cid):
        self.name, self.root, self.cid = name, root, cid
        self.tmp = tempfile.mkdtemp(prefix="exec-rpc.")
        self.spec = os.path.join(self.tmp, "process.json")
        self.pidf = os.path.join(self.tmp, "pid")
        with open(self.spec, "wb") as f:
            f.write(SPEC_JSON)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")

    def cycle(self, i):
        t0 = time.perf_counter_ns()
        p = subprocess.run(["runc", "--root", self.root, "exec", "--process",
                            self.spec, "--detach", "--pid-file", self.pidf,
                            self.cid], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("runc exec: %s" % p.stderr.decode().strip())
        with open(self.pidf) as f:
            pid = int(f.read())
        _, status = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("runc exec: process exited %d" %
                               os.waitstatus_to_exitcode(status))
        return [(t1 - t0) / 1000.0]

    def close(self):
        for f in (self.spec, self.pidf):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        os.rmdir(self.tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", required=True)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("targets", nargs="+", metavar="NAME=ADDR=ID")
    a = ap.parse_args()
    targets = []
    try:
        for t in a.targets:
            name, addr, cid = t.split("=", 2)
            if addr.startswith("runc:"):
                targets.append(RuncTarget(name, addr[len("runc:"):], cid))
            else:
                targets.append(ShimTarget(name, addr, cid, a.ns))
        lat = {t.name: [] for t in targets}
        for i in range(a.warmup + a.cycles):
            for t in (targets if i % 2 == 0 else targets[::-1]):
                us = t.cycle(i)
                if i >= a.warmup:
                    lat[t.name].append(us)
    except (ttrpc.StatusError, OSError, EOFError, RuntimeError,
            ValueError) as e:
        sys.stderr.write("exec_rpc: %s\n" % e)
        return 1
    finally:
        for t in targets:
            t.close()
    for t in targets:
        v = lat[t.name]
        med, p90, lo, hi = stats([x[0] for x in v])
        line = "%s n=%d median_us=%.0f p90_us=%.0f min_us=%.0f max_us=%.0f" % (
            t.name, len(v), med, p90, lo, hi)
        if len(v[0]) > 1:
            line += " " + " ".join("%s_median_us=%.0f" % (
                p, stats([x[k + 1] for x in v])[0])
                for k, p in enumerate(PHASES))
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
