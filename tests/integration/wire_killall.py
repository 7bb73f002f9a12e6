#!/usr/bin/python3
"""wire_killall.py - delete right after kill --all (t_kill_all_delete.sh).

Owns: containerd's TestContainerKillAll race, made certain.  A container
without a pid namespace of its own (its init `sh` and a background
`sleep` in the host's), served by a shim whose runc (BinaryName) freezes
the container's cgroup for FREEZE seconds before every `kill --all`, the
window in which a real `runc kill --all` has it frozen while it signals.
Wait is parked, the container is killed (SIGKILL to the init, or with
all=true, in turn), and as soon as Wait returns it is deleted, as ctr and
CRI do.  Without a pid namespace the shim itself runs `kill --all` when
the init dies, so the Delete must neither run runc while that kill still
has the cgroup frozen (runc: "cannot delete container that is not
stopped: paused") nor go before the exit is published.

Checks per container: Kill, Wait and Delete answered without error,
Wait/Delete status 137, no process left in the container's cgroup.
Does not own: the suite's containerd and rootfs (the shell test).

usage: wire_killall.py SHIM ROOTFS NS WORKDIR ROUNDS FREEZE_S
"""

import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wire_group import Pod, wait_gone  # noqa: E402
from wire_util import Checks, ttrpc  # noqa: E402

TASK = ttrpc.TASK_SERVICE
pb = ttrpc.load()

# The freezer: v1 hierarchy, or cgroup.freeze on a unified host.
FREEZE = r'''root= prev=
for a in "$@"; do
	[ "$prev" = --root ] && root=$a
	prev=$a
done
case " $* " in
*" kill --all "*)
	eval "id=\${$(($# - 1))}"
	cg=${root##*/}/$id
	if [ -w "/sys/fs/cgroup/freezer/$cg/freezer.state" ]; then
		echo FROZEN >"/sys/fs/cgroup/freezer/$cg/freezer.state"
		sleep %s
	elif [ -w "/sys/fs/cgroup/$cg/cgroup.freeze" ]; then
		echo 1 >"/sys/fs/cgroup/$cg/cgroup.freeze"
		sleep %s
	fi
	;;
esac
exec '%s' "$@"
'''


def procs_of(ns, cid):
    """Pids left in the container's cgroup (v1 pids hierarchy or v2)."""
    for d in ("/sys/fs/cgroup/pids/%s/%s" % (ns, cid),
              "/sys/fs/cgroup/%s/%s" % (ns, cid)):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                return f.read().split()
        except OSError:
            continue
    return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_comm(pid, name, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if comm(pid) == name:
            return True
        time.sleep(0.02)
    return False


def main():
    shim, rootfs, ns, work = sys.argv[1:5]
    rounds, freeze = int(sys.argv[5]), sys.argv[6]
    ck = Checks()
    runc = __import__("shutil").which("runc")
    pod = Pod(shim, rootfs, ns, work, FREEZE % (freeze, freeze, runc))
    shim_pid = 0
    try:
        for rnd in range(rounds):
            cid = "ka%d" % rnd
            all_ = rnd % 2 == 1
            what = "%s (%s)" % (cid, "kill --all" if all_ else "kill init")
            b = pod.bundle(cid, ["/bin/sh", "-c",
                                 "sleep 100000 & exec sleep 100000"],
                           pidns=False)
            addr = pod.start(cid, b)
            with ttrpc.Client(addr, 30, namespace=ns) as c:
                pid = pod.create(c, cid, b)
                # Signal once the program runs: a cgroup frozen while runc's
                # init is still in execve never finishes freezing (the
                # exec waits for threads the freezer holds), a hazard of
                # this test's freezing wrapper, not of the shim.
                ck.check("%s: the init runs its program" % what,
                         wait_comm(pid, "sleep", 10), comm(pid))
                shim_pid = c.call("Connect", {"id": cid}).shim_pid
                w = c.start(TASK, "Wait", pb.shim.WaitRequest(id=cid))
                k = c.start(TASK, "Kill", pb.shim.KillRequest(
                    id=cid, signal=signal.SIGKILL, all=all_))
                wr = c.finish(w)
                ok = not (wr.HasField("status") and wr.status.code)
                ck.check("%s: Wait answered" % what, ok,
                         wr.status.message if not ok else "")
                if ok:
                    st = pb.shim.WaitResponse.FromString(wr.payload)
                    ck.check("%s: Wait status 137" % what,
                             st.exit_status == 137, str(st.exit_status))
                dr = c.call_raw(TASK, "Delete", pb.shim.DeleteRequest(id=cid))
                ok = not (dr.HasField("status") and dr.status.code)
                ck.check("%s: Delete right after the exit" % what, ok,
                         dr.status.message if not ok else "")
                if ok:
                    d = pb.shim.DeleteResponse.FromString(dr.payload)
                    ck.check("%s: Delete status 137" % what,
                             d.exit_status == 137, str(d.exit_status))
                kr = c.finish(k)
                ok = not (kr.HasField("status") and kr.status.code)
                ck.check("%s: Kill answered" % what, ok,
                         kr.status.message if not ok else "")
                left = procs_of(ns, cid)
                ck.check("%s: no process left in its cgroup" % what,
                         not left, str(left))
                if not ok or left:
                    # Leave nothing for the next round.
                    os.system("runc --root /run/containerd/runc/%s delete "
                              "--force %s >/dev/null 2>&1" % (ns, cid))
                c.call_raw(TASK, "Shutdown", pb.shim.ShutdownRequest(id=cid))
            if shim_pid:
                ck.check("%s: the shim exits after Shutdown" % what,
                         wait_gone(shim_pid, 15), "pid %d" % shim_pid)
    finally:
        pod.events.close()
    return 0 if ck.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
