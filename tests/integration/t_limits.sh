# shellcheck shell=bash
# nanoshim's pools (README "Limits"): a full pool is answered with
# RESOURCE_EXHAUSTED naming its limit and the shim keeps serving.  Daemons
# are started as containerd would (private address and namespace, a fake
# events server), with small limits in start's environment, which the
# daemon inherits:
#   NANOSHIM_CONNS=2: the third connection's requests get code 8 naming
#     NANOSHIM_CONNS, the first two go on, and once one closes a new
#     connection is served;
#   NANOSHIM_CONTAINERS=1 NANOSHIM_PARKED=3, driving Create straight over
#     ttrpc with runc bundles on the suite's busybox rootfs: a second
#     Create gets code 8 naming NANOSHIM_CONTAINERS; 3 parked Waits fill
#     the parked pool and a 4th Wait gets code 8 naming NANOSHIM_PARKED
#     while State and Connect are still served; closing the waiters'
#     connection frees their slots; the first container is then killed,
#     waited for and deleted (137), after which the second can be created;
#   NANOSHIM_CONNS=abc: start or the daemon fails with a message naming
#     the variable instead of serving, and leaves no socket behind;
#   NANOSHIM_CONNS=99999: clamped to the maximum, 1024.

is_nanoshim || skip "limits are nanoshim's (NANOSHIM_* pools)"

PY=/usr/bin/python3
WU=$LIB_DIR/wire_util.py
WL=$LIB_DIR/wire_limits.py
TT=$LIB_DIR/../../tools/ttrpc.py
WNS=lim$$
WADDR=$T/containerd.sock
EV=$T/events.sock
: >"$T/sockets"


no_daemons() {
	[ -z "$(our_daemons)" ]
}


# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"

cleanup() {
	local rc=$? c
	for c in c1 c2; do
		[ -e "$RUNC_STATE/$WNS/$c" ] &&
			timeout 30 runc --root "$RUNC_STATE/$WNS" delete --force "$c" \
				>/dev/null 2>&1
	done
	wire_cleanup
	for c in "$CGROUP_ROOT"/*/"$NS/lim$$-c"[12]; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
	return "$rc"
}
trap 'cleanup; test_end' EXIT


# daemon_bundle <dir>: the shim's own bundle: `{}` config, drained log.
daemon_bundle() {
	mkdir "$1" && echo '{}' >"$1/config.json" && mkfifo "$1/log" || return 1
	cat 0<>"$1/log" >"$1.shimlog" 2>/dev/null &
	echo $! >>"$T/bgpids"
	local h
	h=$(printf '%s' "$WADDR/$WNS/${1##*/}" | sha256sum)
	echo "/run/containerd/s/${h%% *}" >>"$T/sockets"
}

shim_start() { # <bundle> [VAR=value...]: start's combined output in <bundle>.out
	local b=$1
	shift
	(cd "$b" && env TTRPC_ADDRESS="$EV" "$@" "$SHIM" -namespace "$WNS" \
		-address "$WADDR" -publish-binary /usr/bin/containerd \
		-id "${b##*/}" start) </dev/null >"$b.out" 2>&1
}

# runc_bundle <dir>: `runc spec`, on the shared busybox rootfs, no tty.
runc_bundle() {
	mkdir "$1" && (cd "$1" && runc spec) || return 1
	"$PY" - "$1/config.json" "$ROOTFS" "/$NS/lim$$-${1##*/}" <<'EOF'
import json, sys
path, rootfs, cgroup = sys.argv[1:]
with open(path) as f:
    spec = json.load(f)
spec["root"] = {"path": rootfs, "readonly": True}
spec["process"]["terminal"] = False
spec["process"]["args"] = ["sleep", "1000"]
spec["linux"]["cgroupsPath"] = cgroup
with open(path, "w") as f:
    json.dump(spec, f)
EOF
}

: >"$T/events.out"
"$PY" "$WU" events "$EV" >"$T/events.out" 2>&1 &
echo $! >>"$T/bgpids"
assert_eventually 10 "fake events server up" grep -qx ready "$T/events.out" || exit 1

