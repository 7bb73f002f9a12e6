# shellcheck shell=bash
#
# lib.sh: helpers for the integration suite, sourced by run.sh and by every
# t_*.sh (each test runs in a child bash with this file sourced).
#
# Owns: the private containerd (setup, restart, teardown), the ctr
# wrappers, assertions, /proc probes of our shims, leftover checks and the
# nanoshim invariant sampler.  Does not own: what a scenario checks (t_*.sh)
# nor the test loop and report (run.sh).
#
# State shared between run.sh and the tests travels in exported variables
# and in files under $D (containerd.pid, sockets.before, invariants.log);
# containerd's pid lives in a file because a test may restart containerd.
#
#   D         suite directory (mktemp); containerd root $D/root, state
#             $D/state, log $D/containerd.log, config $D/config.toml
#   NS        our containerd namespace (nstest<pid>)
#   SHIM      the shim under test (absolute path); RUNTIME is the same
#   CTR_ADDR  containerd's private gRPC socket; CTR=(ctr -a .. -n ..)
#   ROOTFS    the shared busybox rootfs (tests may write to $ROOTFS/tmp)
#   BUNDLES   $D/state/io.containerd.runtime.v2.task/$NS
#   LIB_DIR   this directory (ptyrun.py, shimrpc.py)
#   T         per test: its own scratch dir and cwd; TEST_NAME its name
#
# Which containerd (the environment picks; default: the host's, on PATH):
#   CONTAINERD_BIN  containerd binary (e.g. build/suites/sid/usr/bin/containerd)
#   CTR_BIN         its ctr (ctr of the same release: ctr 2.x talks to 1.6 too,
#                   but prints and accepts other things)
#   CONTAINERD_CONFIG_VERSION  2 or 3; default 3 for containerd 2.x, else 2
#   CTRD_VERSION, CTRD_MAJOR, CTRD_MINOR  set by suite_setup from
#                   `containerd --version` (e.g. 2.1.9, 2, 1), for tests
#                   whose ctr output or flags differ between releases

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHIM=${SHIM:-/usr/bin/containerd-shim-runc-v2}
CONTAINERD_BIN=${CONTAINERD_BIN:-containerd}
CTR_BIN=${CTR_BIN:-ctr}
SHIM_SOCK_DIR=/run/containerd/s
RUNC_STATE=/run/containerd/runc
CGROUP_ROOT=/sys/fs/cgroup
export LIB_DIR SHIM CONTAINERD_BIN CTR_BIN

# The host's cgroup layout: CGROUP_V2=1 on a pure cgroup v2 host (cgroup2
# at /sys/fs/cgroup, as in tests/vm), 0 on v1 or hybrid.
CGROUP_V2=0
[ "$(stat -f -c %T "$CGROUP_ROOT" 2>/dev/null)" = cgroup2fs ] && CGROUP_V2=1

# Runtime options.  RUNC_BINARY (BinaryName: crun, ...) and
# SYSTEMD_CGROUP=1 (runc's systemd cgroup driver) make ctr_run pass
# containerd.runc.v1.Options; ctr sends them only for the runtime name
# io.containerd.runc.v2, which containerd resolves in its cwd ($D) first,
# where suite_setup links $SHIM as containerd-shim-runc-v2.  With
# SYSTEMD_CGROUP=1 a container's cgroup is the scope
# system.slice/$NS-<id>.scope (ctr needs --cgroup with the driver: the
# kubelet's form slice:prefix:name).
RUNC_BINARY=${RUNC_BINARY:-}
SYSTEMD_CGROUP=${SYSTEMD_CGROUP:-0}
export RUNC_BINARY SYSTEMD_CGROUP

# Applets linked into the container's /bin.  busybox --list is not used:
# on Debian it lists "busybox" itself, which would replace the binary.
ROOTFS_APPLETS=(sh ash cat sleep echo ls true false head tail dd wc od
	md5sum sha256sum stty kill yes env id ps grep seq printf test "[" tty
	sed awk tr cut mkdir rm touch mount uname hostname date expr nproc tee
	xargs usleep timeout mkfifo)

# ---------------------------------------------------------------------------
# Small utilities

log() {
	printf '%s\n' "$*" >&2
}

# quiet <cmd...>: run cmd with its stderr dropped (ctr task rm warns about
# non-zero exit codes); use inside assertions, whose own messages go to
# stderr too.
quiet() {
	"$@" 2>/dev/null
}

