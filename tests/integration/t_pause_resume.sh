# shellcheck shell=bash
# pause freezes the container (PAUSED, its processes frozen in the freezer
# cgroup, exec refused), resume thaws it (RUNNING, exec works again); the
# /tasks/paused and /tasks/resumed events arrive in that order.  Pausing
# twice and resuming a running task fail with errors.  On a pure v2 host
# (tests/vm) the freezer is the container cgroup's cgroup.freeze, and
# cgroup.events says frozen 1 / frozen 0.

id=pr1
events_start || exit 1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
pid=$(task_pid "$id")
freezer=$(cgroup_of "$pid" freezer)
frozen() { # v1: freezer.state; v2: "<cgroup.freeze> <frozen of cgroup.events>"
	if [ "$CGROUP_V2" = 1 ]; then
		echo "$(cat "$freezer/cgroup.freeze") $(sed -n 's/^frozen //p' "$freezer/cgroup.events")"
	else
		cat "$freezer/freezer.state"
	fi
}
FROZEN=FROZEN THAWED=THAWED
if [ "$CGROUP_V2" = 1 ]; then
	FROZEN="1 1" THAWED="0 0"
	assert_eq "$(container_cgroup "$id")" "${freezer#"$CGROUP_ROOT"}" "v2 cgroup of the init"
fi

assert_ok "pause" ctr_ns task pause "$id"
assert_eq PAUSED "$(task_status "$id")" "status after pause"
assert_eq "$FROZEN" "$(frozen)" "freezer state"
out=$(ctr_exec --exec-id p1 "$id" true 2>&1)
assert_ne 0 $? "exec while paused fails"
assert_contains "$out" "paused" "error of exec while paused"
out=$(ctr_ns task pause "$id" 2>&1)
assert_ne 0 $? "second pause fails"

assert_ok "resume" ctr_ns task resume "$id"
assert_eq RUNNING "$(task_status "$id")" "status after resume"
assert_eq "$THAWED" "$(frozen)" "freezer state after resume"
out=$(ctr_exec --exec-id p2 "$id" echo alive)
assert_eq alive "$out" "exec after resume"
out=$(ctr_ns task resume "$id" 2>&1)
assert_ne 0 $? "resume of a running task fails"

assert_eventually 10 "/tasks/resumed" has_event "$id" /tasks/resumed
assert_eq "/tasks/paused /tasks/resumed" \
	"$(event_topics "$id" | grep -E 'paused|resumed' | tr '\n' ' ' | sed 's/ $//')" \
	"pause events"
kill_and_delete "$id"
no_leftovers "$id"
