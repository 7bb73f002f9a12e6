#!/usr/bin/python3
"""tools/protocheck.py - prove proto/ has containerd 1.6.20's wire contract.

Owns: the list of upstream definitions our proto/ must match and the rules
of "match".  Does not own: the .proto files themselves, or nanopb options.

Our .proto files are written from scratch; this compares them, compiled by
protoc, with the upstream ones shipped by Debian's golang-github-containerd-*
packages (and ttrpc's Go struct tags, since ttrpc 1.1 ships no .proto).
For every message of an upstream file, recursively (nested and map-entry
messages included), and every enum, it reports one line per difference:
missing message/enum/field/value, or a different name, number, type,
type_name (fully qualified), label, map-entry flag, json_name, oneof
membership, packed option or file syntax.  Service methods (request,
response, streaming) are compared too.  A message or enum of ours that
upstream does not have is an error unless in EXTRA_ALLOWED.

Usage:
  tools/protocheck.py              compare, exit 1 on any difference
  tools/protocheck.py --selftest   mutate a temp copy of proto/ in ways
                                   that change the contract and check each
                                   one is caught (and the clean copy passes)
Options: --proto DIR (ours, default <repo>/proto), -v (list what matched).
Needs: protoc, /usr/bin/python3 with python3-protobuf, the Debian packages
golang-github-containerd-{containerd,cgroups,ttrpc}-dev and
golang-github-gogo-{protobuf,googleapis}-dev.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOCODE = "/usr/share/gocode/src"

UPSTREAM_INCLUDES = [
    GOCODE,
    GOCODE + "/github.com/gogo/protobuf",      # gogoproto/gogo.proto
    GOCODE + "/github.com/gogo/googleapis",    # google/rpc/status.proto
    "/usr/include",                            # google/protobuf/*.proto
]

# Upstream file -> the file of ours that states the same contract.
UPSTREAM_FILES = [
    ("github.com/containerd/containerd/runtime/v2/task/shim.proto",
     "containerd/task/v2/shim.proto"),
    ("github.com/containerd/containerd/api/types/mount.proto",
     "containerd/types/mount.proto"),
    ("github.com/containerd/containerd/api/types/task/task.proto",
     "containerd/types/task/task.proto"),
    ("github.com/containerd/containerd/api/events/task.proto",
     "containerd/events/task.proto"),
    ("github.com/containerd/containerd/api/services/ttrpc/events/v1/"
     "events.proto",
     "containerd/services/events/ttrpc/v1/events.proto"),
    ("github.com/containerd/containerd/runtime/v2/runc/options/oci.proto",
     "containerd/runc/v1/oci.proto"),
    ("github.com/containerd/cgroups/stats/v1/metrics.proto",
     "cgroups/v1/metrics.proto"),
    ("github.com/containerd/cgroups/v2/stats/metrics.proto",
     "cgroups/v2/metrics.proto"),
    ("google/rpc/status.proto", "google/rpc/status.proto"),
    # Our minimal well-known types against protoc's own copies.
    ("google/protobuf/any.proto", "google/protobuf/any.proto"),
    ("google/protobuf/empty.proto", "google/protobuf/empty.proto"),
    ("google/protobuf/timestamp.proto", "google/protobuf/timestamp.proto"),
]

TTRPC_TYPES_GO = GOCODE + "/github.com/containerd/ttrpc/types.go"
TTRPC_OURS = "ttrpc.proto"

# Messages/enums of ours with no upstream counterpart (full names).  Empty:
# every type we declare is containerd's (or google's, checked above).
EXTRA_ALLOWED = set()

FDP = descriptor_pb2.FieldDescriptorProto


def die(msg):
    sys.stderr.write("protocheck: %s\n" % msg)
    sys.exit(2)


def protoc_set(includes, files, out):
    """Compile files with protoc; return {file name: FileDescriptorProto}."""
    cmd = ["protoc"] + ["-I" + i for i in includes] + [
        "--descriptor_set_out=" + out, "--include_imports"] + files
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("protoc failed:\n" + p.stderr)
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())
    return {fd.name: fd for fd in fds.file}


# ---- ttrpc: Go struct tags -> DescriptorProto ----

GO_IMPORT_PACKAGES = {
    "google.golang.org/genproto/googleapis/rpc/status": "google.rpc",
}

GO_SCALARS = {
    # (wire kind, Go type) -> descriptor type
    ("bytes", "string"): FDP.TYPE_STRING,
    ("bytes", "[]byte"): FDP.TYPE_BYTES,
    ("varint", "int64"): FDP.TYPE_INT64,
    ("varint", "int32"): FDP.TYPE_INT32,
    ("varint", "uint64"): FDP.TYPE_UINT64,
    ("varint", "uint32"): FDP.TYPE_UINT32,
    ("varint", "bool"): FDP.TYPE_BOOL,
    ("zigzag32", "int32"): FDP.TYPE_SINT32,
    ("zigzag64", "int64"): FDP.TYPE_SINT64,
    ("fixed32", "uint32"): FDP.TYPE_FIXED32,
    ("fixed64", "uint64"): FDP.TYPE_FIXED64,
    ("fixed32", "int32"): FDP.TYPE_SFIXED32,
    ("fixed64", "int64"): FDP.TYPE_SFIXED64,
    ("fixed32", "float32"): FDP.TYPE_FLOAT,
    ("fixed64", "float64"): FDP.TYPE_DOUBLE,
}


def snake_to_json(name):
    """protoc's default json_name: lowerCamelCase of the field name."""
    out, up = [], False
    for c in name:
        if c == "_":
            up = True
        elif up:
            out.append(c.upper())
            up = False
        else:
            out.append(c)
    return "".join(out)


