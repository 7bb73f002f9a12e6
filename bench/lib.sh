# shellcheck shell=bash
#
# bench/lib.sh: shared by the bench/*.sh scripts and tools/demo.sh.
#
# Owns: the benchmark's private containerd setup (on top of
# tests/integration/lib.sh, which is sourced and not changed), finding the
# shim daemons of both kinds, /proc memory probes, the idle-shim
# measurement, statistics (median, p90, max) and the teardown of
# everything a script started.  Does not own: what each script measures
# or prints.
#
# Variables (after bench_setup):
#   NANO      our shim (a private copy of the binary under test, so a
#             concurrent `make` cannot swap it in the middle of a run;
#             BENCH_COPY=0: the binary itself)
#   GO_SHIM   the Go shim, /usr/bin/containerd-shim-runc-v2
#   D NS CTR_ADDR ROOTFS BUNDLES   as in tests/integration/lib.sh
#   BENCH_KV  optional file: bench_kv appends key=value lines there
#             (bench/run.sh collects them)

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_LIB_DIR/.." && pwd)
PY=/usr/bin/python3
TTRPC_PY=$REPO/tools/ttrpc.py
GO_SHIM=${GO_SHIM:-/usr/bin/containerd-shim-runc-v2}
NANO_BASENAME=containerd-shim-nanoshim-v2
# containerd's log level for the benchmark: "info" is containerd's
# default, so the shims run without -debug as in production.
BENCH_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
export GO_SHIM

# The sampler of the integration suite costs CPU: never in a benchmark.
export INVARIANTS=0
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$REPO/tests/integration/lib.sh"

say() {
	printf '%s\n' "$*"
}

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# need_count <value> <message>: die with message unless value is a
# positive whole number (the scripts' run counts).
need_count() {
	case "$1" in
	'' | *[!0-9]* | 0) die "$2" ;;
	esac
}