# now_ms: milliseconds since boot, from /proc/uptime, without a fork.
now_ms() {
	local up
	read -r up _ </proc/uptime
	echo $((10#${up%.*} * 1000 + 10#${up#*.} * 10))
}

# pid_alive <pid>: the process exists and is not a zombie.
pid_alive() {
	local line rest
	[ -n "${1:-}" ] || return 1
	read -r line 2>/dev/null </proc/"$1"/stat || return 1
	rest=${line##*) }
	[ "${rest%% *}" != Z ]
}

# wait_until <timeout-seconds> <cmd...>: poll cmd until it succeeds.
# The timeout is multiplied by SLOW (an integer, default 1): the VM
# harness (tests/vm) sets it for guests that run 10x slower.
wait_until() {
	local limit=$(($(now_ms) + ${1%.*} * 1000 * ${SLOW:-1}))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

pid_dead() {
	! pid_alive "$1"
}

# wait_gone <timeout> <pid...>: wait until no listed pid is alive.
wait_gone() {
	local t=$1 p
	shift
	for p in "$@"; do
		wait_until "$t" pid_dead "$p" || return 1
	done
}

is_nanoshim() {
	case "${SHIM##*/}" in
	*nanoshim*) return 0 ;;
	esac
	return 1
}

# sha_socket <id>: the shim socket file for a container (spec 1.2).
sha_socket() {
	local h
	h=$(printf '%s' "$CTR_ADDR/$NS/$1" | sha256sum)
	echo "$SHIM_SOCK_DIR/${h%% *}"
}

# ---------------------------------------------------------------------------
# Assertions.  Each records its outcome in $T/asserts (one line each), so a
# check made in a subshell still counts; the failure line goes to stderr.
# They return 1 on failure and do not exit: chain `|| exit 1` where going
# on makes no sense.

_where() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		[ "${BASH_SOURCE[$i]}" != "${BASH_SOURCE[0]}" ] || continue
		echo "${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
		return
	done
	echo "?"
}

_record() {
	[ -n "${T:-}" ] && echo "$1" >>"$T/asserts"
	return 0
}

pass() {
	_record ok
	return 0
}

fail() {
	_record fail
	log "FAIL [$(_where)] $*"
	return 1
}

assert_eq() { # <expected> <actual> [what]
	[ "$1" = "$2" ] && pass && return 0
	fail "${3:-value}: expected '$1', got '$2'"
}

assert_ne() { # <unexpected> <actual> [what]
	[ "$1" != "$2" ] && pass && return 0
	fail "${3:-value}: expected anything but '$1'"
}

assert_contains() { # <haystack> <needle> [what]
	case "$1" in
	*"$2"*) pass && return 0 ;;
	esac
	fail "${3:-text}: '$2' not found in: $(printf '%s' "$1" | head -c 2000)"
}

assert_not_contains() { # <haystack> <needle> [what]
	case "$1" in
	*"$2"*) fail "${3:-text}: unexpected '$2' in: $(printf '%s' "$1" | head -c 2000)" ;;
	*) pass ;;
	esac
}

assert_file_eq() { # <expected-file> <actual-file> [what]
	cmp -s "$1" "$2" && pass && return 0
	fail "${3:-file}: $2 differs from $1 ($(cmp "$1" "$2" 2>&1 | head -1))"
}

assert_ok() { # <what> <cmd...>: cmd must succeed
	local what=$1
	shift
	"$@" && pass && return 0
	fail "$what: command failed: $*"
}

assert_fails() { # <what> <cmd...>: cmd must fail
	local what=$1
	shift
	"$@" || { pass && return 0; }
	fail "$what: command unexpectedly succeeded: $*"
}

assert_eventually() { # <timeout> <what> <cmd...>
	local t=$1 what=$2
	shift 2
	wait_until "$t" "$@" && pass && return 0
	fail "$what: not true within ${t}s: $*"
}

skip() {
	log "SKIP: $*"
	exit 77
}

# ---------------------------------------------------------------------------
# ctr

ctr_ns() {
	"$CTR_BIN" --address "$CTR_ADDR" --namespace "$NS" "$@"
}

# CTR: the same as an array, for commands that exec ctr themselves
# (ptyrun.py, timeout).  Arrays are not exported: rebuilt on sourcing.
# shellcheck disable=SC2034 # used by the tests
_set_ctr_array() {
	CTR=("$CTR_BIN" --address "${CTR_ADDR:-}" --namespace "${NS:-}")
}
_set_ctr_array

# ctr_bounded: ctr_ns with a time limit, for the harness's own calls.
ctr_bounded() {
	timeout -k 5 $((30 * ${SLOW:-1})) "$CTR_BIN" --address "$CTR_ADDR" --namespace "$NS" "$@"
}

# ctr_run [run-flags...] ID [CMD ARG...]
# Runs `ctr run` on the shared busybox rootfs with our runtime, a private
# FIFO dir and PATH=/bin.  Flags that take a value must be written
# --flag=value: the first word not starting with '-' is the container id,
# and the rootfs path is put in front of it.
ctr_run() {
	local -a flags=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
		flags+=("$1")
		shift
	done
	runtime_flags "$1"
	ctr_ns run "${RUNTIME_FLAGS[@]}" --fifo-dir "$D/fifo" --env PATH=/bin \
		"${flags[@]}" --rootfs "$ROOTFS" "$@"
}

# runtime_flags <id>: RUNTIME_FLAGS, the ctr run flags that pick our
# runtime (and its options, see RUNC_BINARY) for container <id>.
runtime_flags() {
	RUNTIME_FLAGS=(--runtime "$SHIM")
	[ -n "$RUNC_BINARY" ] || [ "$SYSTEMD_CGROUP" = 1 ] || return 0
	RUNTIME_FLAGS=(--runtime io.containerd.runc.v2)
	[ -n "$RUNC_BINARY" ] && RUNTIME_FLAGS+=(--runc-binary "$RUNC_BINARY")
	[ "$SYSTEMD_CGROUP" = 1 ] &&
		RUNTIME_FLAGS+=(--runc-systemd-cgroup "--cgroup=system.slice:$NS:$1")
	return 0
}

