#!/bin/sh
# tools/cross-qemu.sh - the qemu-user that runs nanoshim's arm64 and armhf
# builds on this machine: qemu-aarch64 and qemu-arm from Debian 13's
# qemu-user package (static binaries), in build/cross/qemu.
#
# Owns: which qemu-user the cross tests use and where it comes from.  Does
# not own: the cross toolchain (tools/cross-musl.sh) nor binfmt_misc
# (tests/cross/smoke.sh).
#
# Why not Debian 12's qemu-user-static (7.2): it answers EINVAL to
# prctl(PR_SET_CHILD_SUBREAPER) without asking the kernel, and a shim
# that is not a subreaper cannot reap its container's init (runc leaves
# it orphaned), so neither nanoshim nor Go's shim starts under it
# (tests/cross/syscalls.c names it in every run).  qemu 10.0 passes the
# call on.  Its binaries are static, so they run on Debian 12 as they are.
#
# The machine's apt state is left alone: Debian 13's package list goes to
# build/cross/apt-trixie (own sources list, lists, cache, empty status),
# with the mirror the machine's own apt sources use.
#
# Usage: tools/cross-qemu.sh [outdir]       (default: build/cross/qemu)
# Idempotent: an outdir with both binaries and .ok is left alone.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build/cross/qemu"}
aptdir=$(dirname "$out")/apt-trixie
suite=trixie

die() {
	echo "cross-qemu: $*" >&2
	exit 1
}

[ -e "$out/.ok" ] && [ -x "$out/qemu-aarch64" ] && [ -x "$out/qemu-arm" ] &&
    exit 0

# The machine's Debian mirror, from its own apt configuration.
# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk '$2 == "bookworm" { print $1; exit }')
[ -n "$mirror" ] || die "no bookworm entry in the machine's apt sources"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no $keyring (package debian-archive-keyring)"

mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$aptdir/sources.list"
[ -e "$aptdir/status" ] || : >"$aptdir/status"
papt() {
	apt-get -q -o DPkg::Lock::Timeout=600 \
	    -o Dir::Etc::sourcelist="$aptdir/sources.list" \
	    -o Dir::Etc::sourceparts=- \
	    -o Dir::State::Lists="$aptdir/lists" \
	    -o Dir::Cache="$aptdir/cache" \
	    -o Dir::State::status="$aptdir/status" \
	    -o Acquire::Languages=none -o APT::Sandbox::User=root "$@"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-qemu.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "cross-qemu: fetching qemu-user from Debian $suite" >&2
# shellcheck source=tools/apt-update.sh
. "$(dirname "$0")/apt-update.sh"
apt_update cross-qemu papt ||
    echo "cross-qemu: going on with the lists that arrived" >&2
(cd "$tmp" && papt download qemu-user >/dev/null) ||
    die "apt-get download qemu-user ($suite) failed"
deb=$(ls "$tmp"/qemu-user_*.deb)
dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$tmp" ./usr/bin/qemu-aarch64 ./usr/bin/qemu-arm ||
    die "$deb has no usr/bin/qemu-aarch64 or qemu-arm"
rm -rf "$out"
mkdir -p "$out"
mv "$tmp/usr/bin/qemu-aarch64" "$tmp/usr/bin/qemu-arm" "$out/"
"$out/qemu-aarch64" --version | head -1 >"$out/version" ||
    die "$out/qemu-aarch64 does not run"
echo "cross-qemu: $(cat "$out/version") in $out" >&2
: >"$out/.ok"
