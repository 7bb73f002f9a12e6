#!/usr/bin/python3
"""wire_limits.py - full pools answer RESOURCE_EXHAUSTED (t_limits.sh).

Owns: driving a nanoshim daemon started with small NANOSHIM_* limits into
each full pool and back out, printing "ok WHAT" / "FAIL WHAT: DETAIL"
lines for the shell test.  Does not own: starting or stopping the daemon,
the bundles (t_limits.sh makes them).

usage:
  wire_limits.py conns ADDR DAEMON_PID LIMIT
      LIMIT connections are served, the next one's requests get code 8
      naming NANOSHIM_CONNS, the served ones go on; after one closes a
      new connection is served.
  wire_limits.py pools ADDR NS BUNDLE1 BUNDLE2 PARKED
      (daemon started with NANOSHIM_CONTAINERS=1 NANOSHIM_PARKED=PARKED)
      Create c1 from BUNDLE1 succeeds, Create c2 from BUNDLE2 gets code 8
      naming NANOSHIM_CONTAINERS; c1 starts; PARKED Waits park, one more
      gets code 8 naming NANOSHIM_PARKED while State still answers;
      closing the waiters' connection frees their slots; c1 is killed,
      waited for and deleted (137); then c2 can be created and deleted.
Exit status: 0 when every check passed, 1 otherwise.
"""

import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wire_util import Checks, ttrpc  # noqa: E402

TASK = ttrpc.TASK_SERVICE
pb = ttrpc.load()


def status_of(resp):
    if resp.HasField("status") and resp.status.code:
        return resp.status.code, resp.status.message
    return 0, ""


def try_connect(c, cid="x"):
    """(code, message) of a Connect on client c."""
    try:
        return status_of(c.call_raw(TASK, "Connect",
                                    pb.shim.ConnectRequest(id=cid)))
    except (OSError, EOFError, ValueError) as e:
        return -1, repr(e)


def eventually(seconds, fn):
    deadline = time.monotonic() + seconds
    while True:
        r = fn()
        if r or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def conns(addr, pid, limit):
    ck = Checks()
    served = [ttrpc.Client(addr, 10) for _ in range(limit)]
    for i, c in enumerate(served):
        code, msg = try_connect(c)
        ck.check("connection %d of %d served" % (i + 1, limit), code == 0,
                 "code %d %s" % (code, msg))
    extra = ttrpc.Client(addr, 10)
    code, msg = try_connect(extra)
    ck.check("connection %d: RESOURCE_EXHAUSTED naming NANOSHIM_CONNS" % (
        limit + 1), code == 8 and "NANOSHIM_CONNS" in msg,
        "code %d %r" % (code, msg))
    code, msg = try_connect(extra)
    ck.check("the refused connection stays refused and open", code == 8,
             "code %d %r" % (code, msg))
    for i, c in enumerate(served):
        code, msg = try_connect(c)
        ck.check("connection %d still served" % (i + 1), code == 0,
                 "code %d %s" % (code, msg))
    served[0].close()

    def new_served():
        try:
            c = ttrpc.Client(addr, 10)
        except OSError:
            return None
        if try_connect(c)[0] == 0:
            return c
        c.close()
        return None
    fresh = eventually(5, new_served)
    ck.check("after one closed, a new connection is served", fresh is not
             None)
    for c in served[1:] + [extra] + ([fresh] if fresh else []):
        c.close()
    return 1 if ck.failed else 0


def park_waits(c, cid, n):
    """Send n Waits and then a State on client c.  Returns (Wait stream
    ids, [(code, message) of Waits answered before State's reply], State's
    (code, message)).  All n parked if that list is empty: the shim handles
    one connection's frames in order, so State's reply comes after each
    Wait was handled."""
    sids = [c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid))
            for _ in range(n)]
    state = c.finish(c.start(TASK, "State", pb.shim.StateRequest(id=cid)))
    early = [status_of(r) for _, r in sorted(c.pending.items())]
    c.pending.clear()
    return sids, early, status_of(state)