# container_cgroup <id>: the cgroup path runc gives container <id> (as in
# /proc/<pid>/cgroup); container_cgroup_dir <id> [controller]: its
# directory (v1: in that controller's hierarchy, default pids).
container_cgroup() {
	if [ "$SYSTEMD_CGROUP" = 1 ]; then
		echo "/system.slice/$NS-$1.scope"
	else
		echo "/$NS/$1"
	fi
}

container_cgroup_dir() {
	if [ "$CGROUP_V2" = 1 ]; then
		echo "$CGROUP_ROOT$(container_cgroup "$1")"
	else
		echo "$CGROUP_ROOT/${2:-pids}$(container_cgroup "$1")"
	fi
}

ctr_exec() { # ctr_exec [exec-flags...] ID CMD...
	ctr_ns task exec --fifo-dir "$D/fifo" "$@"
}

# stdin_after_start <id> <file>: write file to stdout once task <id> runs.
# Feed a foreground ctr run with it: ctr 1.6 loses its CloseIO (so the
# container never sees EOF) when its stdin ends before NewTask returned,
# containerd issue #4489.  A task that is RUNNING is past that point.
stdin_after_start() {
	wait_until 20 status_is "$1" RUNNING || return 1
	cat "$2"
}

# stdin_after_exec <id> <exec-id> <file>: the same for `ctr task exec`,
# which installs its closer only after Exec returned; the exec is past
# that point once `ctr task ps` lists it.
stdin_after_exec() {
	wait_until 20 exec_listed "$1" "$2" || return 1
	cat "$3"
}

# ctr prints the exec's ProcessDetails with %+v: "&ProcessDetails{ExecID:e1,"
# in 1.6/1.7 (gogo), 'exec_id:"e1"' in 2.x.
exec_listed() { # <id> <exec-id>
	ctr_bounded task ps "$1" 2>/dev/null |
		grep -Eq "ExecID:$2,|exec_id:\"$2\""
}

task_field() { # <id> <column 2=pid 3=status>
	ctr_bounded task ls 2>/dev/null | awk -v id="$1" -v c="$2" \
		'NR > 1 && $1 == id { print $c }'
}

task_pid() {
	task_field "$1" 2
}

task_status() {
	task_field "$1" 3
}

no_task() { # <id>
	[ -z "$(task_status "$1")" ]
}

status_is() { # <id> <STATUS>
	[ "$(task_status "$1")" = "$2" ]
}

# kill_and_delete <id>: SIGKILL everything, wait for STOPPED, delete the
# task and the container.  Checks each step.
kill_and_delete() {
	local id=$1
	assert_ok "kill $id" ctr_ns task kill --all --signal SIGKILL "$id"
	assert_eventually 10 "$id stopped" status_is "$id" STOPPED
	assert_ok "task rm $id" quiet ctr_ns task rm "$id"
	assert_ok "container rm $id" ctr_ns container rm "$id"
}

# ---------------------------------------------------------------------------
# Events.  `ctr events` prints "DATE TIME +0000 UTC NS TOPIC JSON".

# events_start: run `ctr events` into $T/events.log until the test ends and
# return once it is subscribed (a namespace label change shows up in it).
events_start() {
	local tag
	tag="sync$(now_ms)$RANDOM"
	ctr_ns events >>"$T/events.log" 2>&1 &
	echo $! >>"$T/bgpids"
	if ! wait_until 10 _events_sync "$tag"; then
		fail "ctr events did not subscribe"
		return 1
	fi
}

_events_sync() {
	"$CTR_BIN" --address "$CTR_ADDR" namespaces label "$NS" "evsync=$1" \
		>/dev/null 2>&1
	sleep 0.1
	grep -q "\"evsync\":\"$1\"" "$T/events.log"
}

# event_topics <id>: topics of our namespace's events for a container, in
# order, one a line.
event_topics() {
	awk -v ns="$NS" -v key="\"container_id\":\"$1\"" \
		'$5 == ns && index($0, key) { print $6 }' "$T/events.log"
}

# event_line <id> <topic>: the first JSON payload for that pair.
event_line() {
	awk -v ns="$NS" -v key="\"container_id\":\"$1\"" -v t="$2" \
		'$5 == ns && $6 == t && index($0, key) { print $7; exit }' \
		"$T/events.log"
}

has_event() { # <id> <topic>
	event_topics "$1" | grep -qx "$2"
}

# ---------------------------------------------------------------------------
# Processes.  A shim of ours is a process whose argv[0] (or exe) is $SHIM
# and whose argv carries "-address $CTR_ADDR".