def ttrpc_from_go(path, package="ttrpc"):
    """A FileDescriptorProto built from the struct tags of ttrpc's types.go."""
    src = open(path, encoding="utf-8").read()
    aliases = {}
    for m in re.finditer(r'^\s*(\w+)?\s*"([^"]+)"\s*$', src, re.M):
        alias = m.group(1) or m.group(2).rsplit("/", 1)[-1]
        if m.group(2) in GO_IMPORT_PACKAGES:
            aliases[alias] = GO_IMPORT_PACKAGES[m.group(2)]
    fd = descriptor_pb2.FileDescriptorProto(name=path, package=package,
                                            syntax="proto3")
    for m in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", src, re.M | re.S):
        msg = fd.message_type.add(name=m.group(1))
        for line in m.group(2).splitlines():
            f = re.match(r'\s*\w+\s+(\S+)\s+`protobuf:"([^"]+)"`', line)
            if not f:
                continue
            gotype, tag = f.group(1), f.group(2).split(",")
            kind, number, rule = tag[0], int(tag[1]), tag[2]
            attrs = dict(t.split("=", 1) for t in tag[3:] if "=" in t)
            if "proto3" not in tag[3:]:
                raise RuntimeError("%s.%s: not a proto3 tag" %
                                   (msg.name, attrs.get("name")))
            fld = msg.field.add(name=attrs["name"], number=number)
            fld.json_name = attrs.get("json", snake_to_json(fld.name))
            fld.label = {"opt": FDP.LABEL_OPTIONAL, "rep": FDP.LABEL_REPEATED,
                         "req": FDP.LABEL_REQUIRED}[rule]
            base = gotype
            if rule == "rep" and base.startswith("[]") and base != "[]byte":
                base = base[2:]
            if (kind, base) in GO_SCALARS:
                fld.type = GO_SCALARS[(kind, base)]
                continue
            if kind != "bytes":
                raise RuntimeError("%s.%s: cannot map Go type %s (%s)" %
                                   (msg.name, fld.name, gotype, kind))
            base = base.lstrip("*")
            if "." in base:
                alias, name = base.split(".", 1)
                if alias not in aliases:
                    raise RuntimeError("unknown Go package alias " + alias)
                full = "." + aliases[alias] + "." + name
            else:
                full = "." + package + "." + base
            fld.type = FDP.TYPE_MESSAGE
            fld.type_name = full
    if not fd.message_type:
        raise RuntimeError("no structs with protobuf tags in " + path)
    return fd


# ---- comparison ----

def type_name(t):
    return FDP.Type.Name(t)[5:].lower()


def label_name(lbl):
    return FDP.Label.Name(lbl)[6:].lower()


