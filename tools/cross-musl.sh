#!/bin/sh
# tools/cross-musl.sh - a static musl toolchain for arm64 or armhf in
# build/cross/ARCH, made of Debian packages only.
#
# Owns: where the cross musl and the cross cmocka come from and how they
# are put together.  Does not own: how nanoshim is compiled (the
# Makefile's ARCH=arm64|armhf) nor installing the cross compilers and
# qemu-user-static (tools/deps.sh).
#
# What it makes, under build/cross/ARCH:
#   sysroot/   Debian's musl-dev of that architecture, unpacked (dpkg -x):
#              musl's headers, libc.a and start files
#   musl.specs, musl-gcc
#              Debian's cross gcc (aarch64-linux-gnu-gcc,
#              arm-linux-gnueabihf-gcc) pointed at that sysroot instead of
#              glibc: the same trick as Debian's musl-gcc for amd64
#   cmocka/    libcmocka.a and its headers, compiled with that musl-gcc
#              from the cmocka source Debian ships (the orig tarball of the
#              libcmocka-dev the host has, checked against a pinned
#              sha256), for the unit tests run under qemu-user
#
# The machine's dpkg architectures and apt state are left alone: the arm
# package lists are fetched into build/cross/apt (own lists, cache and an
# empty dpkg status) from the machine's own apt sources, with
# APT::Architectures set to arm64 and armhf for these calls only.
#
# Usage: tools/cross-musl.sh arm64|armhf [outdir]
# Idempotent: a complete outdir is left alone (build/cross/ARCH/.ok).
set -eu

arch=${1:-}
case $arch in
arm64)
	gnu=aarch64-linux-gnu
	musl=aarch64-linux-musl
	ldso=aarch64 ;;
armhf)
	gnu=arm-linux-gnueabihf
	musl=arm-linux-musleabihf
	ldso=armhf ;;
*)
	echo "usage: $0 arm64|armhf [outdir]" >&2
	exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-"$root/build/cross/$arch"}
cross=$(dirname "$out")
aptdir=$cross/apt

# cmocka 1.1.5, the version of Debian 12's libcmocka-dev (1.1.5-2.1): the
# sha256 is the one its .dsc gives for the orig tarball.
cm_ver=1.1.5
cm_tar=cmocka_$cm_ver.orig.tar.xz
cm_sha256=f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6

die() {
	echo "cross-musl: $*" >&2
	exit 1
}

[ -e "$out/.ok" ] && [ -x "$out/musl-gcc" ] && exit 0

command -v "$gnu-gcc" >/dev/null 2>&1 ||
    die "no $gnu-gcc (Debian package gcc-$gnu; tools/deps.sh installs it)"

# apt with the private state; everything else from the machine's config.
papt() {
	apt-get -q -o DPkg::Lock::Timeout=600 \
	    -o Dir::State::Lists="$aptdir/lists" \
	    -o Dir::Cache="$aptdir/cache" \
	    -o Dir::State::status="$aptdir/status" \
	    -o APT::Architecture="$arch" -o APT::Architectures=arm64,armhf \
	    -o Acquire::Languages=none -o APT::Sandbox::User=root "$@"
}

# shellcheck source=tools/apt-update.sh
. "$(dirname "$0")/apt-update.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-cross.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- musl -----------------------------------------------------------------
mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
[ -e "$aptdir/status" ] || : >"$aptdir/status"
if ! (cd "$tmp" && papt download "musl-dev:$arch" >/dev/null 2>&1); then
	echo "cross-musl: fetching the $arch package lists" >&2
	apt_update cross-musl papt ||
	    echo "cross-musl: going on with the lists that arrived" >&2
	(cd "$tmp" && papt download "musl-dev:$arch" >/dev/null) ||
	    die "apt-get download musl-dev:$arch failed"
fi
deb=$(ls "$tmp"/musl-dev_*_"$arch".deb)
rm -rf "$out"
mkdir -p "$out"
dpkg -x "$deb" "$out/sysroot"
inc=$out/sysroot/usr/include/$musl
lib=$out/sysroot/usr/lib/$musl
[ -f "$lib/libc.a" ] && [ -f "$inc/stdio.h" ] ||
    die "$deb has no libc.a or headers for $musl"
basename "$deb" >"$out/musl.version"

# --- the compiler driver --------------------------------------------------
# Our own specs: musl's headers then gcc's own (stddef.h, stdarg.h), never
# /usr/include; musl's start files and libc.a, gcc's libgcc; no glibc.
# The position-independent start files serve PIE and -static -no-pie
# links alike (Debian's gcc builds PIE by default).
cat >"$out/musl.specs" <<EOF
%rename cpp_options glibc_cpp_options

