#!/usr/bin/python3
"""cases.py: the CRI cases, as kubelet drives containerd's CRI plugin, run
by tests/cri/run.sh against the private containerd it set up.

Owns: the scenarios, their assertions, the per-case leftover check and the
report.  Does not own: containerd, the network namespace or the images
(tests/cri/lib.sh), nor the CRI client (cri.py).

Every case runs pods on the handler $CRI_HANDLER (default `nanoshim`,
whose binary is $SHIM's copy: the Go shim or nanoshim, switched by that one
variable) and passes with both shims.  A case is a function named case_*;
it passes when it made at least one check and none failed, skips by
raising Skip, and must leave no pod, container, shim process or mount.

Usage: cases.py [glob...]      (names without the case_ prefix)
Environment: CTR_ADDR D CGROUP_PARENT BUSYBOX_IMAGE SHIM CRI_DIR (from
lib.sh), CRI_HANDLER, CASE_TIMEOUT (seconds, default 120).
"""

import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cri import Cri, pb  # noqa: E402
import grpc  # noqa: E402

ENV = os.environ
ADDR = ENV["CTR_ADDR"]
D = ENV["D"]
CG_PARENT = ENV["CGROUP_PARENT"]
BUSYBOX = ENV["BUSYBOX_IMAGE"]
SHIM = ENV.get("SHIM", "")
HANDLER = ENV.get("CRI_HANDLER", "nanoshim")
CASE_TIMEOUT = int(ENV.get("CASE_TIMEOUT", "120"))
CGROUP_ROOT = "/sys/fs/cgroup"
IS_NANO = "nanoshim" in os.path.basename(SHIM)

# ContainerState and PodSandboxState values.
CREATED, RUNNING, EXITED = (pb.CONTAINER_CREATED, pb.CONTAINER_RUNNING,
                            pb.CONTAINER_EXITED)
READY, NOTREADY = pb.SANDBOX_READY, pb.SANDBOX_NOTREADY
NS_POD, NS_CONTAINER = pb.POD, pb.CONTAINER


class Skip(Exception):
    pass


class Timeout(Exception):
    pass


# --- checks -------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.ok = 0
        self.failed = []

    def _where(self):
        for fr in reversed(traceback.extract_stack()[:-2]):
            if fr.name.startswith("case_") or fr.name.startswith("_c_"):
                return "%s:%d" % (fr.name, fr.lineno)
        return "?"

    def check(self, cond, what):
        if cond:
            self.ok += 1
            return True
        msg = "FAIL [%s] %s" % (self._where(), what)
        self.failed.append(msg)
        print(msg, flush=True)
        return False

    def eq(self, want, got, what):
        return self.check(want == got, "%s: expected %r, got %r"
                          % (what, want, got))

    def contains(self, hay, needle, what):
        return self.check(needle in hay, "%s: %r not in %r"
                          % (what, needle, hay[:2000]))

    def eventually(self, timeout, fn, what):
        return self.check(wait_until(timeout, fn), "%s: not true within %ss"
                          % (what, timeout))


C = Checks()


def wait_until(timeout, fn, step=0.05):
    end = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return True
        except grpc.RpcError:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(step)


def log(*a):
    print(*a, flush=True)


# --- processes, mounts, cgroups ------------------------------------------------

def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[:-1]
    except OSError:
        return []


def _stat(pid):
    """(state, ppid) or None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1])
    except (OSError, IndexError):
        return None


def shims():
    """{pid: id} of the shim daemons serving our containerd."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        a = [x.decode(errors="replace") for x in _cmdline(p)]
        if len(a) < 3 or a[-1] in ("start", "delete"):
            continue
        if "-address" not in a or a[a.index("-address") + 1] != ADDR:
            continue
        st = _stat(p)
        if st is None or st[0] == "Z":
            continue
        sid = a[a.index("-id") + 1] if "-id" in a else "?"
        out[int(p)] = sid
    return out


def ppid_of(pid):
    st = _stat(pid)
    return st[1] if st else None


def pid_alive(pid):
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def cgroup_file(ctrl, pod_uid, cid, name):
    return os.path.join(CGROUP_ROOT, ctrl, CG_PARENT.lstrip("/"), pod_uid,
                        cid, name)


