#!/bin/bash
#
# tests/vm/run.sh: the integration suite inside a Linux VM with pure
# cgroup v2 (qemu TCG, Debian's own 6.1 kernel, the host's root read-only
# over 9p).
#
# Usage
#   SHIM=/abs/path/to/shim tests/vm/run.sh [-c CELL] [glob...]
#
#   Globs pick tests as in tests/integration/run.sh (all when none).
#
# Cells (-c, default v2)
#   v2          pure cgroup v2 (+cpu +memory +pids +io delegated), runc,
#               cgroupfs driver; the suite runs as the guest's PID 1's child
#   v2-systemd  the same with systemd as PID 1 and runc's systemd cgroup
#               driver (SystemdCgroup=true: containers become scopes under
#               system.slice, created through systemd over D-Bus)
#   v2-crun     crun instead of runc (BinaryName=crun), cgroupfs driver
#
# Environment
#   SHIM            the shim under test, as for tests/integration/run.sh
#                   (default there: the Go shim)
#   CONTAINERD_BIN, CTR_BIN
#                   containerd and ctr the guest runs (default: the host's)
#   SLOW            slack factor for the suite's waits and time limits
#                   (default 8: TCG runs 10-15x slower than the host)
#   EXEC_CYCLES     default 20 in the VM (the host pass runs 10,000; one
#                   cycle takes ~1.5 s under TCG)
#   VM_MEM, VM_CPUS guest memory in MiB (2048) and CPUs (2)
#   VM_TIMEOUT      seconds before the VM is stopped (default 3600)
#   VM_OUT          where results go (default build/vm/runs/CELL): the
#                   suite's output (suite.out), the console (console.log),
#                   each test's output and containerd.log (logs/)
#   VM_PASS_ENV     more variable names to pass into the guest's suite
#   Passed through as well: NANOSHIM_STRICT_ALLOC, TEST_TIMEOUT,
#   INVARIANTS, INVARIANTS_SETTLE_MS, VERBOSE.
#
# Exit status: the suite's (0 passed, 1 failed); 2 the VM did not run the
# suite; 77 skipped (not root, no qemu).
#
# Needs root (the guest's 9p server reads the whole host root), qemu
# (qemu-system-x86 from tools/deps.sh), busybox-static.  The kernel is
# fetched by tests/vm/fetch.sh into build/vm.  Hold the heavy lock around
# it on a shared machine: flock /tmp/nanoshim-heavy.lock tests/vm/run.sh.
#
# KVM: /dev/kvm may exist but nested guests hang on these hosts, so the
# guest runs under TCG (-accel tcg) unless VM_ACCEL says otherwise.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

log() { printf 'vm: %s\n' "$*" >&2; }
skip() {
	log "SKIP: $*"
	exit 77
}

CELL=v2
while getopts c: o; do
	case $o in
	c) CELL=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

NSVM_SYSTEMD=0
case $CELL in
v2) ;;
v2-systemd)
	NSVM_SYSTEMD=1
	SYSTEMD_CGROUP=1
	export SYSTEMD_CGROUP
	;;
v2-crun)
	RUNC_BINARY=${RUNC_BINARY:-crun}
	export RUNC_BINARY
	;;
*)
	log "unknown cell $CELL (v2, v2-systemd, v2-crun)"
	exit 2
	;;
esac

[ "$(id -u)" = 0 ] || skip "needs root"
QEMU=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 missing (tools/deps.sh installs qemu-system-x86)"
command -v busybox >/dev/null || skip "busybox missing"
[ "$NSVM_SYSTEMD" = 0 ] || [ -x /lib/systemd/systemd ] || skip "systemd missing"
[ -z "${RUNC_BINARY:-}" ] || command -v "$RUNC_BINARY" >/dev/null ||
	skip "$RUNC_BINARY missing"
case "${SHIM:-/}" in
/*) ;;
*) log "SHIM must be an absolute path: $SHIM" && exit 2 ;;
esac
for b in "${CONTAINERD_BIN:-/}" "${CTR_BIN:-/}"; do
	case $b in
	/*) ;;
	*) log "CONTAINERD_BIN and CTR_BIN must be absolute paths" && exit 2 ;;
	esac
done

KDIR=$("$HERE/fetch.sh") || { log "cannot fetch the guest kernel"; exit 2; }
OUT=${VM_OUT:-$REPO/build/vm/runs/$CELL}
rm -rf "$OUT"
mkdir -p "$OUT" || exit 2

: "${SLOW:=8}" "${EXEC_CYCLES:=20}"
export SLOW EXEC_CYCLES
pass=(SHIM SLOW EXEC_CYCLES NANOSHIM_STRICT_ALLOC TEST_TIMEOUT INVARIANTS
	INVARIANTS_SETTLE_MS VERBOSE RUNC_BINARY SYSTEMD_CGROUP
	CONTAINERD_BIN CTR_BIN)
# shellcheck disable=SC2206 # a list of names
pass+=(${VM_PASS_ENV:-})
{
	printf 'NSVM_REPO=%q\n' "$REPO"
	printf 'NSVM_TESTS=%q\n' "$*"
	printf 'NSVM_SYSTEMD=%q\n' "$NSVM_SYSTEMD"
	names=
	for v in "${pass[@]}"; do
		[ -n "${!v+x}" ] || continue
		printf '%s=%q\n' "$v" "${!v}"
		names+=" $v"
	done
	printf 'NSVM_ENV=%q\n' "${names# }"
} >"$OUT/job.env"

accel=${VM_ACCEL:-tcg,thread=multi}
append="console=ttyS0 panic=-1 quiet loglevel=3"
append+=" nsvm.init=$HERE/guest.sh nsvm.modules=$KDIR/lib/modules"
[ "$NSVM_SYSTEMD" = 1 ] && append+=" systemd.unified_cgroup_hierarchy=1"

log "cell $CELL: $(cat "$KDIR/package"), ${VM_CPUS:-2} CPUs, ${VM_MEM:-2048} MiB, accel $accel"
start=$(date +%s)
# The console (kernel messages, the suite's output) goes to the terminal
# and console.log; escape sequences of the firmware are dropped.
timeout -k 10 "${VM_TIMEOUT:-3600}" "$QEMU" \
	-accel "$accel" -cpu max -smp "${VM_CPUS:-2}" -m "${VM_MEM:-2048}" \
	-nographic -no-reboot -nic none \
	-kernel "$KDIR/vmlinuz" -initrd "$KDIR/initramfs.cpio.gz" \
	-append "$append" \
	-fsdev local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev local,id=nsvmout,path="$OUT",security_model=passthrough \
	-device virtio-9p-pci,fsdev=nsvmout,mount_tag=nsvmout \
	</dev/null 2>&1 |
	sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g; s/\r$//' |
	tee "$OUT/console.log" | grep -v -e '^SeaBIOS' -e '^Booting from ROM' -e '^$'
qrc=${PIPESTATUS[0]}
took=$(($(date +%s) - start))

if [ ! -s "$OUT/rc" ]; then
	[ "$qrc" = 124 ] && log "VM stopped after ${VM_TIMEOUT:-3600}s"
	log "the guest did not finish the suite (qemu exit $qrc, ${took}s); console: $OUT/console.log"
	exit 2
fi
rc=$(cat "$OUT/rc")
log "cell $CELL: suite exit status $rc in ${took}s (boot included); results in $OUT"
exit "$rc"
