#!/bin/bash
#
# smoke.sh: the arm64 and armhf shims, run by qemu-user, with this
# machine's containerd and runc (issue 14).
#
# Usage: tests/cross/smoke.sh /abs/path/build/arm64/containerd-shim-nanoshim-v2
#        (make cross-smoke builds both architectures and calls this; the
#        armhf binary is taken from build/armhf when it is there)
#
# 1. What qemu-user cannot do.  tests/cross/syscalls.c makes each system
#    call the shim needs, the way src/ makes it, and checks its effect.
#    It runs natively (x86-64 build) and, built for arm64, under Debian
#    12's qemu-aarch64-static and Debian 13's qemu-aarch64 (the one the
#    tests use, build/cross/qemu).  A check that passes natively and fails
#    under an emulator is named: "qemu-user lacks".
# 2. The shim alone under each qemu (serving on -socket, no containerd):
#    where qemu lacks PR_SET_CHILD_SUBREAPER the shim must refuse to serve
#    and say so (it cannot reap a container's init without it; Go's shim
#    refuses too); otherwise it must answer Connect and log its SIGUSR1
#    report (numbers printed by the release build's own snprintf).  The
#    armhf build is checked the same way under qemu-arm.
# 3. The lifecycle with containerd.  The shim re-executes /proc/self/exe
#    for its daemon, and an explicit `qemu-aarch64 shim` wrapper cannot
#    survive that (the kernel refuses to exec an aarch64 binary:
#    ENOEXEC).  So aarch64 and arm binaries are registered with
#    binfmt_misc (flags P and F: argv[0] kept, interpreter opened now) for
#    the run only: a holder process in a private mount namespace keeps a
#    binfmt_misc mount there (the host's mount table is not changed) and
#    removes the entries when the run ends or this script dies.  Then the
#    integration suite runs with SHIM set to the arm64 binary: its run,
#    exec, kill, delete, exit, metrics and OOM tests plus
#    tests/cross/t_emulated_shim.sh; and with the armhf binary: exec,
#    metrics, OOM and t_emulated_shim.sh.  NANOSHIM_STRICT_ALLOC=1; the
#    invariant sampler is off: qemu-user runs a thread of its own
#    (Threads: 2) and allocates as it translates, which says nothing of
#    the shim.
#
# Needs root (3 starts containerd: hold /tmp/nanoshim-heavy.lock around
# make test or this script).  Exit 0 pass, 1 fail, 2 setup error, 77 skip.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHIM=${1:-}
QEMU=$ROOT/build/cross/qemu/qemu-aarch64
QEMU_ARM=$ROOT/build/cross/qemu/qemu-arm
SHIM_ARMHF=$ROOT/build/armhf/containerd-shim-nanoshim-v2
QEMU_DEB12=/usr/bin/qemu-aarch64-static
CROSS_CC=$ROOT/build/cross/arm64/musl-gcc
# Tests of the integration suite that make up the lifecycle.
LIFECYCLE_ARM64="t_run_detached t_exec t_kill_signals t_delete_running
t_exit_codes t_metrics t_oom"
LIFECYCLE_ARMHF="t_exec t_metrics t_oom"

fails=0

say() {
	printf '%s\n' "$*"
}

bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}

skip() {
	say "SKIP: $*"
	exit 77
}

