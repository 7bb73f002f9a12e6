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

# Messages/enums of ours with no 1.6 counterpart (full names): the types
# of containerd 2.x's `-info` contract, checked against 2.x below.
EXTRA_ALLOWED = {
    ".containerd.types.RuntimeRequest",
    ".containerd.types.RuntimeVersion",
    ".containerd.types.RuntimeInfo",
    ".containerd.types.RuntimeInfo.AnnotationsEntry",
    ".io.containerd.cgroups.v2.PSIStats",
    ".io.containerd.cgroups.v2.PSIData",
}

# Fields of ours that 1.6's files lack: what cgroups v3 (containerd 2.x)
# added to the v2 metrics, checked against 2.x.  A 1.6 receiver skips them.
EXTRA_FIELDS_16 = {
    ".io.containerd.cgroups.v2.CPUStat: extra field psi = 7",
    ".io.containerd.cgroups.v2.IOStat: extra field psi = 2",
    ".io.containerd.cgroups.v2.MemoryStat: extra field max_usage = 36",
    ".io.containerd.cgroups.v2.MemoryStat: extra field swap_max_usage = 37",
    ".io.containerd.cgroups.v2.MemoryStat: extra field psi = 38",
}

# containerd 2.x: the .proto files of Debian sid's containerd 2.1 and its
# cgroups v3 and ttrpc 1.2 packages, unpacked into build/ by
# tools/debsuite.sh (make suites).  The same rules, plus: containerd 2.x
# serves task v3 from its own file, whose messages are v2's under another
# package, so v3 is compared with our v2 file after renaming the package
# (we serve both services with one set of messages); and an upstream
# message of ours' files that we do not declare is an error only when
# something we do declare (a field, a method) refers to it: 2.x files
# carry types that never cross a shim's sockets.
SID_GOCODE = os.path.join(ROOT, "build", "suites", "sid", "usr", "share",
                          "gocode", "src")
UPSTREAM2_INCLUDES = [
    SID_GOCODE,
    SID_GOCODE + "/github.com/containerd/ttrpc",  # proto/status.proto
    "/usr/include",
]
_API2 = "github.com/containerd/containerd/api/"
# (upstream file, ours, (upstream package, ours) or None or "types-only":
# compare the messages, not the file's package and services)
UPSTREAM2_FILES = [
    (_API2 + "runtime/task/v2/shim.proto", "containerd/task/v2/shim.proto",
     None),
    (_API2 + "runtime/task/v3/shim.proto", "containerd/task/v2/shim.proto",
     ("containerd.task.v3", "containerd.task.v2")),
    (_API2 + "types/mount.proto", "containerd/types/mount.proto", None),
    (_API2 + "types/task/task.proto", "containerd/types/task/task.proto",
     None),
    (_API2 + "types/introspection.proto",
     "containerd/types/introspection.proto", None),
    (_API2 + "events/task.proto", "containerd/events/task.proto", None),
    (_API2 + "services/ttrpc/events/v1/events.proto",
     "containerd/services/events/ttrpc/v1/events.proto", None),
    (_API2 + "types/runc/options/oci.proto", "containerd/runc/v1/oci.proto",
     None),
    ("github.com/containerd/cgroups/v3/cgroup1/stats/metrics.proto",
     "cgroups/v1/metrics.proto", None),
    ("github.com/containerd/cgroups/v3/cgroup2/stats/metrics.proto",
     "cgroups/v2/metrics.proto", None),
    # Only its Envelope (ALIASES2), which ours declares with the service.
    (_API2 + "types/event.proto",
     "containerd/services/events/ttrpc/v1/events.proto", "types-only"),
    ("github.com/containerd/ttrpc/request.proto", "ttrpc.proto", None),
]

# Upstream types that 2.x declares under another name than ours, with the
# same fields: references are renamed, and the type is compared with ours.
ALIASES2 = {
    # 2.x moved the event envelope to containerd.types (types/event.proto);
    # the events service sends it in the same field, same encoding.
    ".containerd.types.Envelope":
        ".containerd.services.events.ttrpc.v1.Envelope",
    # ttrpc 1.2's request.proto imports a stub Status (code only, for its
    # generator); its Go type is google.rpc.Status, as in ttrpc 1.1.
    ".Status": ".google.rpc.Status",
}

