#!/bin/sh
# tools/deps.sh - install the Debian 12 packages nanoshim needs, if missing.
#
# Build: gcc make musl-tools (release binary), nanopb + protobuf-compiler +
# python3-protobuf (make gen), libcmocka-dev (unit tests), curl (fetching
# nanopb's runtime sources from Debian's archive).
# Fuzzing and sanitizer passes: clang and its runtime libraries (libFuzzer,
# ASan, UBSan: libclang-rt-dev), valgrind.
# Tests/demo: containerd runc crun busybox-static, the Go sources whose
# .proto files the wire-conformance test compares against, bsdutils for
# script(1) (terminal tests), criu (runc's checkpoint/restore: the
# checkpoint tests need it even where `criu check` fails), stress-ng
# (make test-matrix runs the race tests under load).
# Other architectures (make ARCH=arm64|armhf, make cross): Debian's cross
# compilers, and qemu-user-static, whose Debian 12 build
# tests/cross/smoke.sh checks for what it cannot do (the musl,
# cmocka and the qemu the tests run come from tools/cross-musl.sh and
# tools/cross-qemu.sh, into build/cross).
# containerd 1.7 and 2.x come from other Debian suites, unpacked into
# build/ by tools/debsuite.sh (the Makefile's suite-* targets), never
# installed.
# CRI tests and bench (tests/cri, bench/pods.sh): python3-grpcio (our CRI
# client) and containernetworking-plugins (bridge, host-local, loopback);
# tools/cri-api.sh fetches the CRI api.proto.
# VM cells (tests/vm): qemu-system-x86 (the guest under TCG), systemd and
# dbus (the v2-systemd cell boots them from the host's root); the guest
# kernel is unpacked into build/vm by tests/vm/fetch.sh, not installed.
# `tools/deps.sh bench` also installs what `make bench` needs:
# python3-matplotlib (the charts).
set -eu

pkgs="gcc make git musl-tools nanopb protobuf-compiler python3 python3-protobuf
libcmocka-dev curl ca-certificates containerd runc crun busybox-static
golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
golang-github-containerd-ttrpc-dev golang-github-gogo-protobuf-dev
golang-github-gogo-googleapis-dev bsdutils procps util-linux iproute2 criu
stress-ng gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user-static
xz-utils debian-archive-keyring python3-grpcio containernetworking-plugins
qemu-system-x86 systemd dbus clang libclang-rt-dev valgrind"
[ "${1:-}" = bench ] && pkgs="$pkgs python3-matplotlib"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    $missing >/dev/null
