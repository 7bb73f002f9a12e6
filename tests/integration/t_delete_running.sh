# shellcheck shell=bash
# Deleting a running task is refused with a clear error and changes
# nothing (task still RUNNING, container kept); after the task exits the
# same delete succeeds, a second delete says "not found".

assert_ok "run -d" ctr_run -d dr1 sleep 1000 || exit 1
pid=$(task_pid dr1)

out=$(ctr_ns task rm dr1 2>&1)
assert_ne 0 $? "task rm of a running task fails"
assert_contains "$out" "must be stopped" "error of task rm"
out=$(ctr_ns task delete dr1 2>&1)
assert_ne 0 $? "task delete of a running task fails"
assert_contains "$out" "running" "error of task delete"
out=$(ctr_ns container rm dr1 2>&1)
assert_ne 0 $? "container rm with a running task fails"
assert_contains "$out" "cannot delete a non stopped container" "error of container rm"
assert_eq RUNNING "$(task_status dr1)" "status after refused deletes"
assert_eq "$pid" "$(task_pid dr1)" "pid after refused deletes"
assert_ok "init still alive" pid_alive "$pid"

assert_ok "kill" ctr_ns task kill --signal SIGKILL dr1
assert_eventually 10 "stopped" status_is dr1 STOPPED
out=$(ctr_ns task rm dr1 2>&1)
assert_eq 0 $? "task rm after exit"
assert_contains "$out" "137" "task rm reports the exit status"
out=$(ctr_ns task rm dr1 2>&1)
assert_ne 0 $? "second task rm fails"
assert_contains "$out" "not found" "error of second task rm"
assert_ok "container rm" ctr_ns container rm dr1
no_leftovers dr1