def collect(fd):
    """Full name -> (kind, descriptor, file) for every message and enum."""
    out = {}

    def walk(prefix, msgs, enums):
        for e in enums:
            out[prefix + e.name] = ("enum", e, fd)
        for m in msgs:
            out[prefix + m.name] = ("message", m, fd)
            walk(prefix + m.name + ".", m.nested_type, m.enum_type)

    walk("." + fd.package + "." if fd.package else ".", fd.message_type,
         fd.enum_type)
    return out


def field_attrs(f, msg):
    packed = f.options.packed if f.options.HasField("packed") else None
    oneof = msg.oneof_decl[f.oneof_index].name \
        if f.HasField("oneof_index") else None
    return [
        ("name", f.name),
        ("type", type_name(f.type)),
        ("type_name", f.type_name or None),
        ("label", label_name(f.label)),
        ("json_name", f.json_name or snake_to_json(f.name)),
        ("oneof", oneof),
        ("proto3_optional", f.proto3_optional or None),
        ("packed", packed),
    ]


def compare_message(full, up, ours, up_fd, our_fd, errs, counts):
    if (up_fd.syntax or "proto2") != (our_fd.syntax or "proto2"):
        errs.append("%s: syntax %s, want %s" % (full, our_fd.syntax or
                                                "proto2", up_fd.syntax))
    if up.options.map_entry != ours.options.map_entry:
        errs.append("%s: map_entry %s, want %s" % (
            full, ours.options.map_entry, up.options.map_entry))
    mine = {f.number: f for f in ours.field}
    by_name = {f.name: f for f in ours.field}
    for f in up.field:
        counts["fields"] += 1
        o = mine.get(f.number)
        if o is None:
            hint = ""
            if f.name in by_name:
                hint = " (ours has %s = %d)" % (f.name, by_name[f.name].number)
            errs.append("%s: missing field %s = %d%s" % (full, f.name,
                                                          f.number, hint))
            continue
        for (k, want), (_, got) in zip(field_attrs(f, up),
                                       field_attrs(o, ours)):
            if want != got:
                errs.append("%s field %d (%s): %s is %s, want %s" % (
                    full, f.number, f.name, k, got, want))
    up_numbers = {f.number for f in up.field}
    for f in ours.field:
        if f.number not in up_numbers:
            errs.append("%s: extra field %s = %d" % (full, f.name, f.number))


def compare_enum(full, up, ours, errs, counts):
    mine = {v.name: v.number for v in ours.value}
    for v in up.value:
        counts["values"] += 1
        if v.name not in mine:
            errs.append("%s: missing value %s = %d" % (full, v.name, v.number))
        elif mine[v.name] != v.number:
            errs.append("%s.%s: number %d, want %d" % (full, v.name,
                                                       mine[v.name], v.number))
    up_names = {v.name for v in up.value}
    for v in ours.value:
        if v.name not in up_names:
            errs.append("%s: extra value %s = %d" % (full, v.name, v.number))


def compare_services(up_fd, our_fd, errs, counts):
    mine = {s.name: s for s in our_fd.service}
    for s in up_fd.service:
        full = "." + up_fd.package + "." + s.name
        if s.name not in mine:
            errs.append("%s: missing service (in %s)" % (full, our_fd.name))
            continue
        methods = {m.name: m for m in mine[s.name].method}
        for m in s.method:
            counts["methods"] += 1
            o = methods.get(m.name)
            if o is None:
                errs.append("%s: missing method %s" % (full, m.name))
                continue
            for k in ("input_type", "output_type", "client_streaming",
                      "server_streaming"):
                if getattr(m, k) != getattr(o, k):
                    errs.append("%s/%s: %s is %s, want %s" % (
                        full, m.name, k, getattr(o, k), getattr(m, k)))
        up_names = {m.name for m in s.method}
        for m in mine[s.name].method:
            if m.name not in up_names:
                errs.append("%s: extra method %s" % (full, m.name))
    up_svcs = {s.name for s in up_fd.service}
    for s in our_fd.service:
        if s.name not in up_svcs:
            errs.append(".%s.%s: extra service" % (our_fd.package, s.name))


