# shellcheck shell=bash
# ttrpc framing against live shims (spec 2.1-2.3), with raw frames from
# wire_frames.py.  A daemon started as containerd would (private address
# and namespace, fake events server): a request written one byte at a
# time gets one reply; two requests in one write get two; a frame of
# 4 MiB + 1 is answered on its stream with code 8 "message length 4194305
# exceed maximum message size of 4194304" and the connection goes on; a
# frame of exactly 4 MiB is served; a garbage Request envelope and an even
# stream id get code 3 and the connection goes on; a data frame is
# ignored; connections closed in the middle of a frame (small, or large
# with another large frame waiting behind it) disturb nobody; 50
# connections at once are all answered.  Then a real container's shim
# serves an Exec whose frame is exactly 4 MiB (a padded process spec).
# nanoshim only: RSS returns to its baseline after each 4 MiB frame (the
# shared buffer's pages are given back) and VmData does not move.

PY=/usr/bin/python3
WU=$LIB_DIR/wire_util.py
WF=$LIB_DIR/wire_frames.py
WNS=wf$$
WADDR=$T/containerd.sock
EV=$T/events.sock
: >"$T/sockets"


# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"
trap 'wire_cleanup; test_end' EXIT


: >"$T/events.out"
"$PY" "$WU" events "$EV" >"$T/events.out" 2>&1 &
echo $! >>"$T/bgpids"
assert_eventually 10 "fake events server up" grep -qx ready "$T/events.out" || exit 1

b=$T/b1
mkdir "$b" && echo '{}' >"$b/config.json" && mkfifo "$b/log" || exit 1
cat 0<>"$b/log" >"$T/b1.shimlog" 2>/dev/null &
echo $! >>"$T/bgpids"
h=$(printf '%s' "$WADDR/$WNS/b1" | sha256sum)
echo "/run/containerd/s/${h%% *}" >>"$T/sockets"
# 50 connections at once: above nanoshim's default limit of 32.
addr=$(cd "$b" && TTRPC_ADDRESS=$EV NANOSHIM_CONNS=64 "$SHIM" -namespace "$WNS" \
	-address "$WADDR" -publish-binary /usr/bin/containerd -id b1 start </dev/null)
assert_eq 0 $? "start" || exit 1
read -r daemon _ < <("$PY" "$WU" connect "$addr" b1)
assert_ne "" "$daemon" "daemon pid from Connect" || exit 1

nano=
is_nanoshim && nano=--nanoshim
run_checks "$PY" "$WF" battery "$addr" "$daemon" $nano
assert_ok "daemon alive after the battery" pid_alive "$daemon"
# 3000 requests in one write; a client stalled inside a large frame.
run_checks "$PY" "$WF" pipeline "$addr" "$daemon"
run_checks "$PY" "$WF" stall "$addr" "$daemon"
assert_ok "daemon alive after pipelining and a stall" pid_alive "$daemon"
is_nanoshim && assert_eq 1 "$(threads_of "$daemon")" "daemon threads"
"$PY" "$LIB_DIR/../../tools/ttrpc.py" --addr "$addr" call Shutdown '{}' >/dev/null 2>&1
assert_ok "daemon exits after Shutdown" wait_gone 10 "$daemon"
assert_eventually 5 "daemon's socket removed" _gone "${addr#unix://}"

# --- a real container: an Exec of exactly 4 MiB ---------------------------
id=wf1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
spid=$(shim_pid_for "$id")
assert_ne "" "$spid" "container shim pid" || exit 1
run_checks "$PY" "$WF" bigexec "unix://$(sha_socket "$id")" "$NS" "$id" "$spid" $nano
left=$(find "$BUNDLES/$id" -maxdepth 1 \( -name '.nanoshim-exec-*' -o \
	-name 'big4m.pid' -o -name 'warm.pid' \))
assert_eq "" "$left" "no exec pid or spec file left in the bundle"
assert_eq RUNNING "$(task_status "$id")" "task still RUNNING"
kill_and_delete "$id"
no_leftovers "$id"
