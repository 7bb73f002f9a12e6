#!/usr/bin/python3
"""wire_frames.py - raw ttrpc frames against a live shim (t_wire_frames.sh).

Owns: the frame-level checks of spec 2.1-2.3 (how a server cuts, refuses
and answers frames), each printed as an "ok WHAT" / "FAIL WHAT: DETAIL"
line that the shell test turns into an assertion.  Does not own: the
shim's lifecycle (the shell test starts and stops it).

usage:
  wire_frames.py battery ADDR DAEMON_PID [--nanoshim]
      frames split into single bytes, two requests in one write, a frame
      of 4 MiB + 1 (refused, connection kept), one of exactly 4 MiB
      (served), a garbage Request envelope, an even stream id, a data
      frame, connections closed in the middle of a frame (small and
      large), 50 connections at once.  --nanoshim adds: the daemon's RSS
      returns to its baseline after the 4 MiB frame, VmData unchanged.
  wire_frames.py bigexec ADDR NS CONTAINER_ID DAEMON_PID [--nanoshim]
      Exec with a process spec padded to make the frame exactly 4 MiB,
      running `sh -c 'exit 7'`; Wait, Start, Delete see exit status 7.
      --nanoshim adds the RSS/VmData check around it.
  wire_frames.py pipeline ADDR DAEMON_PID [N]
      N (default 3000) Connect requests written back to back on one
      connection before any reply is read: all N answered.
  wire_frames.py stall ADDR DAEMON_PID
      one connection sends half of a 1 MiB frame and stops; a complete
      1 MiB frame on another connection is still answered within 6 s.
  (pipeline and stall once reproduced two nanoshim bugs, a crash and a
  head-of-line block; both fixed, both run by t_wire_frames.sh.)
Exit status: 0 when every check passed, 1 otherwise.
"""

import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from shimrpc import varint  # noqa: E402
from wire_util import Checks, status_kb, ttrpc  # noqa: E402

TASK = ttrpc.TASK_SERVICE
MAX = ttrpc.MAX_FRAME
SPEC_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
# RSS may end a few pages above its baseline: stack and scratch pages
# touched for the first time by this frame's path.
RSS_SLACK_KB = 32
# The sanitizer build (make integration-san): ASan's shadow of the 4 MiB
# buffer (1/8 of it) stays resident after the buffer's pages go back.
if os.environ.get("SAN_LOG_DIR"):
    RSS_SLACK_KB += 640

pb = ttrpc.load()


def frame(sid, data, mtype=ttrpc.MSG_REQUEST, length=None):
    if length is None:
        length = len(data)
    return ttrpc.HEADER.pack(length, sid, mtype, 0) + data


def connect_req(cid="b1"):
    return ttrpc.encode_request(TASK, "Connect",
                                pb.shim.ConnectRequest(id=cid))


def padded_connect(total, cid="b1"):
    """A Connect Request envelope of exactly `total` bytes: the
    ConnectRequest carries an unknown field 15 (bytes) as padding."""
    base = pb.shim.ConnectRequest(id=cid).SerializeToString()
    pad = total
    while True:
        payload = base + varint(15 << 3 | 2) + varint(pad) + b"p" * pad
        env = ttrpc.encode_request(TASK, "Connect", payload)
        if len(env) == total:
            return env
        pad -= len(env) - total
        if pad < 0:
            raise ValueError("cannot pad to %d" % total)


def conn(addr, timeout=20.0):
    return ttrpc.connect(addr, timeout)


def read_reply(s):
    """(stream id, message type, Response) of the next frame."""
    _, sid, mtype, _, data = ttrpc.read_frame(s)
    return sid, mtype, ttrpc.decode_response(data)


def status_of(resp):
    if resp.HasField("status") and resp.status.code:
        return resp.status.code, resp.status.message
    return 0, ""


def connect_ok(ck, what, s, sid, pid):
    """Send Connect on stream sid of s; check the reply."""
    try:
        s.sendall(frame(sid, connect_req()))
        rsid, mtype, resp = read_reply(s)
    except (OSError, EOFError, ValueError) as e:
        return ck.check(what, False, repr(e))
    return check_connect_reply(ck, what, sid, rsid, mtype, resp, pid)