# Differences from 2.x that are known and harmless, with the reason.
ALLOWED2 = {
    ".containerd.runc.v1.Options: missing field task_api_address = 12":
        "2.x's sandbox controllers set it for their own shims; a task shim "
        "ignores it (the decoder skips unknown fields)",
    ".containerd.runc.v1.Options: missing field task_api_version = 13":
        "the same (sandbox controllers)",
    ".containerd.runc.v1.Options: extra field criu_path = 8":
        "1.6/1.7 send it; 2.x reserves the number and never sends it",
}

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


def renamed(fd, frm, to):
    """A copy of fd with package frm called to (type names included)."""
    fd2 = descriptor_pb2.FileDescriptorProto()
    fd2.CopyFrom(fd)
    fd2.package = to
    old, new = "." + frm + ".", "." + to + "."

    def fix(msgs):
        for m in msgs:
            for f in m.field:
                if f.type_name.startswith(old):
                    f.type_name = new + f.type_name[len(old):]
            fix(m.nested_type)

    fix(fd2.message_type)
    for s in fd2.service:
        for m in s.method:
            for k in ("input_type", "output_type"):
                if getattr(m, k).startswith(old):
                    setattr(m, k, new + getattr(m, k)[len(old):])
    return fd2


def aliased(fd):
    """A copy of fd whose references to ALIASES2 types use our names."""
    fd2 = descriptor_pb2.FileDescriptorProto()
    fd2.CopyFrom(fd)

    def fix(msgs):
        for m in msgs:
            for f in m.field:
                f.type_name = ALIASES2.get(f.type_name, f.type_name)
            fix(m.nested_type)

    fix(fd2.message_type)
    return fd2


def referrers(up_fd, ours_full):
    """Full type name -> names of things in up_fd that we declare (messages
    in ours_full, and service methods) which refer to it."""
    refs = {}
    for full, (kind, m, _) in collect(up_fd).items():
        if kind != "message" or full not in ours_full:
            continue
        for f in m.field:
            if f.type_name:
                refs.setdefault(f.type_name, []).append(full + "." + f.name)
    for s in up_fd.service:
        for m in s.method:
            for t in (m.input_type, m.output_type):
                refs.setdefault(t, []).append("%s/%s" % (s.name, m.name))
    return refs


def our_descriptors(proto_dir, tmp):
    ours_files = sorted(
        os.path.relpath(os.path.join(d, f), proto_dir)
        for d, _, fs in os.walk(proto_dir) for f in fs
        if f.endswith(".proto"))
    return protoc_set([proto_dir], ours_files, os.path.join(tmp, "ours.pb"))


def check(proto_dir, verbose=False, v2x=False):
    """Return (errors, counts) comparing proto_dir against upstream:
    containerd 1.6's files, or with v2x containerd 2.x's."""
    errs = []
    counts = {"messages": 0, "fields": 0, "enums": 0, "values": 0,
              "methods": 0, "unused": 0}
    with tempfile.TemporaryDirectory(prefix="protocheck.") as tmp:
        ours = our_descriptors(proto_dir, tmp)
        if v2x:
            upstream = protoc_set(UPSTREAM2_INCLUDES,
                                  [u for u, _, _ in UPSTREAM2_FILES],
                                  os.path.join(tmp, "up.pb"))
        else:
            upstream = protoc_set(UPSTREAM_INCLUDES,
                                  [u for u, _ in UPSTREAM_FILES],
                                  os.path.join(tmp, "up.pb"))

    if v2x:
        pairs = [(aliased(renamed(upstream[u], *rn)
                          if isinstance(rn, tuple) else upstream[u]), o,
                  rn == "types-only") for u, o, rn in UPSTREAM2_FILES]
    else:
        pairs = [(upstream[u], o, False) for u, o in UPSTREAM_FILES]
        pairs.append((ttrpc_from_go(TTRPC_TYPES_GO), TTRPC_OURS, False))

    our_types = {}
    for fd in ours.values():
        our_types.update(collect(fd))
    seen = set()
    for up_fd, our_name, types_only in pairs:
        our_fd = ours.get(our_name)
        if our_fd is None:
            errs.append("%s: missing (counterpart of %s)" % (our_name,
                                                             up_fd.name))
            continue
        if our_fd.package != up_fd.package and not types_only:
            errs.append("%s: package %s, want %s" % (our_name, our_fd.package,
                                                     up_fd.package))
        if not types_only:
            compare_services(up_fd, our_fd, errs, counts)
        refs = referrers(up_fd, our_types) if v2x else {}
        for full, (kind, up, _) in sorted(collect(up_fd).items()):
            seen.add(full)
            alias = ALIASES2.get(full) if v2x else None
            if alias:
                full = alias
            got = our_types.get(full)
            if got is None and v2x and full not in refs:
                counts["unused"] += 1
                if verbose:
                    print("unused upstream %s %s (nothing of ours refers "
                          "to it)" % (kind, full))
                continue
            if got is None:
                why = ""
                if full in refs:
                    why = ", used by " + ", ".join(sorted(refs[full])[:3])
                errs.append("%s: missing %s (from %s%s)" % (
                    full, kind, up_fd.name, why))
                continue
            if got[0] != kind:
                errs.append("%s: is a %s, want %s" % (full, got[0], kind))
                continue
            if got[2].name != our_name and not alias:
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
    if v2x:
        known = [e for e in errs if e in ALLOWED2]
        errs = [e for e in errs if e not in ALLOWED2]
        counts["allowed"] = len(known)
        if verbose:
            for e in known:
                print("allowed: %s (%s)" % (e, ALLOWED2[e]))
    # Every type of ours has a 1.6 counterpart (or is a 2.x one); the 2.x
    # pass compares what the shim shares with 2.x, so it asks nothing more.
    if not v2x:
        errs = [e for e in errs if e not in EXTRA_FIELDS_16]
        for full in sorted(set(our_types) - seen - EXTRA_ALLOWED):
            errs.append("%s: extra %s in %s (not upstream)" % (
                full, our_types[full][0], our_types[full][2].name))
    return errs, counts