def read(path):
    with open(path) as f:
        return f.read()


# --- the CRI side ------------------------------------------------------------

cri = None
_seq = [0]


def _uid(name):
    _seq[0] += 1
    return "%s-%d-%d" % (name, os.getpid(), _seq[0])


class Pod:
    """One pod sandbox of the test, with its containers by name."""

    def __init__(self, name, handler=None, pid_mode=NS_CONTAINER):
        self.name = name
        self.uid = _uid(name)
        self.logdir = os.path.join(D, "logs", self.uid)
        os.makedirs(self.logdir, exist_ok=True)
        self.config = {
            "metadata": {"name": name, "uid": self.uid,
                         "namespace": "cri-test", "attempt": 0},
            "hostname": name,
            "log_directory": self.logdir,
            "labels": {"case": name},
            "linux": {
                "cgroup_parent": "%s/%s" % (CG_PARENT, self.uid),
                "security_context": {
                    "namespace_options": {"network": NS_POD, "ipc": NS_POD,
                                          "pid": pid_mode}},
            },
        }
        t0 = time.monotonic()
        self.id = cri.RunPodSandbox(
            {"config": self.config,
             "runtime_handler": handler or HANDLER}).pod_sandbox_id
        self.run_secs = time.monotonic() - t0
        self.ctrs = {}
        _live_pods.append(self)

    def create(self, name, script, attempt=0, resources=None, start=True):
        cfg = {
            "metadata": {"name": name, "attempt": attempt},
            "image": {"image": BUSYBOX},
            "command": ["/bin/sh", "-c", script],
            "log_path": "%s_%d.log" % (name, attempt),
            "linux": {"security_context": {"namespace_options": {
                "network": NS_POD, "ipc": NS_POD, "pid": NS_CONTAINER}}},
        }
        if resources:
            cfg["linux"]["resources"] = resources
        cid = cri.CreateContainer({"pod_sandbox_id": self.id, "config": cfg,
                                   "sandbox_config": self.config}).container_id
        self.ctrs[name] = cid
        if start:
            cri.StartContainer({"container_id": cid})
        return cid

    def log_path(self, name, attempt=0):
        return os.path.join(self.logdir, "%s_%d.log" % (name, attempt))

    def stop(self):
        cri.StopPodSandbox({"pod_sandbox_id": self.id})

    def remove(self):
        cri.RemovePodSandbox({"pod_sandbox_id": self.id})
        if self in _live_pods:
            _live_pods.remove(self)


_live_pods = []


def status(cid):
    return cri.ContainerStatus({"container_id": cid}).status


def state(cid):
    return status(cid).state


def init_pid(cid):
    r = cri.ContainerStatus({"container_id": cid, "verbose": True})
    return int(json.loads(r.info["info"])["pid"])


def sandbox_pid(sid):
    r = cri.PodSandboxStatus({"pod_sandbox_id": sid, "verbose": True})
    return int(json.loads(r.info["info"])["pid"])


def sandbox_state(sid):
    return cri.PodSandboxStatus({"pod_sandbox_id": sid}).status.state


def exec_sync(cid, script, timeout=10):
    return cri.ExecSync({"container_id": cid, "cmd": ["/bin/sh", "-c", script],
                         "timeout": timeout})


