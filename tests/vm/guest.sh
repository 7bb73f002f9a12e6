#!/bin/bash
# tests/vm/guest.sh - stage 2 of the guest: the system the integration
# suite runs on, then the suite itself.  Runs from the host's root (the
# guest sees it read-only under a tmpfs overlay, tests/vm/init.sh).
#
# Owns: the guest's mounts (devpts with /dev/ptmx -> pts/ptmx, /dev/fd and
# std* links, /dev/shm, tmpfs /run and /tmp, cgroup2 at /sys/fs/cgroup
# with +cpu +memory +pids +io delegated to its children), the job the
# host wrote (/nsvm/out/job.env), running tests/integration/run.sh, and
# handing its output, logs and exit status back through /nsvm/out.  Does
# not own: booting (init.sh, run.sh) nor what a test checks.
#
# Three ways in:
#   guest.sh            as PID 1 (cells without systemd): mounts, runs
#                       the suite, powers off
#   guest.sh            as PID 1 with NSVM_SYSTEMD=1 in the job (the
#                       systemd cell): writes the units
#                       (nsvm.target, nsvm.service) into the guest's /etc
#                       and execs systemd, which mounts cgroup2 itself
#   guest.sh --service  as nsvm.service under systemd: runs the suite;
#                       the unit powers the guest off when it ends
#
# job.env (written by run.sh, bash syntax) sets NSVM_REPO (the
# repository, same path in the guest), NSVM_TESTS (globs for run.sh) and
# NSVM_ENV (names of the variables to pass to the suite: SHIM, SLOW, ...)
# and NSVM_SYSTEMD (1: boot systemd).

OUT=/nsvm/out
ME=$(readlink -f "${BASH_SOURCE[0]}")
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() {
	echo "nsvm: $*" >/dev/console 2>/dev/null || echo "nsvm: $*"
}

poweroff_now() {
	sync
	# reboot(2) with the power-off command: qemu exits (-no-reboot).
	busybox poweroff -f
	sleep 60
}

# finish <rc>: record the status for run.sh, then end the guest.
finish() {
	echo "$1" >"$OUT/rc"
	sync
	say "suite exit status $1"
	[ "${MODE:-}" = service ] && exit "$1"
	poweroff_now
}

