#!/usr/bin/python3
"""wire_group.py - a pod's shim under a containerd-like workload (t_group_stress.sh).

Owns: driving one grouped shim the way containerd's CRI does for a pod,
straight over ttrpc: a sandbox container that lives through every round,
and per round N containers of the same group, each started with the
binary's `start` (which finds the group's socket) and served on a
connection of its own.  In each round every container is stopped at once
the way StopContainer and the exit handler do it: Wait is parked, Kill is
sent (SIGTERM, SIGKILL or kill --all, in turn), and as soon as Wait
returns the container is deleted, Shutdown is sent and the connection is
closed, as containerd closes a task's connection after its Delete.  A
runc wrapper (the runc option BinaryName) makes every `runc kill` linger
after signalling, as runc does on a loaded node, so the exit always comes
while the Kill is still in flight.

Checks, per container and round: every request gets its reply (none
lost, none an error), the Kill is answered before the Delete (once
Delete's reply is in, containerd closes the connection: a Kill still
pending then fails with "ttrpc: closed"), Wait and Delete report the
status the signal gives, exactly one TaskExit per container; per round,
the sandbox is still RUNNING and the shim still serving on its own
connection; at the end, with NANOSHIM set, the shim's VmData after the
rounds equals what it was after the first one (no heap), one thread.
Does not own: the suite's containerd, rootfs or leftover checks (the shell
test).

usage: wire_group.py SHIM ROOTFS NS WORKDIR ROUNDS NCTR KILL_DELAY_S
Prints "ok ..." / "FAIL ...: ..." check lines (one per check kind per
round, so hundreds of rounds stay readable) and "info ..." lines.
Exit 0 when every check passed.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wire_util import Checks, status_kb, ttrpc  # noqa: E402

TASK = ttrpc.TASK_SERVICE
pb = ttrpc.load()
GROUP = "pod"
OPTS_URL = "containerd.runc.v1.Options"
# sh as the container's init: pid 1 of its namespace ignores SIGTERM
# without a handler, so the trap is what makes SIGTERM end it (exit 0).
PROG = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]


def slow_kill(delay):
    """A loaded runc: kill returns late, after the signal went out."""
    return ("'%s' \"$@\"; rc=$?\n"
            "case \" $* \" in *\" kill \"*) sleep %s ;; esac\n"
            "exit $rc\n" % (shutil.which("runc"), delay))


class Pod:
    """A shim group driven the way containerd drives it.  wrapper: the
    body of the shell script given to the shim as its runc (BinaryName)."""

    def __init__(self, shim, rootfs, ns, work, wrapper):
        self.shim, self.rootfs, self.ns, self.work = shim, rootfs, ns, work
        self.addr = None
        self.events = ttrpc.FakeEvents(os.path.join(work, "events.sock"))
        self.wrapper = os.path.join(work, "runc-wrapper")
        with open(self.wrapper, "w") as f:
            f.write("#!/bin/sh\n" + wrapper)
        os.chmod(self.wrapper, 0o755)
        subprocess.run(["runc", "spec"], cwd=work, check=True)
        with open(os.path.join(work, "config.json")) as f:
            self.spec = json.load(f)
        os.unlink(os.path.join(work, "config.json"))
        self.logfds = []

    def bundle(self, cid, prog=None, pidns=True):
        b = os.path.join(self.work, "b", cid)
        os.makedirs(b, exist_ok=True)
        spec = json.loads(json.dumps(self.spec))
        spec["root"] = {"path": self.rootfs, "readonly": True}
        spec["process"]["terminal"] = False
        spec["process"]["args"] = prog or PROG
        if not pidns:
            spec["linux"]["namespaces"] = [
                n for n in spec["linux"]["namespaces"] if n["type"] != "pid"]
        spec["process"]["env"] = ["PATH=/bin"]
        spec["annotations"] = {"io.containerd.runc.v2.group": GROUP}
        spec["linux"]["cgroupsPath"] = "/%s/%s" % (self.ns, cid)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(spec, f)
        log = os.path.join(b, "log")
        if not os.path.exists(log):
            os.mkfifo(log)
        return b

    def start(self, cid, bundle):
        """The binary's start, as containerd runs it; its address."""
        # A daemon logs to the FIFO of the bundle it started in, and the Go
        # shim blocks opening it until a reader is there: containerd reads
        # every bundle's log, and so do we.
        self.logfds.append(os.open(os.path.join(bundle, "log"),
                                   os.O_RDWR | os.O_NONBLOCK))
        if len(self.logfds) == 1:
            threading.Thread(target=self._drain, daemon=True).start()
        env = dict(os.environ, TTRPC_ADDRESS=self.events.path)
        p = subprocess.run([self.shim, "-namespace", self.ns, "-address",
                            os.path.join(self.work, "containerd.sock"),
                            "-publish-binary", "/bin/true", "-id", cid,
                            "-debug", "start"], cwd=bundle, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("start %s: %s" % (cid, p.stderr.decode()))
        return p.stdout.decode().strip()

    def _drain(self):
        with open(os.path.join(self.work, "shim.log"), "ab") as out:
            while True:
                for fd in select.select(list(self.logfds), [], [], 1)[0]:
                    try:
                        out.write(os.read(fd, 65536))
                    except OSError:
                        pass
                out.flush()

    def create(self, c, cid, bundle):
        opts = pb.oci.Options(binary_name=self.wrapper)
        req = pb.shim.CreateTaskRequest(id=cid, bundle=bundle)
        req.options.type_url = OPTS_URL
        req.options.value = opts.SerializeToString()
        pid = c.call("Create", req).pid
        c.call("Start", {"id": cid})
        return pid


def stop_one(pod, cid, how, results):
    """Create, start, then stop and delete one container as CRI does."""
    r = results[cid] = {"errors": [], "step": "start"}
    try:
        b = pod.bundle(cid)
        addr = pod.start(cid, b)
        r["addr"] = addr
        c = ttrpc.Client(addr, 20, namespace=pod.ns)
        try:
            r["step"] = "create"
            pod.create(c, cid, b)
            r["ready"] = True
            r["step"] = "barrier"
            pod.barrier.wait(60)
            w = c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid))
            if how == "all":
                k = c.start(TASK, "Kill", pb.shim.KillRequest(
                    id=cid, signal=signal.SIGKILL, all=True))
            else:
                k = c.start(TASK, "Kill", pb.shim.KillRequest(
                    id=cid, signal=how))
            r["step"] = "wait"
            wr = c.finish(w)
            if wr.HasField("status") and wr.status.code:
                r["errors"].append("Wait: %s" % wr.status.message)
                return
            r["wait"] = pb.shim.WaitResponse.FromString(wr.payload).exit_status
            d = c.start(TASK, "Delete", pb.shim.DeleteRequest(id=cid))
            r["step"] = "delete"
            dr = c.finish(d)
            r["kill_first"] = k in c.pending
            if dr.HasField("status") and dr.status.code:
                r["errors"].append("Delete: %s" % dr.status.message)
            else:
                r["delete"] = pb.shim.DeleteResponse.FromString(
                    dr.payload).exit_status
            r["step"] = "kill"
            kr = c.finish(k)
            if kr.HasField("status") and kr.status.code:
                r["errors"].append("Kill: code %d %s" % (
                    kr.status.code, kr.status.message))
            r["kill"] = True
            r["step"] = "shutdown"
            sr = c.call_raw(TASK, "Shutdown",
                            pb.shim.ShutdownRequest(id=cid))
            r["shutdown"] = not (sr.HasField("status") and sr.status.code)
        finally:
            c.close()
    except Exception as e:  # noqa: BLE001 - every failure is a check
        r["errors"].append("%s in %s: %r" % (type(e).__name__, r["step"], e))