def log_lines(path):
    """The messages of a CRI log file ("<time> <stream> <P|F> <msg>")."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 3)
                if len(parts) == 4:
                    out.append((parts[1], parts[3]))
    except FileNotFoundError:
        pass
    return out


def log_has(path, text, stream="stdout"):
    return (stream, text) in log_lines(path)


def shim_of_pod(pod):
    """The shim pid serving pod (the one started with the sandbox's id)."""
    for pid, sid in shims().items():
        if sid == pod.id:
            return pid
    return None


def pod_gone_checks(pod, shim_pid):
    C.eventually(15, lambda: not pid_alive(shim_pid),
                 "%s: its shim %s exits after RemovePodSandbox"
                 % (pod.name, shim_pid))
    C.eventually(5, lambda: not mounts_under(os.path.join(
        D, "state", "io.containerd.runtime.v2.task", "k8s.io", pod.id)),
        "%s: nothing mounted under the sandbox bundle" % pod.name)


# --- cases -----------------------------------------------------------------

def case_pod_lifecycle():
    """RunPodSandbox, three containers, status, list, ExecSync, logs, stop,
    remove."""
    pod = Pod("life")
    st = cri.PodSandboxStatus({"pod_sandbox_id": pod.id}).status
    C.eq(READY, st.state, "sandbox state")
    C.check(st.network.ip.startswith("10.77."),
            "pod IP from the CNI bridge's host-local range: %r"
            % st.network.ip)
    c1 = pod.create("sleeper", "echo started; exec sleep 1000")
    c2 = pod.create("ticker", "i=0; while :; do echo tick$i; i=$((i+1)); "
                    "sleep 0.2; done")
    c3 = pod.create("short", "echo out-line; echo err-line >&2; exit 3")
    C.eventually(10, lambda: state(c3) == EXITED, "short exits")
    s3 = status(c3)
    C.eq(3, s3.exit_code, "short: exit code")
    C.eq("Error", s3.reason, "short: reason")
    # (containerd 2.x records started_at when StartContainer returns, which
    # can be after a fast container's exit: only both set is checked.)
    C.check(s3.started_at > 0 and s3.finished_at > 0,
            "short: started and finished times")
    C.eq(RUNNING, state(c1), "sleeper running")
    C.eq(RUNNING, state(c2), "ticker running")
    C.eq(BUSYBOX, status(c1).image.image, "sleeper image")
    lst = cri.ListContainers({"filter": {"pod_sandbox_id": pod.id}}).containers
    C.eq(sorted([c1, c2, c3]), sorted(c.id for c in lst),
         "ListContainers of the pod")
    lst = cri.ListContainers({"filter": {"state": {"state": RUNNING}}})
    C.eq(sorted([c1, c2]), sorted(c.id for c in lst.containers),
         "ListContainers RUNNING")
    C.eventually(5, lambda: log_has(pod.log_path("short"), "out-line"),
                 "short's stdout in its CRI log")
    C.check(log_has(pod.log_path("short"), "err-line", "stderr"),
            "short's stderr in its CRI log")
    C.eventually(5, lambda: log_has(pod.log_path("ticker"), "tick2"),
                 "ticker logs")

    r = exec_sync(c1, "echo to-out; echo to-err >&2; exit 7")
    C.eq(7, r.exit_code, "ExecSync exit code")
    C.eq(b"to-out\n", r.stdout, "ExecSync stdout")
    C.eq(b"to-err\n", r.stderr, "ExecSync stderr")
    r = exec_sync(c1, "cat /etc/hostname; tr '\\0' ' ' </proc/1/cmdline")
    C.eq(0, r.exit_code, "ExecSync exit 0")
    C.eq(b"life\nsleep 1000 ", r.stdout,
         "ExecSync sees the pod's hostname and the container's own pid ns")
    # An exec that outlives its timeout is killed and reported as such.
    t0 = time.monotonic()
    try:
        exec_sync(c1, "sleep 30", timeout=1)
        C.check(False, "ExecSync past its timeout must fail")
    except grpc.RpcError as e:
        C.check(time.monotonic() - t0 < 10, "ExecSync timeout honoured")
        C.contains(e.details(), "timeout", "ExecSync timeout error")

    shim = shim_of_pod(pod)
    pod.stop()
    C.eq(NOTREADY, sandbox_state(pod.id), "sandbox NOTREADY after stop")
    for name, cid in (("sleeper", c1), ("ticker", c2)):
        s = status(cid)
        C.eq(EXITED, s.state, "%s EXITED after StopPodSandbox" % name)
        C.eq(137, s.exit_code, "%s killed by StopPodSandbox" % name)
    pod.stop()  # idempotent
    C.check(True, "StopPodSandbox twice")
    pod.remove()
    C.eq(0, len(cri.ListContainers({"filter": {"pod_sandbox_id": pod.id}})
                .containers), "no containers after RemovePodSandbox")
    try:
        cri.PodSandboxStatus({"pod_sandbox_id": pod.id})
        C.check(False, "PodSandboxStatus of a removed pod must fail")
    except grpc.RpcError as e:
        C.eq(grpc.StatusCode.NOT_FOUND, e.code(), "removed pod: NotFound")
    pod.remove()  # idempotent
    C.check(True, "RemovePodSandbox twice")
    pod_gone_checks(pod, shim)


def case_grouping():
    """One shim per pod serving all its containers; it exits after the pod
    is removed."""
    before = set(shims())
    a = Pod("grp-a")
    b = Pod("grp-b")
    for pod in (a, b):
        for n in ("one", "two", "three"):
            pod.create(n, "exec sleep 1000")
    now = shims()
    new = {p: i for p, i in now.items() if p not in before}
    C.eq(2, len(new), "two pods, two shim processes: %r" % new)
    C.eq(sorted([a.id, b.id]), sorted(new.values()),
         "each shim carries its sandbox's id")
    for pod in (a, b):
        shim = shim_of_pod(pod)
        C.eq(shim, ppid_of(sandbox_pid(pod.id)), "%s: sandbox init is the "
             "shim's child" % pod.name)
        for n, cid in pod.ctrs.items():
            C.eq(shim, ppid_of(init_pid(cid)),
                 "%s/%s: init is the pod shim's child" % (pod.name, n))
        r = exec_sync(pod.ctrs["two"], "echo hi")
        C.eq(b"hi\n", r.stdout, "%s: exec through the pod's shim" % pod.name)
    if IS_NANO:
        for pid in new:
            C.eq("1", _status_field(pid, "Threads"),
                 "nanoshim %d: one thread with four containers" % pid)
    sa, sb = shim_of_pod(a), shim_of_pod(b)
    # Removing one container leaves the shim serving the others.
    cid = a.ctrs.pop("one")
    cri.StopContainer({"container_id": cid, "timeout": 0})
    cri.RemoveContainer({"container_id": cid})
    C.check(pid_alive(sa), "shim stays after one container is removed")
    C.eq(RUNNING, state(a.ctrs["two"]), "other containers keep running")
    # StopPodSandbox stops every container and the sandbox, and the CRI
    # plugin deletes each task as it exits: the shim has nothing left.
    a.stop()
    C.eventually(15, lambda: not pid_alive(sa), "shim exits once "
                 "StopPodSandbox has deleted the pod's tasks")
    a.remove()
    pod_gone_checks(a, sa)
    C.check(pid_alive(sb), "the other pod's shim is untouched")
    C.eq(RUNNING, state(b.ctrs["one"]), "the other pod runs on")
    b.stop()
    b.remove()
    pod_gone_checks(b, sb)


def _status_field(pid, key):
    for line in read("/proc/%d/status" % pid).splitlines():
        if line.startswith(key + ":"):
            return line.split()[1]
    return None


def case_stats():
    """ContainerStats and ListContainerStats (cgroup v1 metrics through the
    shim's Stats)."""
    pod = Pod("stats")
    c1 = pod.create("busy", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); "
                    "done; exec sleep 1000")
    c2 = pod.create("idle", "exec sleep 1000")
    # cpu time grows while busy runs its loop
    def cpu(cid):
        return cri.ContainerStats({"container_id": cid}).stats.cpu \
            .usage_core_nano_seconds.value
    C.eventually(20, lambda: cpu(c1) > 10 ** 8, "busy: CPU time over 0.1 s")
    s = cri.ContainerStats({"container_id": c1}).stats
    C.eq(c1, s.attributes.id, "stats attributes id")
    C.eq("busy", s.attributes.metadata.name, "stats attributes name")
    C.check(s.memory.working_set_bytes.value > 0,
            "memory working set: %d" % s.memory.working_set_bytes.value)
    C.check(s.cpu.timestamp > 0 and s.memory.timestamp > 0, "timestamps")
    C.check(s.writable_layer.used_bytes.value >= 0 and
            s.writable_layer.fs_id.mountpoint != "", "writable layer usage")
    lst = cri.ListContainerStats({"filter": {"pod_sandbox_id": pod.id}}).stats
    C.eq(sorted([c1, c2]), sorted(x.attributes.id for x in lst),
         "ListContainerStats of the pod")
    for x in lst:
        C.check(x.memory.working_set_bytes.value > 0,
                "%s: working set in the list" % x.attributes.metadata.name)
    # Memory accounted by the container's own cgroup, as the shim reads it.
    usage = int(read(cgroup_file("memory", pod.uid, c2,
                                 "memory.usage_in_bytes")))
    ws = [x for x in lst if x.attributes.id == c2][0].memory.working_set_bytes
    C.check(0 < ws.value <= usage + (1 << 20),
            "idle: working set %d within cgroup usage %d" % (ws.value, usage))
    pod.stop()
    pod.remove()