# _argv_is_ours <pid>: sets ARGV (array); 0 if it is one of our shims.
_argv_is_ours() {
	local i exe a0
	ARGV=()
	mapfile -d '' -t ARGV 2>/dev/null </proc/"$1"/cmdline || return 1
	# A shim of another architecture run by qemu-user (tests/cross):
	# through binfmt_misc with the P flag, the interpreter, the binary's
	# path, then the shim's own argv; run by hand, qemu then the shim's.
	a0=${ARGV[0]:-}
	case "${a0##*/}" in
	qemu-*)
		case "${ARGV[2]:-}" in
		-*) ARGV=("${ARGV[@]:1}") ;;
		*) ARGV=("${ARGV[@]:2}") ;;
		esac
		;;
	esac
	[ "${#ARGV[@]}" -gt 2 ] || return 1
	for ((i = 1; i < ${#ARGV[@]} - 1; i++)); do
		case "${ARGV[$i]}" in
		-address | --address) [ "${ARGV[$((i + 1))]}" = "$CTR_ADDR" ] && break ;;
		esac
	done
	[ "$i" -lt $((${#ARGV[@]} - 1)) ] || return 1
	[ "${ARGV[0]##*/}" = "${SHIM##*/}" ] && return 0
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	[ "$exe" = "$(readlink -f "$SHIM")" ]
}

# _argv_id: the value of -id in ARGV, and whether it is a daemon (no
# start/delete action word).
_argv_id() {
	local i
	for ((i = 1; i < ${#ARGV[@]} - 1; i++)); do
		case "${ARGV[$i]}" in
		-id | --id) echo "${ARGV[$((i + 1))]}" && return 0 ;;
		esac
	done
	return 1
}

_argv_is_daemon() {
	case "${ARGV[${#ARGV[@]} - 1]}" in
	start | delete) return 1 ;;
	esac
	return 0
}

# shim_pids: pids of our serving shim daemons.
shim_pids() {
	local f p
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		_argv_is_ours "$p" && _argv_is_daemon && pid_alive "$p" && echo "$p"
	done
}

# shim_procs_all: daemons plus transient `start`/`delete` invocations.
shim_procs_all() {
	local f p
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		_argv_is_ours "$p" && pid_alive "$p" && echo "$p"
	done
}

shim_pid_for() { # <container-id>
	local f p
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		if ! { _argv_is_ours "$p" && _argv_is_daemon; }; then
			continue
		fi
		[ "$(_argv_id)" = "$1" ] && pid_alive "$p" && echo "$p" && return 0
	done
	return 1
}

no_shim_for() {
	! shim_pid_for "$1" >/dev/null
}

no_shims() {
	[ -z "$(shim_procs_all)" ]
}

_status_field() { # <pid> <field>
	local k v
	while IFS=$': \t' read -r k v _; do
		[ "$k" = "$2" ] && echo "$v" && return 0
	done 2>/dev/null </proc/"$1"/status
	return 1
}

threads_of() { _status_field "$1" Threads; }
rss_kb_of() { _status_field "$1" VmRSS; }
# Resident anonymous memory (heap, pools, stack): what a leak grows.  The
# rest of VmRSS is file pages (text, libc), resident once first touched.
rss_anon_kb_of() { _status_field "$1" RssAnon; }
vmdata_kb_of() { _status_field "$1" VmData; }
ppid_of() { _status_field "$1" PPid; }

# anon_kb_of <pid>: total size of anonymous mappings (heap and unnamed
# regions; not the stack, which the kernel grows on demand).
anon_kb_of() {
	_anon_kb "$1"
	echo "$ANON_KB"
}

# _anon_kb <pid>: the same into ANON_KB, without a subshell (sampler).
_anon_kb() {
	local range inode path total=0 lo hi
	while read -r range _ _ _ inode path; do
		[ "$inode" = 0 ] || continue
		case "$path" in
		"" | "[heap]" | "[anon:"*) ;;
		*) continue ;;
		esac
		lo=${range%-*}
		hi=${range#*-}
		total=$((total + (16#$hi - 16#$lo) / 1024))
	done 2>/dev/null </proc/"$1"/maps
	ANON_KB=$total
}

# children_of <pid...>: pid and state of each direct child, "pid state".
children_of() {
	local f line rest
	local -a fld
	local -A want=()
	for f in "$@"; do want[$f]=1; done
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		rest=${line##*) }
		# shellcheck disable=SC2206 # fields after comm: numbers and a letter
		fld=($rest)
		[ -n "${want[${fld[1]}]:-}" ] && echo "${f//[^0-9]/} ${fld[0]}"
	done
}

# no_zombies: no zombie child of our shims or containerd (3 s grace, as a
# child is a zombie until its parent reaps it).
no_zombies() {
	local -a parents
	mapfile -t parents < <(shim_pids)
	parents+=("$(containerd_pid)")
	if wait_until 3 _no_zombie_children "${parents[@]}"; then
		pass
	else
		fail "zombies: $(children_of "${parents[@]}" | grep ' Z$' | tr '\n' ' ')"
	fi
}

_no_zombie_children() {
	! children_of "$@" | grep -q ' Z$'
}

# cgroup_of <pid> <controller>: the v1 cgroup directory of a process.
# On a v2 host: the one unified directory, whatever the controller.
cgroup_of() {
	local path
	if [ "$CGROUP_V2" = 1 ]; then
		path=$(sed -n 's/^0:://p' /proc/"$1"/cgroup)
		[ -n "$path" ] || return 1
		echo "$CGROUP_ROOT$path"
		return 0
	fi
	path=$(awk -F: -v c="$2" '$2 == c { print $3 }' /proc/"$1"/cgroup)
	[ -n "$path" ] || return 1
	echo "$CGROUP_ROOT/$2$path"
}

# ---------------------------------------------------------------------------
# Leftovers

mounts_under() { # <dir>: mount points at or below dir
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo
}

no_mounts_under() {
	[ -z "$(mounts_under "$1")" ]
}

# procs_of_container <id>: pids whose cgroup is the container's.
procs_of_container() {
	local f c rel
	rel=$(container_cgroup "$1")
	for f in /proc/[0-9]*/cgroup; do
		while IFS= read -r c; do
			case "$c" in
			*":$rel") echo "${f//[^0-9]/}" && break ;;
			esac
		done 2>/dev/null <"$f"
	done
}

no_procs_of_container() {
	[ -z "$(procs_of_container "$1")" ]
}

_gone() {
	[ ! -e "$1" ]
}

# no_leftovers <id> [--socket-may-stay]: nothing of the container
# remains: no shim, mount, process, cgroup, socket file, runc state or
# bundle.  A SIGKILLed shim cannot remove its socket (nor does the Go
# shim's `delete` action): pass --socket-may-stay then.
no_leftovers() {
	local id=$1 b="$BUNDLES/$1" sock=${2:-}
	assert_eventually 10 "$id: shim exited" no_shim_for "$id"
	assert_eventually 5 "$id: nothing mounted under bundle" \
		no_mounts_under "$b"
	assert_eventually 5 "$id: no process left" no_procs_of_container "$id"
	assert_eventually 5 "$id: bundle removed" _gone "$b"
	assert_eventually 5 "$id: work dir removed" \
		_gone "$D/root/io.containerd.runtime.v2.task/$NS/$id"
	assert_eventually 5 "$id: runc state removed" _gone "$RUNC_STATE/$NS/$id"
	assert_eventually 5 "$id: pids cgroup removed" \
		_gone "$(container_cgroup_dir "$id" pids)"
	[ "$sock" = --socket-may-stay ] ||
		assert_eventually 5 "$id: shim socket removed" _gone "$(sha_socket "$id")"
}

# check_invariants: fail when the sampler saw a violation.
check_invariants() {
	local f="$D/invariants.log"
	if [ -s "$f" ]; then
		fail "shim invariants violated:"$'\n'"$(head -50 "$f")"
		return 1
	fi
	pass
}

# ---------------------------------------------------------------------------
# Per-test frame (run.sh runs: source lib.sh; test_begin; source t_x.sh)

test_begin() {
	: >"$T/asserts"
	: >"$T/bgpids"
	trap test_end EXIT
	trap 'log "killed (time limit)"; exit 124' TERM
	cd "$T" || exit 1
}

# test_end: stop background helpers, then turn the record into the exit
# status: any failed assertion fails the test, and so does a test that
# asserted nothing.
test_end() {
	local rc=$? p fails oks
	while read -r p; do
		kill "$p" 2>/dev/null
	done <"$T/bgpids"
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	fails=$(grep -c '^fail' "$T/asserts")
	oks=$(grep -c '^ok' "$T/asserts")
	if [ "$fails" -gt 0 ]; then
		exit 1
	elif [ "$rc" -eq 77 ]; then
		exit 77
	elif [ "$rc" -eq 0 ] && [ "$oks" -eq 0 ]; then
		log "FAIL: the test asserted nothing"
		exit 1
	fi
	exit "$rc"
}

# ---------------------------------------------------------------------------
# containerd

containerd_pid() {
	cat "$D/containerd.pid" 2>/dev/null
}

containerd_alive() {
	pid_alive "$(containerd_pid)"
}

containerd_ready() {
	containerd_alive &&
		"$CTR_BIN" --address "$CTR_ADDR" version >/dev/null 2>&1
}

# _close_inherited_fds: close every fd above 2.  containerd (and through
# it every shim) would otherwise inherit whatever the caller of run.sh
# left open, which hides fd leaks and can hold pipes open.
_close_inherited_fds() {
	local f n
	for f in /proc/self/fd/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null
	done
	return 0
}

# containerd_start: start containerd with the suite config in its own
# session (a test's timeout must not take it down) and wait until it
# answers.
containerd_start() {
	: >"$D/containerd.pid"
	# Started from a subshell that exits at once, so it is nobody's job
	# (test_end kills a test's jobs).
	(
		cd "$D" || exit 1
		_close_inherited_fds
		# shellcheck disable=SC2016 # expanded by the inner sh
		setsid sh -c 'echo $$ >"$1"; exec "$3" --config "$2"' \
			sh "$D/containerd.pid" "$D/config.toml" "$CONTAINERD_BIN" \
			>>"$D/containerd.log" 2>&1 </dev/null &
	)
	if ! wait_until 30 containerd_ready; then
		log "containerd did not come up; log tail:"
		tail -20 "$D/containerd.log" >&2
		return 1
	fi
}

# containerd_stop: stop containerd by pid (SIGTERM) and wait for it.
containerd_stop() {
	local p
	p=$(containerd_pid)
	pid_alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	wait_gone 15 "$p" && return 0
	kill -KILL "$p" 2>/dev/null
	wait_gone 5 "$p"
}

# ---------------------------------------------------------------------------
# Suite setup

_need() {
	command -v "$1" >/dev/null 2>&1 || skip "missing $1"
}

make_rootfs() {
	local r=$1 a bb
	# The container has no libc: busybox must be the static build.
	bb=$(command -v busybox)
	[ -x /bin/busybox ] && bb=/bin/busybox
	mkdir -p "$r/bin" "$r/proc" "$r/dev" "$r/sys" "$r/tmp" "$r/etc" || return 1
	cp "$bb" "$r/bin/busybox" || return 1
	for a in "${ROOTFS_APPLETS[@]}"; do
		ln -sf busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
	echo 'root:x:0:' >"$r/etc/group"
}

# write_config: version 2 for containerd 1.x; version 3 for 2.x (which
# reads version 2 too, but migrates it and warns).  CRI is off either way
# (2.x split it into three plugins), and so is NRI (2.x turns it on by
# default, with a socket of its own under /var/run/nri).
write_config() {
	local cri='"io.containerd.grpc.v1.cri"'
	[ "${CONTAINERD_CONFIG_VERSION:-2}" = 3 ] &&
		cri="$cri, \"io.containerd.cri.v1.images\", \"io.containerd.cri.v1.runtime\""
	cat >"$D/config.toml" <<EOF
version = ${CONTAINERD_CONFIG_VERSION:-2}
root = "$D/root"
state = "$D/state"
disabled_plugins = [$cri, "io.containerd.nri.v1.nri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[debug]
  level = "debug"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
EOF
}

# _snapshot_host: what exists before the suite, so teardown removes only
# what the suite added.
_snapshot_host() {
	local d
	ls -1 "$SHIM_SOCK_DIR" 2>/dev/null >"$D/sockets.before"
	: >"$D/dirs.created"
	for d in /run/containerd "$SHIM_SOCK_DIR" "$RUNC_STATE" /run/containerd/fifo; do
		[ -e "$d" ] || echo "$d" >>"$D/dirs.created"
	done
}

# _abs_bin <name-or-path>: an absolute path (containerd runs from $D).
_abs_bin() {
	case $1 in
	*/*) readlink -f "$1" ;;
	*) command -v "$1" ;;
	esac
}

# containerd_version: CTRD_VERSION/MAJOR/MINOR from `containerd --version`
# ("containerd github.com/containerd/containerd/v2 2.1.9+unknown ...").
containerd_version() {
	local v
	v=$("$CONTAINERD_BIN" --version 2>/dev/null | awk '{ print $3 }')
	v=${v#v}
	CTRD_VERSION=${v%%[~+-]*}
	CTRD_MAJOR=${CTRD_VERSION%%.*}
	CTRD_MINOR=${CTRD_VERSION#*.}
	CTRD_MINOR=${CTRD_MINOR%%.*}
	case $CTRD_MAJOR$CTRD_MINOR in
	'' | *[!0-9]*) return 1 ;;
	esac
	: "${CONTAINERD_CONFIG_VERSION:=$([ "$CTRD_MAJOR" -ge 2 ] && echo 3 || echo 2)}"
	export CTRD_VERSION CTRD_MAJOR CTRD_MINOR CONTAINERD_CONFIG_VERSION
}

# ctrd_at_least <major> <minor>: the suite's containerd is that or newer.
ctrd_at_least() {
	[ "${CTRD_MAJOR:-1}" -gt "$1" ] ||
		{ [ "${CTRD_MAJOR:-1}" -eq "$1" ] && [ "${CTRD_MINOR:-6}" -ge "$2" ]; }
}

suite_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	_need "$CONTAINERD_BIN"
	_need "$CTR_BIN"
	CONTAINERD_BIN=$(_abs_bin "$CONTAINERD_BIN")
	CTR_BIN=$(_abs_bin "$CTR_BIN")
	_set_ctr_array
	containerd_version || {
		log "cannot tell the version of $CONTAINERD_BIN"
		exit 2
	}
	_need runc
	_need busybox
	_need python3
	_need setsid
	_need timeout
	case "$SHIM" in
	/*) ;;
	*) log "SHIM must be an absolute path: $SHIM" && exit 2 ;;
	esac
	[ -x "$SHIM" ] || { log "SHIM not executable: $SHIM" && exit 2; }
	D=$(mktemp -d /tmp/nanoshim-it.XXXXXX) || exit 2
	NS=nstest$$
	CTR_ADDR=$D/containerd.sock
	ROOTFS=$D/rootfs
	BUNDLES=$D/state/io.containerd.runtime.v2.task/$NS
	RUNTIME=$SHIM
	export D NS CTR_ADDR ROOTFS BUNDLES RUNTIME
	_set_ctr_array
	_snapshot_host
	mkdir -p "$D/fifo" "$D/t" || exit 2
	# The runtime name io.containerd.runc.v2 resolves to this file in
	# containerd's cwd first (spec 10): with it, `ctr run --runtime
	# io.containerd.runc.v2 --runc-binary X` reaches the shim under test
	# with binary_name=X (the fault tests' runc wrappers), and the
	# runtime_flags of the VM cells reach it too.
	ln -s "$SHIM" "$D/containerd-shim-runc-v2" || exit 2
	make_rootfs "$ROOTFS" || exit 2
	write_config
	containerd_start || exit 2
	if _sampler_wanted; then
		sampler_start
	fi
}

# ---------------------------------------------------------------------------
# Invariant sampler (nanoshim: one thread, no heap growth, no zombie
# children).  INVARIANTS=1 forces it on, INVARIANTS=0 off.

_sampler_wanted() {
	case "${INVARIANTS:-}" in
	1) return 0 ;;
	0) return 1 ;;
	esac
	is_nanoshim
}

sampler_start() {
	: >"$D/invariants.log"
	: >"$D/sampler.pid"
	(
		trap 'exit 0' TERM
		sampler_loop
	) &
	echo $! >"$D/sampler.pid"
}

sampler_stop() {
	local p
	p=$(cat "$D/sampler.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null
	wait_gone 5 "$p" || { kill -KILL "$p" 2>/dev/null && wait_gone 5 "$p"; }
	rm -f "$D/sampler.pid"
}

# Baselines are taken once a shim is this old, so startup allocations
# are not counted as growth.
SAMPLER_SETTLE_MS=${INVARIANTS_SETTLE_MS:-500}
SAMPLER_ZOMBIE_MS=2000

sampler_loop() {
	local hz samples=0 parent=$$
	local -A shim=() sid=() base_data=() base_anon=() zsince=() said=()
	hz=$(getconf CLK_TCK)
	# It also ends by itself once the suite has stopped it (or is gone):
	# a sampler left running would hold whatever fds run.sh inherited.
	while [ -e "$D/sampler.pid" ]; do
		# A runner killed by SIGKILL cannot stop its sampler: it ends
		# itself, or it would hold the runner's inherited fds (a flock
		# around the run) for ever.
		pid_alive "$parent" || exit 0
		_sample_once
		# What was covered, for the report: samples taken, shims seen.
		echo "$samples ${#base_data[@]}" >"$D/sampler.stats"
		sleep 0.1
	done
}

# _sample_once: one pass over /proc (uses sampler_loop's locals).
_sample_once() {
	local f p line rest key now age
	local -a fld shims=() zombies=()
	local -A isparent=()
	now=$(now_ms)
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		p=${f//[^0-9]/}
		rest=${line##*) }
		# shellcheck disable=SC2206 # fields after comm: numbers and a letter
		fld=($rest)
		[ "${fld[0]}" = Z ] && zombies+=("$p:${fld[1]}")
		key="$p:${fld[19]}"
		if [ -z "${shim[$key]:-}" ]; then
			shim[$key]=n
			if _argv_is_ours "$p" && _argv_is_daemon; then
				shim[$key]=y
				sid[$key]=$(_argv_id)
			fi
		fi
		if [ "${shim[$key]}" != y ] || [ "${fld[0]}" = Z ]; then
			continue
		fi
		isparent[$p]=1
		age=$((now - fld[19] * 1000 / hz))
		[ "$age" -ge "$SAMPLER_SETTLE_MS" ] && shims+=("$key")
	done
	for key in "${shims[@]}"; do
		_sample_shim "$key"
	done
	samples=$((samples + ${#shims[@]}))
	_sample_zombies
}

_violation() { # <key> <kind> <text>
	[ -n "${said[$1/$2]:-}" ] && return
	said[$1/$2]=1
	echo "$(date +%T) pid ${1%%:*} (${sid[$1]:-?}): $3" >>"$D/invariants.log"
}

# _read_status <pid>: Threads and VmData into ST_THREADS, ST_VMDATA (empty
# once the process is exiting and its memory is gone).
_read_status() {
	local k v
	ST_THREADS=""
	ST_VMDATA=""
	while IFS=$': \t' read -r k v _; do
		case $k in
		Threads) ST_THREADS=$v ;;
		VmData) ST_VMDATA=$v ;;
		esac
	done 2>/dev/null </proc/"$1"/status
}

# _sample_shim <pid:starttime>: memory is read between two reads of
# status, and the sample is dropped unless both reads are complete and
# agree: an exiting process shows a cut-off status and empty maps for a
# moment.
_sample_shim() {
	local key=$1 p=${1%%:*} th data anon
	_read_status "$p"
	th=$ST_THREADS
	data=$ST_VMDATA
	_anon_kb "$p"
	anon=$ANON_KB
	_read_status "$p"
	[ -n "$th" ] && [ -n "$ST_THREADS" ] && [ -n "$data" ] || return
	[ "$data" = "$ST_VMDATA" ] && [ "$anon" -gt 0 ] || return
	# The shim's child between fork and exec (runc, a logger) has the
	# shim's argv, so it was taken for a shim; once it has exec'd, its
	# pid and start time are the same but it is runc (Go: threads).
	# Still ours after the reads means the reads were of the shim.
	if ! _argv_is_ours "$p" || ! _argv_is_daemon; then
		shim[$key]=n
		return
	fi
	[ "$th" = 1 ] || _violation "$key" threads "Threads=$th (must be 1)"
	: "${base_data[$key]:=$data}" "${base_anon[$key]:=$anon}"
	[ "$data" = "${base_data[$key]}" ] ||
		_violation "$key" vmdata "VmData ${base_data[$key]} kB -> $data kB"
	[ "$anon" = "${base_anon[$key]}" ] ||
		_violation "$key" anon "anon mappings ${base_anon[$key]} kB -> $anon kB"
}

# _sample_zombies: a child of a shim that stays a zombie is a reaper bug.
_sample_zombies() {
	local z c k
	local -A seen=()
	for z in "${zombies[@]}"; do
		[ -n "${isparent[${z#*:}]:-}" ] || continue
		c=${z%%:*}
		seen[$c]=1
		: "${zsince[$c]:=$now}"
		[ $((now - zsince[$c])) -ge "$SAMPLER_ZOMBIE_MS" ] &&
			_violation "$c:0" zombie "zombie child $c of shim ${z#*:} for ${SAMPLER_ZOMBIE_MS} ms"
	done
	# A pid not a zombie in this sample starts afresh: pids are reused, and
	# a long exec run would otherwise join two short zombies into one.
	for k in "${!zsince[@]}"; do
		[ -n "${seen[$k]:-}" ] || unset "zsince[$k]"
	done
}

# ---------------------------------------------------------------------------
# Cleanup

# ns_force_clean: remove every task and container of our namespace.
ns_force_clean() {
	local id
	for id in $(ctr_bounded task ls -q 2>/dev/null); do
		[ "$(task_status "$id")" = PAUSED ] &&
			ctr_bounded task resume "$id" >/dev/null 2>&1
		ctr_bounded task kill --all --signal SIGKILL "$id" >/dev/null 2>&1
		ctr_bounded task rm -f "$id" >/dev/null 2>&1
	done
	for id in $(ctr_bounded container ls -q 2>/dev/null); do
		ctr_bounded container rm "$id" >/dev/null 2>&1
	done
}

# kill_our_shims: SIGTERM (the shutdown path), then SIGKILL stragglers.
kill_our_shims() {
	local -a pids
	mapfile -t pids < <(shim_procs_all)
	[ "${#pids[@]}" -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null
	wait_gone 5 "${pids[@]}" && return 0
	kill -KILL "${pids[@]}" 2>/dev/null
	wait_gone 5 "${pids[@]}"
}

# kill_container_procs: whatever still runs in our namespace's cgroups,
# then runc's records of it.
kill_container_procs() {
	local f p c
	for f in "$CGROUP_ROOT"/pids/"$NS"/*/cgroup.procs \
		"$CGROUP_ROOT/$NS"/*/cgroup.procs \
		"$CGROUP_ROOT"/system.slice/"$NS"-*.scope/cgroup.procs; do
		[ -e "$f" ] || continue
		c=${f%/cgroup.procs}
		[ -e "$CGROUP_ROOT/freezer/$NS/${c##*/}/freezer.state" ] &&
			echo THAWED >"$CGROUP_ROOT/freezer/$NS/${c##*/}/freezer.state"
		[ -e "$c/cgroup.freeze" ] && echo 0 >"$c/cgroup.freeze"
		while read -r p; do
			kill -KILL "$p" 2>/dev/null
		done <"$f"
	done
	for c in "$RUNC_STATE/$NS"/*; do
		[ -d "$c" ] || continue
		timeout 30 runc --root "$RUNC_STATE/$NS" delete --force "${c##*/}" \
			>/dev/null 2>&1
	done
}

# unmount_under <dir>: deepest first.
unmount_under() {
	local m
	for m in $(mounts_under "$1" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
}

# remove_new_sockets: socket files that appeared during the suite and
# nobody listens on any more (ours: the shims are gone by now).
remove_new_sockets() {
	local f listening
	[ -d "$SHIM_SOCK_DIR" ] || return 0
	listening=$(awk '$4 == "00010000" && $8 != "" { print $8 }' /proc/net/unix)
	for f in "$SHIM_SOCK_DIR"/*; do
		[ -e "$f" ] || continue
		grep -qxF "${f##*/}" "$D/sockets.before" && continue
		printf '%s\n' "$listening" | grep -qxF "$f" && continue
		rm -f "$f"
	done
}

remove_cgroups() {
	local d
	for d in "$CGROUP_ROOT"/*/"$NS" "$CGROUP_ROOT/$NS"; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
}

remove_created_dirs() {
	local d
	rm -rf "${RUNC_STATE:?}/${NS:?}"
	[ -e "$D/dirs.created" ] || return 0
	sort -r "$D/dirs.created" | while read -r d; do
		rmdir "$d" 2>/dev/null
	done
}

# suite_teardown: idempotent, also from a trap, tolerant of anything
# having died already.  KEEP_D=1 keeps $D for inspection.
suite_teardown() {
	[ -n "${D:-}" ] && [ -d "$D" ] || return 0
	[ -e "$D/.teardown" ] && return 0
	: >"$D/.teardown"
	sampler_stop
	containerd_alive && ns_force_clean
	kill_our_shims
	kill_container_procs
	containerd_stop
	unmount_under "$D"
	remove_new_sockets
	remove_cgroups
	remove_created_dirs
	if [ -n "$(mounts_under "$D")" ]; then
		log "teardown: still mounted under $D, not removing it"
		return 1
	fi
	if [ "${KEEP_D:-0}" = 1 ]; then
		log "teardown: kept $D"
	else
		rm -rf --one-file-system "$D"
	fi
}
