#!/bin/bash
#
# run.sh: the nanoshim integration suite (real containerd, runc, ctr).
#
# Usage
#   SHIM=/abs/path/to/shim tests/integration/run.sh [glob...]
#
#   With SHIM unset the Go reference shim /usr/bin/containerd-shim-runc-v2
#   is tested; every test passes (or skips with a reason) against it, and
#   the same tests then judge nanoshim.  Globs pick tests by name, with or
#   without the t_ prefix and .sh suffix: `run.sh 'exec*' t_oom`.
#
# Environment
#   SHIM          absolute path of the shim binary under test; ctr gets
#                 `--runtime $SHIM` (default /usr/bin/containerd-shim-runc-v2)
#   TEST_TIMEOUT  per-test time limit in seconds (default 120); a test may
#                 ask for more with a line "# TIMEOUT: <seconds>"
#   SLOW          integer slack factor for slow hosts (default 1): time
#                 limits and wait_until timeouts are multiplied by it
#                 (tests/vm/run.sh sets it for guests under qemu TCG)
#   INVARIANTS    1 forces the invariant sampler on, 0 off; default: on
#                 when the basename of SHIM contains "nanoshim".  It checks
#                 every ~100 ms that each shim daemon has 1 thread, that
#                 its VmData and anonymous mappings never grow after
#                 startup, and that no child stays a zombie
#   INVARIANTS_SETTLE_MS  age of a shim before its memory baseline is
#                 taken (default 500)
#   SAN_LOG_DIR   a directory where the sanitizer build's reports go
#                 (ASAN_OPTIONS / UBSAN_OPTIONS log_path under it): any
#                 file there at the end fails the suite (make
#                 integration-san)
#   KEEP_D=1      keep the suite directory (containerd.log, per-test output
#                 in t/<name>/output) instead of removing it
#   VERBOSE=1     print the output of passing tests too
#   CONTAINERD_BIN, CTR_BIN  the containerd and ctr to run (default: the
#                 host's on PATH); containerd 2.x gets a version-3 config
#                 (CONTAINERD_CONFIG_VERSION overrides), see lib.sh.
#                 tools/debsuite.sh unpacks 1.7 (trixie) and 2.x (sid).
#
# Needs root, containerd 1.6, 1.7 or 2.x, its ctr, runc, a static busybox,
# python3.
# Exit status: 0 all passed or skipped; 1 a test failed, leaked, or the
# invariants were violated; 2 setup error; 77 suite skipped (not root,
# missing tool).
#
# How it works: one private containerd for the whole run (own root, state
# and sockets under a mktemp dir $D, CRI off, namespace nstest<pid>).  Each
# t_*.sh, sorted, runs in a child bash with lib.sh sourced, cwd and $T =
# $D/t/<name>.  A test exits 0 (pass: it made at least one assertion and
# none failed), 77 (skip; its last "SKIP: reason" line is shown) or other
# (fail).  After each test the runner requires that no task, container,
# shim process or mount of ours is left; a leak fails the test and is
# cleaned up so the next test starts clean.  Teardown (also on ^C) stops
# everything the suite started, by pid, and removes what it created.
#
# Helpers: ptyrun.py gives ctr a terminal (run -t, exec -t, resizes);
# shimrpc.py calls a shim's ttrpc Task service directly (Update, Connect:
# ctr 1.6 has no `task update`).
#
# Writing a test: see lib.sh.  Use ctr_run/ctr_exec/ctr_ns, assert_* and
# wait_until (never bare sleeps to wait for something), delete every
# container you make, and say at the top what the test proves.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

TEST_TIMEOUT=${TEST_TIMEOUT:-120}
PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=()
TESTS=()
TEST_PID=

# select_tests [glob...]: fill TESTS with matching t_*.sh, sorted.
select_tests() {
	local f name g
	for f in "$HERE"/t_*.sh; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .sh)
		if [ $# -eq 0 ]; then
			TESTS+=("$f")
			continue
		fi
		for g in "$@"; do
			case $g in
			*/*) continue ;;
			esac
			g=${g%.sh}
			# shellcheck disable=SC2053 # glob match intended
			if [[ $name == $g || ${name#t_} == $g ]]; then
				TESTS+=("$f")
				break
			fi
		done
	done
	# A path names a test file kept elsewhere (tests/cross).
	for g in "$@"; do
		case $g in
		*/*.sh) [ -f "$g" ] && TESTS+=("$(cd "$(dirname "$g")" && pwd)/${g##*/}") ;;
		esac
	done
}

