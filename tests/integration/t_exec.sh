# shellcheck shell=bash
# exec: a foreground `ctr task exec` returns the exec's exit status with
# its stdout and stderr kept apart, and stdin reaches it; an id can be
# reused once its exec finished (ctr deletes it); a missing binary fails
# with runc's message and leaves the task RUNNING; a detached exec's id is
# taken while it exists ("already exists").

id=xe1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1

out=$(ctr_exec --exec-id e1 "$id" sh -c 'echo out; echo err >&2; exit 7' 2>"$T/e1.err")
assert_eq 7 $? "exec exit status"
assert_eq out "$out" "exec stdout"
assert_eq err "$(cat "$T/e1.err")" "exec stderr"

out=$(ctr_exec --exec-id e1 "$id" sh -c 'echo again')
assert_eq 0 $? "reused exec id"
assert_eq again "$out" "output of reused exec id"

printf 'in-data\n' >"$T/in"
out=$(stdin_after_exec "$id" e2 "$T/in" | ctr_exec --exec-id e2 "$id" cat)
assert_eq in-data "$out" "exec stdin"

out=$(ctr_exec --exec-id e3 "$id" /nonexistent 2>&1)
assert_ne 0 $? "exec of a missing binary fails"
assert_contains "$out" "OCI runtime exec failed" "error prefix"
# runc says "no such file or directory", crun "No such file or directory".
assert_contains "${out,,}" "no such file or directory" "the runtime's reason"
assert_eq RUNNING "$(task_status "$id")" "task RUNNING after failed exec"
out=$(ctr_exec --exec-id e3 "$id" echo fine)
assert_eq fine "$out" "id of the failed exec is reusable"

assert_ok "exec -d" ctr_exec -d --exec-id bg1 "$id" sleep 1000
assert_eventually 10 "detached exec listed" exec_listed "$id" bg1
out=$(ctr_exec -d --exec-id bg1 "$id" true 2>&1)
assert_ne 0 $? "duplicate exec id fails"
assert_contains "$out" "already exists" "error of duplicate exec id"

assert_eq RUNNING "$(task_status "$id")" "task still RUNNING"
kill_and_delete "$id"
no_leftovers "$id"