# now_us: microseconds, without a fork.
now_us() {
	local t=$EPOCHREALTIME
	echo $((10#${t%.*} * 1000000 + 10#${t#*.}))
}

bench_kv() { # key=value...
	local kv
	[ -n "${BENCH_KV:-}" ] || return 0
	for kv in "$@"; do
		printf '%s\n' "$kv" >>"$BENCH_KV"
	done
}

# ---------------------------------------------------------------------------
# Statistics.  Input: numbers on stdin, one a line.

# stats: "n median p90 max min" (median of an even count: mean of the two
# middle values; p90: nearest rank).
stats() {
	sort -g | awk '
		{ v[NR] = $1 }
		END {
			n = NR
			if (n == 0) { print "0 0 0 0 0"; exit }
			med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			r = int(0.9 * n + 0.999999); if (r < 1) r = 1
			printf "%d %s %s %s %s\n", n, med, v[r], v[n], v[1]
		}'
}

ratio() { # <a> <b>: a/b with 2 decimals
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

ms() { # <microseconds> -> milliseconds with 1 decimal
	awk -v u="$1" 'BEGIN { printf "%.1f\n", u / 1000 }'
}

ms2() { # <microseconds> -> milliseconds with 2 decimals
	awk -v u="$1" 'BEGIN { printf "%.2f\n", u / 1000 }'
}

kb_human() { # <kB> -> "248 kB" or "12.9 MB"
	awk -v k="$1" 'BEGIN { if (k >= 10240) printf "%.1f MB\n", k / 1024; else printf "%d kB\n", k }'
}

# ---------------------------------------------------------------------------
# Setup and teardown

# bench_binary <path>: check the binary under test; sets NANO_SRC.
bench_binary() {
	local b=${1:-${NANOSHIM:-$REPO/build/$NANO_BASENAME}}
	case "$b" in
	/*) ;;
	*) b=$PWD/$b ;;
	esac
	[ -x "$b" ] || die "not an executable: $b (run make first)"
	[ -x "$GO_SHIM" ] || die "Go shim not found: $GO_SHIM"
	NANO_SRC=$b
}

# bench_dir: the private directory and the copy of our shim, no
# containerd (enough for the idle measurement).
bench_dir() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	_need "$PY"
	D=$(mktemp -d /tmp/nanoshim-bench.XXXXXX) || die "mktemp failed"
	NS=nsbench$$
	CTR_ADDR=$D/containerd.sock
	ROOTFS=$D/rootfs
	BUNDLES=$D/state/io.containerd.runtime.v2.task/$NS
	mkdir -p "$D/bin" "$D/fifo" || die "mkdir in $D failed"
	if [ "${BENCH_COPY:-1}" = 1 ]; then
		cp "$NANO_SRC" "$D/bin/$NANO_BASENAME" || die "cannot copy $NANO_SRC"
		# Written back now: dirty page-cache pages of the fresh copy
		# would be counted as the shims' Private_Dirty.
		sync "$D/bin/$NANO_BASENAME" || die "sync failed"
		NANO=$D/bin/$NANO_BASENAME
	else
		NANO=$NANO_SRC
		NANO_BASENAME=${NANO##*/}
	fi
	SHIM=$NANO
	RUNTIME=$NANO
	: >"$D/pids"
	export D NS CTR_ADDR ROOTFS BUNDLES SHIM RUNTIME NANO
	_set_ctr_array
	_snapshot_host
}

# bench_setup: bench_dir plus a private containerd and a busybox rootfs
# (tests/integration/lib.sh's helpers; log level $BENCH_LOG_LEVEL).
bench_setup() {
	_need containerd
	_need ctr
	_need runc
	_need busybox
	_need setsid
	_need timeout
	bench_dir
	make_rootfs "$ROOTFS" || die "cannot build the rootfs"
	write_config
	sed -i "s/^  level = \"debug\"/  level = \"$BENCH_LOG_LEVEL\"/" \
		"$D/config.toml"
	containerd_start || die "containerd did not start"
}

# bench_track <pid>: a helper process of ours (drain, idle shim) that
# teardown stops by pid.
bench_track() {
	echo "$1" >>"$D/pids"
}

# _ours <pid>: its command line names our directory (pid reuse guard).
_ours() {
	local a
	a=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	case "$a" in
	*"$D"*) return 0 ;;
	esac
	return 1
}

# bench_teardown: idempotent; also from the EXIT trap.
bench_teardown() {
	local p ids
	[ -n "${D:-}" ] && [ -d "$D" ] || return 0
	[ -e "$D/.bench-teardown" ] && return 0
	: >"$D/.bench-teardown"
	while read -r p; do
		[ -n "$p" ] && pid_alive "$p" && _ours "$p" && kill -KILL "$p" 2>/dev/null
	done <"$D/pids"
	if containerd_alive; then
		ids=$(ctr_bounded task ls -q 2>/dev/null)
		# One ctr for all tasks: `task rm -f` kills and deletes each.
		# shellcheck disable=SC2086 # ids are words
		[ -n "$ids" ] && timeout -k 5 60 ctr --address "$CTR_ADDR" \
			--namespace "$NS" task rm -f $ids >/dev/null 2>&1
		ids=$(ctr_bounded container ls -q 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && ctr_bounded container rm $ids >/dev/null 2>&1
		ns_force_clean
	fi
	SHIM=$GO_SHIM kill_our_shims
	SHIM=$NANO suite_teardown
	# The shared socket dir /run/containerd/s: suite_teardown removes the
	# files that appeared since _snapshot_host and nobody listens on.
}

# bench_traps: teardown on exit, ^C and TERM.
bench_traps() {
	# shellcheck disable=SC2154 # rc is set inside the trap
	trap 'rc=$?; bench_teardown; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------
# Shim processes

# kind_of_argv0 <argv0>: nano, go or nothing.
_kind_of() {
	case "${1##*/}" in
	"$NANO_BASENAME") echo nano ;;
	"${GO_SHIM##*/}") echo go ;;
	esac
}

# bench_shims [address] [all]: one pass over /proc; prints "pid kind id"
# for every shim daemon with `-address <address>` (default $CTR_ADDR);
# with "all" also the short-lived `start` and `delete` invocations.
bench_shims() {
	local want=${1:-$CTR_ADDR} all=${2:-} f p i n addr id kind
	local -a a
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		mapfile -d '' -t a 2>/dev/null <"$f" || continue
		n=${#a[@]}
		[ "$n" -gt 2 ] || continue
		kind=$(_kind_of "${a[0]}")
		[ -n "$kind" ] || continue
		case "${a[$((n - 1))]}" in
		start | delete) [ "$all" = all ] || continue ;;
		esac
		addr=
		id=
		for ((i = 1; i < n - 1; i++)); do
			case "${a[$i]}" in
			-address | --address) addr=${a[$((i + 1))]} ;;
			-id | --id) id=${a[$((i + 1))]} ;;
			esac
		done
		[ "$addr" = "$want" ] && pid_alive "$p" && echo "$p $kind $id"
	done
}

# shim_gone <id>: no shim process for container id is alive (daemon,
# nor the `delete` containerd runs after it).
shim_gone() {
	! bench_shims "$CTR_ADDR" all | awk -v id="$1" '$3 == id { f = 1 } END { exit !f }'
}

