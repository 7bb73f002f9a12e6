# shellcheck shell=bash
# Grouping (spec 1.2): containers annotated with the same
# io.containerd.runc.v2.group share one shim.  The second `start` finds the
# group's socket alive, writes the same address and spawns nothing; the
# shim serves both, stays while either is registered (Shutdown is a no-op
# then) and exits after the last delete, removing the group's socket.

group="grp$$"
ann="--annotation=io.containerd.runc.v2.group=$group"
assert_ok "run -d g1" ctr_run -d "$ann" g1 sleep 1000 || exit 1
assert_ok "run -d g2" ctr_run -d "$ann" g2 sleep 1000 || exit 1
sock=$(sha_socket "$group")
assert_eq "unix://$sock" "$(cat "$BUNDLES/g1/address")" "g1 address"
assert_eq "unix://$sock" "$(cat "$BUNDLES/g2/address")" "g2 address"
assert_eq 1 "$(shim_pids | wc -l)" "one shim for the group"
shim=$(shim_pid_for g1)
assert_ne "" "$shim" "the shim carries the first id"
assert_eq "$shim" "$(ppid_of "$(task_pid g2)")" "g2's init is the shim's child"
assert_eq RUNNING "$(task_status g1)" "g1 running"
assert_eq RUNNING "$(task_status g2)" "g2 running"
assert_eq in-g2 "$(ctr_exec --exec-id x g2 echo in-g2)" "exec in g2"

kill_and_delete g1
assert_ok "shim stays for g2" pid_alive "$shim"
assert_eq RUNNING "$(task_status g2)" "g2 still running"
assert_ok "socket stays for g2" test -S "$sock"
kill_and_delete g2
assert_ok "shim exits after the last delete" wait_gone 10 "$shim"
assert_eventually 5 "group socket removed" _gone "$sock"
no_leftovers g1
no_leftovers g2
