# shellcheck shell=bash
# Fault: containerd is SIGKILLed in the middle of a burst of exits and
# started again.  FAULT_EXITS execs (30 in make test, 100 in make
# test-matrix) wait in one container for a file; the file appears, they
# exit one every 100 ms, and containerd is killed as soon as the first
# /tasks/exit got through, while the shim is still publishing the rest.  The shim keeps the events it
# could not deliver and sends them once containerd is back.
#
# Counted from containerd's debug log ("event forwarded" lines of our
# namespace with topic /tasks/exit, over both containerd runs): every
# TaskExit arrives, and exactly once.  (A Forward containerd had handled
# but not yet answered when it died is sent again by either shim, so at
# most that one could arrive twice: the test says so if it happens.)
# The shim is the same process throughout and the container is intact.
# TIMEOUT: 240

. "$LIB_DIR/fault_lib.sh"

k=${FAULT_EXITS:-30}
id=fb1
go=$ROOTFS/tmp/fb1-go
rm -f "$go"
assert_ok "run -d $id" ctr_run -d "$id" sleep 1000 || exit 1
assert_eventually 10 "$id RUNNING" status_is "$id" RUNNING || exit 1
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
# Exec i exits i gaps after the file appears: a burst of k exits over
# k gaps, so containerd can die in the middle of it.  The gap (100 ms,
# times SLOW; in microseconds for usleep) leaves time to see the first
# exit in containerd's log and kill it on a loaded host or in a TCG guest.
gap=$((100000 * ${SLOW:-1}))
for i in $(seq 1 "$k"); do
	ctr_exec -d --exec-id "w$i" "$id" sh -c \
		"while [ ! -e /tmp/fb1-go ]; do usleep 10000; done; usleep $((i * gap))" ||
		{ fail "exec w$i" && break; }
done
assert_eq "$k" "$(ctr_bounded task ps "$id" | grep -c 'ExecID:w')" \
	"$k execs waiting"

exits() { # <from-line>: /tasks/exit events forwarded for our namespace
	tail -n +"$1" "$D/containerd.log" | grep 'msg="event forwarded"' |
		grep "ns=$NS " | grep -c 'topic=/tasks/exit '
}
mark=$(($(wc -l <"$D/containerd.log") + 1))
_some_exits() {
	[ "$(exits "$mark")" -ge 1 ]
}
touch "$go"
# Killed as soon as the first exits got through.
wait_until 10 _some_exits
cpid=$(containerd_pid)
kill -KILL "$cpid"
assert_ok "containerd killed" wait_gone 5 "$cpid"
before=$(exits "$mark")
log "exits forwarded before containerd died: $before of $k"
assert_ok "shim alive without containerd" pid_alive "$shim"
sleep 2
assert_ok "containerd restarted" containerd_start || exit 1

_all_exits() {
	[ "$(exits "$mark")" -ge "$k" ]
}
assert_eventually 60 "all $k /tasks/exit delivered" _all_exits
sleep 3
got=$(exits "$mark")
log "exits forwarded in all: $got of $k ($before before the kill)"
if [ "$got" -eq $((k + 1)) ]; then
	log "one TaskExit arrived twice: the Forward in flight when containerd died"
fi
assert_eq "$k" "$got" "each /tasks/exit exactly once"
[ "$before" -lt "$k" ] && pass ||
	fail "containerd died after the burst ($before of $k were through)"
assert_eq "$shim" "$(shim_pid_for "$id")" "the same shim"
assert_eventually 10 "$id RUNNING after restart" status_is "$id" RUNNING
out=$(ctr_exec --exec-id after "$id" echo after 2>&1)
assert_eq after "$out" "exec after the restart"
no_zombies
rm -f "$go"
kill_and_delete "$id"
no_leftovers "$id"