def check_connect_reply(ck, what, sid, rsid, mtype, resp, pid):
    code, msg = status_of(resp)
    if rsid != sid or mtype != ttrpc.MSG_RESPONSE or code:
        return ck.check(what, False, "stream %d type %d code %d %s" % (
            rsid, mtype, code, msg))
    r = pb.shim.ConnectResponse.FromString(resp.payload)
    return ck.check(what, r.shim_pid == pid, "shim_pid %d, want %d" % (
        r.shim_pid, pid))


def quiet_for(s, seconds):
    """True if nothing arrives on s for that long (and it stays open)."""
    s.settimeout(seconds)
    try:
        s.recv(1)           # data, or b"" when the shim closed it
    except socket.timeout:
        return True
    finally:
        s.settimeout(20.0)
    return False


def mem(pid):
    return status_kb(pid, "VmRSS"), status_kb(pid, "VmData")


def settle(pid, rss0, seconds=3.0):
    """RSS once it is back within the slack of rss0, or after seconds."""
    deadline = time.monotonic() + seconds
    while True:
        rss = status_kb(pid, "VmRSS")
        if rss - rss0 <= RSS_SLACK_KB or time.monotonic() > deadline:
            return rss
        time.sleep(0.05)


# ---- the battery ----

def split_bytes(ck, addr, pid):
    with conn(addr) as s:
        data = frame(1, connect_req())
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(0.002)
        rsid, mtype, resp = read_reply(s)
        check_connect_reply(ck, "request sent one byte at a time (%d "
                            "writes): one reply" % len(data), 1, rsid,
                            mtype, resp, pid)
        ck.check("no second reply to a split request", quiet_for(s, 0.3))
        connect_ok(ck, "split: connection still serves", s, 3, pid)


def two_in_one_write(ck, addr, pid):
    with conn(addr) as s:
        s.sendall(frame(1, connect_req()) + frame(3, ttrpc.encode_request(
            TASK, "State", pb.shim.StateRequest(id="nope"))))
        got = {}
        for _ in range(2):
            rsid, mtype, resp = read_reply(s)
            got[rsid] = (mtype, resp)
        ck.check("two requests in one write: both streams answered",
                 sorted(got) == [1, 3], "streams %s" % sorted(got))
        if 1 in got:
            check_connect_reply(ck, "two in one write: Connect", 1, 1,
                                got[1][0], got[1][1], pid)
        if 3 in got:
            code, msg = status_of(got[3][1])
            ck.check("two in one write: State nope -> 5", code == 5,
                     "code %d %s" % (code, msg))


def oversize(ck, addr, pid):
    n = MAX + 1
    with conn(addr) as s:
        err = []

        def send():
            try:
                s.sendall(frame(7, b"\0" * n, length=n))
            except OSError as e:
                err.append(e)

        t = threading.Thread(target=send)
        t.start()
        try:
            rsid, mtype, resp = read_reply(s)
            code, msg = status_of(resp)
        except (OSError, EOFError, ValueError) as e:
            rsid, mtype, code, msg = -1, -1, -1, repr(e)
        t.join(30)
        ck.check("frame of 4 MiB + 1: answered on its stream", rsid == 7 and
                 mtype == ttrpc.MSG_RESPONSE, "stream %d type %d" % (
                     rsid, mtype))
        ck.check("frame of 4 MiB + 1: RESOURCE_EXHAUSTED", code == 8 and
                 msg == "message length 4194305 exceed maximum message "
                 "size of 4194304", "code %d %r" % (code, msg))
        ck.check("frame of 4 MiB + 1: its data was taken", not err and
                 not t.is_alive(), repr(err))
        connect_ok(ck, "after 4 MiB + 1: Connect on the same connection",
                   s, 9, pid)


