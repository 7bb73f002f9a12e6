# shellcheck shell=bash
# 10 execs run concurrently in one container; each returns its own exit
# status and output, and the task is unaffected.

id=xc1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1

for i in $(seq 1 10); do
	(
		ctr_exec --exec-id "c$i" "$id" sh -c "sleep 0.2; echo out-$i; exit $i" \
			>"$T/c$i.out" 2>"$T/c$i.err"
		echo $? >"$T/c$i.rc"
	) &
done
wait
for i in $(seq 1 10); do
	assert_eq "$i" "$(cat "$T/c$i.rc")" "exit status of exec c$i"
	assert_eq "out-$i" "$(cat "$T/c$i.out")" "output of exec c$i"
done
assert_eq RUNNING "$(task_status "$id")" "task still RUNNING"
kill_and_delete "$id"
no_leftovers "$id"
