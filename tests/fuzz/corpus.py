#!/usr/bin/python3
"""corpus.py: write the seed inputs of the fuzz corpora (tests/fuzz/corpus).

usage: corpus.py [FRAMES_DIR] CORPUS_DIR

With FRAMES_DIR (the frames the integration suite sent, captured by the
NS_FRAME_DUMP build: make fuzz-capture), each distinct request becomes
  frames/suite-<method>-<hash>   a one-frame stream for f_frames
  task/suite-<method>-<hash>     a one-call record for f_task
and the documents inside them become inputs of the other targets:
  json/suite-spec-<hash>         the OCI Process of every Exec (ctr's)
  mount/suite-mount-<hash>       every rootfs mount of every Create
At most PER_METHOD requests of each method are kept, those of distinct
sizes first (the suite's 10,000 exec cycles differ only in their ids).

Without FRAMES_DIR only the hand-made seeds are (re)written: every target
gets "seed-*" inputs for the cases its header lists (pipelined and split
frames, oversize lengths, even stream ids, data frames; every Task method
under v2 and v3; containerd's Forward replies; log.json, config.json and
exec specs; overlay, bind and long lowerdir mounts; cgroup v1 and v2 files;
mountinfo and /proc/pid/cgroup; binary:// and file:// URIs; start, delete
and daemon command lines).  Files found by fuzzing ("finding-*", and
libFuzzer's own names) are left alone.
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ttrpc  # noqa: E402

PER_METHOD = 12
TASK = ["State", "Create", "Start", "Delete", "Pids", "Pause", "Resume",
        "Checkpoint", "Kill", "Exec", "ResizePty", "CloseIO", "Update",
        "Wait", "Stats", "Connect", "Shutdown"]
V2 = "containerd.task.v2.Task"
V3 = "containerd.task.v3.Task"
SEP = b"\n%%\n"


def h8(b):
    return hashlib.sha1(b).hexdigest()[:12]


def put(corpus, target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(sid, body, mtype=1, flags=0, length=None):
    return struct.pack(">IIBB", len(body) if length is None else length,
                       sid, mtype, flags) + body


def stream(frames, two=False, seed=1):
    """An f_frames input: mode byte, 4 seed bytes, the bytes."""
    return bytes([1 if two else 0]) + struct.pack(">I", seed) + b"".join(
        frames)


def record(method, payload, outcome=0, v3=False):
    """An f_task record."""
    m = TASK.index(method) if isinstance(method, str) else method
    return bytes([m | (0x80 if v3 else 0), outcome]) + struct.pack(
        ">H", len(payload)) + payload


# ---- from the suite's frames -------------------------------------------

def from_frames(fdir, corpus):
    pb = ttrpc.load()
    by_method = {}
    for name in sorted(os.listdir(fdir)):
        with open(os.path.join(fdir, name), "rb") as f:
            raw = f.read()
        if len(raw) < 10:
            continue
        length, sid, mtype, flags = struct.unpack(">IIBB", raw[:10])
        body = raw[10:]
        try:
            req = pb.ttrpc.Request.FromString(body)
        except Exception:
            continue
        key = (req.service, req.method)
        by_method.setdefault(key, []).append((body, req))
    kept = 0
    for (svc, method), reqs in sorted(by_method.items()):
        seen_len = set()
        pick = []
        for body, req in sorted(reqs, key=lambda r: len(r[0])):
            if len(body) not in seen_len:
                seen_len.add(len(body))
                pick.append((body, req))
        pick = pick[:PER_METHOD]
        for body, req in pick:
            tag = "%s-%s" % (method, h8(body))
            put(corpus, "frames", "suite-" + tag, stream([frame(1, body)]))
            if method in TASK:
                put(corpus, "task", "suite-" + tag,
                    record(method, req.payload, v3=(svc == V3)))
            kept += 1
            if method == "Exec":
                r = pb.shim.ExecProcessRequest.FromString(req.payload)
                if r.spec.value:
                    put(corpus, "json", "suite-spec-" + h8(r.spec.value),
                        b"\0" + r.spec.value)
                    put(corpus, "json", "suite-spec-tty-" +
                        h8(r.spec.value), b"\1" + r.spec.value)
            if method == "Create":
                r = pb.shim.CreateTaskRequest.FromString(req.payload)
                for m in r.rootfs:
                    doc = SEP.join([m.type.encode(), m.source.encode(),
                                    m.target.encode()] +
                                   [o.encode() for o in m.options])
                    put(corpus, "mount", "suite-mount-" + h8(doc), doc)
    print("corpus: %d requests kept of %d methods" % (kept, len(by_method)))


# ---- hand-made seeds --------------------------------------------------

def seeds_frames_task(corpus):
    pb = ttrpc.load()
    s = pb.shim
    bundle = "/run/containerd/io.containerd.runtime.v2.task/default/c1"
    opts = pb.oci.Options(binary_name="runc", root="/run/containerd/runc")
    create = s.CreateTaskRequest(
        id="c1", bundle=bundle, stdin="/run/f/c1-stdin",
        stdout="/run/f/c1-stdout", stderr="/run/f/c1-stderr")
    create.rootfs.add(type="overlay", source="overlay", options=[
        "index=off", "workdir=/var/lib/s/1/work", "upperdir=/var/lib/s/1/fs",
        "lowerdir=/var/lib/s/2/fs:/var/lib/s/3/fs"])
    create.options.type_url = "containerd.runc.v1.Options"
    create.options.value = opts.SerializeToString()
    exe = s.ExecProcessRequest(id="c1", exec_id="e1", stdout="/run/f/e1-o",
                               stderr="/run/f/e1-e")
    exe.spec.type_url = \
        "types.containerd.io/opencontainers/runtime-spec/1/Process"
    exe.spec.value = (b'{"user":{"uid":0,"gid":0},"args":["sh","-c","exit 7"]'
                      b',"env":["PATH=/bin"],"cwd":"/","terminal":false}')
    upd = s.UpdateTaskRequest(id="c1")
    upd.resources.type_url = \
        "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
    upd.resources.value = b'{"pids":{"limit":10}}'
    ck = s.CheckpointTaskRequest(id="c1", path="/tmp/ck")
    ck.options.type_url = "containerd.runc.v1.CheckpointOptions"
    ck.options.value = pb.oci.CheckpointOptions(
        exit=True, empty_namespaces=["network"],
        cgroups_mode="soft", work_path="/tmp/w").SerializeToString()
    msgs = {
        "State": s.StateRequest(id="c1"), "Create": create,
        "Start": s.StartRequest(id="c1"), "Delete": s.DeleteRequest(
            id="c1", exec_id="e1"),
        "Pids": s.PidsRequest(id="c1"), "Pause": s.PauseRequest(id="c1"),
        "Resume": s.ResumeRequest(id="c1"), "Checkpoint": ck,
        "Kill": s.KillRequest(id="c1", signal=9, all=True), "Exec": exe,
        "ResizePty": s.ResizePtyRequest(id="c1", exec_id="e1", width=80,
                                        height=24),
        "CloseIO": s.CloseIORequest(id="c1", stdin=True), "Update": upd,
        "Wait": s.WaitRequest(id="c1"), "Stats": s.StatsRequest(id="c1"),
        "Connect": s.ConnectRequest(id="c1"),
        "Shutdown": s.ShutdownRequest(id="c1"),
    }
    allrec = b""
    for i, (m, msg) in enumerate(msgs.items()):
        p = msg.SerializeToString()
        for svc in (V2, V3):
            v = "v3" if svc == V3 else "v2"
            body = ttrpc.encode_request(svc, m, p, timeout_nano=2000000000)
            put(corpus, "frames", "seed-%s-%s" % (m, v),
                stream([frame(2 * i + 1, body)]))
            for oc, what in ((0, "done"), (1, "fail"), (2, "park")):
                put(corpus, "task", "seed-%s-%s-%s" % (m, v, what),
                    record(m, p, outcome=oc | 0x10 * (i % 2),
                           v3=(svc == V3)))
        allrec += record(m, p, outcome=i)
    # Task: everything in one input, parked calls answered, Pids JSON.
    ps = b"[1,2,3,4242,0,-1,99999999999,1.5,\"x\"]"
    put(corpus, "task", "seed-all-methods",
        record(18, ps) + allrec + record(19, b"") + record("Pids", msgs[
            "Pids"].SerializeToString(), outcome=0))
    put(corpus, "task", "seed-unknown-method", record(17, b"Bogus") +
        record(17, b"") + record(17, b"State"))
    put(corpus, "task", "seed-pids-1025", record(18, b"[" + b",".join(
        str(i).encode() for i in range(2, 2 + 1025)) + b"]") +
        record("Pids", b"\x0a\x02c1"))
    put(corpus, "task", "seed-bad-payloads",
        record("Create", b"\x0a\xff") + record("Exec", b"\xff\xff\xff") +
        record("Kill", b"\x08") + record("Create", b"\x1a\x03\x0a\x01"))
    put(corpus, "task", "seed-bad-ids",
        record("Create", s.CreateTaskRequest(
            id="../x", bundle="/b").SerializeToString()) +
        record("Create", s.CreateTaskRequest(
            id="a" * 77, bundle="/b").SerializeToString()) +
        record("Create", s.CreateTaskRequest(
            id="ok", bundle="rel/b").SerializeToString()) +
        record("Create", s.CreateTaskRequest(
            id="ok", bundle="/b/../c").SerializeToString()) +
        record("Exec", s.ExecProcessRequest(
            id="c1", exec_id="-e").SerializeToString()) +
        record("Create", s.CreateTaskRequest(
            id="taken", bundle="/b").SerializeToString()))

    # Frames: pipelined, split, broken.
    st = ttrpc.encode_request(V2, "State", msgs["State"].SerializeToString())
    w = ttrpc.encode_request(V2, "Wait", msgs["Wait"].SerializeToString())
    put(corpus, "frames", "seed-pipelined", stream(
        [frame(1, w), frame(3, st), frame(5, st), frame(7, w)]))
    put(corpus, "frames", "seed-two-conns", stream(
        [frame(1, w), frame(3, st)] * 4, two=True, seed=7))
    put(corpus, "frames", "seed-even-sid", stream([frame(2, st)]))
    put(corpus, "frames", "seed-sid-zero", stream([frame(0, st)]))
    put(corpus, "frames", "seed-reused-sid", stream(
        [frame(5, st), frame(5, st), frame(3, st)]))
    put(corpus, "frames", "seed-data-frame", stream(
        [frame(1, b"xx", mtype=3, flags=1), frame(3, st, flags=2)]))
    put(corpus, "frames", "seed-response-type", stream(
        [frame(1, st, mtype=2), frame(3, st)]))
    put(corpus, "frames", "seed-empty-frame", stream([frame(1, b"")]))
    put(corpus, "frames", "seed-oversize", stream(
        [frame(1, b"\0" * 64, length=(4 << 20) + 1), frame(3, st)]))
    put(corpus, "frames", "seed-length-ffff", stream(
        [frame(1, b"", length=0xffffffff)]))
    put(corpus, "frames", "seed-partial-header", stream([st[:7]]))
    put(corpus, "frames", "seed-truncated-body", stream(
        [frame(1, st)[:-3]]))
    put(corpus, "frames", "seed-bad-envelope", stream(
        [frame(1, b"\x0a\x80"), frame(3, b"\xff" * 20)]))
    put(corpus, "frames", "seed-unknown-service", stream(
        [frame(1, ttrpc.encode_request("x.Y", "State", b"")),
         frame(3, ttrpc.encode_request(V2, "Nope", b""))]))
    put(corpus, "frames", "seed-metadata", stream([frame(1, ttrpc.encode_request(
        V2, "State", msgs["State"].SerializeToString(),
        metadata=[("containerd-namespace-ttrpc", "default"),
                  ("traceparent", "00-1-2-01")] * 3))]))
    big = s.ExecProcessRequest(id="c1", exec_id="big")
    big.spec.value = b'{"args":["sh"],"env":["X=' + b"y" * 40000 + b'"]}'
    bb = ttrpc.encode_request(V2, "Exec", big.SerializeToString())
    put(corpus, "frames", "seed-large-frame", stream(
        [frame(1, bb), frame(3, st)], seed=3))
    put(corpus, "frames", "seed-large-two-conns", stream(
        [frame(1, bb), frame(3, bb), frame(5, st)], two=True, seed=11))
    put(corpus, "frames", "seed-large-reply", stream([frame(1,
        ttrpc.encode_request(V2, "Pids", b"\x0a" + b"z" * 70000))]))
    put(corpus, "frames", "seed-error-reply", stream([frame(1,
        ttrpc.encode_request(V2, "Kill", b"\x0a\x02c1\x01\x02\x1b[0m"))]))


def seeds_events(corpus):
    ok = ttrpc.encode_response()
    err = ttrpc.encode_response(code=3, message="invalid namespace")
    out = {
        "ok": frame(1, ok, mtype=2),
        "ok-then-ok": frame(1, ok, mtype=2) + frame(3, ok, mtype=2),
        "error": frame(1, err, mtype=2),
        "wrong-sid": frame(7, ok, mtype=2) + frame(1, ok, mtype=2),
        "request-type": frame(1, ok, mtype=1),
        "oversize": frame(1, b"", mtype=2, length=5000),
        "garbage-body": frame(1, b"\x0a\xff\xff", mtype=2),
        "partial": frame(1, ok, mtype=2)[:5],
        "payload-reply": frame(1, ttrpc.encode_response(payload=b"x"),
                               mtype=2),
        "duplicate": frame(1, ok, mtype=2) * 2 + frame(3, err, mtype=2),
    }
    for name, data in out.items():
        for mode, tag in ((0, ""), (1, "-close"), (2, "-timer"),
                          (3, "-timer-close")):
            put(corpus, "events", "seed-%s%s" % (name, tag),
                bytes([mode]) + struct.pack(">I", 0x600 * 5 + 5) + data)


def seeds_json(corpus):
    docs = {
        "log-error": b'{"level":"info","msg":"x","time":"t"}\n'
                     b'{"level":"error","msg":"  exec failed: unable to '
                     b'start container process: exec: \\"/nope\\": stat '
                     b'/nope: no such file or directory\\n ","time":"t"}\n',
        "log-escapes": b'{"level":"error","msg":"a\\u00e9\\ud83d\\ude00\\ud800'
                       b'\\t\\"q\\"\\\\"}\n{"level":"warning","msg":"w"}',
        "log-cut": b'{"level":"error","msg":"unterminated',
        "spec-no-terminal": b'{"args":["sh"],"cwd":"/"}',
        "spec-terminal-true": b'{"terminal":true,"args":["sh"]}',
        "spec-empty": b'{}',
        "spec-nested": b'{"user":{"terminal":1},"terminal":  false ,"x":[]}',
        "spec-not-object": b'["terminal"]',
        "config-pidns": b'{"annotations":{"io.containerd.runc.v2.group":'
                        b'"pod1","io.kubernetes.cri.sandbox-id":"sb"},'
                        b'"linux":{"namespaces":[{"type":"pid"},{"type":'
                        b'"network","path":"/proc/1/ns/net"}]}}',
        "config-host-pid": b'{"linux":{"namespaces":[{"type":"pid","path":'
                           b'"/proc/1/ns/pid"},{"type":"mount"}]}}',
        "options": b'{"no_pivot_root":true,"binary_name":"runc","root":'
                   b'"/run/containerd/runc","criu_path":"/usr/sbin/criu"}',
        "deep": b'[' * 70 + b']' * 70,
        "numbers": b'[0,-0,1e5,-9223372036854775808,9223372036854775808]',
        "controls": b'{"root":"\\u0001\\u001f\\n"}',
    }
    for name, d in docs.items():
        put(corpus, "json", "seed-" + name, b"\0" + d)


def seeds_mount(corpus):
    def m(*parts):
        return SEP.join(p.encode() if isinstance(p, str) else p
                        for p in parts)
    long_lower = ":".join("/var/lib/containerd/io.containerd.snapshotter."
                          "v1.overlayfs/snapshots/%d/fs" % i
                          for i in range(1, 80))
    seeds = {
        "overlay": m("overlay", "overlay", "", "index=off",
                     "workdir=/s/1/work", "upperdir=/s/1/fs",
                     "lowerdir=/s/2/fs:/s/3/fs"),
        "overlay-long": m("overlay", "overlay", "", "workdir=/v/work",
                          "upperdir=/v/up", "lowerdir=" + long_lower),
        "overlay-long-first": m("overlay", "overlay", "",
                                "lowerdir=" + long_lower, "index=off"),
        "bind-ro": m("bind", "/src", "", "rbind", "ro", "nosuid"),
        "bind-rw-private": m("none", "/src", "sub/dir", "bind", "rw",
                             "rprivate"),
        "remount": m("none", "none", "", "remount", "ro"),
        "loop": m("ext4", "/img", "", "loop"),
        "fuse": m("fuse.sshfs", "h:/", "", "rw"),
        "target-escape": m("bind", "/src", "../../etc", "bind"),
        "too-long": m("tmpfs", "tmpfs", "", "size=" + "9" * 5000),
        "flags-all": m("tmpfs", "tmpfs", "t", "async", "atime", "defaults",
                       "dev", "diratime", "dirsync", "exec", "mand",
                       "noatime", "nodev", "nodiratime", "noexec",
                       "nomand", "norelatime", "nostrictatime", "relatime",
                       "strictatime", "suid", "sync", "shared", "rshared",
                       "slave", "rslave", "unbindable", "runbindable",
                       "mode=755"),
    }
    for name, d in seeds.items():
        put(corpus, "mount", "seed-" + name, d)


def fx(path):
    with open(os.path.join(ROOT, "tests/fixtures/cgroup", path), "rb") as f:
        return f.read()


def seeds_cgroup(corpus):
    v1 = {
        "memory-stat": ("memory/memory.stat", b"cache 1\nrss 2\n"
                        b"total_rss 3\ntotal_inactive_file 4\nhierarchical_"
                        b"memory_limit 9223372036854771712\nbogus\n x 1\n"),
        "memory-usage": ("memory/memory.usage_in_bytes", b"123\n"),
        "memory-oom": ("memory/memory.oom_control",
                       b"oom_kill_disable 0\nunder_oom 1\noom_kill 3\n"),
        "cpuacct-percpu": ("cpuacct/cpuacct.usage_percpu",
                           b"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"),
        "cpuacct-stat": ("cpuacct/cpuacct.stat", b"user 10\nsystem 20\n"),
        "cpu-stat": ("cpu/cpu.stat", b"nr_periods 1\nnr_throttled 2\n"
                     b"throttled_time 3\n"),
        "pids": ("pids/pids.max", b"max\n"),
        "pids-current": ("pids/pids.current", b"-1\n"),
        "blkio": ("blkio/blkio.throttle.io_service_bytes",
                  b"254:0 Read 4096\n254:0 Write 8192\n8:0 Sync 1\n"
                  b"Total 12288\n"),
        "hugetlb": ("hugetlb/hugetlb.2MB.usage_in_bytes", b"2097152\n"),
        "empty-usage": ("cpuacct/cpuacct.usage", b""),
        "huge-number": ("memory/memory.limit_in_bytes",
                        b"99999999999999999999999\n"),
    }
    for name, (f, d) in v1.items():
        put(corpus, "cgroup", "seed-v1-" + name,
            b"v1" + SEP + f.encode() + b"\n" + d)
    v2 = {
        "cpu-stat": ("cpu.stat", b"usage_usec 10\nuser_usec 5\n"
                     b"system_usec 5\nnr_periods 0\n"),
        "memory-stat": ("memory.stat", b"anon 1\nfile 2\ninactive_file 3\n"
                        b"pgfault 4\npgmajfault 5\n"),
        "memory-events": ("memory.events", b"low 0\nhigh 0\nmax 4\noom 2\n"
                          b"oom_kill 1\noom_group_kill 0\n"),
        "cgroup-events": ("cgroup.events", b"populated 0\nfrozen 0\n"),
        "io-stat": ("io.stat", b"254:0 rbytes=1 wbytes=2 rios=3 wios=4 "
                    b"dbytes=0 dios=0\n8:0 rbytes=x\n"),
        "rdma": ("rdma.current", b"mlx4_0 hca_handle=2 hca_object=2000\n"
                 b"ocrdma1 hca_handle=3 hca_object=max\n"),
        "memory-max": ("memory.max", b"max\n"),
        "pids-max": ("pids.max", b"10\n"),
        "hugetlb": ("hugetlb.2MB.current", b"0\n"),
    }
    for name, (f, d) in v2.items():
        put(corpus, "cgroup", "seed-v2-" + name,
            b"v2" + SEP + f.encode() + b"\n" + d)
    put(corpus, "cgroup", "seed-partitions", b"v1" + SEP + b"partitions\n" +
        fx("partitions") + b" 8 0 100 sda\n 259 1 5 nvme0n1p1\n")
    put(corpus, "cgroup", "seed-hugepages", b"v1" + SEP +
        b"hugepages/hugepages-64kB\n" + SEP + b"hugepages/hugepages-16GB\n")


def seeds_procfs(corpus):
    own = {}
    for name in ("cgroup", "mountinfo"):
        try:
            with open("/proc/self/" + name, "rb") as f:
                own[name] = f.read()
        except OSError:
            own[name] = b""
    pairs = {
        "host": (own["cgroup"], own["mountinfo"]),
        "v1": (fx("v1-proc-cgroup"), fx("v1-mountinfo")),
        "v1-hugetlb": (fx("v1-proc-cgroup-hugetlb"),
                       fx("v1-mountinfo-hugetlb")),
        "legacy": (fx("v1-proc-cgroup"), fx("v1-mountinfo-legacy")),
        "v2": (fx("v2-proc-cgroup"), fx("v2-mountinfo")),
        "nested": (b"4:memory:/outer/inner/ctr\n0::/outer/inner/ctr\n",
                   b"35 25 0:30 /outer /sys/fs/cgroup/memory rw - cgroup "
                   b"cgroup rw,memory\n"),
        "escapes": (b"1:name=systemd:/a b\n",
                    b"40 31 0:37 / /sys/fs/cgroup/sys\\040temd rw,relatime "
                    b"shared:1 master:2 - cgroup cgroup rw,name=systemd\n"),
        "malformed": (b"garbage\n::\n0::\n", b"1 2 3\n- - -\n"),
        "long-line": (b"1:cpu:/" + b"x" * 300 + b"\n",
                      b"1 2 0:1 / /sys/fs/cgroup/cpu " + b"o" * 70000 +
                      b" - cgroup cgroup rw,cpu\n"),
    }
    for name, (pc, mi) in pairs.items():
        put(corpus, "procfs", "seed-" + name, pc + SEP + mi)


def seeds_uri(corpus):
    uris = {
        "logger": b"///usr/local/bin/logger?dir=/var/log/ctr&ready=1",
        "escapes": b"///opt/my%20logger?k%3D=v%26w&plus=a+b",
        "key-no-value": b"///bin/l?verbose&dir=/x",
        "duplicate-key": b"///bin/l?a=1&a=2&b",
        "semicolon": b"///bin/l?a=1;b=2&c=3",
        "bad-escape": b"///bin/l%zz?x=%4",
        "nul-escape": b"///bin/sh%00.log",
        "fragment": b"///bin/l#frag?x=1",
        "authority": b"//host:8080/bin/l?x",
        "relative": b"relative/path",
        "control": b"///bin/l\x01",
        "plus-in-path": b"///bin/c++logger",
    }
    for name, u in uris.items():
        put(corpus, "uri", "seed-binary-" + name, b"\0" + u)
    for name, u in {"file": b"///var/log/ctr.log",
                    "file-query": b"///var/log/c.log?x=1#y",
                    "file-escape": b"///var/log/a%2Fb.log"}.items():
        put(corpus, "uri", "seed-" + name, b"\1" + u)


def seeds_cmdline(corpus):
    addr = "/run/containerd/containerd.sock"

    def cl(env, *words):
        return SEP.join([env.encode()] + [w.encode() for w in words])
    lines = {
        "start": cl("", "-namespace", "default", "-address", addr,
                    "-publish-binary", "/usr/bin/containerd", "-id", "c1",
                    "-debug", "start"),
        "delete": cl("", "-namespace", "k8s.io", "-address", addr,
                     "-publish-binary", "/usr/bin/containerd", "-id", "c1",
                     "-bundle", "/run/b/c1", "delete"),
        "daemon": cl("", "-namespace", "default", "-id", "c1", "-address",
                     addr, "-debug"),
        "limits": cl("NANOSHIM_CONNS=4\nNANOSHIM_EVENTS=99999999\n"
                     "NANOSHIM_EVENT_BYTES=1024",
                     "--namespace=ns", "-limit-conns", "2",
                     "-limit-parked=9", "--limit-runc-calls", "300",
                     "-limit-containers=1", "-limit-processes", "5",
                     "-limit-events=7", "-limit-event-bytes", "65536", "-id",
                     "x", "-address", "/a//b/./c/../d/", "start"),
        "bad-limit": cl("NANOSHIM_CONNS=-1", "-namespace", "n"),
        "bad-flag-value": cl("", "-limit-conns", "0x10"),
        "unknown-flag": cl("", "-bogus", "1"),
        "missing-value": cl("", "-namespace"),
        "bools": cl("", "-debug=false", "-v=true", "--", "start"),
        "dots": cl("", "-namespace", "..", "-address", "../../x", "-id",
                   "..", "start"),
    }
    for name, d in lines.items():
        put(corpus, "cmdline", "seed-" + name, d)


def main(argv):
    if len(argv) == 3:
        from_frames(argv[1], argv[2])
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    corpus = argv[1]
    seeds_frames_task(corpus)
    seeds_events(corpus)
    seeds_json(corpus)
    seeds_mount(corpus)
    seeds_cgroup(corpus)
    seeds_procfs(corpus)
    seeds_uri(corpus)
    seeds_cmdline(corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
