#!/usr/bin/python3
"""mkimage.py: write a one-layer OCI image archive that `ctr images import`
takes, from files on this machine, with no registry.

Owns: the archive's layout (oci-layout, index.json, blobs/sha256/*: an
uncompressed layer tar, the image config, the manifest).  Does not own: what
goes into an image (tests/cri/lib.sh says that).

Usage:
  mkimage.py OUT.tar NAME [--cmd ARG]... [--env K=V]... [--file SRC:DST]...
             [--link DST:TARGET]... [--dir DST]... [--text DST:CONTENT]...

NAME is the image reference (e.g. nanoshim.test/busybox:1); it goes into
index.json as io.containerd.image.name, which ctr uses as the image name.
Every entry is owned by root and dated 0, so the same inputs give the same
digests.
"""

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile


def tar_add(tf, name, data=None, mode=0o755, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name.lstrip("/"))
    ti.type = kind
    ti.mode = mode
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 0
    ti.linkname = link
    if data is not None:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def layer(args):
    buf = io.BytesIO()
    made = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def parents(path):
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made:
                    made.add(d)
                    tar_add(tf, d, kind=tarfile.DIRTYPE)

        for d in args.dir:
            parents(d + "/x")
        for spec in args.file:
            src, dst = spec.split(":", 1)
            parents(dst)
            with open(src, "rb") as f:
                data = f.read()
            tar_add(tf, dst, data, mode=os.stat(src).st_mode & 0o7777)
        for spec in args.text:
            dst, text = spec.split(":", 1)
            parents(dst)
            tar_add(tf, dst, text.encode(), mode=0o644)
        for spec in args.link:
            dst, target = spec.split(":", 1)
            parents(dst)
            tar_add(tf, dst, kind=tarfile.SYMTYPE, mode=0o777, link=target)
    return buf.getvalue()


def blob(tf, data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    tar_add(tf, "blobs/sha256/" + digest[7:], data, mode=0o644)
    return {"mediaType": media, "digest": digest, "size": len(data)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("name")
    ap.add_argument("--cmd", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--link", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--text", action="append", default=[])
    args = ap.parse_args()

    lay = layer(args)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": args.env or ["PATH=/bin"], "Cmd": args.cmd},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(lay).hexdigest()]},
    }
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        tar_add(tf, "blobs", kind=tarfile.DIRTYPE)
        tar_add(tf, "blobs/sha256", kind=tarfile.DIRTYPE)
        ldesc = blob(tf, lay, "application/vnd.oci.image.layer.v1.tar")
        cdesc = blob(tf, json.dumps(config, sort_keys=True).encode(),
                     "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cdesc, "layers": [ldesc]}
        mdesc = blob(tf, json.dumps(manifest, sort_keys=True).encode(),
                     "application/vnd.oci.image.manifest.v1+json")
        mdesc["annotations"] = {
            "io.containerd.image.name": args.name,
            "org.opencontainers.image.ref.name": args.name.rsplit(":", 1)[-1],
        }
        mdesc["platform"] = {"architecture": "amd64", "os": "linux"}
        index = {"schemaVersion": 2,
                 "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [mdesc]}
        tar_add(tf, "oci-layout",
                json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644)
        tar_add(tf, "index.json", json.dumps(index, sort_keys=True).encode(),
                0o644)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
