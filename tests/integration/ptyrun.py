#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal and relay its output.

ctr wants a terminal for `run -t` / `exec -t`; script(1) from util-linux
2.38 spins and waits for its own stdin to end, so the suite uses this.

usage: ptyrun.py [-s ROWSxCOLS] [-r ROWSxCOLS -w MARKER] [-i TEXT]
                 [-t SECONDS] -- COMMAND [ARG...]

  -s  window size of the terminal before COMMAND starts (default 24x80)
  -r  new window size, set once MARKER has appeared in the output
      (the kernel then sends SIGWINCH to COMMAND)
  -i  text written to the terminal once MARKER (without -w: anything)
      has appeared in the output
  -t  kill COMMAND after this many seconds (exit 124)

Everything COMMAND writes to the terminal is copied to stdout.  The exit
status is COMMAND's (128+N when killed by signal N).
"""
import argparse
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time


def size(text):
    rows, cols = text.lower().split("x")
    return int(rows), int(cols)


def set_size(fd, rows_cols):
    rows, cols = rows_cols
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def spawn(argv, slave, master):
    pid = os.fork()
    if pid != 0:
        return pid
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, ("ptyrun: %s: %s\n" % (argv[0], e.strerror)).encode())
    os._exit(127)


def status_of(st):
    if os.WIFSIGNALED(st):
        return 128 + os.WTERMSIG(st)
    return os.WEXITSTATUS(st)


def relay(master, pid, args):
    seen = b""
    resized = args.resize is None
    typed = args.input is None
    deadline = time.monotonic() + args.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stderr.write("ptyrun: timeout\n")
            return 124
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        seen = (seen + data)[-65536:]
        if not resized and args.when.encode() in seen:
            set_size(master, args.resize)
            resized = True
        if not typed and args.when.encode() in seen:
            os.write(master, args.input.encode())
            typed = True
    _, st = os.waitpid(pid, 0)
    return status_of(st)


def main():
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("-s", dest="size", type=size, default=(24, 80))
    p.add_argument("-r", dest="resize", type=size)
    p.add_argument("-w", dest="when", default="")
    p.add_argument("-i", dest="input")
    p.add_argument("-t", dest="timeout", type=float, default=60)
    p.add_argument("argv", nargs="+")
    args = p.parse_args()
    master, slave = os.openpty()
    set_size(slave, args.size)
    pid = spawn(args.argv, slave, master)
    os.close(slave)
    sys.exit(relay(master, pid, args))


if __name__ == "__main__":
    main()
