# shellcheck shell=bash
# The shim outlives containerd: with containerd stopped, the container's
# init is killed from the host; the shim reaps it and keeps the TaskExit
# it could not publish.  After containerd comes back (same config) the
# shim delivers that /tasks/exit (containerd logs it as forwarded, not
# synthesized), the task is STOPPED with status 137 and deletes cleanly.
#
# containerd 1.7 and 2.x do otherwise (containerd#6860): a reconnected
# shim that lists no process (Pids) is taken for one left over from a
# create that never finished, so containerd shuts it down, runs the
# `delete` action and forgets the task.  There the test checks that this
# cleanup goes through with our shim: logged, the shim gone, no task,
# nothing left behind.

id=rx1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
pid=$(task_pid "$id")
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid"

assert_ok "containerd stopped" containerd_stop || exit 1
assert_ok "shim survives containerd" pid_alive "$shim"
assert_ok "init survives containerd" pid_alive "$pid"
kill -KILL "$pid"
assert_ok "init killed" wait_gone 5 "$pid"
# The shim must still be there to hold the exit.
assert_ok "shim still alive" pid_alive "$shim"

mark=$(wc -l <"$D/containerd.log")
assert_ok "containerd restarted" containerd_start || exit 1
events_start

leak_cleaned() {
	tail -n +"$((mark + 1))" "$D/containerd.log" |
		grep 'msg="cleaning leaked shim process"' | grep -q "id=$id "
}
if ctrd_at_least 1 7; then
	assert_eventually 30 "containerd $CTRD_VERSION cleaned up the shim of the dead task" \
		leak_cleaned
	assert_eventually 10 "shim exited" pid_dead "$shim"
	assert_eventually 10 "no task $id" no_task "$id"
	assert_ok "container rm" ctr_ns container rm "$id"
	no_leftovers "$id"
	exit 0
fi

forwarded() {
	tail -n +"$((mark + 1))" "$D/containerd.log" |
		grep 'msg="event forwarded"' | grep "ns=$NS " |
		grep -q 'topic=/tasks/exit '
}
# The Go shim retries a failed publish after 1 s, 2 s, ... (spec 4.3).
assert_eventually 30 "/tasks/exit forwarded by the shim after restart" forwarded
assert_eventually 10 "task is STOPPED" status_is "$id" STOPPED
assert_eq "$pid" "$(task_pid "$id")" "pid after restart"
# The event can reach containerd before `ctr events` subscribed; when it
# was seen, it must be the right one.
if has_event "$id" /tasks/exit; then
	ev=$(event_line "$id" /tasks/exit)
	assert_contains "$ev" "\"pid\":$pid," "pid in /tasks/exit"
	assert_contains "$ev" '"exit_status":137' "status in /tasks/exit"
else
	log "note: /tasks/exit reached containerd before ctr events subscribed"
fi

out=$(ctr_ns task rm "$id" 2>&1)
assert_eq 0 $? "task rm after restart"
assert_contains "$out" "137" "exit status reported by delete"
assert_ok "container rm" ctr_ns container rm "$id"
assert_eventually 10 "/tasks/delete after restart" has_event "$id" /tasks/delete
no_leftovers "$id"
