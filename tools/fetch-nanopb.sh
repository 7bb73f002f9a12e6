#!/bin/sh
# tools/fetch-nanopb.sh - put nanopb's C runtime (pb.h, pb_common, pb_encode,
# pb_decode) into build/nanopb/ without vendoring it.
#
# Owns: where the runtime comes from and how it is verified.  Does not
# own: how it is compiled (the Makefile: -DPB_BUFFER_ONLY, see gen.sh).
#
# Source: Debian's orig tarball of nanopb 0.4.7, the same upstream version
# as the generator in the `nanopb` package that tools/gen.sh uses (the
# generated headers refuse a runtime of another PB_PROTO_HEADER_VERSION).
# The tarball's sha256 is the one in nanopb_0.4.7-2.dsc, next to it in
# the pool.  The per-file sums below were taken from that verified
# tarball; they let an existing copy be checked without the network.
#
# Usage: tools/fetch-nanopb.sh [outdir]     (default: build/nanopb)
# Idempotent: an outdir whose files all match is left alone.
set -eu

url=http://deb.debian.org/debian/pool/main/n/nanopb/nanopb_0.4.7.orig.tar.gz
tar_sha256=e1d89b166367a3c42d42311bdc2ed57ff78f86aede9a66828516e45490d48c81
top=nanopb-0.4.7

sums='a990cfe2d8a19a0addd941a26812799fad39fc8d79bbe2a79a82b62a4a73ca37  pb.h
8d2ec28baaaf2b7a5e90e4cb2fa9700d21cef7f826f051a637c30b7a1e6a0516  pb_common.c
6495a691aca68d6973f2274b5dd54b74fbb57f6b019c45fff255a857fe1abcfd  pb_common.h
9ed9e255e433324fc28557adb03bf494a3711c2a0480c97b3690a6871ce29c66  pb_decode.c
e0bed3f14db30b24c036b93920291ca9e661a13bda38fa4244f6294e704f3fad  pb_decode.h
f85be395be8c34a732eea12f64358110e5b0836f0a120a7c20982edec129a996  pb_encode.c
0715c9e289c1c49d3cb3128bdb81e1d40d1efeefe695c19ce1730f8103e54cbb  pb_encode.h'
files='pb.h pb_common.c pb_common.h pb_decode.c pb_decode.h pb_encode.c
pb_encode.h'

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build/nanopb"}

verify() {
	[ -d "$1" ] || return 1
	(cd "$1" && printf '%s\n' "$sums" | sha256sum -c --quiet --strict \
	    >/dev/null 2>&1)
}

if verify "$out"; then
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-nanopb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tarball=$tmp/nanopb.orig.tar.gz

echo "fetch-nanopb: downloading $url" >&2
if command -v curl >/dev/null 2>&1; then
	curl -fsSL --retry 3 -o "$tarball" "$url"
else
	/usr/bin/python3 - "$url" "$tarball" <<'EOF'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, \
        open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
EOF
fi

got=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$got" != "$tar_sha256" ]; then
	echo "fetch-nanopb: sha256 mismatch: got $got, want $tar_sha256" >&2
	exit 1
fi

members=
for f in $files; do
	members="$members $top/$f"
done
# shellcheck disable=SC2086
tar -xzf "$tarball" -C "$tmp" $members
if ! verify "$tmp/$top"; then
	echo "fetch-nanopb: extracted files do not match the pinned sums" >&2
	exit 1
fi

mkdir -p "$out"
for f in $files; do
	cp "$tmp/$top/$f" "$out/$f.tmp"
	mv -f "$out/$f.tmp" "$out/$f"
done
verify "$out"
echo "fetch-nanopb: nanopb 0.4.7 runtime in $out" >&2
