#!/usr/bin/python3
"""wire_util.py - small ttrpc helpers for the wire-level integration tests.

Owns: what t_binary_contract.sh, t_wire_frames.sh, t_limits.sh and
t_exec_cycles.sh need from Python that tools/ttrpc.py's CLI does not give:
a fake events server that runs until killed, raw calls to any
service/method, decoding the `delete` action's DeleteResponse, and the
shared helpers of the other wire_*.py scripts (check lines, /proc reads).
Does not own: ttrpc framing or the schema (tools/ttrpc.py).

Run with /usr/bin/python3 (python3-protobuf), not a pyenv python.

usage:
  wire_util.py events PATH
        serve a fake containerd events service on PATH (unix socket),
        print "ready" once listening, run until SIGTERM; removes PATH
  wire_util.py raw ADDR SERVICE METHOD [PAYLOAD_HEX]
        one request; prints "code=N message=TEXT" for an error status,
        else "ok PAYLOAD_HEX"
  wire_util.py connect ADDR ID
        Connect; prints "SHIM_PID TASK_PID"
  wire_util.py decode-delete FILE
        FILE holds a raw DeleteResponse; prints
        "pid=N exit_status=N exited_at=SECONDS" (exits 1 if it does not
        decode)
Exit status 0 unless noted; 4 on a transport error.
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import ttrpc  # noqa: E402


class Checks:
    """Check lines for a shell test: "ok WHAT" / "FAIL WHAT: DETAIL".

    The test turns each line into an assertion, so every check counts
    and the first failure does not hide the rest.
    """

    def __init__(self):
        self.failed = 0

    def check(self, what, cond, detail=""):
        if cond:
            print("ok %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (what, detail), flush=True)
        return cond

    def info(self, text):
        print("info %s" % text, flush=True)


def status_kb(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmData), or -1."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def raw_call(addr, service, method, payload=b"", timeout=10.0):
    """(code, message, payload) of one unary call on a new connection."""
    with ttrpc.Client(addr, timeout) as c:
        r = c.call_raw(service, method, payload)
    if r.HasField("status") and r.status.code:
        return r.status.code, r.status.message, b""
    return 0, "", r.payload


def serve_events(path):
    fake = ttrpc.FakeEvents(path)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        fake.close()
    return 0


def decode_delete(path):
    pb = ttrpc.load()
    with open(path, "rb") as f:
        data = f.read()
    try:
        d = pb.shim.DeleteResponse.FromString(data)
    except Exception as e:  # noqa: BLE001 - any decode error is the answer
        print("does not decode: %s (%d bytes)" % (e, len(data)))
        return 1
    print("pid=%d exit_status=%d exited_at=%d" % (
        d.pid, d.exit_status, d.exited_at.seconds))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "events":
        return serve_events(argv[1])
    if len(argv) in (4, 5) and argv[0] == "raw":
        payload = bytes.fromhex(argv[4]) if len(argv) == 5 else b""
        try:
            code, msg, out = raw_call(argv[1], argv[2], argv[3], payload)
        except (OSError, EOFError) as e:
            sys.stderr.write("wire_util: %s\n" % e)
            return 4
        if code:
            print("code=%d message=%s" % (code, msg))
        else:
            print("ok %s" % out.hex())
        return 0
    if len(argv) == 3 and argv[0] == "connect":
        pb = ttrpc.load()
        try:
            code, msg, out = raw_call(argv[1], ttrpc.TASK_SERVICE, "Connect",
                                      pb.shim.ConnectRequest(id=argv[2]))
        except (OSError, EOFError) as e:
            sys.stderr.write("wire_util: %s\n" % e)
            return 4
        if code:
            print("code=%d message=%s" % (code, msg))
            return 3
        r = pb.shim.ConnectResponse.FromString(out)
        print("%d %d" % (r.shim_pid, r.task_pid))
        return 0
    if len(argv) == 2 and argv[0] == "decode-delete":
        return decode_delete(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