def case_update_resources():
    """UpdateContainerResources reaches the container's cgroup."""
    pod = Pod("upd")
    cid = pod.create("c", "exec sleep 1000", resources={
        "memory_limit_in_bytes": 128 << 20, "cpu_shares": 256})
    mem = cgroup_file("memory", pod.uid, cid, "memory.limit_in_bytes")
    shares = cgroup_file("cpu", pod.uid, cid, "cpu.shares")
    C.eq(str(128 << 20), read(mem).strip(), "memory limit at create")
    C.eq("256", read(shares).strip(), "cpu shares at create")
    cri.UpdateContainerResources({"container_id": cid, "linux": {
        "memory_limit_in_bytes": 64 << 20, "cpu_shares": 512,
        "cpu_period": 100000, "cpu_quota": 50000}})
    C.eq(str(64 << 20), read(mem).strip(), "memory limit updated")
    C.eq("512", read(shares).strip(), "cpu shares updated")
    C.eq("50000", read(cgroup_file("cpu", pod.uid, cid,
                                   "cpu.cfs_quota_us")).strip(),
         "cpu quota updated")
    s = status(cid)
    if s.HasField("resources"):
        C.eq(64 << 20, s.resources.linux.memory_limit_in_bytes,
             "ContainerStatus shows the new limit")
    C.eq(RUNNING, s.state, "still running after the update")
    pod.stop()
    pod.remove()


