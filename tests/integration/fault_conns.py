#!/usr/bin/python3
"""fault_conns.py: idle connections and a slow-loris client on a shim
socket, for t_fault_conns.sh.

usage: fault_conns.py SOCKET N

Opens one "slow-loris" connection that announces a 4 MiB request (a
ttrpc header and 1 KiB of it) and then sends its body one byte every
0.4 s, then N connections that never send anything.  Prints "ready open=A closed=B" once the idle
connections are made (closed: how many the shim has already closed), then
keeps everything as it is until stdin closes; prints "done slow=S" (bytes
the slow client got out) and exits, closing all of them.
"""

import select
import socket
import struct
import sys
import threading
import time


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    # The slow client first: it must get a connection slot to hold the
    # shim's large-frame buffer.
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(path)
    slow.sendall(struct.pack(">IIBB", 4 << 20, 1, 1, 0) + b"\0" * 1024)
    sent = [1024]
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            try:
                slow.send(b"\0")
                sent[0] += 1
            except OSError:
                return
            stop.wait(0.4)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(0.5)
    idle = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            idle.append(s)
        except OSError:
            s.close()
    time.sleep(1)
    closed = 0
    for s in idle:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except OSError:
                closed += 1
    print("ready open=%d closed=%d" % (len(idle) - closed, closed),
          flush=True)
    sys.stdin.read()
    stop.set()
    t.join(2)
    print("done slow=%d" % sent[0], flush=True)
    for s in idle:
        s.close()
    slow.close()


if __name__ == "__main__":
    main()
