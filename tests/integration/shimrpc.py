#!/usr/bin/env python3
"""Call a shim's containerd.task.v2.Task service directly over ttrpc.

ctr 1.6 has no `task update`, so the suite sends Update itself.  Only the
standard library is used; protobuf is encoded by hand (spec 2.1, 3.2).

usage: shimrpc.py SOCKET update ID RESOURCES_JSON
       shimrpc.py SOCKET connect ID      -> prints "shim_pid task_pid"

SOCKET may carry a unix:// prefix (the bundle's `address` file does).
Exit 0 on success; on an error status print "code N: message", exit 1.
"""
import os
import socket
import struct
import sys

# containerd 2.x's Go shim serves task v3 only: SHIMRPC_SERVICE picks it.
SERVICE = os.environ.get("SHIMRPC_SERVICE", "containerd.task.v2.Task")
RESOURCES_URL = ("types.containerd.io/opencontainers/runtime-spec/1/"
                 "LinuxResources")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, data):
    """Length-delimited field (wire type 2)."""
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def parse(buf):
    """Decode one message level into {field: [values]}."""
    out = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(val)
    return out


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def call(path, method, payload):
    req = field(1, SERVICE) + field(2, method) + field(3, payload)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(path)
    sock.sendall(struct.pack(">IIBB", len(req), 1, 1, 0) + req)
    length, stream, mtype, _ = struct.unpack(">IIBB", recv_exact(sock, 10))
    body = recv_exact(sock, length)
    sock.close()
    if stream != 1 or mtype != 2:
        raise ValueError("unexpected frame stream=%d type=%d" % (stream, mtype))
    resp = parse(body)
    if 1 in resp:
        status = parse(resp[1][0])
        code = status.get(1, [0])[0]
        msg = status.get(2, [b""])[0].decode(errors="replace")
        if code:
            print("code %d: %s" % (code, msg))
            sys.exit(1)
    return parse(resp.get(2, [b""])[0])


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    path, method, cid = sys.argv[1], sys.argv[2], sys.argv[3]
    if path.startswith("unix://"):
        path = path[len("unix://"):]
    if method == "update" and len(sys.argv) == 5:
        res = field(1, RESOURCES_URL) + field(2, sys.argv[4])
        call(path, "Update", field(1, cid) + field(2, res))
    elif method == "connect":
        out = call(path, "Connect", field(1, cid))
        print(out.get(1, [0])[0], out.get(2, [0])[0])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