def case_reopen_log():
    """ReopenContainerLog: after the log file is rotated away, new lines go
    to a new file at the same path."""
    pod = Pod("reopen")
    cid = pod.create("w", "i=0; while :; do echo line$i; i=$((i+1)); "
                     "sleep 0.1; done")
    path = pod.log_path("w")
    C.eventually(5, lambda: len(log_lines(path)) >= 3, "first lines logged")
    os.rename(path, path + ".1")
    cri.ReopenContainerLog({"container_id": cid})
    C.eventually(5, lambda: len(log_lines(path)) >= 3,
                 "lines in the reopened file")
    old = [m for _, m in log_lines(path + ".1")]
    new = [m for _, m in log_lines(path)]
    C.check(old and new and int(new[0][4:]) > int(old[-1][4:]) - 2,
            "the new file continues where the old one stopped: %s | %s"
            % (old[-2:], new[:2]))
    pod.stop()
    try:
        cri.ReopenContainerLog({"container_id": cid})
        C.check(False, "ReopenContainerLog of a stopped container must fail")
    except grpc.RpcError as e:
        C.contains(e.details(), "running", "reopen refused when not running")
    pod.remove()


def case_restart_in_pod():
    """A container restarted in the same pod (kubelet's attempt + 1) runs on
    the pod's shim; removing the old attempt leaves the new one."""
    pod = Pod("restart")
    old = pod.create("app", "echo attempt0; exec sleep 1000")
    shim = shim_of_pod(pod)
    cri.StopContainer({"container_id": old, "timeout": 1})
    C.eq(EXITED, state(old), "attempt 0 exited")
    new = pod.create("app", "echo attempt1; exec sleep 1000", attempt=1)
    C.eventually(5, lambda: state(new) == RUNNING, "attempt 1 running")
    C.eq(1, status(new).metadata.attempt, "attempt number")
    C.eq(shim, ppid_of(init_pid(new)), "attempt 1 runs on the pod's shim")
    C.eventually(5, lambda: log_has(pod.log_path("app", 1), "attempt1"),
                 "attempt 1 logs to its own file")
    cri.RemoveContainer({"container_id": old})
    C.eq([new], [c.id for c in cri.ListContainers(
        {"filter": {"pod_sandbox_id": pod.id}}).containers],
        "only attempt 1 is left")
    r = exec_sync(new, "echo alive")
    C.eq(b"alive\n", r.stdout, "exec in attempt 1")
    # A container that exited on its own starts again as a new attempt too.
    dies = pod.create("dies", "exit 1")
    C.eventually(10, lambda: state(dies) == EXITED, "dies exits")
    again = pod.create("dies", "echo again; exec sleep 1000", attempt=1)
    C.eventually(5, lambda: state(again) == RUNNING, "dies attempt 1 runs")
    pod.stop()
    pod.remove()
    pod_gone_checks(pod, shim)


