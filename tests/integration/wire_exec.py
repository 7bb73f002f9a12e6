#!/usr/bin/python3
"""wire_exec.py - exec cycles straight on a shim socket (t_exec_cycles.sh).

Owns: running many Exec -> Wait (parked first) -> Start -> Wait returns ->
Delete cycles against one running container over ttrpc, several
connections at once, and checking each cycle's exit status.  Does not own:
the container or the before/after measurements (the shell test).

usage: wire_exec.py ADDR NS CONTAINER_ID CYCLES CONCURRENCY [PREFIX]
  Cycle i runs `sh -c 'exit <i % 7>'` as exec id PREFIX<i> (default "cy")
  and expects that status from Wait and from Delete.  CONCURRENCY threads,
  one connection each, share the cycles.
Prints "ok ..." / "FAIL ...: ..." check lines and an "info" line with the
rate; exit 0 when every cycle was right, 1 otherwise.
"""

import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wire_util import Checks, ttrpc  # noqa: E402

TASK = ttrpc.TASK_SERVICE
SPEC_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
MAX_REPORTED = 5

pb = ttrpc.load()


def spec(code):
    return json.dumps({"args": ["sh", "-c", "exit %d" % code], "cwd": "/",
                       "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
                       "terminal": False}, separators=(",", ":")).encode()


def cycle(c, cid, eid, code):
    """One cycle; returns None or what went wrong."""
    req = pb.shim.ExecProcessRequest(id=cid, exec_id=eid)
    req.spec.type_url = SPEC_URL
    req.spec.value = spec(code)
    c.call("Exec", req)
    w = c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid, exec_id=eid))
    c.call("Start", pb.shim.StartRequest(id=cid, exec_id=eid))
    resp = c.finish(w)
    if resp.HasField("status") and resp.status.code:
        return "%s: Wait code %d %s" % (eid, resp.status.code,
                                        resp.status.message)
    wr = pb.shim.WaitResponse.FromString(resp.payload)
    d = c.call("Delete", pb.shim.DeleteRequest(id=cid, exec_id=eid))
    if wr.exit_status != code or d.exit_status != code:
        return "%s: want %d, Wait %d, Delete %d" % (
            eid, code, wr.exit_status, d.exit_status)
    if not wr.HasField("exited_at") or wr.exited_at.seconds == 0:
        return "%s: Wait has no exited_at" % eid
    return None


def main(argv):
    if len(argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    addr, ns, cid = argv[0], argv[1], argv[2]
    total, conc = int(argv[3]), int(argv[4])
    prefix = argv[5] if len(argv) == 6 else "cy"
    ck = Checks()
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "bad": []}

    def worker():
        try:
            c = ttrpc.Client(addr, 60, namespace=ns)
        except OSError as e:
            with lock:
                state["bad"].append("connect: %r" % e)
            return
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= total or len(state["bad"]) >= MAX_REPORTED:
                        return
                    state["next"] += 1
                try:
                    err = cycle(c, cid, "%s%d" % (prefix, i), i % 7)
                except (ttrpc.StatusError, OSError, EOFError,
                        ValueError) as e:
                    err = "%s%d: %r" % (prefix, i, e)
                with lock:
                    if err:
                        state["bad"].append(err)
                    else:
                        state["done"] += 1
        finally:
            c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    ck.info("%d cycles in %.1f s: %.1f cycles/s (concurrency %d)" % (
        state["done"], took, state["done"] / took if took else 0, conc))
    ck.check("%d exec cycles, every exit status right" % total,
             state["done"] == total and not state["bad"],
             "%d done; %s" % (state["done"], "; ".join(state["bad"])))
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
