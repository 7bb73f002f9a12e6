#!/usr/bin/python3
"""ckpt_drive.py: drive one shim binary through Checkpoint and restore
(Create with a checkpoint, then Start) over ttrpc, for t_checkpoint_args.sh.

usage: ckpt_drive.py --shim PATH --wrapper PATH --dir DIR --ns NS
                     --address ADDR --rootfs DIR --runc-root DIR [--all-fake]

No containerd is involved: the shim is started with `start` in a bundle
made here (config.json from `runc spec`, root = the suite's busybox rootfs,
cgroupsPath /NS/ID, a `work` symlink and a `log` FIFO drained by a thread,
as containerd would), TTRPC_ADDRESS points at a FakeEvents server of
tools/ttrpc.py, and every container gets the runc options binary_name =
the argv-logging wrapper (which appends to DIR/argv.log) and root =
--runc-root.  ADDR is only the -address flag (the socket name hash): pass
the suite's containerd address so the suite's shim probes and invariant
sampler see this shim.

The scenario: container ckrun is created and started, checkpointed once
per case (see `cases`), killed, waited for and deleted; ckres1 and ckres2
are created with a checkpoint (ckres1 with a parent checkpoint, ckres2 with
no_pivot_root, criu_path and criu_work_path), checkpointed before Start
(refused), started (the restore fails without an image) and deleted; then
Connect and Shutdown.

Writes DIR/transcript: one "key<TAB>value" line per observation, in
order; backslash, newline and tab in values written as \\\\, \\n, \\t.
  <step>.ok 1 | <step>.err "code=N message=..."   reply of each RPC
  <step>.<field>                                 listed reply fields
  <step>.argv      wrapper lines logged during the step, " || " between
                   calls ("" if none)
  start.state, ck.<case>.state, res.<id>.created/.after/.deleted
                   State of the task (enum name, or "error code=N")
  ck.<case>.workdir   1 if <bundle>/work/criu-work exists afterwards
  ck.<case>.dumplog   <bundle>/criu-dump.log, or "-" if none
  ck.<case>.workdump  <work_path>/dump.log ("-" if none), when given
  ck.<case>.workkept  1 if an explicit work_path still exists
  res.<id>.runcstate  1 if runc state of <id> is left after Delete
  wait.exit_status    Wait of ckrun after SIGKILL
  events              topics published, space separated
  ev.create.<id>.checkpoint / .pid   TaskCreate fields
  shim.pid, shim.exited (1: gone after Shutdown), socket.left
  fatal <text>        the run stopped early (the transcript says where)
DIR/wrapper.mode is set per step for the wrapper: "real" (exec runc) or
"fakefail" (a checkpoint call writes <work>/dump.log and a log.json error,
prints two lines, exits 7).  --all-fake makes every checkpoint case
"fakefail" (for hosts where criu works and a checkpoint would succeed).

Everything started here (shim daemon, containers) is stopped by pid or by
`runc delete --force` in the private runc root before exiting; the shim
socket file is removed.  Exit 0 when the run completed (the assertions
are the caller's), 1 on a fatal error.
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
import ttrpc  # noqa: E402  (tools/ttrpc.py)

RUN_ID = "ckrun"          # the running container that is checkpointed
RESTORE_IDS = ("ckres1", "ckres2")
RUNC = "runc"
CRIU = "/usr/sbin/criu"   # Options.criu_path of ckres2: runc --criu


class Run:
    def __init__(self, a):
        self.a = a
        self.dir = os.path.abspath(a.dir)
        self.tr = open(os.path.join(self.dir, "transcript"), "w")
        self.argv_log = os.path.join(self.dir, "argv.log")
        self.mode_file = os.path.join(self.dir, "wrapper.mode")
        self.bundles = {}
        self.shim_pid = 0
        self.addr = None
        self.client = None
        self.fake = None
        self.log_fd = -1
        self.argv_seen = 0
        self.shutdown_sent = False

    # -- transcript --
    def put(self, key, val):
        val = str(val).replace("\\", "\\\\").replace("\n", "\\n") \
            .replace("\t", "\\t")
        self.tr.write("%s\t%s\n" % (key, val))
        self.tr.flush()

    def mode(self, m):
        with open(self.mode_file, "w") as f:
            f.write(m + "\n")

    def new_argv(self):
        try:
            with open(self.argv_log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        new = lines[self.argv_seen:]
        self.argv_seen = len(lines)
        return " || ".join(new)

    # -- setup --
    def bundle(self, cid, log_fifo=False):
        b = os.path.join(self.dir, "b", cid)
        os.makedirs(b)
        # containerd's layout: work -> a per-task dir elsewhere
        work = os.path.join(self.dir, "work", cid)
        os.makedirs(work)
        os.symlink(work, os.path.join(b, "work"))
        subprocess.run([RUNC, "spec"], cwd=b, check=True)
        with open(os.path.join(b, "config.json")) as f:
            spec = json.load(f)
        spec["root"] = {"path": self.a.rootfs, "readonly": True}
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["/bin/sleep", "1000"]
        spec["process"]["env"] = ["PATH=/bin"]
        spec["linux"]["cgroupsPath"] = "/%s/%s" % (self.a.ns, cid)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(spec, f)
        if log_fifo:
            os.mkfifo(os.path.join(b, "log"), 0o700)
        self.bundles[cid] = b
        return b

    def drain_log(self, path):
        # O_RDWR: never blocks on open, never sees EOF; a daemon thread.
        self.log_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        out = open(os.path.join(self.dir, "shim.log"), "ab")

        def loop():
            while True:
                try:
                    data = os.read(self.log_fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                out.write(data)
                out.flush()
        threading.Thread(target=loop, daemon=True).start()

    def start_shim(self):
        b = self.bundle(RUN_ID, log_fifo=True)
        self.drain_log(os.path.join(b, "log"))
        self.fake = ttrpc.FakeEvents(os.path.join(self.dir, "ev.sock"))
        env = dict(os.environ, TTRPC_ADDRESS=self.fake.path)
        env.pop("NOTIFY_SOCKET", None)
        p = subprocess.run([self.a.shim, "-namespace", self.a.ns,
                            "-address", self.a.address, "-id", RUN_ID,
                            "start"], cwd=b, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        self.addr = p.stdout.decode(errors="replace").strip()
        self.put("start.rc", p.returncode)
        self.put("start.out", self.addr)
        if p.returncode != 0 or not self.addr.startswith("unix://"):
            raise RuntimeError("shim start failed: %r" % self.addr)
        self.client = ttrpc.Client(self.addr, 30, namespace=self.a.ns)
        r = self.client.call("Connect", {"id": RUN_ID})
        self.shim_pid = r.shim_pid
        self.put("shim.pid", self.shim_pid)

    # -- RPCs --
    def rpc(self, step, method, req, fields=()):
        """Call; record ok/err, the listed reply fields and the argv."""
        self.new_argv()
        try:
            resp = self.client.call(method, req)
            self.put(step + ".ok", 1)
            for f in fields:
                self.put("%s.%s" % (step, f), getattr(resp, f))
        except ttrpc.StatusError as e:
            resp = None
            self.put(step + ".err", "code=%d message=%s" % (e.code,
                                                            e.message))
        self.put(step + ".argv", self.new_argv())
        return resp

    def state(self, cid):
        pb = ttrpc.load()
        try:
            r = self.client.call("State", {"id": cid})
        except ttrpc.StatusError as e:
            return "error code=%d" % e.code
        return pb.task_types.Status.Name(r.status)

    def options(self, **kw):
        o = {"@type": "containerd.runc.v1.Options",
             "binary_name": self.a.wrapper, "root": self.a.runc_root}
        o.update(kw)
        return o

    # -- the scenario --
    def checkpoint_case(self, name, opts, mode="real"):
        b = self.bundles[RUN_ID]
        img = os.path.join(self.dir, "img", name)
        work = opts.get("work_path") if opts else None
        if opts is not None and opts.pop("image_path_same", False):
            opts["image_path"] = img
        dump = os.path.join(b, "criu-dump.log")
        if os.path.exists(dump):
            os.unlink(dump)
        req = {"id": RUN_ID, "path": img}
        if opts is not None:
            o = {"@type": "containerd.runc.v1.CheckpointOptions"}
            o.update(opts)
            req["options"] = o
        self.mode(mode)
        self.rpc("ck." + name, "Checkpoint", req)
        self.mode("real")
        self.put("ck.%s.state" % name, self.state(RUN_ID))
        self.put("ck.%s.workdir" % name,
                 int(os.path.lexists(os.path.join(b, "work", "criu-work"))))
        self.put("ck.%s.dumplog" % name, _read(dump))
        if work:
            self.put("ck.%s.workdump" % name,
                     _read(os.path.join(work, "dump.log")))
            self.put("ck.%s.workkept" % name, int(os.path.isdir(work)))

    def scenario(self):
        d = self.dir
        self.start_shim()
        b = self.bundles[RUN_ID]
        self.mode("real")

        # 1. A running container whose runc is the wrapper.
        self.rpc("create", "Create", {"id": RUN_ID, "bundle": b,
                                      "options": self.options()},
                 ("pid",))
        w = self.client.start(ttrpc.TASK_SERVICE, "Wait",
                              ttrpc.load().shim.WaitRequest(id=RUN_ID))
        self.rpc("start", "Start", {"id": RUN_ID}, ("pid",))
        self.put("start.state", self.state(RUN_ID))

        # 2. Checkpoint with each option in turn (criu fails here).
        for sub in ("cw", "criuwork", "img"):
            os.makedirs(os.path.join(d, sub))
        # runc 1.1 empties only the network namespace ("ipc" is refused
        # before criu runs): with ["network"] runc takes every flag.
        full = {"exit": False, "open_tcp": True,
                "external_unix_sockets": True, "terminal": True,
                "file_locks": True, "cgroups_mode": "soft",
                "empty_namespaces": ["network"],
                "image_path_same": True,
                "work_path": os.path.join(d, "cw", "full")}
        cases = [
            ("noopts", None, "real"),
            ("exitfalse", {"exit": False}, "real"),
            ("tcp", {"open_tcp": True}, "real"),
            ("extunix", {"external_unix_sockets": True}, "real"),
            ("terminal", {"terminal": True}, "real"),
            ("locks", {"file_locks": True}, "real"),
            ("cgmode", {"cgroups_mode": "soft"}, "real"),
            ("emptyns", {"empty_namespaces": ["network", "ipc"]}, "real"),
            ("paths", {"image_path_same": True,
                       "work_path": os.path.join(d, "cw", "paths")}, "real"),
            ("full", full, "real"),
            ("fake", {"work_path": os.path.join(d, "cw", "fake")},
             "fakefail"),
            ("fakedefault", {}, "fakefail"),
            ("imgdiff", {"image_path": os.path.join(d, "img", "other")},
             "real"),
            ("exit", {"exit": True}, "real"),
        ]
        for name, opts, mode in cases:
            self.checkpoint_case(name, opts,
                                 "fakefail" if self.a.all_fake else mode)
        self.rpc("ck.nosuch", "Checkpoint",
                 {"id": "nosuch", "path": os.path.join(d, "img", "nosuch")})

        # 3. Stop and delete it.
        self.rpc("kill", "Kill", {"id": RUN_ID, "signal": 9})
        wr = ttrpc.load().shim.WaitResponse.FromString(
            self.client.finish(w).payload)
        self.put("wait.exit_status", wr.exit_status)
        self.rpc("delete", "Delete", {"id": RUN_ID}, ("exit_status",))

        # 4. Restores: Create runs nothing, Start runs runc restore.
        for cid, extra, parent in (
                (RESTORE_IDS[0], {}, os.path.join(d, "cp", "parent1")),
                (RESTORE_IDS[1], {"no_pivot_root": True,
                                  "criu_path": CRIU,
                                  "criu_work_path": os.path.join(
                                      d, "criuwork", RESTORE_IDS[1])},
                 "")):
            rb = self.bundle(cid)
            cp = os.path.join(d, "cp", cid)
            os.makedirs(cp)
            req = {"id": cid, "bundle": rb, "checkpoint": cp,
                   "options": self.options(**extra)}
            if parent:
                os.makedirs(parent, exist_ok=True)
                req["parent_checkpoint"] = parent
            s = "res." + cid
            self.rpc(s + ".create", "Create", req, ("pid",))
            self.put(s + ".created", self.state(cid))
            self.rpc(s + ".checkpoint", "Checkpoint",
                     {"id": cid, "path": os.path.join(d, "img", cid)})
            self.rpc(s + ".start", "Start", {"id": cid}, ("pid",))
            self.put(s + ".after", self.state(cid))
            self.rpc(s + ".delete", "Delete", {"id": cid})
            self.put(s + ".deleted", self.state(cid))
            self.put(s + ".runcstate", int(os.path.exists(
                os.path.join(self.a.runc_root, self.a.ns, cid))))

        # 5. Still serving; then shut down.
        self.rpc("connect", "Connect", {"id": RUN_ID}, ("shim_pid",))
        self.shutdown_sent = True
        self.rpc("shutdown", "Shutdown", {"id": RUN_ID})

    def finish(self):
        if self.client:
            self.client.close()
        if not self.shim_pid and RUN_ID in self.bundles:
            # start worked but Connect did not: find the daemon by its cwd
            self.shim_pid = _daemon_in(self.bundles[RUN_ID], self.a.address)
        # After Shutdown the daemon exits by itself; otherwise kill it now.
        wait = 10 if self.shutdown_sent else 0.2
        gone = _wait_dead(self.shim_pid, wait) if self.shim_pid else False
        self.put("shim.exited", int(gone))
        if self.shim_pid and not gone and _is_shim(self.shim_pid,
                                                   self.a.address):
            os.kill(self.shim_pid, signal.SIGKILL)
            _wait_dead(self.shim_pid, 5)
        for cid in self.bundles:
            subprocess.run([RUNC, "--root",
                            os.path.join(self.a.runc_root, self.a.ns),
                            "delete", "--force", cid],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if self.addr:
            sock = ttrpc.parse_addr(self.addr)
            self.put("socket.left", int(os.path.exists(sock)))
            if os.path.exists(sock):
                os.unlink(sock)
        if self.fake:
            ev = list(self.fake.events)
            self.put("events", " ".join(e["topic"] for e in ev))
            for e in ev:
                if e["topic"] == "/tasks/create" and e["event"] is not None:
                    k = "ev.create." + e["event"].container_id
                    self.put(k + ".checkpoint", e["event"].checkpoint)
                    self.put(k + ".pid", e["event"].pid)
            self.fake.close()
        if self.log_fd >= 0:
            os.close(self.log_fd)
        self.tr.close()


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return "-"


def _daemon_in(bundle, address):
    """pid of a shim daemon whose cwd is bundle (ours: a private dir)."""
    for p in os.listdir("/proc"):
        if p.isdigit() and _is_shim(int(p), address):
            try:
                if os.readlink("/proc/%s/cwd" % p) == bundle:
                    return int(p)
            except OSError:
                pass
    return 0


def _is_shim(pid, address):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return address.encode() in f.read()
    except OSError:
        return False


def _wait_dead(pid, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def main():
    ap = argparse.ArgumentParser()
    for k in ("shim", "wrapper", "dir", "ns", "address", "rootfs",
              "runc-root"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--all-fake", action="store_true",
                    help="fake every checkpoint failure (criu works here)")
    a = ap.parse_args()
    run = Run(a)
    rc = 0
    try:
        run.scenario()
    except Exception as e:  # record where it stopped, then clean up
        run.put("fatal", "%s: %s" % (type(e).__name__, e))
        rc = 1
    finally:
        run.finish()
    return rc


if __name__ == "__main__":
    sys.exit(main())