def case_stop_grace():
    """StopContainer: SIGTERM is honoured within the grace period; a
    container that ignores it is SIGKILLed when the timeout ends."""
    pod = Pod("grace")
    polite = pod.create("polite", "trap 'echo got-term; exit 0' TERM; "
                        "echo ready; while :; do sleep 0.1; done")
    stubborn = pod.create("stubborn", "trap 'echo ignoring-term' TERM; "
                          "echo ready; while :; do sleep 0.1; done")
    for n in ("polite", "stubborn"):
        C.eventually(5, lambda n=n: log_has(pod.log_path(n), "ready"),
                     "%s ready" % n)
    t0 = time.monotonic()
    cri.StopContainer({"container_id": polite, "timeout": 10})
    took = time.monotonic() - t0
    s = status(polite)
    C.check(took < 5, "polite stops on SIGTERM (%.1fs)" % took)
    C.eq(EXITED, s.state, "polite exited")
    C.eq(0, s.exit_code, "polite: exit 0 from its TERM trap")
    C.eq("Completed", s.reason, "polite: reason")
    C.eventually(3, lambda: log_has(pod.log_path("polite"), "got-term"),
                 "polite saw SIGTERM")
    t0 = time.monotonic()
    cri.StopContainer({"container_id": stubborn, "timeout": 2})
    took = time.monotonic() - t0
    s = status(stubborn)
    C.check(2 <= took < 8, "stubborn killed after the 2 s grace (%.1fs)"
            % took)
    C.eq(EXITED, s.state, "stubborn exited")
    C.eq(137, s.exit_code, "stubborn: SIGKILL")
    C.eventually(3, lambda: log_has(pod.log_path("stubborn"),
                                    "ignoring-term"),
                 "stubborn got SIGTERM first")
    pod.stop()
    pod.remove()


def case_oom():
    """A container past its memory limit: exit 137, reason OOMKilled."""
    pod = Pod("oom")
    cid = pod.create("hog", "x=0123456789abcdef; while :; do x=$x$x; done",
                     resources={"memory_limit_in_bytes": 16 << 20})
    ok = pod.create("fine", "exec sleep 1000",
                    resources={"memory_limit_in_bytes": 16 << 20})
    C.eventually(30, lambda: state(cid) == EXITED, "hog exits")
    s = status(cid)
    C.eq(137, s.exit_code, "hog: killed")
    C.eq("OOMKilled", s.reason, "hog: reason")
    C.eq(RUNNING, state(ok), "the pod's other container is untouched")
    C.eq(READY, sandbox_state(pod.id), "sandbox still ready")
    pod.stop()
    C.check(status(ok).reason != "OOMKilled",
            "a container stopped by StopPodSandbox is not OOMKilled")
    pod.remove()