case $SHIM in
/*) ;;
*) say "usage: $0 /abs/path/to/arm64/shim" && exit 2 ;;
esac
[ "$(id -u)" = 0 ] || skip "needs root"
for f in "$SHIM" "$QEMU" "$CROSS_CC"; do
	[ -x "$f" ] || { say "missing $f (make ARCH=arm64 release build/cross/qemu/.ok)"; exit 2; }
done
command -v unshare >/dev/null || skip "no unshare"
command -v python3 >/dev/null || skip "no python3"

WORK=$(mktemp -d /tmp/nanoshim-arm64.XXXXXX) || exit 2
HOLDER=
SPID=
cleanup() {
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	if [ -n "$HOLDER" ]; then
		: >"$WORK/stop"
		wait "$HOLDER" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. what each qemu-user lacks -----------------------------------------
gcc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -o "$WORK/probe-native" \
	"$HERE/syscalls.c" || exit 2
"$CROSS_CC" -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -static \
	-o "$WORK/probe-arm64" "$HERE/syscalls.c" || exit 2
(cd "$WORK" && ./probe-native) >"$WORK/native.txt"

# lacks <results>: the checks that pass natively and fail there.
lacks() {
	awk '{ i = index($0, ": "); k = substr($0, 1, i - 1)
		v = substr($0, i + 2) }
		NR == FNR { if (v == "ok") ok[k] = 1; next }
		v != "ok" && ok[k] { print k " (" substr(v, 6) ")" }' \
		"$WORK/native.txt" "$1"
}

say "== system calls natively (x86-64): $(grep -c ': ok$' "$WORK/native.txt") ok"
sed -n 's/^/    /; /FAIL/p' "$WORK/native.txt"
for q in "$QEMU_DEB12" "$QEMU"; do
	[ -x "$q" ] || { say "== $q: not installed"; continue; }
	tag=$(basename "$q")
	(cd "$WORK" && "$q" ./probe-arm64) >"$WORK/$tag.txt"
	say "== $("$q" --version | head -1): qemu-user lacks:"
	lacks "$WORK/$tag.txt" | sed 's/^/    /'
done

# Debian 13's qemu may lack nothing but the re-execution, which binfmt
# (part 3) provides.
extra=$(lacks "$WORK/qemu-aarch64.txt" | grep -v '^execv /proc/self/exe ')
[ -z "$extra" ] || bad "Debian 13's qemu-user lacks more than self re-execution: $extra"

# --- 2. the shim alone ------------------------------------------------------
# serve_alone <qemu> <shim> <dir>: the shim serving on <dir>/sock, its
# log in <dir>/log (a plain file where containerd would give a FIFO).
serve_alone() {
	mkdir -p "$3" && : >"$3/log"
	cd "$3" || return 1
	NANOSHIM_STRICT_ALLOC=1 "$1" "$2" -namespace smoke -id alone \
		-address /nonexistent -socket "$3/sock" </dev/null >/dev/null 2>&1 &
	SPID=$!
	cd "$ROOT" || return 1
}

sock_up() {
	[ -S "$1" ]
}

wait_for() { # <tries of 0.1 s> <cmd...>
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

if [ -x "$QEMU_DEB12" ]; then
	serve_alone "$QEMU_DEB12" "$SHIM" "$WORK/alone12"
	if grep -q '^prctl PR_SET_CHILD_SUBREAPER: FAIL' "$WORK/qemu-aarch64-static.txt"; then
		if wait_for 100 pid_gone "$SPID"; then
			wait "$SPID"
			rc=$?
			log=$(cat "$WORK/alone12/log")
			say "== the shim under Debian 12's qemu: exit $rc: $log"
			[ "$rc" -ne 0 ] || bad "shim under Debian 12's qemu exited 0"
			case $log in
			*"set child subreaper: Invalid argument"*) ;;
			*) bad "shim under Debian 12's qemu did not name the subreaper: $log" ;;
			esac
		else
			bad "the shim serves under a qemu that lacks PR_SET_CHILD_SUBREAPER"
		fi
	else
		say "== Debian 12's qemu passes PR_SET_CHILD_SUBREAPER now"
		kill -TERM "$SPID" 2>/dev/null
		wait "$SPID"
	fi
	SPID=
fi

# check_alone <qemu> <shim> <dir>: serves, answers Connect, reports on
# SIGUSR1, exits 0 on SIGTERM.
report_logged() {
	grep -q 'scratch_peak=[0-9][0-9]* limits: conns=32 ' "$1"
}
check_alone() {
	local got rc
	serve_alone "$1" "$2" "$3"
	if wait_for 100 sock_up "$3/sock"; then
		got=$(python3 "$ROOT/tests/integration/shimrpc.py" "$3/sock" \
			connect alone)
		[ "$got" = "$SPID 0" ] ||
			bad "$2: Connect under qemu: '$got', want '$SPID 0'"
		[ "$(readlink "/proc/$SPID/exe")" = "$(readlink -f "$1")" ] ||
			bad "$2: the serving shim is not the qemu process"
		kill -USR1 "$SPID"
		wait_for 50 report_logged "$3/log" ||
			bad "$2: no SIGUSR1 report: $(cat "$3/log")"
		kill -TERM "$SPID"
		wait "$SPID"
		rc=$?
		[ "$rc" -eq 0 ] || bad "$2: exit $rc after SIGTERM"
		say "== $(basename "$(dirname "$2")") shim alone under $(basename "$1"):" \
			"Connect '$got', $(grep -o 'allocations=[0-9]* scratch_peak=[0-9]*' "$3/log"), exit $rc"
	else
		bad "$2 under qemu never listened: $(cat "$3/log")"
		kill -KILL "$SPID" 2>/dev/null
	fi
	SPID=
}

check_alone "$QEMU" "$SHIM" "$WORK/alone13"
if [ -x "$SHIM_ARMHF" ]; then
	check_alone "$QEMU_ARM" "$SHIM_ARMHF" "$WORK/alonearmhf"
fi

# --- 3. binfmt_misc and the lifecycle with containerd ----------------------
# The ELF header up to e_machine (EM_AARCH64 0xb7, EM_ARM 0x28); the mask
# lets ET_EXEC and ET_DYN through.
magic64='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
magic32='\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
mkdir -p "$WORK/binfmt"
# shellcheck disable=SC2016 # expanded by the holder's sh
unshare --mount --propagation private -- sh -c '
	bm=$1 work=$2 parent=$3
	shift 3
	mount -t binfmt_misc binfmt_misc "$bm" 2>"$work/holder.err" || exit 1
	if [ "$(cat "$bm/status")" != enabled ]; then
		echo "binfmt_misc is disabled on this host" >"$work/holder.err"
		exit 1
	fi
	for reg in "$@"; do
		name=${reg#:}
		name=${name%%:*}
		[ -e "$bm/$name" ] && echo -1 >"$bm/$name"
		printf "%s" "$reg" >"$bm/register" 2>"$work/holder.err" || exit 1
	done
	: >"$work/ready"
	while [ ! -e "$work/stop" ] && kill -0 "$parent" 2>/dev/null; do
		sleep 0.2
	done
	for reg in "$@"; do
		name=${reg#:}
		echo -1 >"$bm/${name%%:*}"
	done
' holder "$WORK/binfmt" "$WORK" "$$" \
	":nanoshim-aarch64:M::$magic64:$mask:$QEMU:PF" \
	":nanoshim-arm:M::$magic32:$mask:$QEMU_ARM:PF" &
HOLDER=$!
ready() {
	[ -e "$WORK/ready" ] || { pid_gone "$HOLDER" && return 0; return 1; }
}
wait_for 100 ready
if [ ! -e "$WORK/ready" ]; then
	skip "cannot register aarch64 and arm with binfmt_misc: $(cat "$WORK/holder.err" 2>/dev/null)"
fi
say "== binfmt_misc: aarch64 and arm binaries run by build/cross/qemu (flags PF) for this run"

(cd "$WORK" && ./probe-arm64) >"$WORK/binfmt.txt"
missing=$(lacks "$WORK/binfmt.txt")
if [ -n "$missing" ]; then
	bad "through binfmt_misc qemu-user still lacks: $missing"
else
	say "== through binfmt_misc qemu-user lacks nothing the shim needs"
fi

# lifecycle <shim> <qemu> <e_machine> <tests...>
lifecycle() {
	local shim=$1 qemu=$2 machine=$3 rc
	shift 3
	say "== the integration suite with $shim"
	QEMU=$qemu ELF_MACHINE=$machine INVARIANTS=0 NANOSHIM_STRICT_ALLOC=1 \
		SHIM=$shim "$ROOT/tests/integration/run.sh" "$@" \
		"$HERE/t_emulated_shim.sh"
	rc=$?
	[ "$rc" -eq 0 ] || bad "the lifecycle tests with $shim (exit $rc)"
}

# shellcheck disable=SC2086 # lists of test names
lifecycle "$SHIM" "$QEMU" 00b7 $LIFECYCLE_ARM64
if [ -x "$SHIM_ARMHF" ]; then
	# shellcheck disable=SC2086
	lifecycle "$SHIM_ARMHF" "$QEMU_ARM" 0028 $LIFECYCLE_ARMHF
fi

if [ "$fails" -ne 0 ]; then
	say "cross smoke: $fails failed"
	exit 1
fi
say "cross smoke: passed"
exit 0