def parked_client(addr, ns, cid, n):
    """A new client with n Waits parked on it, or None (closed) if any was
    refused."""
    c = ttrpc.Client(addr, 60, namespace=ns)
    sids, early, state = park_waits(c, cid, n)
    if early or state[0]:
        c.close()
        return None
    c.wait_sids = sids
    return c


def pools(addr, ns, b1, b2, parked):
    ck = Checks()
    c = ttrpc.Client(addr, 60, namespace=ns)
    try:
        r = c.call("Create", {"id": "c1", "bundle": b1})
        ck.check("Create c1", r.pid > 0, str(r))
        try:
            c.call("Create", {"id": "c2", "bundle": b2})
            ck.check("second Create: RESOURCE_EXHAUSTED", False,
                     "it succeeded")
        except ttrpc.StatusError as e:
            ck.check("second Create: RESOURCE_EXHAUSTED naming "
                     "NANOSHIM_CONTAINERS", e.code == 8 and
                     "NANOSHIM_CONTAINERS" in e.message, str(e))
        st = c.call("State", {"id": "c1"})
        ck.check("c1 still CREATED", st.status == pb.task_types.CREATED,
                 str(st))
        c.call("Start", {"id": "c1"})
        st = c.call("State", {"id": "c1"})
        ck.check("c1 RUNNING", st.status == pb.task_types.RUNNING, str(st))

        # Fill the parked pool with Waits on one connection.
        waiters = ttrpc.Client(addr, 60, namespace=ns)
        _, early, state = park_waits(waiters, "c1", parked)
        ck.check("%d Waits park" % parked, not early and state[0] == 0,
                 "early replies %s, State %s" % (early, state))
        # Answered at once, or not at all: a short client timeout.
        other = ttrpc.Client(addr, 10, namespace=ns)
        resp = other.call_raw(TASK, "Wait", pb.shim.WaitRequest(id="c1"))
        code, msg = status_of(resp)
        ck.check("Wait %d: RESOURCE_EXHAUSTED naming NANOSHIM_PARKED" % (
            parked + 1), code == 8 and "NANOSHIM_PARKED" in msg,
            "code %d %r" % (code, msg))
        st = other.call("State", {"id": "c1"})
        ck.check("State still served with the pool full",
                 st.status == pb.task_types.RUNNING, str(st))
        ck.check("Connect still served with the pool full",
                 try_connect(other, "c1")[0] == 0)
        # Closing the connection cancels its Waits and frees the slots.
        waiters.close()

        def all_park():
            w = parked_client(addr, ns, "c1", parked)
            if w:
                w.close()
            return w is not None
        ck.check("after the waiters' connection closed, %d Waits park "
                 "again" % parked, eventually(5, all_park))

        w = eventually(5, lambda: parked_client(addr, ns, "c1", 1))
        ck.check("one Wait parked for the kill", w is not None)
        c.call("Kill", {"id": "c1", "signal": 9})
        if w is not None:
            resp = w.finish(w.wait_sids[0])
            code, msg = status_of(resp)
            wr = pb.shim.WaitResponse.FromString(resp.payload)
            ck.check("Wait returns 137 after Kill", code == 0 and
                     wr.exit_status == 137, "code %d %s status %d" % (
                         code, msg, wr.exit_status))
            w.close()
        d = c.call("Delete", {"id": "c1"})
        ck.check("Delete c1 -> 137", d.exit_status == 137, str(d))
        other.close()

        # The container slot is free again.
        r = c.call("Create", {"id": "c2", "bundle": b2})
        ck.check("Create c2 after c1 was deleted", r.pid > 0, str(r))
        d = c.call("Delete", {"id": "c2"})
        ck.check("Delete created c2", True, str(d))
    except (ttrpc.StatusError, OSError, EOFError, ValueError,
            socket.timeout) as e:
        ck.check("pools", False, "exception %r" % e)
    finally:
        c.close()
    return 1 if ck.failed else 0


def main(argv):
    if len(argv) == 4 and argv[0] == "conns":
        return conns(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) == 6 and argv[0] == "pools":
        return pools(argv[1], argv[2], argv[3], argv[4], int(argv[5]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