def main():
    shim, rootfs, ns, work = sys.argv[1:5]
    rounds, nctr, delay = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
    ck = Checks()
    pod = Pod(shim, rootfs, ns, work, slow_kill(delay))
    hows = [signal.SIGTERM, signal.SIGKILL, "all"]
    want = {signal.SIGTERM: 0, signal.SIGKILL: 137, "all": 137}
    base = None
    sb = None
    shim_pid = 0
    try:
        b = pod.bundle("sandbox")
        pod.addr = pod.start("sandbox", b)
        sb = ttrpc.Client(pod.addr, 60, namespace=ns)
        pod.create(sb, "sandbox", b)
        shim_pid = sb.call("Connect", {"id": "sandbox"}).shim_pid
        ck.info("shim pid %d, %d rounds of %d containers, kill lingers %ss"
                % (shim_pid, rounds, nctr, delay))
        bad = {}
        t0 = time.monotonic()
        exits_before = 0
        for rnd in range(rounds):
            pod.barrier = threading.Barrier(nctr, timeout=60)
            results = {}
            threads = []
            for i in range(nctr):
                cid = "r%dc%d" % (rnd, i)
                how = hows[(rnd + i) % len(hows)]
                t = threading.Thread(target=stop_one,
                                     args=(pod, cid, how, results))
                t.start()
                threads.append((t, cid, how))
            for t, _, _ in threads:
                t.join(180)
            for t, cid, how in threads:
                r = results.get(cid, {"errors": ["thread did not finish"]})
                if t.is_alive():
                    r["errors"].append("stuck")
                exp = want[how]
                problems = list(r["errors"])
                if r.get("addr") not in (None, pod.addr):
                    problems.append("start gave %s, group is at %s" % (
                        r.get("addr"), pod.addr))
                if "wait" in r and r["wait"] != exp:
                    problems.append("Wait %d, want %d" % (r["wait"], exp))
                if "delete" in r and r["delete"] != exp:
                    problems.append("Delete %d, want %d" % (r["delete"], exp))
                if r.get("kill") and not r.get("kill_first"):
                    problems.append("Kill answered after Delete")
                if not r.get("kill") and not r["errors"]:
                    problems.append("Kill never answered")
                for p in problems:
                    key = p.split(":")[0]
                    bad.setdefault(key, []).append("%s (%s): %s" % (
                        cid, how, p))
            try:
                pod.events.wait_for("/tasks/exit",
                                    exits_before + nctr, timeout=30)
            except TimeoutError as e:
                bad.setdefault("TaskExit", []).append(str(e))
            exits_before += nctr
            st = sb.call("State", {"id": "sandbox"})
            if st.status != pb.task_types.RUNNING:
                bad.setdefault("sandbox", []).append(
                    "round %d: sandbox %s" % (rnd, st.status))
            if rnd == 0 and shim_pid:
                base = proc_status(shim_pid)
        took = time.monotonic() - t0
        ck.info("%d containers stopped in %.1fs (%.1f per second)" % (
            rounds * nctr, took, rounds * nctr / took if took else 0))
        for key in sorted(bad):
            ck.check("%s (%d cases)" % (key, len(bad[key])), False,
                     "; ".join(bad[key][:5]))
        ck.check("every Kill, Wait, Delete and Shutdown answered, Kill "
                 "before Delete, statuses right, over %d containers" % (
                     rounds * nctr), not bad)
        exits = [e for e in pod.events.events if e["topic"] == "/tasks/exit"]
        ids = [e["event"].container_id for e in exits]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        ck.check("one TaskExit per container", not dup and
                 len(ids) == rounds * nctr, "dups %s, %d exits" % (
                     dup[:5], len(ids)))
        if os.environ.get("NANOSHIM") == "1" and base:
            now = proc_status(shim_pid)
            ck.info("shim %d: after round 1 %s, at the end %s" % (
                shim_pid, base, now))
            ck.check("VmData unchanged after round 1",
                     base["VmData"] == now["VmData"], "%s -> %s" % (
                         base["VmData"], now["VmData"]))
            ck.check("one thread", now["Threads"] == 1, str(now["Threads"]))
        sb.call("Kill", {"id": "sandbox", "signal": 9})
        deadline = time.monotonic() + 30
        while sb.call("State", {"id": "sandbox"}).status != \
                pb.task_types.STOPPED and time.monotonic() < deadline:
            time.sleep(0.05)
        sb.call("Delete", {"id": "sandbox"})
        try:
            sb.call("Shutdown", {"id": "sandbox"})
        except (EOFError, OSError):
            pass
        ck.check("shim exits after the pod is gone",
                 wait_gone(shim_pid, 15), "pid %d" % shim_pid)
    finally:
        if sb:
            sb.close()
        pod.events.close()
    return 0 if ck.failed == 0 else 1


def proc_status(pid):
    return {f: status_kb(pid, f) for f in ("VmData", "VmRSS", "Threads")}


def wait_gone(pid, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


if __name__ == "__main__":
    sys.exit(main())