def exact_max(ck, addr, pid, nanoshim):
    env = padded_connect(MAX)
    ck.check("padded Connect is exactly 4 MiB", len(env) == MAX, len(env))
    with conn(addr) as s:      # warm the connection path first
        connect_ok(ck, "warm-up Connect", s, 1, pid)
    time.sleep(0.2)
    rss0, data0 = mem(pid)
    with conn(addr) as s:
        if nanoshim:
            # All but the last byte: the shim holds ~4 MiB meanwhile,
            # which proves the RSS check below measures something.
            s.sendall(frame(1, env)[:-1])
            deadline = time.monotonic() + 10
            peak = rss0
            while time.monotonic() < deadline and peak < rss0 + 3 * 1024:
                time.sleep(0.02)
                peak = max(peak, status_kb(pid, "VmRSS"))
            ck.check("RSS grows while a 4 MiB frame is read", peak >=
                     rss0 + 3 * 1024, "baseline %d kB, peak %d kB" % (
                         rss0, peak))
            s.sendall(frame(1, env)[-1:])
        else:
            s.sendall(frame(1, env))
        rsid, mtype, resp = read_reply(s)
        check_connect_reply(ck, "frame of exactly 4 MiB is served", 1, rsid,
                            mtype, resp, pid)
        connect_ok(ck, "after 4 MiB: Connect on the same connection", s, 3,
                   pid)
    if not nanoshim:
        return
    rss1 = settle(pid, rss0)
    data1 = status_kb(pid, "VmData")
    ck.info("RSS %d kB before, %d kB after a 4 MiB frame; VmData %d -> %d kB"
            % (rss0, rss1, data0, data1))
    ck.check("RSS back near its baseline after the 4 MiB frame",
             rss1 - rss0 <= RSS_SLACK_KB, "%d kB -> %d kB" % (rss0, rss1))
    ck.check("VmData unchanged by the 4 MiB frame", data1 == data0,
             "%d kB -> %d kB" % (data0, data1))
    # Twice more: nothing accumulates.
    for i in range(2):
        with conn(addr) as s:
            s.sendall(frame(1, env))
            rsid, mtype, resp = read_reply(s)
            check_connect_reply(ck, "4 MiB frame again (%d)" % (i + 2), 1,
                                rsid, mtype, resp, pid)
    rss2 = settle(pid, rss0)
    ck.check("RSS back near its baseline after three 4 MiB frames",
             rss2 - rss0 <= RSS_SLACK_KB, "%d kB -> %d kB" % (rss0, rss2))
    ck.check("VmData unchanged after three 4 MiB frames",
             status_kb(pid, "VmData") == data0, "%d kB -> %d kB" % (
                 data0, status_kb(pid, "VmData")))


def garbage(ck, addr, pid):
    with conn(addr) as s:
        for i, bad in enumerate((b"\x0a\x10ab",          # truncated string
                                 b"\x0f\x01\x02",         # wire type 7
                                 b"\x1a\xff\xff\xff\xff\xff\xff\xff\xff"
                                 b"\xff\xff\x01")):       # varint overflow
            sid = 1 + 2 * i
            s.sendall(frame(sid, bad))
            rsid, mtype, resp = read_reply(s)
            code, msg = status_of(resp)
            ck.check("garbage envelope %s -> 3 on stream %d" % (
                bad[:4].hex(), sid), rsid == sid and code == 3 and
                msg.startswith("unmarshal request error"),
                "stream %d code %d %r" % (rsid, code, msg))
        connect_ok(ck, "after garbage: Connect on the same connection", s, 7,
                   pid)


def even_stream(ck, addr, pid):
    with conn(addr) as s:
        s.sendall(frame(2, connect_req()))
        rsid, mtype, resp = read_reply(s)
        code, msg = status_of(resp)
        ck.check("even stream id -> 3 on that stream", rsid == 2 and
                 code == 3 and msg == "StreamID must be odd for client "
                 "initiated streams", "stream %d code %d %r" % (
                     rsid, code, msg))
        connect_ok(ck, "after an even id: Connect on the same connection",
                   s, 3, pid)


def data_frame(ck, addr, pid):
    with conn(addr) as s:
        s.sendall(frame(1, b"xyz", mtype=ttrpc.MSG_DATA))
        ck.check("a data frame (type 3) gets no reply", quiet_for(s, 0.3))
        connect_ok(ck, "after a data frame: Connect", s, 3, pid)


