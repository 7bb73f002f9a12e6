# shellcheck shell=bash
# `ctr task kill` delivers signals to the init: SIGTERM to a shell that
# traps it and exits 7 gives exit status 7 (seen by the foreground ctr
# run, which waits on the task); SIGKILL gives 137; a signal to a task
# that already exited fails with "not found".

ctr_run --rm k1 sh -c 'trap "exit 7" TERM; echo ready; sleep 1000 & wait' \
	>"$T/k1.out" 2>&1 &
run1=$!
assert_eventually 10 "k1 trap installed" grep -q ready "$T/k1.out" || exit 1
assert_ok "kill (SIGTERM is the default)" ctr_ns task kill k1
wait "$run1"
assert_eq 7 $? "exit status after trapped SIGTERM"

ctr_run --rm k2 sleep 1000 >"$T/k2.out" 2>&1 &
run2=$!
assert_eventually 10 "k2 running" status_is k2 RUNNING || exit 1
assert_ok "kill -s SIGKILL" ctr_ns task kill --signal SIGKILL k2
wait "$run2"
assert_eq 137 $? "exit status after SIGKILL"

assert_ok "run -d k3" ctr_run -d k3 sh -c 'exit 0'
assert_eventually 10 "k3 stopped" status_is k3 STOPPED
out=$(ctr_ns task kill --signal SIGKILL k3 2>&1)
assert_ne 0 $? "kill of an exited task fails"
assert_contains "$out" "not found" "error of kill on an exited task"
assert_ok "task rm k3" ctr_ns task rm k3
assert_ok "container rm k3" ctr_ns container rm k3

for id in k1 k2 k3; do
	no_leftovers "$id"
done
