# shellcheck shell=bash
# Fault: containerd is SIGSTOPped (STOP_SECS: 8 in make test, 30 in make
# test-matrix) while events pile up past the shim's event queue, then
# continued.
#
# containerd is restarted with NANOSHIM_EVENTS=16 in its environment (it
# passes it on to shims) and FAULT_EVENTS=40 execs wait in one container
# for a file.  With containerd stopped, the file appears and the 40 execs
# exit: 40 TaskExit, more than the queue holds.
#
# The drop rule (README "Robustness"): nanoshim keeps the oldest
# NANOSHIM_EVENTS events (and NANOSHIM_EVENT_BYTES bytes) and drops what
# comes when the queue is full: each drop is logged with the running
# count, and SIGUSR1's state line reports dropped_events.  A Forward that
# times out (containerd stopped, not gone) stays pending on the same
# connection, so containerd handles it once when it continues: no event
# arrives twice.  So: 16 arrive, each once, 24 dropped and counted.
#
# The Go shim queues 128 events and blocks its exit handling when full;
# its Forward times out after 5 s, and the retries go out on the same
# connection while the first ones are still in containerd's queue, so
# events arrive more than once; after 5 failed tries an event is dropped.
# The test counts what it delivers and requires only that nothing is
# lost within its retries (STOP_SECS under 25 s).
# TIMEOUT: 240

. "$LIB_DIR/fault_lib.sh"

k=${FAULT_EVENTS:-40}
cap=16
stop_secs=${STOP_SECS:-8}
id=fs1
go=$ROOTFS/tmp/fs1-go
rm -f "$go"

# Shims started from here on get a 16-event queue.
restore_containerd() {
	containerd_stop
	unset NANOSHIM_EVENTS
	containerd_start
}
assert_ok "containerd stopped" containerd_stop || exit 1
export NANOSHIM_EVENTS=$cap
assert_ok "containerd with NANOSHIM_EVENTS=$cap" containerd_start || exit 1
unset NANOSHIM_EVENTS
# shellcheck disable=SC2154 # _rc is set by the trap itself
# On any way out: containerd continued, and back to the suite's
# environment (no 16-event queue for the tests after this one).
trap '_rc=$?; kill -CONT "$(containerd_pid)" 2>/dev/null; rm -f "$go";
	[ "$_rc" = 0 ] || restore_containerd >/dev/null 2>&1; (exit $_rc);
	test_end' EXIT

assert_ok "run -d $id" ctr_run -d "$id" sleep 1000 || exit 1
assert_eventually 10 "$id RUNNING" status_is "$id" RUNNING || exit 1
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
for i in $(seq 1 "$k"); do
	ctr_exec -d --exec-id "s$i" "$id" sh -c \
		'while [ ! -e /tmp/fs1-go ]; do usleep 10000; done' ||
		{ fail "exec s$i" && break; }
done

exits() { # <from-line>
	tail -n +"$1" "$D/containerd.log" | grep 'msg="event forwarded"' |
		grep "ns=$NS " | grep -c 'topic=/tasks/exit '
}
# Let the exec-started events go out first.
sleep 1
mark=$(($(wc -l <"$D/containerd.log") + 1))
cpid=$(containerd_pid)
kill -STOP "$cpid"
touch "$go"
sleep "$stop_secs"
assert_ok "shim alive while containerd is stopped" pid_alive "$shim"
kill -CONT "$cpid"

_delivered() {
	[ "$(exits "$mark")" -ge "$1" ]
}
if is_nanoshim; then
	assert_eventually 30 "$cap /tasks/exit delivered" _delivered "$cap"
	sleep 3
	assert_eq "$cap" "$(exits "$mark")" \
		"the $cap queued /tasks/exit delivered, each once"
	kill -USR1 "$shim"
	_state_line() {
		grep -a "pid=$shim\|containers=" "$D/containerd.log" |
			grep -q "dropped_events=$((k - cap)) "
	}
	assert_eventually 10 "SIGUSR1: dropped_events=$((k - cap))" _state_line
	assert_contains "$(grep -a 'event queue full' "$D/containerd.log" |
		tail -1)" "$((k - cap)) dropped so far" "drops logged and counted"
else
	assert_eventually 60 "all $k /tasks/exit delivered" _delivered "$k"
	sleep 3
	got=$(exits "$mark")
	log "Go shim: $got /tasks/exit forwarded for $k exits"
	[ "$got" -ge "$k" ] && pass || fail "$got of $k delivered"
fi
assert_eq "$shim" "$(shim_pid_for "$id")" "the same shim"
out=$(ctr_exec --exec-id after "$id" echo after 2>&1)
assert_eq after "$out" "exec after containerd continued"
no_zombies
rm -f "$go"
kill_and_delete "$id"
no_leftovers "$id"
assert_ok "containerd back to the suite's environment" restore_containerd