def case_containerd_restart():
    """containerd restarted while pods run: pods and containers recovered,
    the same shims serve them, and they stop and go away as usual."""
    pods = [Pod("rs-a"), Pod("rs-b")]
    for pod in pods:
        pod.create("one", "exec sleep 1000")
        pod.create("two", "i=0; while :; do echo t$i; i=$((i+1)); sleep 0.2; "
                   "done")
    before = {pod.id: shim_of_pod(pod) for pod in pods}
    r = subprocess.run(["bash", os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "ctl.sh"), "restart"],
        capture_output=True, text=True, timeout=90)
    C.eq(0, r.returncode, "containerd restarted: %s" % r.stderr[-500:])
    C.eventually(30, lambda: len(cri.ListPodSandbox().items) == 2,
                 "CRI answers after the restart")
    for pod in pods:
        C.eq(READY, sandbox_state(pod.id), "%s ready after restart"
             % pod.name)
        C.eq(before[pod.id], shim_of_pod(pod), "%s: same shim" % pod.name)
        for n, cid in pod.ctrs.items():
            C.eq(RUNNING, state(cid), "%s/%s running after restart"
                 % (pod.name, n))
        r = exec_sync(pod.ctrs["one"], "echo back")
        C.eq(b"back\n", r.stdout, "%s: exec after restart" % pod.name)
        path = pod.log_path("two")
        n0 = len(log_lines(path))
        C.eventually(5, lambda: len(log_lines(path)) > n0 + 2,
                     "%s: logging goes on after restart" % pod.name)
    # An exit seen by the shim after the restart reaches the new containerd.
    cid = pods[0].ctrs["one"]
    cri.StopContainer({"container_id": cid, "timeout": 0})
    C.eq(EXITED, state(cid), "stop after restart")
    c3 = pods[0].create("three", "exit 5")
    C.eventually(10, lambda: state(c3) == EXITED, "new container exits")
    C.eq(5, status(c3).exit_code, "its exit code")
    for pod in pods:
        pod.stop()
        pod.remove()
        pod_gone_checks(pod, before[pod.id])


def case_options_by_runtime_type():
    """A handler named by runtime_type io.containerd.nanoshim.v2 gets no
    runc options from the CRI plugin (only io.containerd.runc.v2 gets
    containerd.runc.v1.Options; others get runtimeoptions.v1.Options).
    nanoshim ignores options of another type and runs with the defaults;
    the Go shim refuses them (its `start` cannot decode the type)."""
    if IS_NANO:
        pod = Pod("rtype", handler="nanoshim-opts")
        cid = pod.create("c", "exec sleep 1000")
        C.eq(RUNNING, state(cid), "runs under runtime_type nanoshim")
        C.check(not os.path.exists(os.path.join(D, "runc", "k8s.io", cid)),
                "the handler's Root option did not reach the shim")
        pod.stop()
        pod.remove()
    else:
        try:
            Pod("rtype", handler="nanoshim-opts")
            C.check(False, "the Go shim must refuse runtimeoptions.v1")
        except grpc.RpcError as e:
            C.contains(e.details(), "runtimeoptions.v1.Options",
                       "the Go shim's error names the options type")


def case_runtime_path():
    """runtime_type io.containerd.runc.v2 with runtime_path: the named
    binary serves the pod and gets the runc options (Root).  containerd
    1.6.20's CRI plugin ignores runtime_path (containerd issue 8207: it
    starts containerd-shim-runc-v2 from PATH): skipped there."""
    pod = Pod("rpath", handler="nanoshim-path")
    cid = pod.create("c", "exec sleep 1000")
    shim = shim_of_pod(pod)
    exe = os.readlink("/proc/%d/exe" % shim) if shim else "?"
    want = os.path.join(D, "bin", "containerd-shim-nanoshim-v2")
    if exe != want:
        pod.stop()
        pod.remove()
        raise Skip("containerd ignores runtime_path here: the pod's shim is "
                   "%s, not %s (containerd issue 8207)" % (exe, want))
    C.eq(want, exe, "the runtime_path binary serves the pod")
    C.check(os.path.isdir(os.path.join(D, "runc", "k8s.io", cid)),
            "runc options reach it: runc state under the Root option")
    C.eq(RUNNING, state(cid), "container running")
    pod.stop()
    pod.remove()