*cpp_options:
-nostdinc -isystem $inc -isystem include%s %(glibc_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $inc -isystem include%s

*link_libgcc:
-L$lib -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{!shared: $lib/Scrt1.o} $lib/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $lib/crtn.o

*link:
-dynamic-linker /lib/ld-musl-$ldso.so.1 -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}
EOF
cat >"$out/musl-gcc" <<EOF
#!/bin/sh
# $gnu-gcc against the musl in $out/sysroot (tools/cross-musl.sh).
exec $gnu-gcc "\$@" -specs "$out/musl.specs"
EOF
chmod +x "$out/musl-gcc"

# --- cmocka ---------------------------------------------------------------
src=$cross/src/$cm_tar
have_sum() {
	[ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$cm_sha256" ]
}
if ! have_sum "$src"; then
	# The pool directory of the host's own libcmocka-dev holds the orig
	# tarball too: ask apt where that is instead of naming a mirror.
	pool_dir() {
		apt-get --print-uris download libcmocka-dev 2>/dev/null |
		    sed -n "s|^'\\(.*\\)/libcmocka-dev_[^/]*'.*|\\1|p" | head -1
	}
	uri=$(pool_dir)
	if [ -z "$uri" ]; then
		apt_update cross-musl apt-get -q -o DPkg::Lock::Timeout=600 ||
		    echo "cross-musl: going on with the lists that arrived" >&2
		uri=$(pool_dir)
	fi
	[ -n "$uri" ] || die "apt does not know libcmocka-dev"
	echo "cross-musl: downloading $uri/$cm_tar" >&2
	mkdir -p "$cross/src"
	curl -fsSL --retry 3 -o "$tmp/$cm_tar" "$uri/$cm_tar" ||
	    die "download of $cm_tar failed"
	have_sum "$tmp/$cm_tar" || die "$cm_tar: sha256 mismatch"
	mv "$tmp/$cm_tar" "$src"
fi
tar -xJf "$src" -C "$tmp" "cmocka-$cm_ver/src/cmocka.c" \
    "cmocka-$cm_ver/include/cmocka.h" "cmocka-$cm_ver/include/cmocka_private.h"
mkdir -p "$out/cmocka/include"
cp "$tmp/cmocka-$cm_ver/include/cmocka.h" "$out/cmocka/include/cmocka-$cm_ver.h"
# cmocka.h typedefs its own uintptr_t unless told one exists, and guesses
# it from __WORDSIZE, which musl does not define in <stdint.h>: 32 bits
# even on arm64.  musl's own is the right one.
cat >"$out/cmocka/include/cmocka.h" <<EOF
/* cmocka $cm_ver with musl's uintptr_t (tools/cross-musl.sh) */
#include <stdint.h>
#define _UINTPTR_T
#define _UINTPTR_T_DEFINED
#include "cmocka-$cm_ver.h"
EOF
# What cmocka's cmake would find in musl.
cat >"$tmp/config.h" <<'EOF'
#define HAVE_INTTYPES_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRUCT_TIMESPEC 1
#define HAVE_CLOCK_GETTIME 1
#define HAVE_CLOCK_REALTIME 1
#define HAVE_SIGLONGJMP 1
#define HAVE_STRSIGNAL 1
#define HAVE_GCC_THREAD_LOCAL_STORAGE 1
EOF
"$out/musl-gcc" -std=gnu99 -O1 -g -D_GNU_SOURCE -DHAVE_CONFIG_H -I"$tmp" \
    -I"$out/cmocka/include" -I"$tmp/cmocka-$cm_ver/include" -c "$tmp/cmocka-$cm_ver/src/cmocka.c" \
    -o "$tmp/cmocka.o" || die "compiling cmocka for $arch failed"
"$gnu-ar" rcs "$out/cmocka/libcmocka.a" "$tmp/cmocka.o"

# --- proof it links and is what we asked for -----------------------------
printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' >"$tmp/t.c"
"$out/musl-gcc" -static -o "$tmp/t" "$tmp/t.c" || die "test link failed"
file_arch=$("$gnu-readelf" -h "$tmp/t" | sed -n 's/ *Machine: *//p')
echo "cross-musl: $arch ready in $out ($(cat "$out/musl.version"), cmocka $cm_ver; $file_arch)" >&2
: >"$out/.ok"
