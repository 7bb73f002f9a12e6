#!/usr/bin/python3
"""tools/ttrpc.py - a small ttrpc client (and fake events server) for tests.

Owns: talking ttrpc (SHIM-PROTOCOL.md section 2) from Python, JSON <->
message conversion for our schema, and a fake containerd events service
that records what a shim publishes.  Does not own: the schema (proto/,
compiled here with protoc --python_out) or any test's expectations.

CLI:
  tools/ttrpc.py --addr unix:///run/containerd/s/X [--service S]
      [--timeout SECONDS] [--namespace NS] [--meta K=V ...]
      [--timeout-nano N] [--defaults] call <Method> '<request JSON>'
  tools/ttrpc.py [--service S] methods
  tools/ttrpc.py selftest [--shim PATH] [--container] [-v]
Prints the response as JSON (proto field names) and exits 0; an error
status prints "code=<n> message=<text>" and exits 3; a transport error
(connect, timeout, closed connection) exits 4; bad usage exits 2.
The request/response types come from the service's descriptor
(default containerd.task.v2.Task).

JSON: proto3 JSON mapping with proto field names (int64 as strings,
Timestamp as RFC 3339), except google.protobuf.Any, which containerd fills
with bare type names and sometimes JSON bytes:
  {"@type": "containerd.runc.v1.Options", "binary_name": "runc"}  known type
  {"type_url": "...", "value": "<base64>"}                         raw bytes
  {"type_url": "...", "json": {...}}        value is this JSON (OCI spec)
Output uses the first form when the type is in our schema, else the third
when the value is JSON, else the second.

Library (import this file; see the __main__ block for use):
  load()                         -> module namespace of generated *_pb2
  Client(addr).call(method, req) -> response message, raises StatusError
  send_frame / read_frame / encode_request / decode_response   raw frames
  peer_cred(sock)                who created the socket (SO_PEERCRED)
  FakeEvents(path)               records Forward envelopes (.events)
  to_json / from_json            the JSON mapping above

Needs /usr/bin/python3 with python3-protobuf and protoc.  Generated modules
go to a subdirectory named after a hash of proto/ in $NANOSHIM_PYCACHE,
else <repo>/build/py, else a per-user temp dir: a proto/ change simply
makes a new one.  Our google/protobuf/*.proto are
not generated: python-protobuf's own any/empty/timestamp are the same types
and must stay the only ones registered.
"""

import argparse
import base64
import errno
import hashlib
import importlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from google.protobuf import descriptor_pool, json_format, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTO_DIR = os.path.join(ROOT, "proto")

HEADER = struct.Struct(">IIBB")      # length, stream id, type, flags
MAX_FRAME = 4 << 20
MSG_REQUEST = 1
MSG_RESPONSE = 2
MSG_DATA = 3

TASK_SERVICE = "containerd.task.v2.Task"
EVENTS_SERVICE = "containerd.services.events.ttrpc.v1.Events"
NAMESPACE_KEY = "containerd-namespace-ttrpc"

# Well-known types whose JSON form is special (json_format handles them).
WKT = {
    "google.protobuf.Timestamp", "google.protobuf.Duration",
    "google.protobuf.Struct", "google.protobuf.Value",
    "google.protobuf.ListValue", "google.protobuf.FieldMask",
    "google.protobuf.Empty",
} | {"google.protobuf.%sValue" % t for t in (
    "Bool", "Bytes", "Double", "Float", "Int32", "Int64", "String",
    "UInt32", "UInt64")}


class StatusError(Exception):
    """A ttrpc Response carrying a google.rpc.Status."""

    def __init__(self, code, message):
        super().__init__("code=%d message=%s" % (code, message))
        self.code = code
        self.message = message


class TransportError(Exception):
    pass


# ---- generated modules ----

_pb = None


class _Namespace:
    pass


def _cache_root():
    env = os.environ.get("NANOSHIM_PYCACHE")
    if env:
        return env
    build = os.path.join(ROOT, "build")
    if os.access(build if os.path.isdir(build) else ROOT, os.W_OK):
        return os.path.join(build, "py")
    return os.path.join(tempfile.gettempdir(), "nanoshim-py-%d" % os.getuid())


