# shellcheck shell=bash
# A running container survives a containerd restart: afterwards containerd
# reconnects to the same shim, the task is RUNNING with the same pid, exec
# works over the new connection, and kill/delete (with their events)
# behave normally.

id=rr1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
pid=$(task_pid "$id")
shim=$(shim_pid_for "$id")

assert_ok "containerd stopped" containerd_stop || exit 1
assert_ok "shim survives containerd" pid_alive "$shim"
assert_ok "containerd restarted" containerd_start || exit 1
events_start

assert_eventually 10 "RUNNING after restart" status_is "$id" RUNNING
assert_eq "$pid" "$(task_pid "$id")" "same pid after restart"
assert_eq "$shim" "$(shim_pid_for "$id")" "same shim after restart"
out=$(ctr_exec --exec-id after "$id" sh -c 'echo exec-ok; exit 5')
assert_eq 5 $? "exec exit status after restart"
assert_eq exec-ok "$out" "exec output after restart"

kill_and_delete "$id"
assert_eventually 10 "/tasks/delete" has_event "$id" /tasks/delete
assert_eq "/tasks/exec-added /tasks/exec-started /tasks/exit /tasks/exit /tasks/delete" \
	"$(event_topics "$id" | tr '\n' ' ' | sed 's/ $//')" "events after restart"
no_leftovers "$id"
