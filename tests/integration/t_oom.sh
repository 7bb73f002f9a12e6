# shellcheck shell=bash disable=SC2016 # container scripts in single quotes
# A container that allocates past its --memory-limit (16 MiB) is killed by
# the kernel: exit status 137, and the shim publishes /tasks/oom (v1:
# eventfd on memory.oom_control; v2, in tests/vm: inotify on the cgroup's
# memory.events, whose oom_kill count rose) before the container's
# /tasks/exit.  The kernel may report several OOMs for one container (the
# Go shim then sends one /tasks/oom each), so repeats are folded before
# comparing.

events_start || exit 1
limit=16777216

ctr_run --rm --memory-limit="$limit" oom1 \
	sh -c 'x=0123456789abcdef; while :; do x=$x$x; done' >/dev/null 2>&1
assert_eq 137 $? "exit status of the OOM-killed shell"
ctr_run --rm --memory-limit="$limit" oom2 tail /dev/zero >/dev/null 2>&1
assert_eq 137 $? "exit status of the OOM-killed tail"

for id in oom1 oom2; do
	assert_eventually 10 "$id delete event" has_event "$id" /tasks/delete
	topics=$(event_topics "$id" | uniq | tr '\n' ' ' | sed 's/ $//')
	assert_eq "/tasks/create /tasks/start /tasks/oom /tasks/exit /tasks/delete" \
		"$topics" "$id events (oom before exit)"
	assert_contains "$(event_line "$id" /tasks/exit)" '"exit_status":137' \
		"$id exit status in event"
	no_leftovers "$id"
done

# A container that stays under its limit gets no /tasks/oom.
ctr_run --rm --memory-limit="$limit" oom3 sh -c 'exit 0'
assert_eventually 10 "oom3 delete event" has_event oom3 /tasks/delete
assert_not_contains "$(event_topics oom3)" /tasks/oom "no oom event for oom3"
no_leftovers oom3