def closed_mid_frame(ck, addr, pid):
    big = padded_connect(1 << 20)
    with conn(addr) as a:
        connect_ok(ck, "bystander connection", a, 1, pid)
        # A small frame cut after its header and half its body.
        b = conn(addr)
        f = frame(1, connect_req())
        b.sendall(f[:10 + (len(f) - 10) // 2])
        b.close()
        # Only half a header.
        b = conn(addr)
        b.sendall(f[:5])
        b.close()
        # A large frame cut in the middle, while another large frame
        # waits behind it (nanoshim reads large frames into one shared
        # buffer, one at a time).
        c = conn(addr)
        c.sendall(frame(1, big)[:len(big) // 2])
        time.sleep(0.2)
        e = conn(addr)
        sender = threading.Thread(target=lambda: e.sendall(frame(1, big)))
        sender.start()
        time.sleep(0.2)
        c.close()
        try:
            rsid, mtype, resp = read_reply(e)
            check_connect_reply(ck, "large frame behind a large frame cut "
                                "by close is served", 1, rsid, mtype, resp,
                                pid)
        except (OSError, EOFError, ValueError) as ex:
            ck.check("large frame behind a large frame cut by close is "
                     "served", False, repr(ex))
        sender.join(30)
        e.close()
        connect_ok(ck, "bystander unaffected by closed half frames", a, 3,
                   pid)
    with conn(addr) as s:
        connect_ok(ck, "new connection after closed half frames", s, 1, pid)


def many(ck, addr, pid, n=50):
    socks = []
    try:
        for _ in range(n):
            socks.append(conn(addr))
        for s in socks:
            s.sendall(frame(1, connect_req()))
        ok = 0
        bad = []
        for i, s in enumerate(socks):
            try:
                rsid, mtype, resp = read_reply(s)
                code, msg = status_of(resp)
                if rsid == 1 and not code and pb.shim.ConnectResponse. \
                        FromString(resp.payload).shim_pid == pid:
                    ok += 1
                else:
                    bad.append("%d: code %d %s" % (i, code, msg))
            except (OSError, EOFError, ValueError) as e:
                bad.append("%d: %r" % (i, e))
        ck.check("%d connections at once all answered" % n, ok == n,
                 "%d ok; %s" % (ok, "; ".join(bad[:5])))
    finally:
        for s in socks:
            s.close()


def battery(addr, pid, nanoshim):
    ck = Checks()
    for step in (split_bytes, two_in_one_write, oversize, garbage,
                 even_stream, data_frame, closed_mid_frame, many):
        try:
            step(ck, addr, pid)
        except (OSError, EOFError, ValueError) as e:
            ck.check(step.__name__, False, "exception %r" % e)
    try:
        exact_max(ck, addr, pid, nanoshim)
    except (OSError, EOFError, ValueError) as e:
        ck.check("exact_max", False, "exception %r" % e)
    return 1 if ck.failed else 0


# ---- a 4 MiB Exec ----

def padded_exec(cid, eid, total):
    """ExecProcessRequest whose Request envelope is exactly total bytes;
    the process spec carries an unknown key as padding."""
    spec = {"args": ["sh", "-c", "exit 7"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}, "terminal": False, "xPad": ""}
    pad = total - 1024
    while True:
        spec["xPad"] = "p" * pad
        req = pb.shim.ExecProcessRequest(id=cid, exec_id=eid)
        req.spec.type_url = SPEC_URL
        req.spec.value = json.dumps(spec, separators=(",", ":")).encode()
        env = ttrpc.encode_request(TASK, "Exec", req)
        if len(env) == total:
            return req
        pad -= len(env) - total


def bigexec(addr, ns, cid, pid, nanoshim):
    ck = Checks()
    eid = "big4m"
    req = padded_exec(cid, eid, MAX)
    c = ttrpc.Client(addr, 60, namespace=ns)
    try:
        c.call("Connect", {"id": cid})
        # A small exec first, so the baseline has the exec path warm.
        small = pb.shim.ExecProcessRequest(id=cid, exec_id="warm")
        small.spec.type_url = SPEC_URL
        small.spec.value = b'{"args":["true"],"cwd":"/","env":["PATH=/bin"]}'
        c.call("Exec", small)
        w = c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid, exec_id="warm"))
        c.call("Start", {"id": cid, "exec_id": "warm"})
        c.finish(w)
        d = c.call("Delete", {"id": cid, "exec_id": "warm"})
        ck.check("warm-up exec exits 0", d.exit_status == 0, str(d))
        time.sleep(0.2)
        rss0, data0 = mem(pid)
        # The envelope with the namespace metadata is a little larger
        # than MAX: send it bare, like containerd 1.6.
        c.metadata = []
        n = len(ttrpc.encode_request(TASK, "Exec", req))
        ck.check("Exec envelope is exactly 4 MiB", n == MAX, n)
        c.call("Exec", req)
        ck.check("Exec with a 4 MiB frame accepted", True)
        c.metadata = [(ttrpc.NAMESPACE_KEY, ns)]
        w = c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid, exec_id=eid))
        c.call("Start", {"id": cid, "exec_id": eid})
        resp = c.finish(w)
        code, msg = status_of(resp)
        wr = pb.shim.WaitResponse.FromString(resp.payload)
        ck.check("4 MiB exec: Wait -> 7", not code and wr.exit_status == 7,
                 "code %d %s status %d" % (code, msg, wr.exit_status))
        d = c.call("Delete", {"id": cid, "exec_id": eid})
        ck.check("4 MiB exec: Delete -> 7", d.exit_status == 7, str(d))
    except (ttrpc.StatusError, OSError, EOFError, ValueError) as e:
        ck.check("4 MiB exec", False, repr(e))
    finally:
        c.close()
    if nanoshim:
        rss1 = settle(pid, rss0)
        data1 = status_kb(pid, "VmData")
        ck.info("container shim RSS %d kB before, %d kB after a 4 MiB Exec; "
                "VmData %d -> %d kB" % (rss0, rss1, data0, data1))
        ck.check("container shim RSS back near its baseline after a 4 MiB "
                 "Exec", rss1 - rss0 <= RSS_SLACK_KB, "%d kB -> %d kB" % (
                     rss0, rss1))
        ck.check("container shim VmData unchanged by a 4 MiB Exec",
                 data1 == data0, "%d kB -> %d kB" % (data0, data1))
    return 1 if ck.failed else 0


