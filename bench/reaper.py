#!/usr/bin/python3
"""bench/reaper.py LOG -- CMD [ARG...]: run CMD as a child subreaper and
record the CPU time of every orphan that dies under it.

A shim daemon outlives the `start` process that spawned it, so it is
re-parented to the nearest subreaper.  This process is that subreaper
for everything CMD starts (containerd, and through it every shim).  When
an orphan exits, its /proc/<pid>/stat and schedstat are read while it is
still a zombie (waitid with WNOWAIT), then it is reaped.  That gives the
process's own user and system time, without its reaped children (runc),
which wait4's rusage would add.

One line per reaped process is appended to LOG:
    pid comm utime_ticks stime_ticks run_ns exit_status
(run_ns: /proc/<pid>/schedstat, nanoseconds on a CPU; ticks: USER_HZ).
Exit status: CMD's.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def stat_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        with open(f"/proc/{pid}/schedstat") as f:
            run_ns = int(f.read().split()[0])
    except (OSError, ValueError):
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    fld = s[s.rindex(")") + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return comm.replace(" ", "_"), int(fld[11]), int(fld[12]), run_ns


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write("usage: reaper.py LOG -- CMD [ARG...]\n")
        return 2
    log = sys.argv[1]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("reaper.py: prctl(PR_SET_CHILD_SUBREAPER) failed\n")
        return 1
    child = os.fork()
    if child == 0:
        os.execvp(sys.argv[3], sys.argv[3:])
    # Signals meant for the bench reach CMD; we stay until it is gone.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: os.kill(child, s))
    code = 1
    with open(log, "a", buffering=1) as out:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if info is None:
                continue
            pid = info.si_pid
            st = stat_of(pid)
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                continue
            if pid == child:
                code = os.waitstatus_to_exitcode(status)
                # Orphans still running keep us waiting: they are the
                # bench's to stop, and their times are still wanted.
                continue
            if st:
                out.write("%d %s %d %d %d %d\n" % ((pid,) + st + (status,)))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
