#!/bin/sh
# tests/vm/init.sh - stage 1 of the guest: /init of the initramfs that
# tests/vm/fetch.sh builds (busybox sh, PATH=/bin of the initramfs).
#
# Owns: loading the 9p/virtio/overlay modules, the guest's root (the
# host's root, read-only over 9p, under a tmpfs overlay so the guest may
# write anywhere: /etc, /var, ... without touching the host), the results
# share at /nsvm/out, the kernel's modules at /lib/modules, and handing
# over to stage 2.  Does not own: what stage 2 mounts and runs
# (tests/vm/guest.sh) nor how qemu is started (tests/vm/run.sh).
#
# Kernel command line (set by run.sh):
#   nsvm.init=PATH     stage 2, a path on the host root (guest.sh, or
#                      /lib/systemd/systemd for the systemd cell)
#   nsvm.modules=DIR   the unpacked kernel package's lib/modules, on the
#                      host root
# The 9p mount tags are fixed: "hostroot" and "nsvmout".
# On any failure it says why on the console and powers off, so run.sh
# never waits for a guest that cannot boot.

PATH=/bin
export PATH

die() {
	echo "nsvm-init: $*"
	echo "nsvm-init: FAILED"
	poweroff -f
	sleep 60
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"

stage2=
moddir=
# shellcheck disable=SC2013 # one line of words
for w in $(cat /proc/cmdline); do
	case $w in
	nsvm.init=*) stage2=${w#nsvm.init=} ;;
	nsvm.modules=*) moddir=${w#nsvm.modules=} ;;
	esac
done
[ -n "$stage2" ] || die "no nsvm.init= on the kernel command line"

for m in /mods/*.ko; do
	insmod "$m" || die "insmod $m"
done

# msize: larger 9p messages, fewer round trips (the guest runs under TCG).
# cache=loose: the host root does not change while a test runs, and
# re-reading every binary over 9p costs seconds.
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" hostroot /lower ||
	die "mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 nsvm-upper /upper || die "tmpfs for the overlay"
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w \
	nsvm-root /newroot || die "overlay root"
mkdir -p /newroot/nsvm/out
mount -t 9p -o "$opts,cache=none" nsvmout /newroot/nsvm/out ||
	die "mount the results share (9p tag nsvmout)"
if [ -n "$moddir" ]; then
	# /lib is usr/lib on Debian 12; the host itself has no modules there.
	rm -rf /newroot/usr/lib/modules
	ln -s "$moddir" /newroot/usr/lib/modules
fi

for d in proc sys dev; do
	mount --move "/$d" "/newroot/$d" || die "move /$d"
done
[ -x "/newroot$stage2" ] || die "stage 2 $stage2 is not executable in the guest"
# shellcheck disable=SC2093 # die runs only when the exec failed
exec switch_root /newroot "$stage2"
die "switch_root to $stage2"
