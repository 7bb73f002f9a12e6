#!/usr/bin/python3
"""vg_drive.py: one shim under valgrind memcheck, through a short
lifecycle and exec, for t_valgrind.sh.

usage: vg_drive.py --shim PATH --dir DIR --ns NS --address ADDR
                   --rootfs DIR --runc-root DIR

No containerd: `start` runs in a bundle made here (config.json from `runc
spec` on the suite's busybox rootfs, a drained `log` FIFO, a fake events
server at TTRPC_ADDRESS), under `valgrind --tool=memcheck
--trace-children=yes` so the daemon it spawns runs under valgrind too
(runc and the container's processes are skipped).  Then, over ttrpc:
Connect, Create (runc options: the private runc root), Wait, Start, State,
Pids, Stats, Exec + Start + Wait + Delete of an exec that prints and
exits 3, CloseIO, Kill, Wait, Delete, Shutdown.  Each valgrind writes
DIR/vg.<pid>.log.

Prints "ok <step>" or "FAIL <step>: why" lines (wire_lib.sh run_checks
turns them into assertions); exits 0 when the scenario ran.  Everything
it started is stopped by pid and runc delete --force in the private root.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                "tools"))
import ttrpc  # noqa: E402

ID = "vg1"


def check(ok, what, why=""):
    print(("ok %s" % what) if ok else ("FAIL %s: %s" % (what, why)),
          flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    for a in ("--shim", "--dir", "--ns", "--address", "--rootfs",
              "--runc-root"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    b = os.path.join(d, "bundle", ID)
    os.makedirs(os.path.join(d, "work", ID))
    os.makedirs(b)
    os.symlink(os.path.join(d, "work", ID), os.path.join(b, "work"))
    subprocess.run(["runc", "spec"], cwd=b, check=True)
    with open(os.path.join(b, "config.json")) as f:
        spec = json.load(f)
    spec["root"] = {"path": a.rootfs, "readonly": True}
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/sleep", "1000"]
    spec["process"]["env"] = ["PATH=/bin"]
    spec["linux"]["cgroupsPath"] = "/%s/%s" % (a.ns, ID)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    os.mkfifo(os.path.join(b, "log"), 0o700)
    logfd = os.open(os.path.join(b, "log"), os.O_RDWR | os.O_CLOEXEC)
    out = open(os.path.join(d, "shim.log"), "ab")

    def drain():
        while True:
            try:
                data = os.read(logfd, 65536)
            except OSError:
                return
            if not data:
                return
            out.write(data)
            out.flush()
    threading.Thread(target=drain, daemon=True).start()
    fake = ttrpc.FakeEvents(os.path.join(d, "ev.sock"))
    env = dict(os.environ, TTRPC_ADDRESS=fake.path)
    env.pop("NOTIFY_SOCKET", None)
    vg = ["valgrind", "--tool=memcheck", "--trace-children=yes",
          "--child-silent-after-fork=yes",
          "--trace-children-skip=*runc*,*busybox*,*/sleep,*/sh",
          "--track-fds=yes", "--error-exitcode=99",
          "--log-file=" + os.path.join(d, "vg.%p.log")]
    p = subprocess.run(vg + [a.shim, "-namespace", a.ns, "-address",
                             a.address, "-id", ID, "start"],
                       cwd=b, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    addr = p.stdout.decode(errors="replace").strip()
    if not check(p.returncode == 0 and addr.startswith("unix://"),
                 "start under valgrind", "rc %d: %r" % (p.returncode, addr)):
        return 1
    shim_pid = 0
    pb = ttrpc.load()
    try:
        c = ttrpc.Client(addr, 60, namespace=a.ns)
        shim_pid = c.call("Connect", {"id": ID}).shim_pid
        print("shim pid %d" % shim_pid, flush=True)
        opts = {"@type": "containerd.runc.v1.Options",
                "root": a.runc_root}
        r = c.call("Create", {"id": ID, "bundle": b, "options": opts})
        check(r.pid > 0, "Create", r)
        w = c.start(ttrpc.TASK_SERVICE, "Wait", pb.shim.WaitRequest(id=ID))
        r = c.call("Start", {"id": ID})
        check(r.pid > 0, "Start")
        r = c.call("State", {"id": ID})
        check(r.status == 2, "State RUNNING", r.status)
        r = c.call("Pids", {"id": ID})
        check(len(r.processes) >= 1, "Pids")
        r = c.call("Stats", {"id": ID})
        check(r.stats.type_url.endswith("Metrics"), "Stats")
        ex = os.path.join(d, "exec.out")
        os.mkfifo(ex)
        rd = os.open(ex, os.O_RDONLY | os.O_NONBLOCK)
        proc = {"args": ["sh", "-c", "echo from-exec; exit 3"],
                "env": ["PATH=/bin"], "cwd": "/",
                "user": {"uid": 0, "gid": 0}}
        c.call("Exec", {"id": ID, "exec_id": "e1", "stdout": ex,
                        "stderr": ex, "spec": {
                            "type_url": "types.containerd.io/opencontainers/"
                                        "runtime-spec/1/Process",
                            "json": proc}})
        we = c.start(ttrpc.TASK_SERVICE, "Wait",
                     pb.shim.WaitRequest(id=ID, exec_id="e1"))
        c.call("Start", {"id": ID, "exec_id": "e1"})
        wr = pb.shim.WaitResponse.FromString(c.finish(we).payload)
        check(wr.exit_status == 3, "exec exit status", wr.exit_status)
        data = b""
        deadline = time.time() + 10
        while b"from-exec" not in data and time.time() < deadline:
            try:
                data += os.read(rd, 4096)
            except BlockingIOError:
                time.sleep(0.05)
        os.close(rd)
        check(b"from-exec" in data, "exec output", data)
        c.call("Delete", {"id": ID, "exec_id": "e1"})
        c.call("CloseIO", {"id": ID, "stdin": True})
        c.call("Kill", {"id": ID, "signal": 9})
        wr = pb.shim.WaitResponse.FromString(c.finish(w).payload)
        check(wr.exit_status == 137, "init exit status", wr.exit_status)
        r = c.call("Delete", {"id": ID})
        check(r.exit_status == 137, "Delete")
        try:
            c.call("Shutdown", {"id": ID})
        except (ttrpc.TransportError, EOFError, OSError):
            pass
        c.close()
    except Exception as e:  # noqa: BLE001 (report, then clean up)
        check(False, "scenario", repr(e))
    # valgrind's checks run as the daemon exits: give it time.
    gone = False
    deadline = time.time() + 60
    while shim_pid and time.time() < deadline:
        try:
            os.kill(shim_pid, 0)
        except ProcessLookupError:
            gone = True
            break
        time.sleep(0.2)
    check(gone, "the daemon exited after Shutdown")
    if shim_pid and not gone:
        try:
            os.kill(shim_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["runc", "--root", a.runc_root, "delete", "--force", ID],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = addr[len("unix://"):] if addr.startswith("unix://") else ""
    if sock and os.path.exists(sock):
        os.unlink(sock)
    fake.close()
    os.close(logfd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