# --- connections ----------------------------------------------------------
daemon_bundle "$T/conns" || exit 1
shim_start "$T/conns" NANOSHIM_CONNS=2
assert_eq 0 $? "start with NANOSHIM_CONNS=2 ($(cat "$T/conns.out"))" || exit 1
addr=$(cat "$T/conns.out")
read -r daemon _ < <("$PY" "$WU" connect "$addr" x)
assert_ne "" "$daemon" "conns daemon pid" || exit 1
assert_contains "$(cat "$T/conns.shimlog")" "conns=2" "the daemon logs its limit"
run_checks "$PY" "$WL" conns "$addr" "$daemon" 2
assert_ok "conns daemon alive" pid_alive "$daemon"
"$PY" "$TT" --addr "$addr" call Shutdown '{}' >/dev/null 2>&1
assert_ok "conns daemon exits after Shutdown" wait_gone 10 "$daemon"

# --- containers and parked requests ---------------------------------------
daemon_bundle "$T/pools" || exit 1
runc_bundle "$T/c1" || exit 1
runc_bundle "$T/c2" || exit 1
shim_start "$T/pools" NANOSHIM_CONTAINERS=1 NANOSHIM_PARKED=3
assert_eq 0 $? "start with NANOSHIM_CONTAINERS=1 NANOSHIM_PARKED=3 ($(cat "$T/pools.out"))" ||
	exit 1
addr=$(cat "$T/pools.out")
read -r daemon _ < <("$PY" "$WU" connect "$addr" x)
assert_ne "" "$daemon" "pools daemon pid" || exit 1
run_checks "$PY" "$WL" pools "$addr" "$WNS" "$T/c1" "$T/c2" 3
assert_ok "pools daemon alive" pid_alive "$daemon"
assert_eq 1 "$(threads_of "$daemon")" "pools daemon threads"
assert_eventually 5 "pools daemon has no zombie child" no_zombie_child "$daemon"
"$PY" "$TT" --addr "$addr" call Shutdown '{}' >/dev/null 2>&1
assert_ok "pools daemon exits after Shutdown" wait_gone 10 "$daemon"
assert_eventually 5 "runc state of c1 gone" _gone "$RUNC_STATE/$WNS/c1"
assert_eventually 5 "runc state of c2 gone" _gone "$RUNC_STATE/$WNS/c2"

# --- a bad value ----------------------------------------------------------
daemon_bundle "$T/bad" || exit 1
sock=$(tail -1 "$T/sockets")
shim_start "$T/bad" NANOSHIM_CONNS=abc
rc=$?
assert_eventually 5 "no daemon serves with NANOSHIM_CONNS=abc" no_daemons
# Either start refuses (its output is containerd's error message) or the
# daemon dies saying why in the log FIFO, which containerd copies.
why="$(cat "$T/bad.out") $(cat "$T/bad.shimlog")"
log "NANOSHIM_CONNS=abc: start exit $rc, output: $(cat "$T/bad.out")"
assert_contains "$why" "NANOSHIM_CONNS" "a message names the bad variable"
assert_contains "$why" "abc" "a message shows the bad value"
[ "$rc" != 0 ] || log "start exited 0 with NANOSHIM_CONNS=abc: containerd would dial a dead socket"
assert_eventually 5 "no socket left for the failed shim" _gone "$sock"

# --- a value above the maximum --------------------------------------------
daemon_bundle "$T/huge" || exit 1
shim_start "$T/huge" NANOSHIM_CONNS=99999
assert_eq 0 $? "start with NANOSHIM_CONNS=99999 ($(cat "$T/huge.out"))" || exit 1
addr=$(cat "$T/huge.out")
read -r daemon _ < <("$PY" "$WU" connect "$addr" x)
assert_ne "" "$daemon" "huge daemon pid" || exit 1
assert_eventually 5 "NANOSHIM_CONNS=99999 is clamped to 1024" \
	grep -q 'limits: conns=1024 ' "$T/huge.shimlog"
"$PY" "$TT" --addr "$addr" call Shutdown '{}' >/dev/null 2>&1
assert_ok "huge daemon exits after Shutdown" wait_gone 10 "$daemon"
