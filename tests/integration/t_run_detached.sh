# shellcheck shell=bash
# A detached container (`ctr run -d`) is RUNNING with the pid of its init
# and that pid is a live process in the container's cgroup; SIGKILL stops
# it, deleting the task and container leaves nothing behind (shim gone,
# socket, bundle, cgroup, runc state removed).

id=det1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
assert_eq RUNNING "$(task_status "$id")" "status after run -d"
pid=$(task_pid "$id")
assert_ok "init pid $pid is alive" pid_alive "$pid"
assert_contains "$(procs_of_container "$id")" "$pid" "process in container cgroup"
assert_ok "shim process for $id" shim_pid_for "$id"
assert_ok "shim socket $(sha_socket "$id")" test -S "$(sha_socket "$id")"

assert_ok "kill" ctr_ns task kill --signal SIGKILL "$id"
assert_eventually 10 "task stopped" status_is "$id" STOPPED
assert_ok "init pid gone" wait_gone 5 "$pid"
assert_ok "task rm" ctr_ns task rm "$id"
assert_ok "container rm" ctr_ns container rm "$id"
no_leftovers "$id"