def case_handler_binary():
    """Every pod of the `nanoshim` handler is served by $SHIM's copy, and
    containerd never ran the Go shim for it."""
    pod = Pod("binary")
    pod.create("c", "exec sleep 1000")
    shim = shim_of_pod(pod)
    C.eq(os.path.join(D, "bin", "containerd-shim-nanoshim-v2"),
         os.readlink("/proc/%d/exe" % shim), "the handler's binary")
    calls = os.path.join(D, "go-shim-calls")
    used = open(calls).read() if os.path.exists(calls) else ""
    C.check(pod.id not in used, "containerd-shim-runc-v2 not run for the pod")
    pod.stop()
    pod.remove()
    used = open(calls).read() if os.path.exists(calls) else ""
    C.check(pod.id not in used, "nor for its cleanup")


# --- runner --------------------------------------------------------------------

def leftovers():
    out = []
    try:
        pods = cri.ListPodSandbox().items
        ctrs = cri.ListContainers().containers
    except grpc.RpcError as e:
        return ["CRI not answering: %s" % e.details()]
    if pods:
        out.append("pods left: %s" % " ".join(p.metadata.name for p in pods))
    if ctrs:
        out.append("containers left: %s"
                   % " ".join(c.metadata.name for c in ctrs))
    if not wait_until(10, lambda: not shims()):
        out.append("shim processes left: %r" % shims())
    m = mounts_under(os.path.join(D, "state"))
    if m:
        out.append("mounts left: %s" % " ".join(m))
    return out


def clean():
    for p in cri.ListPodSandbox().items:
        try:
            cri.StopPodSandbox({"pod_sandbox_id": p.id})
            cri.RemovePodSandbox({"pod_sandbox_id": p.id})
        except grpc.RpcError as e:
            log("    cleanup %s: %s" % (p.metadata.name, e.details()))
    _live_pods.clear()


def _alarm(signum, frame):
    raise Timeout("case timed out after %ds" % CASE_TIMEOUT)


def run_case(fn):
    global C
    C = Checks()
    name = fn.__name__[5:]
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT)
    err = None
    skipped = None
    try:
        fn()
    except Skip as e:
        skipped = str(e)
    except grpc.RpcError as e:
        err = "gRPC %s: %s\n%s" % (e.code().name, e.details(),
                                   "".join(traceback.format_exc(limit=-3)))
    except Exception:
        err = traceback.format_exc()
    finally:
        signal.alarm(0)
    took = time.monotonic() - t0
    left = leftovers()
    if left:
        clean()
    if err:
        log("    " + err.replace("\n", "\n    "))
    for x in left:
        log("    leak: " + x)
    if skipped is not None and not left:
        log("SKIP %s: %s" % (name, skipped))
        return "skip"
    if err or left or C.failed or C.ok == 0:
        if C.ok == 0 and not (err or left or C.failed):
            log("    the case asserted nothing")
        log("FAIL %s (%.1fs, %d checks, %d failed)"
            % (name, took, C.ok + len(C.failed), len(C.failed)))
        return "fail"
    log("PASS %s (%.1fs, %d checks)" % (name, took, C.ok))
    return "pass"


def main(argv):
    global cri
    cri = Cri(ADDR)
    cases = [(n[5:], f) for n, f in sorted(globals().items())
             if n.startswith("case_") and callable(f)]
    # A fixed order: cheap first, the containerd restart last.
    order = ["handler_binary", "pod_lifecycle", "grouping", "stats",
             "update_resources",
             "reopen_log", "restart_in_pod", "stop_grace", "oom",
             "options_by_runtime_type", "runtime_path",
             "containerd_restart"]
    cases.sort(key=lambda c: order.index(c[0]) if c[0] in order else 99)
    if len(argv) > 1:
        cases = [c for c in cases
                 if any(fnmatch.fnmatch(c[0], g) for g in argv[1:])]
        if not cases:
            log("no case matches: %s" % " ".join(argv[1:]))
            return 2
    res = {"pass": 0, "fail": 0, "skip": 0}
    failed = []
    t0 = time.monotonic()
    for name, fn in cases:
        r = run_case(fn)
        res[r] += 1
        if r == "fail":
            failed.append(name)
    log("----")
    log("%d CRI cases: %d passed, %d failed, %d skipped in %.1fs "
        "(handler %s, shim %s)" % (len(cases), res["pass"], res["fail"],
                                   res["skip"], time.monotonic() - t0,
                                   HANDLER, SHIM))
    if failed:
        log("failed: " + " ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