def _proto_files():
    out = []
    for d, _, files in os.walk(PROTO_DIR):
        for f in files:
            if f.endswith(".proto"):
                out.append(os.path.relpath(os.path.join(d, f), PROTO_DIR))
    return sorted(out)


def load():
    """Generate (if stale) and import the *_pb2 modules of proto/.

    Returns a namespace with one attribute per module, named after the
    file (ttrpc, shim, mount, task_types, events, task_events, oci,
    status, metrics_v1, metrics_v2).
    """
    global _pb
    if _pb is not None:
        return _pb
    files = [f for f in _proto_files() if not f.startswith("google/protobuf/")]
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0")
        with open(os.path.join(PROTO_DIR, f), "rb") as fh:
            h.update(fh.read())
    # One directory per proto/ content: parallel test processes either
    # find it complete or race to rename theirs into place.
    cache = os.path.join(_cache_root(), h.hexdigest()[:16])
    if not os.path.isdir(cache):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".gen.", dir=os.path.dirname(cache))
        p = subprocess.run(["protoc", "-I" + PROTO_DIR,
                            "--python_out=" + tmp] + files,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError("protoc --python_out failed:\n" + p.stderr)
        try:
            os.rename(tmp, cache)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not os.path.isdir(cache):
                raise
    if cache not in sys.path:
        sys.path.insert(0, cache)
    importlib.invalidate_caches()
    ns = _Namespace()
    names = {
        "ttrpc.proto": "ttrpc",
        "google/rpc/status.proto": "status",
        "containerd/task/v2/shim.proto": "shim",
        "containerd/types/mount.proto": "mount",
        "containerd/types/task/task.proto": "task_types",
        "containerd/events/task.proto": "task_events",
        "containerd/services/events/ttrpc/v1/events.proto": "events",
        "containerd/runc/v1/oci.proto": "oci",
        "cgroups/v1/metrics.proto": "metrics_v1",
        "cgroups/v2/metrics.proto": "metrics_v2",
    }
    for f in files:
        mod = importlib.import_module(f[:-len(".proto")].replace("/", ".") +
                                      "_pb2")
        setattr(ns, names.get(f, mod.__name__.rsplit(".", 1)[-1]), mod)
    _pb = ns
    return ns


def message_class(full_name):
    """The message class for a full name ("containerd.events.TaskExit")."""
    load()
    desc = descriptor_pool.Default().FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(
        descriptor_pool.Default()).GetPrototype(desc)


def method_types(service, method):
    """(request class, response class) of service/method."""
    load()
    svc = descriptor_pool.Default().FindServiceByName(service)
    m = svc.methods_by_name.get(method)
    if m is None:
        raise KeyError("no method %s in %s (have %s)" % (
            method, service, ", ".join(sorted(svc.methods_by_name))))
    return (message_class(m.input_type.full_name),
            message_class(m.output_type.full_name))


# ---- JSON ----

def _class_for_url(url):
    try:
        return message_class(url.rsplit("/", 1)[-1])
    except KeyError:
        return None


def _value_to_json(m, defaults):
    full = m.DESCRIPTOR.full_name
    if full == "google.protobuf.Any":
        return _any_to_json(m, defaults)
    if full in WKT:
        return json_format.MessageToDict(m, preserving_proto_field_name=True)
    return to_json(m, defaults)


def _any_to_json(a, defaults=False):
    cls = _class_for_url(a.type_url)
    if cls is not None:
        inner = cls.FromString(a.value)
        out = {"@type": a.type_url}
        if inner.DESCRIPTOR.full_name in WKT:
            out["value"] = json_format.MessageToDict(inner)
        else:
            out.update(to_json(inner, defaults))
        return out
    out = {"type_url": a.type_url}
    try:
        out["json"] = json.loads(a.value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        out["value"] = base64.b64encode(a.value).decode("ascii")
    return out


def _is_map(fd):
    return fd.message_type is not None and \
        fd.message_type.GetOptions().map_entry


def _needs_walk(fd):
    """Message-typed field that json_format must not see (may hold an Any)."""
    if fd.message_type is None:
        return False
    if _is_map(fd):
        return fd.message_type.fields_by_name["value"].message_type is not None
    return True


def to_json(msg, defaults=False):
    """msg -> dict, proto field names, Any as described in the module doc."""
    flat = type(msg)()
    flat.CopyFrom(msg)
    walk = [fd for fd in msg.DESCRIPTOR.fields if _needs_walk(fd)]
    for fd in walk:
        flat.ClearField(fd.name)
    out = json_format.MessageToDict(flat, preserving_proto_field_name=True,
                                    including_default_value_fields=defaults)
    for fd in walk:
        val = getattr(msg, fd.name)
        if _is_map(fd):
            if val:
                out[fd.name] = {str(k): _value_to_json(v, defaults)
                                for k, v in val.items()}
        elif fd.label == fd.LABEL_REPEATED:
            if val:
                out[fd.name] = [_value_to_json(v, defaults) for v in val]
        elif msg.HasField(fd.name):
            out[fd.name] = _value_to_json(val, defaults)
    return out


def _json_to_value(v, m):
    full = m.DESCRIPTOR.full_name
    if full == "google.protobuf.Any":
        _json_to_any(v, m)
    elif full in WKT:
        json_format.ParseDict(v, m)
    else:
        from_json(v, m)


def _json_to_any(v, a):
    if not isinstance(v, dict):
        raise ValueError("Any must be a JSON object, got %r" % (v,))
    if "@type" in v:
        url = v["@type"]
        cls = _class_for_url(url)
        if cls is None:
            raise ValueError("unknown Any type %s: use type_url and value "
                             "or json" % url)
        inner = cls()
        rest = {k: x for k, x in v.items() if k != "@type"}
        if inner.DESCRIPTOR.full_name in WKT:
            json_format.ParseDict(rest.get("value"), inner)
        else:
            from_json(rest, inner)
        a.type_url = url
        a.value = inner.SerializeToString()
        return
    extra = set(v) - {"type_url", "value", "json"}
    if extra:
        raise ValueError("unexpected keys in Any: %s" % ", ".join(extra))
    a.type_url = v.get("type_url", "")
    if "json" in v:
        a.value = json.dumps(v["json"], separators=(",", ":")).encode()
    else:
        a.value = base64.b64decode(v.get("value", ""))


def from_json(obj, msg):
    """Fill msg from a dict (proto or JSON field names); returns msg."""
    if isinstance(obj, (str, bytes)):
        obj = json.loads(obj or "{}")
    if not isinstance(obj, dict):
        raise ValueError("%s must be a JSON object" %
                         msg.DESCRIPTOR.full_name)
    desc = msg.DESCRIPTOR
    keys = {}
    for fd in desc.fields:
        keys[fd.name] = fd
        keys[fd.json_name] = fd
    flat, deep = {}, []
    for k, v in obj.items():
        fd = keys.get(k)
        if fd is None:
            raise ValueError("%s has no field %s" % (desc.full_name, k))
        (deep.append((fd, v)) if _needs_walk(fd) else flat.__setitem__(k, v))
    json_format.ParseDict(flat, msg)
    for fd, v in deep:
        field = getattr(msg, fd.name)
        if _is_map(fd):
            key_fd = fd.message_type.fields_by_name["key"]
            for k, x in v.items():
                if key_fd.cpp_type in (key_fd.CPPTYPE_INT32,
                                       key_fd.CPPTYPE_INT64,
                                       key_fd.CPPTYPE_UINT32,
                                       key_fd.CPPTYPE_UINT64):
                    k = int(k)
                elif key_fd.cpp_type == key_fd.CPPTYPE_BOOL:
                    k = k in (True, "true")
                _json_to_value(x, field[k])
        elif fd.label == fd.LABEL_REPEATED:
            for x in v:
                _json_to_value(x, field.add())
        else:
            field.SetInParent()
            _json_to_value(v, field)
    return msg


# ---- frames ----

def parse_addr(addr):
    """unix:///path, /path or @abstract -> an AF_UNIX address."""
    if addr.startswith("unix://"):
        addr = addr[len("unix://"):]
    if addr.startswith("@"):
        return "\0" + addr[1:]
    return addr


def connect(addr, timeout=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(parse_addr(addr))
    except OSError:
        s.close()
        raise
    return s


def peer_cred(sock):
    """(pid, uid, gid) from SO_PEERCRED: for a connected client socket, the
    process that called listen(), which for a shim is the short-lived
    `start` process (it hands the socket to the daemon), not the daemon.
    Use Connect's shim_pid to find the daemon."""
    creds = struct.Struct("iII")
    return creds.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        creds.size))


def send_frame(sock, stream_id, mtype, data=b"", flags=0, length=None):
    """Write one frame; length overrides the header's length field."""
    if length is None:
        length = len(data)
    sock.sendall(HEADER.pack(length, stream_id, mtype, flags) + data)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" %
                           (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_frame(sock, max_len=MAX_FRAME):
    """Read one frame: (length, stream_id, type, flags, data).

    A length above max_len raises ValueError (the data is not read).
    """
    length, sid, mtype, flags = HEADER.unpack(recv_exact(sock, HEADER.size))
    if length > max_len:
        raise ValueError("frame length %d exceeds %d" % (length, max_len))
    return length, sid, mtype, flags, recv_exact(sock, length)


def encode_request(service, method, payload=b"", timeout_nano=0,
                   metadata=()):
    """A serialized ttrpc.Request; payload is bytes or a message."""
    pb = load()
    if not isinstance(payload, (bytes, bytearray)):
        payload = payload.SerializeToString()
    req = pb.ttrpc.Request(service=service, method=method,
                           payload=bytes(payload), timeout_nano=timeout_nano)
    for k, v in metadata:
        req.metadata.add(key=k, value=v)
    return req.SerializeToString()


def decode_request(data):
    return load().ttrpc.Request.FromString(data)


def encode_response(payload=b"", code=0, message=""):
    pb = load()
    resp = pb.ttrpc.Response()
    if code:
        resp.status.code = code
        resp.status.message = message
    elif payload:
        resp.payload = payload
    return resp.SerializeToString()


def decode_response(data):
    """A ttrpc.Response message from frame data."""
    return load().ttrpc.Response.FromString(data)


class Client:
    """One connection; calls may overlap (start/finish) like containerd's."""

    def __init__(self, addr, timeout=10.0, namespace=None):
        self.sock = connect(addr, timeout)
        self.next_id = 1
        self.pending = {}
        self.metadata = [(NAMESPACE_KEY, namespace)] if namespace else []

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, service, method, payload=b"", timeout_nano=0,
              metadata=None):
        """Send a request; returns its stream id."""
        sid = self.next_id
        self.next_id += 2
        md = self.metadata + list(metadata or [])
        send_frame(self.sock, sid, MSG_REQUEST,
                   encode_request(service, method, payload, timeout_nano, md))
        return sid

    def finish(self, sid):
        """Wait for the Response on stream sid (buffering others)."""
        while sid not in self.pending:
            _, rsid, mtype, _, data = read_frame(self.sock)
            if mtype == MSG_RESPONSE:
                self.pending[rsid] = decode_response(data)
        return self.pending.pop(sid)

    def call_raw(self, service, method, payload=b"", timeout_nano=0,
                 metadata=None):
        return self.finish(self.start(service, method, payload,
                                      timeout_nano, metadata))

    def call(self, method, request=None, service=TASK_SERVICE,
             timeout_nano=0, metadata=None):
        """Typed call: request is a message, a dict or JSON text."""
        req_cls, resp_cls = method_types(service, method)
        if request is None or isinstance(request, (dict, str, bytes)):
            request = from_json(request or {}, req_cls())
        resp = self.call_raw(service, method, request, timeout_nano,
                             metadata)
        if resp.HasField("status") and resp.status.code != 0:
            raise StatusError(resp.status.code, resp.status.message)
        return resp_cls.FromString(resp.payload)


# ---- fake containerd events service ----

class FakeEvents:
    """Listen on a unix socket path; answer every Events/Forward with an
    empty Response and record its Envelope.

    events: list of dicts {topic, namespace, timestamp (seconds, nanos),
    type_url, event (decoded message or None), metadata [(k, v)]}.
    fail_first=N answers the first N Forwards with code 14 Unavailable
    (to exercise the shim's retry).  Other methods get 12 Unimplemented.
    """

    def __init__(self, path, fail_first=0):
        load()
        self.path = path
        self.events = []
        self.requests = 0
        self.fail_first = fail_first
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock.bind(path)
        self.sock.listen(16)
        self.conns = []
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                if self.closed:
                    conn.close()
                    return
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        pb = load()
        try:
            while True:
                _, sid, mtype, _, data = read_frame(conn)
                if mtype != MSG_REQUEST:
                    continue
                req = decode_request(data)
                if req.service != EVENTS_SERVICE:
                    unknown = "service " + req.service
                elif req.method != "Forward":
                    unknown = "method " + req.method
                else:
                    unknown = None
                if unknown:
                    send_frame(conn, sid, MSG_RESPONSE,
                               encode_response(code=12, message=unknown))
                    continue
                with self.cond:
                    self.requests += 1
                    fail = self.requests <= self.fail_first
                if fail:
                    send_frame(conn, sid, MSG_RESPONSE, encode_response(
                        code=14, message="fake events: unavailable"))
                    continue
                fwd = pb.events.ForwardRequest.FromString(req.payload)
                env = fwd.envelope
                cls = _class_for_url(env.event.type_url)
                rec = {
                    "topic": env.topic,
                    "namespace": env.namespace,
                    "timestamp": (env.timestamp.seconds, env.timestamp.nanos),
                    "type_url": env.event.type_url,
                    "event": cls.FromString(env.event.value) if cls else None,
                    "metadata": [(kv.key, kv.value) for kv in req.metadata],
                    "timeout_nano": req.timeout_nano,
                }
                with self.cond:
                    self.events.append(rec)
                    self.cond.notify_all()
                send_frame(conn, sid, MSG_RESPONSE, b"")
        except (EOFError, OSError, ValueError):
            pass
        finally:
            conn.close()

    def wait_for(self, topic, count=1, timeout=10.0):
        """Block until count events with topic arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [e for e in self.events if e["topic"] == topic]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%d %s event(s) after %.1fs, saw %s" % (
                        len(got), topic, timeout,
                        [e["topic"] for e in self.events]))
                self.cond.wait(left)

    def topics(self):
        with self.cond:
            return [e["topic"] for e in self.events]

    def close(self):
        with self.cond:
            self.closed = True
            conns = list(self.conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- self-test against a real shim ----

def _own_pid(pid, marker):
    """True if pid is alive and its command line mentions marker (our temp
    dir): the only processes the self-test ever signals."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def selftest(shim, container=False, verbose=False):
    """Drive a shim binary (default: containerd's Go shim) through the
    library and the CLI.  Returns an exit status: 0 ok, 1 failure, 77 skip.

    Starts `<shim> -namespace N -address T/fake.sock -id foo start` in a
    temporary bundle with a `log` FIFO drained by a reader and a `{}`
    config.json, with TTRPC_ADDRESS pointing at a FakeEvents server; checks
    Connect, State on an unknown id (code 5), unknown method/service (12),
    an undecodable payload (13), an even stream id (3), overlapping calls,
    the CLI's output and exit codes, and Shutdown.  With container=True it
    also runs `sh -c 'exit 3'` from a static busybox through Create,
    Wait, Start, Delete and checks the events the shim published.
    Only processes whose command line names the temp dir are ever killed.
    """
    if os.geteuid() != 0 or not os.access(shim, os.X_OK):
        print("selftest: skipped (needs root and %s)" % shim)
        return 77
    tmp = tempfile.mkdtemp(prefix="ttrpc-selftest.")
    ns = "ttrpcpy%d" % os.getpid()          # not shared with other tests
    bundle = os.path.join(tmp, "foo")
    os.mkdir(bundle)
    os.mkfifo(os.path.join(bundle, "log"))
    logf = open(os.path.join(tmp, "shim.log"), "w")
    drain = subprocess.Popen(["cat", os.path.join(bundle, "log")],
                             stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.DEVNULL)
    spec = {}
    if container:
        rootfs = os.path.join(bundle, "rootfs", "bin")
        os.makedirs(rootfs)
        shutil.copy("/bin/busybox", os.path.join(rootfs, "busybox"))
        os.symlink("busybox", os.path.join(rootfs, "sh"))
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["/bin/sh", "-c", "exit 3"]
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    fake = FakeEvents(os.path.join(tmp, "fake.sock.ttrpc"))
    env = dict(os.environ, TTRPC_ADDRESS=fake.path)
    addr, shim_pid, failures = None, None, []

    def expect(what, cond, detail=""):
        if verbose or not cond:
            print("selftest: %s %s %s" % ("ok  " if cond else "FAIL", what,
                                          detail))
        if not cond:
            failures.append(what)

    def cli(*args):
        p = subprocess.run([sys.executable, os.path.abspath(__file__),
                            "--addr", addr] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    try:
        p = subprocess.run([shim, "-namespace", ns, "-address",
                            os.path.join(tmp, "fake.sock"), "-id", "foo",
                            "start"], cwd=bundle, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        addr = p.stdout.decode().strip()
        expect("start prints unix://", p.returncode == 0 and
               addr.startswith("unix://"), repr(p.stdout) + repr(p.stderr))
        if failures:
            return 1
        with Client(addr, 20, namespace=ns) as c:
            r = c.call("Connect", {"id": "foo"})
            shim_pid = r.shim_pid
            expect("Connect shim_pid", _own_pid(shim_pid, tmp), str(r))
            try:
                c.call("State", {"id": "nope"})
                expect("State nope fails", False)
            except StatusError as e:
                expect("State nope -> 5", e.code == 5, str(e))
            r = c.call_raw(TASK_SERVICE, "Nope")
            expect("unknown method -> 12", r.status.code == 12,
                   r.status.message)
            r = c.call_raw("x.Y", "Z")
            expect("unknown service -> 12", r.status.code == 12,
                   r.status.message)
            r = c.call_raw(TASK_SERVICE, "State", b"\x0a\x05ab")
            expect("bad payload -> 13", r.status.code == 13,
                   r.status.message)
            a = c.start(TASK_SERVICE, "Connect")
            b = c.start(TASK_SERVICE, "State", b"\x0a\x01x")
            expect("overlapping calls", c.finish(b).status.code == 5 and
                   not c.finish(a).HasField("status"))
            if container:
                pb = load()
                r = c.call("Create", {"id": "foo", "bundle": bundle})
                pid = r.pid
                w = c.start(TASK_SERVICE, "Wait",
                            pb.shim.WaitRequest(id="foo"))
                st = c.call("State", {"id": "foo"})
                expect("State created", st.status == pb.task_types.CREATED,
                       str(st))
                c.call("Start", {"id": "foo"})
                wr = pb.shim.WaitResponse.FromString(c.finish(w).payload)
                expect("Wait -> 3", wr.exit_status == 3, str(wr))
                d = c.call("Delete", {"id": "foo"})
                expect("Delete -> 3", d.exit_status == 3, str(d))
                fake.wait_for("/tasks/delete", timeout=15)
                topics = fake.topics()
                expect("event order", topics == ["/tasks/create",
                       "/tasks/start", "/tasks/exit", "/tasks/delete"],
                       str(topics))
                ex = fake.wait_for("/tasks/exit")[0]
                expect("TaskExit", ex["namespace"] == ns and
                       ex["event"].pid == pid and
                       ex["event"].exit_status == 3 and
                       (NAMESPACE_KEY, ns) in ex["metadata"], str(ex))
        with Client(addr, 20) as c:
            send_frame(c.sock, 2, MSG_REQUEST,
                       encode_request(TASK_SERVICE, "Connect"))
            _, sid, mtype, _, data = read_frame(c.sock)
            expect("even stream id -> 3", sid == 2 and mtype == MSG_RESPONSE
                   and decode_response(data).status.code == 3)
        rc, out, err = cli("call", "Connect", '{"id":"foo"}')
        expect("CLI Connect", rc == 0 and
               json.loads(out).get("shim_pid") == shim_pid, out + err)
        rc, out, err = cli("call", "State", '{"id":"nope"}')
        expect("CLI error status", rc == 3 and out.startswith("code=5 "),
               out + err)
        rc, out, err = cli("call", "State", '{"bogus":1}')
        expect("CLI bad request", rc == 2, out + err)
        rc, out, err = cli("call", "Shutdown", '{"id":"foo"}')
        expect("CLI Shutdown", rc == 0 and out == "{}", out + err)
        for _ in range(100):
            if not _own_pid(shim_pid, tmp):
                break
            time.sleep(0.05)
        expect("shim gone after Shutdown", not _own_pid(shim_pid, tmp))
        rc, out, err = cli("call", "Connect", "{}")
        expect("CLI transport error", rc == 4, out + err)
    except (OSError, EOFError, StatusError, TimeoutError,
            subprocess.SubprocessError) as e:
        expect("no exception", False, repr(e))
    finally:
        if shim_pid and _own_pid(shim_pid, tmp):
            os.kill(shim_pid, 9)
        fake.close()
        drain.kill()
        drain.wait()
        logf.close()
        if failures:
            with open(os.path.join(tmp, "shim.log")) as f:
                sys.stdout.write(f.read()[-4000:])
        if addr and os.path.exists(parse_addr(addr)):
            os.unlink(parse_addr(addr))
        if container:
            subprocess.run(["runc", "--root", "/run/containerd/runc/" + ns,
                            "delete", "--force", "foo"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            try:
                os.rmdir("/run/containerd/runc/" + ns)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    print("selftest: %s (%s)" % ("FAILED: " + ", ".join(failures)
                                 if failures else "OK", shim))
    return 1 if failures else 0


# ---- CLI ----

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Call a ttrpc service (default: the containerd Task "
                    "API of a shim).",
        epilog="Exit: 0 ok, 2 usage, 3 error status (code=N message=...), "
               "4 transport error.")
    ap.add_argument("--addr", help="unix:///path, /path or @abstract")
    ap.add_argument("--service", default=TASK_SERVICE)
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="client-side seconds to wait (default 10)")
    ap.add_argument("--timeout-nano", type=int, default=0,
                    help="Request.timeout_nano to send (default 0: none)")
    ap.add_argument("--namespace", help="send containerd-namespace-ttrpc")
    ap.add_argument("--meta", action="append", default=[],
                    metavar="KEY=VALUE", help="extra metadata (repeatable)")
    ap.add_argument("--defaults", action="store_true",
                    help="print fields that hold default values too")
    sub = ap.add_subparsers(dest="cmd")
    c = sub.add_parser("call", help="call a method")
    c.add_argument("method")
    c.add_argument("request", nargs="?", default="{}",
                   help="request message as JSON (default {})")
    sub.add_parser("methods", help="list the service's methods")
    t = sub.add_parser("selftest", help="drive a real shim (root only)")
    t.add_argument("--shim", default="/usr/bin/containerd-shim-runc-v2")
    t.add_argument("--container", action="store_true",
                   help="also run a busybox container (needs runc)")
    t.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    if args.cmd == "selftest":
        return selftest(args.shim, args.container, args.verbose)
    try:
        load()
        if args.cmd == "methods":
            svc = descriptor_pool.Default().FindServiceByName(args.service)
            for m in svc.methods:
                print("%s(%s) returns (%s)" % (m.name, m.input_type.full_name,
                                              m.output_type.full_name))
            return 0
        if args.cmd != "call" or not args.addr:
            ap.print_usage(sys.stderr)
            return 2
        req_cls, resp_cls = method_types(args.service, args.method)
        req = from_json(args.request, req_cls())
        meta = []
        for kv in args.meta:
            if "=" not in kv:
                raise ValueError("--meta wants KEY=VALUE, got " + kv)
            meta.append(tuple(kv.split("=", 1)))
    except (KeyError, ValueError, json_format.ParseError,
            json.JSONDecodeError) as e:
        sys.stderr.write("ttrpc.py: %s\n" % e)
        return 2

    try:
        with Client(args.addr, args.timeout, args.namespace) as cl:
            resp = cl.call(args.method, req, args.service, args.timeout_nano,
                           meta)
    except StatusError as e:
        print("code=%d message=%s" % (e.code, e.message))
        return 3
    except (OSError, EOFError, ValueError) as e:
        what = "timeout" if isinstance(e, socket.timeout) else str(e) or \
            errno.errorcode.get(getattr(e, "errno", 0), type(e).__name__)
        sys.stderr.write("ttrpc.py: %s: %s\n" % (args.addr, what))
        return 4
    print(json.dumps(to_json(resp, args.defaults), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
