# shellcheck shell=bash
# Task events reach `ctr events` in the contract's order with the right
# payloads.  Init: /tasks/create (pid) -> /tasks/start -> /tasks/exit
# (id = container id, exit status) -> /tasks/delete.  Exec:
# /tasks/exec-added -> /tasks/exec-started -> /tasks/exit with id = exec
# id, then the init's exit and delete.

events_start || exit 1

ctr_run --rm ev1 sh -c 'exit 3'
assert_eq 3 $? "exit status"
assert_eventually 10 "delete event for ev1" has_event ev1 /tasks/delete
assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete" \
	"$(event_topics ev1 | tr '\n' ' ' | sed 's/ $//')" "init event order"
create=$(event_line ev1 /tasks/create)
pid=$(printf '%s' "$create" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
assert_ne "" "$pid" "pid in /tasks/create"
assert_contains "$create" "\"bundle\":\"$BUNDLES/ev1\"" "bundle in /tasks/create"
assert_contains "$(event_line ev1 /tasks/start)" "\"pid\":$pid" "pid in /tasks/start"
exit_ev=$(event_line ev1 /tasks/exit)
assert_contains "$exit_ev" "\"id\":\"ev1\"" "id in /tasks/exit"
assert_contains "$exit_ev" "\"pid\":$pid," "pid in /tasks/exit"
assert_contains "$exit_ev" "\"exit_status\":3," "status in /tasks/exit"
# ctr 1.6 prints a Timestamp as RFC 3339 text, 1.7+ as its two fields.
if ctrd_at_least 1 7; then
	assert_contains "$exit_ev" "\"exited_at\":{\"seconds\":" "exited_at in /tasks/exit"
else
	assert_contains "$exit_ev" "\"exited_at\":\"20" "exited_at in /tasks/exit"
fi
assert_contains "$(event_line ev1 /tasks/delete)" "\"exit_status\":3," \
	"status in /tasks/delete"

assert_ok "run -d ev2" ctr_run -d ev2 sleep 1000 || exit 1
ctr_exec --exec-id x1 ev2 sh -c 'exit 4'
assert_eq 4 $? "exec exit status"
kill_and_delete ev2
assert_eventually 10 "delete event for ev2" has_event ev2 /tasks/delete
assert_eq "/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/exit /tasks/delete" \
	"$(event_topics ev2 | tr '\n' ' ' | sed 's/ $//')" "exec event order"
assert_contains "$(event_line ev2 /tasks/exec-added)" '"exec_id":"x1"' "exec-added id"
assert_contains "$(event_line ev2 /tasks/exec-started)" '"exec_id":"x1"' "exec-started id"
first_exit=$(event_line ev2 /tasks/exit)
assert_contains "$first_exit" '"id":"x1"' "first exit is the exec's"
assert_contains "$first_exit" '"exit_status":4' "exec exit status in event"
no_leftovers ev1
no_leftovers ev2
