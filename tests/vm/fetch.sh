#!/bin/sh
# tests/vm/fetch.sh - the guest kernel and initramfs of the VM harness,
# built under build/vm/ from Debian packages; nothing is installed into the
# host.
#
# Owns: which kernel the guest boots (Debian bookworm's linux-image-amd64,
# i.e. the 6.1 kernel Debian 12 users run), unpacking it with dpkg -x,
# modules.dep for it (busybox depmod: the host has no kmod), and the
# initramfs: busybox-static, the 9p/virtio/overlay modules and
# tests/vm/init.sh as /init.  Does not own: booting (tests/vm/run.sh) or
# what the guest runs (tests/vm/guest.sh).
#
# Why an initramfs of our own rather than virtme-ng's: it is ~3 MB made
# from two packages the host already has (busybox-static) or fetches
# (the kernel), needs no other Debian suite and no python tooling, and
# its whole boot logic is one short script we can read (init.sh).
#
# Usage: tests/vm/fetch.sh [outdir]      (default build/vm)
# Prints the kernel directory.  Idempotent: a complete kernel directory is
# reused; the initramfs is rebuilt when init.sh is newer.  VM_KERNEL_PKG
# picks another package (default: what linux-image-amd64 depends on).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-"$root/build/vm"}
mkdir -p "$out/debs"

say() { echo "vm-fetch: $*" >&2; }

apt_get() {
	apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

pkg=${VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ] && [ -e "$out/kernel/current/package" ]; then
		# No apt metadata (offline): keep what we have.
		pkg=$(cat "$out/kernel/current/package")
	elif [ -z "$pkg" ]; then
		say "no package lists yet: apt-get update"
		apt_get update -qq >&2
		pkg=$(kernel_pkg)
	fi
fi
[ -n "$pkg" ] || { say "cannot tell which linux-image to use (apt-cache depends linux-image-amd64)"; exit 2; }
kver=${pkg#linux-image-}
kdir=$out/kernel/$kver

if [ ! -e "$kdir/.complete" ]; then
	deb=$(find "$out/debs" -name "${pkg}_*.deb" | sort | tail -1)
	if [ -z "$deb" ]; then
		say "downloading $pkg"
		# apt-get download writes into the current directory and checks
		# the package against the signed archive metadata.
		if ! (cd "$out/debs" && apt_get download "$pkg" >&2); then
			say "download failed; refreshing the package lists once"
			apt_get update -qq >&2
			(cd "$out/debs" && apt_get download "$pkg" >&2)
		fi
		deb=$(find "$out/debs" -name "${pkg}_*.deb" | sort | tail -1)
		[ -n "$deb" ] || { say "no $pkg package in $out/debs"; exit 2; }
	fi
	rm -rf "$kdir"
	mkdir -p "$kdir/x"
	dpkg -x "$deb" "$kdir/x"
	mv "$kdir/x/boot/vmlinuz-$kver" "$kdir/vmlinuz"
	mv "$kdir/x/boot/config-$kver" "$kdir/config"
	mkdir -p "$kdir/lib"
	mv "$kdir/x/lib/modules" "$kdir/lib/modules"
	rm -rf "$kdir/x"
	# modules.dep etc. (the package's postinst would run depmod).
	busybox depmod -b "$kdir" "$kver"
	echo "$pkg" >"$kdir/package"
	echo "${deb##*/}" >"$kdir/deb"
	: >"$kdir/.complete"
fi
ln -sfn "$kver" "$out/kernel/current"

# --- initramfs ---------------------------------------------------------
# Modules for a 9p root over virtio-pci and the overlay on top of it; each
# goes in after what modules.dep says it needs.
mods="virtio_pci 9pnet_virtio 9p overlay"
moddep=$kdir/lib/modules/$kver/modules.dep
ordered=
add_mod() { # <path relative to lib/modules/KVER>
	case " $ordered " in *" $1 "*) return 0 ;; esac
	# shellcheck disable=SC2013 # one line of words
	for d in $(sed -n "s,^$1: *,,p" "$moddep"); do
		add_mod "$d"
	done
	ordered="$ordered $1"
}
for m in $mods; do
	rel=$(grep -o "^[^:]*/$m\.ko" "$moddep" | head -1)
	[ -n "$rel" ] || { say "module $m not in $pkg"; exit 2; }
	add_mod "$rel"
done
img=$kdir/initramfs.cpio.gz
if [ ! -e "$img" ] ||
	[ -n "$(find "$here/init.sh" "$here/fetch.sh" -newer "$img")" ]; then
	bb=/bin/busybox
	[ -x "$bb" ] || bb=$(command -v busybox)
	file -L "$bb" 2>/dev/null | grep -q 'statically linked' ||
		ldd "$bb" 2>&1 | grep -q 'not a dynamic' ||
		{ say "$bb is not the static busybox (busybox-static)"; exit 2; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nanoshim-initramfs.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT INT TERM
	mkdir -p "$tmp/bin" "$tmp/mods" "$tmp/proc" "$tmp/sys" "$tmp/dev" \
		"$tmp/lower" "$tmp/upper" "$tmp/newroot"
	cp "$bb" "$tmp/bin/busybox"
	for a in sh mount umount mkdir insmod switch_root cat echo sleep \
		poweroff ln mknod grep sed; do
		ln -s busybox "$tmp/bin/$a"
	done
	n=0
	for rel in $ordered; do
		n=$((n + 1))
		# Numbered, so that init.sh loads them in this order.
		cp "$kdir/lib/modules/$kver/$rel" \
			"$tmp/mods/$(printf '%02d' $n)-${rel##*/}"
	done
	cp "$here/init.sh" "$tmp/init"
	chmod 0755 "$tmp/init"
	(cd "$tmp" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) |
		gzip -9 >"$img.tmp"
	mv "$img.tmp" "$img"
	say "initramfs $(du -k "$img" | cut -f1) KB for $pkg"
fi
echo "$kdir"
