#!/usr/bin/env python3
"""Ask a shim for a container's Stats over ttrpc and print the type URL
of the metrics Any, then the field numbers present in the metrics
message, e.g.

    io.containerd.cgroups.v2.Metrics
    1 2 4 5 6 7

ctr decodes the Any and prints only the fields, so the type URL (which
tells the shim's cgroup mode: v1.Metrics on legacy and hybrid hosts,
v2.Metrics on unified ones) is not visible through ctr.

usage: ns_stats.py SOCKET ID     (SOCKET may carry a unix:// prefix)
Exit 0 on success; on an error status shimrpc prints it and exits 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shimrpc  # noqa: E402  (the suite's ttrpc client, same directory)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    path, cid = sys.argv[1], sys.argv[2]
    if path.startswith("unix://"):
        path = path[len("unix://"):]
    # StatsRequest{id=1}; StatsResponse{stats=1 (google.protobuf.Any)}
    out = shimrpc.call(path, "Stats", shimrpc.field(1, cid))
    if 1 not in out:
        print("(no stats)")
        sys.exit(1)
    anyv = shimrpc.parse(out[1][0])
    print(anyv.get(1, [b""])[0].decode(errors="replace"))
    fields = shimrpc.parse(anyv.get(2, [b""])[0])
    print(" ".join(str(k) for k in sorted(fields)))


if __name__ == "__main__":
    main()
