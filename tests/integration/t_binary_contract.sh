# shellcheck shell=bash
# The binary contract (spec 1.1-1.4), with no containerd behind the shim:
# a private -address, a private namespace and a fake events server for
# TTRPC_ADDRESS.  `start` in a bundle prints
# unix:///run/containerd/s/sha256("<address>/<ns>/<id>"), writes the same
# to `address` and exits 0, leaving a daemon that Connect names (shim_pid,
# task_pid 0) and that answers State on an unknown id with 5 and an
# unknown method or service with 12 "method X" / "service X".  A second
# `start` for another id in the same group (io.containerd.runc.v2.group)
# prints the same address and spawns nothing.  -v prints a version, a bad
# flag fails with a message.  Shutdown ends the daemon and removes its
# socket file; `delete` then prints a DeleteResponse with exit_status 137
# and a fresh exited_at.  nanoshim only: one thread, every fd above 2
# close-on-exec, and `start` without config.json groups by the id (the Go
# shim fails there).

PY=/usr/bin/python3
WU=$LIB_DIR/wire_util.py
TT=$LIB_DIR/../../tools/ttrpc.py
WNS=bc$$
WADDR=$T/containerd.sock
EV=$T/events.sock
: >"$T/sockets"


# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"
trap 'wire_cleanup; test_end' EXIT

# bundle <dir> [config.json text]: a bundle dir with a drained log FIFO;
# no config.json when the text is "-".
bundle() {
	local cfg=${2:-'{}'}
	mkdir -p "$1" || return 1
	[ "$cfg" = - ] || printf '%s\n' "$cfg" >"$1/config.json"
	mkfifo "$1/log" || return 1
	# O_RDWR: cat never sees EOF, so it outlives every writer.
	cat 0<>"$1/log" >"$1.shimlog" 2>/dev/null &
	echo $! >>"$T/bgpids"
}

shim_start() { # <bundle> <id>: start's combined output in <bundle>.out
	(cd "$1" && TTRPC_ADDRESS=$EV "$SHIM" -namespace "$WNS" -address "$WADDR" \
		-publish-binary /usr/bin/containerd -id "$2" start) \
		</dev/null >"$1.out" 2>&1
}

# listener_pid <socket path>: the process holding its listening socket.
listener_pid() {
	local ino f
	ino=$(awk -v p="$1" '$4 == "00010000" && $8 == p { print $7; exit }' \
		/proc/net/unix)
	[ -n "$ino" ] || return 1
	f=$(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$ino\]" 2>/dev/null |
		head -1)
	[ -n "$f" ] || return 1
	f=${f#/proc/}
	echo "${f%%/*}"
}

expected_addr() { # <group key>
	local h
	h=$(printf '%s' "$WADDR/$WNS/$1" | sha256sum)
	echo "unix:///run/containerd/s/${h%% *}"
}

: >"$T/events.out"
"$PY" "$WU" events "$EV" >"$T/events.out" 2>&1 &
echo $! >>"$T/bgpids"
assert_eventually 10 "fake events server up" grep -qx ready "$T/events.out" || exit 1