mount_dev() {
	mkdir -p /dev/pts /dev/shm
	mountpoint -q /dev/pts ||
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 \
			devpts /dev/pts
	# The guest's own pty multiplexer: terminal tests need a ptmx that
	# belongs to this devpts instance.
	rm -f /dev/ptmx
	ln -s pts/ptmx /dev/ptmx
	mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777 shm /dev/shm
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
	[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
	[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
}

# mount_tmp: the guest's own /tmp.  A repository under /tmp (a clone made
# there) would vanish under it: it is bound aside first, then back at its
# path.
mount_tmp() {
	local keep=0
	mountpoint -q /tmp && return 0
	case $NSVM_REPO in
	/tmp/*)
		mkdir -p /nsvm/repo &&
			mount --bind "$NSVM_REPO" /nsvm/repo && keep=1
		;;
	esac
	mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp || return 1
	[ "$keep" = 1 ] || return 0
	mkdir -p "$NSVM_REPO" && mount --bind /nsvm/repo "$NSVM_REPO"
}

mount_base() {
	mount_dev
	mountpoint -q /run || mount -t tmpfs -o mode=0755,nosuid,nodev run /run
	mkdir -p /run/lock
	mount_tmp || { say "cannot mount /tmp"; finish 2; }
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
		mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup ||
			{ say "cannot mount cgroup2"; finish 2; }
	fi
	hostname nsvm
	ip link set lo up 2>/dev/null
}

# delegate_controllers: what a v2 host with a container engine has in the
# root's subtree_control (runc enables the rest on the way down itself).
delegate_controllers() {
	local c want="cpu memory pids io"
	for c in $want; do
		grep -qw "$c" /sys/fs/cgroup/cgroup.controllers ||
			{ say "controller $c missing in cgroup2"; finish 2; }
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control ||
			{ say "cannot enable $c in the root cgroup"; finish 2; }
	done
}

# modprobe for the kernel's module requests: the host has no kmod, the
# guest kernel's modules are at /lib/modules (init.sh).
setup_modprobe() {
	mkdir -p /run/nsvm/bin
	ln -sf "$(command -v busybox)" /run/nsvm/bin/modprobe
	echo /run/nsvm/bin/modprobe >/proc/sys/kernel/modprobe 2>/dev/null
}

# use_binaries: CONTAINERD_BIN / CTR_BIN replace containerd and ctr for
# the suite (it calls them by name).
use_binaries() {
	mkdir -p /run/nsvm/bin
	[ -n "${CONTAINERD_BIN:-}" ] && ln -sf "$CONTAINERD_BIN" /run/nsvm/bin/containerd
	[ -n "${CTR_BIN:-}" ] && ln -sf "$CTR_BIN" /run/nsvm/bin/ctr
	PATH=/run/nsvm/bin:$PATH
}

# save_logs: the suite dir's logs (containerd.log, each test's output)
# into the results share; the guest's /tmp ends with the guest.
save_logs() {
	local d
	for d in /tmp/nanoshim-it.*; do
		[ -d "$d" ] || continue
		mkdir -p "$OUT/logs"
		(cd "$d" && find . -maxdepth 1 -name '*.log' -exec cp {} "$OUT/logs/" \; &&
			find t \( -name output -o -name '*.log' \) -type f \
				-exec cp --parents {} "$OUT/logs/" \;) 2>/dev/null
	done
}

run_suite() {
	local rc v
	local -a env=()
	for v in $NSVM_ENV; do
		env+=("$v=${!v}")
	done
	use_binaries
	setup_modprobe
	cd "$NSVM_REPO" || finish 2
	say "$(uname -r), cgroup2 root controllers: $(cat /sys/fs/cgroup/cgroup.controllers)," \
		"subtree: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	say "containerd $(containerd --version 2>&1 | awk '{ print $3 }'), $(runc --version 2>&1 | head -1)"
	say "running: tests/integration/run.sh $NSVM_TESTS"
	# shellcheck disable=SC2086 # NSVM_TESTS: globs, split on purpose
	env "${env[@]}" KEEP_D=1 tests/integration/run.sh $NSVM_TESTS \
		</dev/null 2>&1 | tee "$OUT/suite.out" >"$CONSOLE"
	rc=${PIPESTATUS[0]}
	save_logs
	finish "$rc"
}

# --- systemd cell --------------------------------------------------------

# exec_systemd: a unit that runs this script as a service, a target that
# wants only it (plus what every boot has: sysinit, basic, dbus), and
# systemd as PID 1 with the suite's target as the default.
exec_systemd() {
	local u=/etc/systemd/system m
	mount_dev
	# A fresh /tmp now: systemd-tmpfiles-setup would otherwise walk (and
	# age-clean, in the overlay) the host's whole /tmp over 9p, minutes
	# when the host's /tmp is big.
	mount_tmp || { say "cannot mount /tmp"; finish 2; }
	# The host's fstab and its wanted services mean nothing in the guest.
	echo "# nsvm guest: nothing to mount" >/etc/fstab
	for m in systemd-timesyncd.service systemd-pstore.service \
		e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer \
		dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer \
		getty@tty1.service serial-getty@ttyS0.service \
		systemd-firstboot.service; do
		ln -sf /dev/null "$u/$m"
	done
	cat >"$u/nsvm.target" <<EOF
[Unit]
Description=nanoshim VM test run
Requires=basic.target nsvm.service
After=basic.target
AllowIsolate=yes
EOF
	cat >"$u/nsvm.service" <<EOF
[Unit]
Description=nanoshim integration suite
Wants=dbus.socket dbus.service
After=basic.target dbus.socket dbus.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=$ME --service
Delegate=yes
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
EOF
	echo nsvm >/etc/hostname
	exec /lib/systemd/systemd --unit=nsvm.target --log-target=console \
		--log-level=warning
}

# shellcheck source=/dev/null
. "$OUT/job.env" || { say "no job in $OUT/job.env"; finish 2; }
MODE=pid1
CONSOLE=/dev/console
if [ "${1:-}" = --service ]; then
	MODE=service
	# stdout is the journal's socket there, which cannot be opened by
	# name (/dev/stdout: ENXIO): the console is where the output goes.
elif [ "${NSVM_SYSTEMD:-0}" = 1 ]; then
	MODE=systemd
fi

case $MODE in
pid1)
	mount_base
	delegate_controllers
	run_suite
	;;
systemd)
	exec_systemd
	say "exec systemd failed"
	finish 2
	;;
service)
	# systemd mounted /dev, /run and cgroup2; /tmp was made before it
	# started (exec_systemd): mount_tmp finds it mounted.
	mount_tmp || { say "cannot mount /tmp"; finish 2; }
	delegate_controllers
	run_suite
	;;
esac