def check(proto_dir, verbose=False):
    """Return (errors, counts) comparing proto_dir against upstream."""
    errs = []
    counts = {"messages": 0, "fields": 0, "enums": 0, "values": 0,
              "methods": 0}
    ours_files = sorted(
        os.path.relpath(os.path.join(d, f), proto_dir)
        for d, _, fs in os.walk(proto_dir) for f in fs
        if f.endswith(".proto"))
    with tempfile.TemporaryDirectory(prefix="protocheck.") as tmp:
        ours = protoc_set([proto_dir], ours_files,
                          os.path.join(tmp, "ours.pb"))
        upstream = protoc_set(UPSTREAM_INCLUDES,
                              [u for u, _ in UPSTREAM_FILES],
                              os.path.join(tmp, "up.pb"))

    pairs = [(upstream[u], o) for u, o in UPSTREAM_FILES]
    pairs.append((ttrpc_from_go(TTRPC_TYPES_GO), TTRPC_OURS))

    our_types = {}
    for fd in ours.values():
        our_types.update(collect(fd))
    seen = set()
    for up_fd, our_name in pairs:
        our_fd = ours.get(our_name)
        if our_fd is None:
            errs.append("%s: missing (counterpart of %s)" % (our_name,
                                                             up_fd.name))
            continue
        if our_fd.package != up_fd.package:
            errs.append("%s: package %s, want %s" % (our_name, our_fd.package,
                                                     up_fd.package))
        compare_services(up_fd, our_fd, errs, counts)
        for full, (kind, up, _) in sorted(collect(up_fd).items()):
            seen.add(full)
            got = our_types.get(full)
            if got is None:
                errs.append("%s: missing %s (from %s)" % (full, kind,
                                                          up_fd.name))
                continue
            if got[0] != kind:
                errs.append("%s: is a %s, want %s" % (full, got[0], kind))
                continue
            if got[2].name != our_name:
                errs.append("%s: declared in %s, want %s" % (
                    full, got[2].name, our_name))
            if kind == "message":
                counts["messages"] += 1
                compare_message(full, up, got[1], up_fd, got[2], errs, counts)
            else:
                counts["enums"] += 1
                compare_enum(full, up, got[1], errs, counts)
            if verbose:
                print("checked %s %s" % (kind, full))
    for full in sorted(set(our_types) - seen - EXTRA_ALLOWED):
        errs.append("%s: extra %s in %s (not upstream)" % (
            full, our_types[full][0], our_types[full][2].name))
    return errs, counts


def summary(counts):
    return ("%(messages)d messages, %(fields)d fields, %(enums)d enums "
            "(%(values)d values), %(methods)d methods checked" % counts)


# ---- self-test ----

# (file, old text, new text, substring the report must contain)
MUTATIONS = [
    ("containerd/task/v2/shim.proto", "string parent_checkpoint = 9;",
     "string parent_checkpoint = 11;",
     "CreateTaskRequest: missing field parent_checkpoint = 9"),
    ("containerd/types/mount.proto", "repeated string options = 4;",
     "repeated bytes options = 4;",
     "Mount field 4 (options): type is bytes, want string"),
    ("containerd/types/mount.proto", "repeated string options = 4;",
     "string options = 4;",
     "Mount field 4 (options): label is optional, want repeated"),
    ("containerd/runc/v1/oci.proto", "string binary_name = 6;",
     "string binary = 6;",
     "Options field 6 (binary_name): name is binary, want binary_name"),
    ("containerd/services/events/ttrpc/v1/events.proto",
     "google.protobuf.Timestamp timestamp = 1;",
     "google.protobuf.Any timestamp = 1;",
     "type_name is .google.protobuf.Any, want .google.protobuf.Timestamp"),
    ("containerd/events/task.proto", "\tstring checkpoint = 2;\n", "",
     "TaskCheckpointed: missing field checkpoint = 2"),
    ("containerd/task/v2/shim.proto", "message ResumeRequest {",
     "message Bogus {\n\tstring x = 1;\n}\n\nmessage ResumeRequest {",
     ".containerd.task.v2.Bogus: extra message"),
    ("containerd/types/task/task.proto", "PAUSING = 5;", "PAUSING = 6;",
     "Status.PAUSING: number 6, want 5"),
    ("containerd/task/v2/shim.proto",
     "map<string, string> annotations = 3;",
     "repeated AnnotationsEntry annotations = 3;\n\tmessage AnnotationsEntry"
     " {\n\t\tstring key = 1;\n\t\tstring value = 2;\n\t}",
     "UpdateTaskRequest.AnnotationsEntry: map_entry False, want True"),
    ("ttrpc.proto", "int64 timeout_nano = 4;", "uint64 timeout_nano = 4;",
     ".ttrpc.Request field 4 (timeout_nano): type is uint64, want int64"),
    ("ttrpc.proto", "google.rpc.Status status = 1;", "bytes status = 1;",
     ".ttrpc.Response field 1 (status): type is bytes, want message"),
    ("cgroups/v2/metrics.proto", "uint64 usage_usec = 1;",
     "uint64 usage_usec = 9;",
     "v2.CPUStat: missing field usage_usec = 1 (ours has usage_usec = 9)"),
    ("cgroups/v1/metrics.proto", "repeated uint64 per_cpu = 4;",
     "repeated uint64 per_cpu = 4 [packed = false];",
     "CPUUsage field 4 (per_cpu): packed is False, want None"),
    ("containerd/task/v2/shim.proto",
     "rpc Kill(KillRequest) returns (google.protobuf.Empty);",
     "rpc Kill(KillRequest) returns (KillRequest);",
     "Task/Kill: output_type is .containerd.task.v2.KillRequest"),
    ("containerd/task/v2/shim.proto",
     "\trpc Shutdown(ShutdownRequest) returns (google.protobuf.Empty);\n",
     "", "Task: missing method Shutdown"),
    ("google/protobuf/timestamp.proto", "int32 nanos = 2;",
     "int64 nanos = 2;",
     "Timestamp field 2 (nanos): type is int64, want int32"),
    ("containerd/task/v2/shim.proto", "uint32 task_pid = 2;",
     "uint32 taskpid = 2;",
     "json_name is taskpid, want taskPid"),
]