secs_since() { # <start-ms>
	local ms=$(($(now_ms) - $1))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

indent() {
	sed 's/^/    | /'
}

# leftovers: print what the last test left behind (nothing when clean).
leftovers() {
	local tasks ctrs shims mnts
	if ! containerd_alive; then
		echo "containerd was left stopped (restarted it)"
		containerd_start >/dev/null 2>&1
	fi
	tasks=$(ctr_bounded task ls -q 2>/dev/null | tr '\n' ' ')
	ctrs=$(ctr_bounded container ls -q 2>/dev/null | tr '\n' ' ')
	[ -n "$tasks" ] && echo "tasks left: $tasks"
	[ -n "$ctrs" ] && echo "containers left: $ctrs"
	if ! wait_until 10 no_shims; then
		shims=$(shim_procs_all | tr '\n' ' ')
		echo "shim processes left: $shims"
	fi
	mnts=$(mounts_under "$D/state" | tr '\n' ' ')
	[ -n "$mnts" ] && echo "mounts left: $mnts"
	return 0
}

# san_reports_new: sanitizer report files that appeared since the last
# call (SAN_LOG_DIR), with their first lines.
san_reports_new() {
	local f
	[ -n "${SAN_LOG_DIR:-}" ] || return 0
	touch "$D/san.seen"
	for f in "$SAN_LOG_DIR"/*; do
		[ -e "$f" ] || continue
		grep -qxF "$f" "$D/san.seen" && continue
		echo "$f" >>"$D/san.seen"
		echo "sanitizer report $f:"
		head -30 "$f"
	done
}

clean_after_leak() {
	ns_force_clean
	kill_our_shims
	kill_container_procs
	unmount_under "$D/state"
}

report() { # <PASS|FAIL|SKIP> <name> <text>
	case $1 in
	PASS) PASSED=$((PASSED + 1)) ;;
	SKIP) SKIPPED=$((SKIPPED + 1)) ;;
	FAIL)
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$2")
		;;
	esac
	printf '%s %s%s\n' "$1" "$2" "$3"
}

run_one() {
	local file=$1 name start rc took leak reason limit
	name=$(basename "$file" .sh)
	limit=$(sed -n 's/^# TIMEOUT: *\([0-9][0-9]*\).*/\1/p' "$file" | head -1)
	[ -n "$limit" ] && [ "$limit" -gt "$TEST_TIMEOUT" ] || limit=$TEST_TIMEOUT
	limit=$((limit * ${SLOW:-1}))
	T=$D/t/$name
	TEST_NAME=$name
	export T TEST_NAME
	mkdir -p "$T"
	start=$(now_ms)
	# In the background, so that a signal to the runner is handled at once
	# (`wait` returns) instead of after the test.
	# shellcheck disable=SC2016 # expanded by the child bash
	timeout -k 5 "$limit" bash -c \
		'set -u; . "$1"; test_begin; . "$2"' "$name" "$LIB_DIR/lib.sh" "$file" \
		>"$T/output" 2>&1 </dev/null &
	TEST_PID=$!
	wait "$TEST_PID"
	rc=$?
	TEST_PID=
	took=$(secs_since "$start")
	leak=$(leftovers)
	[ -n "$leak" ] && clean_after_leak
	leak+=$(san_reports_new)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		report FAIL "$name" " (timeout after ${limit}s)"
	elif [ "$rc" -eq 77 ] && [ -z "$leak" ]; then
		reason=$(grep '^SKIP: ' "$T/output" | tail -1)
		report SKIP "$name" ": ${reason#SKIP: }"
		return
	elif [ "$rc" -eq 0 ] && [ -z "$leak" ]; then
		report PASS "$name" " (${took}s)"
		[ "${VERBOSE:-0}" = 1 ] && indent <"$T/output"
		return
	else
		report FAIL "$name" " (exit $rc, ${took}s)"
	fi
	[ -n "$leak" ] && printf '%s\n' "$leak" | sed 's/^/    leak: /'
	# The failed checks first, so that a log cut short still names them.
	grep -a 'FAIL' "$T/output" | head -10 | sed 's/^/    first failures: /'
	indent <"$T/output"
}

# final_checks: suite-wide conditions, as one pseudo-test.
final_checks() {
	local problems=""
	local samples=0 shims=0
	if [ -e "$D/sampler.pid" ]; then
		sampler_stop
		read -r samples shims 2>/dev/null <"$D/sampler.stats"
		echo "invariant sampler: ${samples:-0} samples of ${shims:-0} shim processes"
		if [ -s "$D/invariants.log" ]; then
			problems+=$'shim invariants violated:\n'$(head -50 "$D/invariants.log")$'\n'
		fi
	fi
	if [ -n "${SAN_LOG_DIR:-}" ] && [ -n "$(ls -A "$SAN_LOG_DIR" 2>/dev/null)" ]; then
		problems+="sanitizer reports in $SAN_LOG_DIR:"$'\n'
		problems+=$(head -c 3000 "$SAN_LOG_DIR"/* 2>/dev/null)$'\n'
	fi
	no_shims || problems+="shim processes left: $(shim_procs_all | tr '\n' ' ')"$'\n'
	[ -z "$(mounts_under "$D/state")" ] ||
		problems+="mounts left: $(mounts_under "$D/state" | tr '\n' ' ')"$'\n'
	if [ -n "$problems" ]; then
		report FAIL "(suite)" ""
		printf '%s' "$problems" | indent
	fi
}

summary() {
	local total=$((PASSED + FAILED + SKIPPED))
	echo "----"
	echo "$total tests: $PASSED passed, $FAILED failed, $SKIPPED skipped" \
		"in $(secs_since "$SUITE_START")s (shim: $SHIM," \
		"containerd ${CTRD_VERSION:-?})"
	[ "$FAILED" -eq 0 ] || echo "failed: ${FAILED_NAMES[*]}"
}

# on_signal: stop the running test (timeout passes SIGTERM on to the
# test's process group), then exit; the EXIT trap tears the suite down.
on_signal() {
	trap - INT TERM
	if [ -n "${TEST_PID:-}" ]; then
		kill -TERM "$TEST_PID" 2>/dev/null
		wait "$TEST_PID" 2>/dev/null
	fi
	log "interrupted"
	exit 130
}

main() {
	local t
	select_tests "$@"
	if [ ${#TESTS[@]} -eq 0 ]; then
		log "no test matches: $*"
		exit 2
	fi
	SUITE_START=$(now_ms)
	trap suite_teardown EXIT
	trap on_signal INT TERM
	suite_setup
	echo "suite dir $D, namespace $NS, shim $SHIM, containerd $CTRD_VERSION ($CONTAINERD_BIN)"
	for t in "${TESTS[@]}"; do
		run_one "$t"
	done
	final_checks
	summary
	[ "$FAILED" -eq 0 ]
}

main "$@"
