# shellcheck shell=bash
# `ctr task ps` lists the init and the exec processes (execs tagged with
# their exec id); `ctr task kill --all` ends every one of them.

id=pk1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
init=$(task_pid "$id")
assert_ok "exec -d a" ctr_exec -d --exec-id ea "$id" sleep 1001
assert_ok "exec -d b" ctr_exec -d --exec-id eb "$id" sleep 1002
assert_eventually 10 "exec a listed" exec_listed "$id" ea
assert_eventually 10 "exec b listed" exec_listed "$id" eb

ps=$(ctr_ns task ps "$id")
pids=$(printf '%s\n' "$ps" | awk 'NR > 1 { print $1 }')
assert_eq 3 "$(printf '%s\n' "$pids" | wc -l)" "process count"
assert_contains "$ps" "$init" "init listed"
# ctr 1.6/1.7 print "&ProcessDetails{ExecID:ea,...}", 2.x 'exec_id:"ea"'.
pa=$(printf '%s\n' "$ps" | awk '/ExecID:ea,|exec_id:"ea"/ { print $1 }')
pb=$(printf '%s\n' "$ps" | awk '/ExecID:eb,|exec_id:"eb"/ { print $1 }')
assert_eq "sleep 1001" "$(tr '\0' ' ' </proc/"$pa"/cmdline | sed 's/ $//')" "pid of exec a"
assert_eq "sleep 1002" "$(tr '\0' ' ' </proc/"$pb"/cmdline | sed 's/ $//')" "pid of exec b"

assert_ok "kill --all" ctr_ns task kill --all --signal SIGKILL "$id"
for p in $pids; do
	assert_ok "pid $p gone" wait_gone 10 "$p"
done
assert_eventually 10 "stopped" status_is "$id" STOPPED
assert_ok "task rm" quiet ctr_ns task rm "$id"
assert_ok "container rm" ctr_ns container rm "$id"
no_leftovers "$id"