# --- start ---------------------------------------------------------------
bundle "$T/b1"
want=$(expected_addr b1)
sock=${want#unix://}
echo "$sock" >>"$T/sockets"
t0=$(date +%s)
shim_start "$T/b1" b1
assert_eq 0 $? "start exit status"
addr=$(cat "$T/b1.out")
assert_eq "$want" "$addr" "start output (sha256 of <address>/<ns>/<id>)" || exit 1
assert_ok "address is unix:///run/containerd/s/<64 hex>" \
	grep -Eqx 'unix:///run/containerd/s/[0-9a-f]{64}' "$T/b1.out"
assert_eq "$want" "$(cat "$T/b1/address")" "address file"
assert_ok "address file has no newline" cmp -s "$T/b1.out" "$T/b1/address"
assert_ok "socket file exists" test -S "$sock"
assert_eq 600 "$(stat -c %a "$sock")" "socket file mode"

daemon=$(listener_pid "$sock")
assert_ne "" "$daemon" "a process listens on the socket" || exit 1
assert_eq "$daemon" "$(our_daemons)" "exactly one daemon, the listener"
assert_eq "$daemon 0" "$("$PY" "$WU" connect "$addr" b1)" \
	"Connect: shim_pid = the daemon, task_pid 0"

out=$("$PY" "$TT" --addr "$addr" call State '{"id":"nope"}')
assert_eq 3 $? "ttrpc.py exit status for an error status"
assert_contains "$out" "code=5 " "State on an unknown id"
assert_eq "code=12 message=method Nope" \
	"$("$PY" "$WU" raw "$addr" containerd.task.v2.Task Nope)" "unknown method"
assert_eq "code=12 message=service x.nope.Svc" \
	"$("$PY" "$WU" raw "$addr" x.nope.Svc State)" "unknown service"

# --- a second container of the same group ---------------------------------
bundle "$T/b2" '{"annotations":{"io.containerd.runc.v2.group":"b1"}}'
shim_start "$T/b2" b2
assert_eq 0 $? "second start exit status"
assert_eq "$want" "$(cat "$T/b2.out")" "second start prints the group's address"
assert_eq "$want" "$(cat "$T/b2/address")" "second address file"
assert_eq "$daemon" "$(our_daemons)" "no new daemon for the group"
assert_eq "$daemon 0" "$("$PY" "$WU" connect "$addr" b2)" "Connect for b2"

# --- flags ----------------------------------------------------------------
mkdir "$T/empty"
out=$(cd "$T/empty" && "$SHIM" -v 2>&1 </dev/null)
assert_eq 0 $? "-v exit status"
assert_contains "$out" "Version:" "-v output"
out=$(cd "$T/empty" && "$SHIM" -namespace "$WNS" -no-such-flag start 2>&1 </dev/null)
assert_ne 0 $? "bad flag exit status"
assert_contains "$out" "flag provided but not defined: -no-such-flag" "bad flag message"
assert_eq "" "$(ls "$T/empty")" "a bad flag writes nothing"

# --- start without config.json --------------------------------------------
bundle "$T/b3" -
want3=$(expected_addr b3)
echo "${want3#unix://}" >>"$T/sockets"
shim_start "$T/b3" b3
rc=$?
if is_nanoshim; then
	assert_eq 0 "$rc" "start without config.json"
	assert_eq "$want3" "$(cat "$T/b3.out")" "without config.json the group key is the id"
	d3=$(listener_pid "${want3#unix://}")
	assert_ne "" "$d3" "daemon for b3"
	assert_eq 2 "$(our_daemons | wc -l)" "b3 got its own daemon"
	"$PY" "$TT" --addr "$want3" call Shutdown '{"id":"b3"}' >/dev/null 2>&1
	assert_ok "b3 daemon exits after Shutdown" wait_gone 10 "$d3"
else
	# Go: readSpec fails ("open config.json: no such file or directory").
	assert_ne 0 "$rc" "Go shim: start without config.json fails"
	assert_contains "$(cat "$T/b3.out")" "config.json" "Go shim: the error names config.json"
fi

# --- the daemon's process (nanoshim) --------------------------------------
if is_nanoshim; then
	assert_eq 1 "$(threads_of "$daemon")" "daemon threads"
	for f in /proc/"$daemon"/fdinfo/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] || continue
		flags=$(awk '$1 == "flags:" { print $2 }' "$f")
		assert_ne 0 $((8#$flags & 02000000)) \
			"O_CLOEXEC on fd $n ($(readlink "/proc/$daemon/fd/$n"))"
	done
fi

# --- Shutdown -------------------------------------------------------------
"$PY" "$TT" --addr "$addr" call Shutdown '{"id":"b1"}' >"$T/shutdown.out" 2>&1
rc=$?
# A reply or a closed connection both mean success (spec 1.3).
[ "$rc" = 0 ] || [ "$rc" = 4 ]
assert_eq 0 $? "Shutdown answered or connection closed (ttrpc.py exit $rc: $(cat "$T/shutdown.out"))"
assert_ok "daemon exits after Shutdown" wait_gone 10 "$daemon"
assert_eventually 5 "socket file removed" _gone "$sock"
assert_eq "" "$(our_daemons)" "no daemon left"

# --- delete ---------------------------------------------------------------
# containerd's Create wrote `runtime`; the Go shim 1.6 requires it.
printf runc >"$T/b1/runtime"
(cd "$T/b1" && "$SHIM" -namespace "$WNS" -address "$WADDR" \
	-publish-binary /usr/bin/containerd -id b1 -bundle "$T/b1" delete) \
	</dev/null >"$T/delete.out" 2>"$T/delete.err"
assert_eq 0 $? "delete exit status ($(cat "$T/delete.err"))"
dec=$("$PY" "$WU" decode-delete "$T/delete.out")
assert_eq 0 $? "DeleteResponse decodes: $dec"
assert_contains "$dec" " exit_status=137 " "delete exit_status"
at=${dec##*exited_at=}
now=$(date +%s)
assert_ok "exited_at $at is recent ($t0..$now)" \
	test "$at" -ge $((t0 - 2)) -a "$at" -le $((now + 2))

# --- shutting down beside a successor --------------------------------------
# `ctr run --rm X` twice in a row: the second shim's `start` finds X's path
# unserved while the first shuts down, removes it and binds its own socket
# there.  The first must not take that socket away on its way out (the
# second would run on with no way in).  Here the successor is a plain
# listening socket put at the path; the daemon is stopped with SIGTERM.
# daemon_up <id>: start a shim for <id> in its own bundle; DPATH is its
# socket file, DPID the daemon.
daemon_up() {
	bundle "$T/$1" || return 1
	shim_start "$T/$1" "$1"
	assert_eq 0 $? "start $1" || return 1
	DPATH=$(sed -n 's,^unix://,,p' "$T/$1.out")
	echo "$DPATH" >>"$T/sockets"
	DPID=$(listener_pid "$DPATH")
	assert_ne "" "$DPID" "$1's daemon"
}
if is_nanoshim; then
	daemon_up b5 || exit 1
	p5=$DPATH pid5=$DPID
	rm -f "$p5"
	# shellcheck disable=SC2016 # Python, not shell
	"$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
time.sleep(600)' "$p5" >"$T/succ.out" 2>&1 &
	echo $! >>"$T/bgpids"
	assert_eventually 10 "successor listening at b5's path" \
		grep -qx ready "$T/succ.out" || exit 1
	ino=$(stat -c %i "$p5")
	kill -TERM "$pid5"
	assert_ok "b5's daemon exits on SIGTERM" wait_gone 10 "$pid5"
	assert_eq "$ino" "$(stat -c %i "$p5" 2>/dev/null)" \
		"the successor's socket file is left in place"
	# And the common case still cleans up: b6 stopped with its own socket.
	daemon_up b6 || exit 1
	kill -TERM "$DPID"
	assert_ok "b6's daemon exits on SIGTERM" wait_gone 10 "$DPID"
	assert_eventually 5 "b6's own socket file removed" _gone "$DPATH"
fi