def selftest(proto_dir):
    failed = 0
    with tempfile.TemporaryDirectory(prefix="protocheck-self.") as tmp:
        base = os.path.join(tmp, "proto")
        shutil.copytree(proto_dir, base)
        errs, _ = check(base)
        if errs:
            print("selftest: clean copy reported differences:")
            for e in errs:
                print("  " + e)
            return 1
        for i, (name, old, new, expect) in enumerate(MUTATIONS):
            work = os.path.join(tmp, "m%d" % i)
            shutil.copytree(proto_dir, work)
            path = os.path.join(work, name)
            text = open(path, encoding="utf-8").read()
            if text.count(old) != 1:
                print("selftest: mutation %d: %r found %d times in %s" %
                      (i, old, text.count(old), name))
                failed += 1
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new))
            errs, _ = check(work)
            if any(expect in e for e in errs):
                print("selftest: caught: %s" % expect)
            else:
                print("selftest: NOT caught: %s (got %s)" % (expect, errs))
                failed += 1
            shutil.rmtree(work)
    # The ttrpc tag parser: a changed tag number must show up.
    with tempfile.TemporaryDirectory(prefix="protocheck-self.") as tmp:
        go = os.path.join(tmp, "types.go")
        text = open(TTRPC_TYPES_GO, encoding="utf-8").read()
        with open(go, "w", encoding="utf-8") as f:
            f.write(text.replace('"bytes,3,opt,name=payload', '"bytes,7,opt,'
                                 'name=payload', 1))
        fd = ttrpc_from_go(go)
        numbers = {f.name: f.number for f in fd.message_type[0].field}
        if numbers.get("payload") != 7:
            print("selftest: ttrpc tag parser did not see the change")
            failed += 1
        else:
            print("selftest: caught: ttrpc types.go tag change")
    print("selftest: %d of %d mutations caught" % (
        len(MUTATIONS) + 1 - failed, len(MUTATIONS) + 1))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proto", default=os.path.join(ROOT, "proto"))
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if shutil.which("protoc") is None:
        die("protoc not found (apt-get install protobuf-compiler)")
    for u, _ in UPSTREAM_FILES[:8]:
        if not os.path.exists(os.path.join(GOCODE, u)):
            die("upstream %s not found (Debian golang-github-containerd-*"
                "-dev)" % u)
    if args.selftest:
        return selftest(args.proto)
    try:
        errs, counts = check(args.proto, args.verbose)
    except RuntimeError as e:
        die(str(e))
    for e in errs:
        print(e)
    if errs:
        print("%s: %d difference(s)" % (summary(counts), len(errs)))
        return 1
    print("%s: OK" % summary(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