def summary(counts):
    text = ("%(messages)d messages, %(fields)d fields, %(enums)d enums "
            "(%(values)d values), %(methods)d methods checked" % counts)
    if counts.get("unused"):
        text += (", %(unused)d upstream types no shim message uses"
                 % counts)
    if counts.get("allowed"):
        text += ", %(allowed)d known differences (-v)" % counts
    return text


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
    # containerd 2.x's files (the -info contract exists only there).
    ("containerd/types/introspection.proto", "string name = 1;",
     "string name = 6;", "RuntimeInfo: missing field name = 1"),
    ("containerd/types/introspection.proto",
     "google.protobuf.Any features = 4;", "bytes features = 4;",
     "RuntimeInfo field 4 (features): type is bytes, want message"),
    ("containerd/services/events/ttrpc/v1/events.proto",
     "string topic = 3;", "string topic = 5;",
     "Envelope: missing field topic = 3"),
]


def check_all(proto_dir, only=None):
    """Differences against every release asked for (only: "1.6", "2.x")."""
    errs = []
    for release in ("1.6", "2.x"):
        if only is None or only == release:
            errs += check(proto_dir, v2x=release == "2.x")[0]
    return errs


def selftest(proto_dir, only=None):
    failed = 0
    with tempfile.TemporaryDirectory(prefix="protocheck-self.") as tmp:
        base = os.path.join(tmp, "proto")
        shutil.copytree(proto_dir, base)
        errs = check_all(base, only)
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
            errs = check_all(work, only)
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
    ap.add_argument("--only", choices=("1.6", "2.x"),
                    help="compare with one release's files only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if shutil.which("protoc") is None:
        die("protoc not found (apt-get install protobuf-compiler)")
    for u, _ in UPSTREAM_FILES[:8]:
        if not os.path.exists(os.path.join(GOCODE, u)):
            die("upstream %s not found (Debian golang-github-containerd-*"
                "-dev)" % u)
    if args.only != "1.6":
        for u, _, _ in UPSTREAM2_FILES:
            if not any(os.path.exists(os.path.join(i, u))
                       for i in UPSTREAM2_INCLUDES):
                die("containerd 2.x's %s not found under %s (make suites: "
                    "tools/debsuite.sh unpacks Debian sid's packages)" %
                    (u, SID_GOCODE))
    if args.selftest:
        return selftest(args.proto, args.only)
    rc = 0
    for release in ("1.6", "2.x"):
        if args.only and args.only != release:
            continue
        try:
            errs, counts = check(args.proto, args.verbose, release == "2.x")
        except RuntimeError as e:
            die(str(e))
        for e in errs:
            print("%s: %s" % (release, e))
        if errs:
            print("containerd %s: %s: %d difference(s)" % (
                release, summary(counts), len(errs)))
            rc = 1
        else:
            print("containerd %s: %s: OK" % (release, summary(counts)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
