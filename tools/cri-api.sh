#!/bin/sh
# tools/cri-api.sh - Python message classes for Kubernetes' CRI (runtime.v1)
# in build/cri-api/py/, generated from the api.proto that Debian's
# golang-github-kubernetes-cri-api-dev ships.  Nothing of it is vendored.
#
# Owns: where api.proto comes from, how it is verified, and the protoc run.
# Does not own: the client (tests/cri/cri.py builds its gRPC calls from the
# generated service descriptor; grpc_tools is not needed).
#
# Source: the package is in Debian 13 (trixie), not in 12.  First the
# pinned .deb from the pool (sha256 below, from trixie's signed Packages
# index); if the pool no longer has that version, a private apt fetch of
# trixie's current one (own sources list and lists dir under the output
# dir; apt checks the archive's signature).  The machine's apt sources are
# never changed.
#
# api.proto imports gogo.proto only for Go code-generation options; those
# lines are dropped before protoc (they do not change the wire format).
#
# Usage: tools/cri-api.sh [outdir]      (default: build/cri-api)
# Idempotent: an outdir with a generated api_pb2.py is left alone.
set -eu

pkg=golang-github-kubernetes-cri-api-dev
deb=${pkg}_0.32.3-1_all.deb
url=http://deb.debian.org/debian/pool/main/g/golang-github-kubernetes-cri-api/$deb
deb_sha256=634610347b36362eb4614eb98c494cb9363d5d873da99806ba2b181460a93b20
member=usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build/cri-api"}

if [ -s "$out/py/api_pb2.py" ] && [ -s "$out/api.proto" ]; then
	exit 0
fi
command -v protoc >/dev/null 2>&1 || {
	echo "cri-api: protoc missing (protobuf-compiler)" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-criapi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fetch_pinned() {
	echo "cri-api: downloading $url" >&2
	curl -fsSL --retry 3 -o "$tmp/$deb" "$url" || return 1
	got=$(sha256sum "$tmp/$deb" | cut -d' ' -f1)
	if [ "$got" != "$deb_sha256" ]; then
		echo "cri-api: sha256 mismatch: got $got, want $deb_sha256" >&2
		return 1
	fi
}

# fetch_apt: trixie's current version through a private apt configuration.
fetch_apt() {
	a=$out/apt
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
	    "http://deb.debian.org/debian trixie main" >"$a/sources.list"
	set -- -o Dir::Etc::sourcelist="$a/sources.list" \
	    -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$a/lists" \
	    -o Dir::Cache="$a/cache" -o APT::Get::List-Cleanup=0 \
	    -o DPkg::Lock::Timeout=600
	echo "cri-api: pinned .deb unavailable; fetching $pkg from trixie" >&2
	apt-get "$@" -qq update >&2
	(cd "$tmp" && apt-get "$@" -qq download "$pkg" >&2 2>/dev/null)
	deb=$(cd "$tmp" && ls ${pkg}_*_all.deb)
}

fetch_pinned || fetch_apt
dpkg-deb -x "$tmp/$deb" "$tmp/x"
[ -s "$tmp/x/$member" ] || {
	echo "cri-api: $deb has no $member" >&2
	exit 1
}

mkdir -p "$out/py"
sed '/gogoproto/d' "$tmp/x/$member" >"$tmp/api.proto"
protoc -I"$tmp" --python_out="$tmp" "$tmp/api.proto"
cp "$tmp/api.proto" "$out/api.proto.tmp"
cp "$tmp/api_pb2.py" "$out/py/api_pb2.py.tmp"
mv -f "$out/py/api_pb2.py.tmp" "$out/py/api_pb2.py"
mv -f "$out/api.proto.tmp" "$out/api.proto"
echo "${deb%_all.deb}" >"$out/version"
echo "cri-api: ${deb%_all.deb} -> $out/py/api_pb2.py" >&2
