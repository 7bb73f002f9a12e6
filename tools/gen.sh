#!/bin/sh
# tools/gen.sh - regenerate gen/ (nanopb C sources) from proto/.
#
# Owns: the exact protoc + nanopb invocation, and the layout of gen/.
# Does not own: the .proto contract (proto/*.proto, checked by
# tools/protocheck.py) or nanopb bounds (proto/*.options).
#
# gen/ mirrors proto/: proto/containerd/task/v2/shim.proto becomes
# gen/containerd/task/v2/shim.pb.{c,h}; generated headers include each
# other as "containerd/types/mount.pb.h", so compile with -Igen -Isrc
# (pbs.h) and the nanopb headers' directory.  Flat output is impossible:
# two protos are called task.proto and two metrics.proto.
#
# Deterministic: files are passed in C-locale order with paths relative
# to proto/, nanopb 0.4.7 writes no timestamp by default, and nothing
# machine-specific ends up in the output.  Running it twice leaves gen/
# byte-identical.  The generator is /usr/bin/protoc-gen-nanopb (Debian
# package nanopb), a /usr/bin/python3 script: a python3 earlier on PATH
# (pyenv) lacks the protobuf module and is never used.
#
# Usage: tools/gen.sh [--check]
#   --check  generate into a temporary directory and fail (exit 1) when it
#            differs from gen/, without touching gen/.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
plugin=/usr/bin/protoc-gen-nanopb
want_version=nanopb-0.4.7

check=0
case "${1:-}" in
--check) check=1 ;;
'') ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

command -v protoc >/dev/null || {
	echo "gen.sh: protoc not found (apt-get install protobuf-compiler)" >&2
	exit 1
}
[ -x "$plugin" ] || {
	echo "gen.sh: $plugin not found (apt-get install nanopb)" >&2
	exit 1
}
# The header must match the runtime fetched by tools/fetch-nanopb.sh.
have=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "/usr/bin");
import nanopb_generator; print(nanopb_generator.nanopb_version)')
[ "$have" = "$want_version" ] || {
	echo "gen.sh: generator is $have, want $want_version" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir "$tmp/out"
cd "$root/proto"
# Relative names matter: they become the include paths and header guards,
# and the plugin looks up <name>.options relative to this directory.
files=$(find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
# --error-on-unmatched: a mask in a .options file that names no field,
# message or file is a typo, not a no-op.
# shellcheck disable=SC2086
protoc -I. --plugin=protoc-gen-nanopb="$plugin" \
	--nanopb_opt=--error-on-unmatched \
	--nanopb_out="$tmp/out" $files 2>"$tmp/err" || {
	cat "$tmp/err" >&2
	exit 1
}
# The generator prints warnings (e.g. an options line it could not use)
# on stderr while still succeeding; treat any output as an error.
if [ -s "$tmp/err" ]; then
	cat "$tmp/err" >&2
	echo "gen.sh: generator warnings, see above" >&2
	exit 1
fi

if [ "$check" = 1 ]; then
	if diff -r "$tmp/out" "$root/gen" >/dev/null 2>&1; then
		exit 0
	fi
	echo "gen.sh: gen/ is out of date; run tools/gen.sh" >&2
	diff -r "$tmp/out" "$root/gen" >&2 || true
	exit 1
fi

# Replace only what the generator owns in gen/, then drop empty folders.
mkdir -p "$root/gen"
find "$root/gen" -type f \( -name '*.pb.c' -o -name '*.pb.h' \) -delete
find "$root/gen" -mindepth 1 -type d -empty -delete
cp -R "$tmp/out/." "$root/gen/"
