#!/usr/bin/env python3
"""Print the fields of an encoded containerd.types.RuntimeInfo (`-info`).

usage: info_decode.py FILE...       fields, one "name=value" a line, into
                                    FILE.txt for each FILE
       info_decode.py --options URL BINARY_NAME
                                    print an encoded google.protobuf.Any
                                    of type URL holding runc Options with
                                    binary_name (field 6) = BINARY_NAME
       info_decode.py --any URL HEX print an encoded Any holding HEX

Standard library only; the field numbers are containerd 2.x's
api/types/introspection.proto (tools/protocheck.py checks ours against
it): 1 name, 2 version {1 version, 2 revision}, 3 options Any, 4 features
Any {1 type_url, 2 value}, 5 annotations map.  Exits 1 when FILE does not
decode as that.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shimrpc  # noqa: E402


def one(fields, num, default=b""):
    vals = fields.get(num, [])
    if len(vals) > 1:
        raise ValueError("field %d repeated" % num)
    return vals[0] if vals else default


def main():
    if sys.argv[1] in ("--any", "--options"):
        if sys.argv[1] == "--any":
            value = bytes.fromhex(sys.argv[3])
        else:
            value = shimrpc.field(6, sys.argv[3])
        sys.stdout.buffer.write(shimrpc.field(1, sys.argv[2]) +
                                shimrpc.field(2, value))
        return 0
    rc = 0
    for path in sys.argv[1:]:
        with open(path + ".txt", "w") as out:
            rc |= decode(open(path, "rb").read(), out)
    return rc


def decode(data, out):
    def say(text):
        print(text, file=out)
    try:
        info = shimrpc.parse(data)
        ver = shimrpc.parse(one(info, 2))
        opts = shimrpc.parse(one(info, 3))
        feat = shimrpc.parse(one(info, 4))
        ann = [shimrpc.parse(e) for e in info.get(5, [])]
    except (ValueError, IndexError) as e:
        print("undecodable RuntimeInfo: %s" % e, file=sys.stderr)
        return 1
    say("name=%s" % one(info, 1).decode())
    say("version=%s" % one(ver, 1).decode())
    say("revision=%s" % one(ver, 2).decode())
    say("has_options=%d" % (3 in info))
    say("options_url=%s" % one(opts, 1).decode())
    say("options_hex=%s" % one(opts, 2).hex())
    say("has_features=%d" % (4 in info))
    say("features_url=%s" % one(feat, 1).decode())
    fv = one(feat, 2)
    say("features_sha256=%s" % hashlib.sha256(fv).hexdigest())
    if fv:
        doc = json.loads(fv)
        say("features_ociVersionMax=%s" % doc.get("ociVersionMax", ""))
    say("annotations=%s" % ",".join(
        "%s=%s" % (one(a, 1).decode(), one(a, 2).decode()) for a in ann))
    return 0


if __name__ == "__main__":
    sys.exit(main())