def pipeline(addr, pid, n=3000):
    """Many requests in one write.  nanoshim 0.1.0: from ~500 requests
    read in one go, the per-iteration scratch arena (256 KiB) runs out;
    its "scratch arena exhausted" error then recurses through log_emit ->
    scratch_alloc until the stack overflows (SIGSEGV)."""
    ck = Checks()
    with conn(addr) as s:
        data = b"".join(frame(1 + 2 * i, connect_req()) for i in range(n))
        t = threading.Thread(target=lambda: s.sendall(data))
        t.start()
        time.sleep(0.5)     # let it pile up in the socket
        seen = []
        try:
            for _ in range(n):
                seen.append(read_reply(s)[0])
        except (OSError, EOFError, ValueError) as e:
            ck.info("after %d replies: %r" % (len(seen), e))
        t.join(10)
    ck.check("%d pipelined requests all answered" % n,
             sorted(seen) == list(range(1, 2 * n, 2)), "%d replies" % len(
                 seen))
    ck.check("daemon alive after %d pipelined requests" % n,
             status_kb(pid, "VmRSS") > 0)
    return 1 if ck.failed else 0


def stall(addr, pid):
    """A stalled large frame.  nanoshim reads every frame above 16 KiB into
    one shared buffer; a client that stops in the middle of a large frame
    loses it after a second without progress while another connection
    waits, so other large requests are still served in seconds."""
    ck = Checks()
    big = padded_connect(1 << 20)
    f = conn(addr)
    f.sendall(frame(1, big)[:len(big) // 2])
    time.sleep(0.2)
    g = conn(addr)
    sender = threading.Thread(target=lambda: g.sendall(frame(1, big)))
    sender.start()
    g.settimeout(6)
    try:
        rsid, mtype, resp = read_reply(g)
        check_connect_reply(ck, "large frame served while another "
                            "connection stalls in a large frame", 1, rsid,
                            mtype, resp, pid)
    except (OSError, EOFError, ValueError) as e:
        ck.check("large frame served while another connection stalls in a "
                 "large frame", False, "no reply in 6 s: %r" % e)
    f.close()
    sender.join(10)
    g.close()
    return 1 if ck.failed else 0


def main(argv):
    nano = "--nanoshim" in argv
    argv = [a for a in argv if a != "--nanoshim"]
    if len(argv) == 3 and argv[0] == "battery":
        return battery(argv[1], int(argv[2]), nano)
    if len(argv) == 5 and argv[0] == "bigexec":
        return bigexec(argv[1], argv[2], argv[3], int(argv[4]), nano)
    if len(argv) in (3, 4) and argv[0] == "pipeline":
        return pipeline(argv[1], int(argv[2]),
                        int(argv[3]) if len(argv) == 4 else 3000)
    if len(argv) == 3 and argv[0] == "stall":
        return stall(argv[1], int(argv[2]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