# proc_mem <pid>: "rss pss private_dirty threads fds" (kB, counts).
proc_mem() {
	local k v rss='' pss='' pd='' th
	local -a fds
	while read -r k v _; do
		case $k in
		Rss:) rss=$v ;;
		Pss:) pss=$v ;;
		Private_Dirty:) pd=$v ;;
		esac
	done 2>/dev/null <"/proc/$1/smaps_rollup"
	th=$(threads_of "$1")
	fds=("/proc/$1/fd/"*)
	[ -n "$rss" ] && [ -n "$pss" ] && [ -n "$pd" ] && [ -n "$th" ] || return 1
	echo "$rss $pss $pd $th ${#fds[@]}"
}

# ---------------------------------------------------------------------------
# Idle shim: started the way containerd starts it, with no container.

# idle_start <shim> <tag>: run `<shim> ... -id <tag> start` in a fresh
# bundle $D/idle-<tag> ({} config.json, a drained `log` FIFO), with
# TTRPC_ADDRESS at a socket nobody serves (an idle shim publishes
# nothing).  Sets IDLE_PID and IDLE_ADDR.
idle_start() {
	local bin=$1 tag=$2 b=$D/idle-$2 out i line
	IDLE_PID=
	IDLE_ADDR=
	mkdir -p "$b" && echo '{}' >"$b/config.json" && mkfifo "$b/log" || return 1
	cat "$b/log" >"$D/idle-$tag.log" 2>/dev/null </dev/null &
	bench_track $!
	# containerd's own fds are all close-on-exec: the shim must not
	# inherit ours (they would show up in its fd count).
	out=$(cd "$b" && _close_inherited_fds && TTRPC_ADDRESS=$D/idle.sock.ttrpc timeout 20 \
		"$bin" -namespace "$NS" -address "$D/idle.sock" -id "$tag" \
		start </dev/null 2>&1) || {
		log "idle: $bin start failed: $out"
		return 1
	}
	IDLE_ADDR=$out
	for ((i = 0; i < 100; i++)); do
		line=$(bench_shims "$D/idle.sock" | awk -v id="$tag" '$3 == id { print $1; exit }')
		[ -n "$line" ] && break
		sleep 0.05
	done
	[ -n "$line" ] || {
		log "idle: no daemon for $tag"
		return 1
	}
	IDLE_PID=$line
	bench_track "$IDLE_PID"
}

# idle_stop: Shutdown over ttrpc, then SIGKILL if it is still there;
# removes the socket file if the shim left it.
idle_stop() {
	local sock=${IDLE_ADDR#unix://}
	[ -n "$IDLE_PID" ] || return 0
	timeout 10 "$PY" "$TTRPC_PY" --addr "$IDLE_ADDR" --namespace "$NS" \
		call Shutdown '{}' >/dev/null 2>&1
	if ! wait_gone 5 "$IDLE_PID"; then
		log "idle: pid $IDLE_PID still alive after Shutdown; killing it"
		kill -KILL "$IDLE_PID" 2>/dev/null
		wait_gone 5 "$IDLE_PID"
	fi
	case "$sock" in
	/run/containerd/s/*) rm -f "$sock" ;;
	esac
	IDLE_PID=
}

# idle_measure <shim> <tag> [settle-seconds=1]: prints proc_mem of an
# idle daemon after it settled.
idle_measure() {
	local m
	idle_start "$1" "$2" || return 1
	sleep "${3:-1}"
	m=$(proc_mem "$IDLE_PID")
	idle_stop
	[ -n "$m" ] || return 1
	echo "$m"
}

# ---------------------------------------------------------------------------
# Context for the reports

bench_versions() {
	say "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	say "host:       $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MB", $2 / 1024 }' /proc/meminfo)"
	say "containerd: $(containerd --version 2>/dev/null | awk '{ print $3 }')"
	say "runc:       $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
	say "Go shim:    $GO_SHIM ($(stat -c %s "$GO_SHIM") bytes)"
	say "nanoshim:   ${NANO_ORIG:-$NANO_SRC} ($(stat -c %s "$NANO_SRC") bytes, sha256 $(sha256sum "$NANO_SRC" | cut -c1-12), built $(date -u -r "$NANO_SRC" '+%Y-%m-%d %H:%M UTC'))"
	say "source:     commit $(_commit)"
}

# _commit: HEAD of the repository and whether src/ differs from it
# (read-only git: no index refresh).
_commit() {
	local h
	h=$(git -C "$REPO" --no-optional-locks rev-parse --short HEAD 2>/dev/null) || {
		echo "unknown (no git)"
		return
	}
	if git -C "$REPO" --no-optional-locks diff --quiet HEAD -- src Makefile 2>/dev/null; then
		echo "$h"
	else
		echo "$h + uncommitted changes in src/ or Makefile"
	fi
}
