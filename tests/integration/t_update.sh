# shellcheck shell=bash
# Update passes LinuxResources to `runc update`: the container's v1
# memory, cpu and pids cgroup files change (on a pure v2 host, tests/vm:
# memory.max, cpu.weight from the shares as runc converts them, pids.max).  ctr 1.6 has no `task update`,
# so shimrpc.py sends the Update request to the shim's socket itself
# (the same message containerd's Tasks.Update sends).  Update of an
# unknown id is NotFound; of a stopped task an error.

id=up1
assert_ok "run -d" ctr_run -d --memory-limit=67108864 "$id" sleep 1000 || exit 1
pid=$(task_pid "$id")
mem=$(cgroup_of "$pid" memory)
MEMFILE=memory.limit_in_bytes
CPUFILE=cpu.shares
CPU512=512
if [ "$CGROUP_V2" = 1 ]; then
	MEMFILE=memory.max
	CPUFILE=cpu.weight
	# runc's (and crun's) shares -> weight: 1 + (shares - 2) * 9999 / 262142
	CPU512=$((1 + (512 - 2) * 9999 / 262142))
	assert_eq "$(container_cgroup "$id")" "${mem#"$CGROUP_ROOT"}" "v2 cgroup of the init"
fi
assert_eq 67108864 "$(cat "$mem/$MEMFILE")" "limit from run"
addr=$(cat "$BUNDLES/$id/address")

update() { # <id> <json>
	python3 "$LIB_DIR/shimrpc.py" "$addr" update "$@"
}

assert_ok "update memory" update "$id" '{"memory":{"limit":33554432}}'
assert_eq 33554432 "$(cat "$mem/$MEMFILE")" "memory limit after update"

assert_ok "update cpu shares" update "$id" '{"cpu":{"shares":512}}'
assert_eq "$CPU512" "$(cat "$(cgroup_of "$pid" cpu)/$CPUFILE")" "$CPUFILE after update"
assert_eq 33554432 "$(cat "$mem/$MEMFILE")" "memory limit untouched"

assert_ok "update pids" update "$id" '{"pids":{"limit":50}}'
assert_eq 50 "$(cat "$(cgroup_of "$pid" pids)/pids.max")" "pids.max after update"

out=$(update nosuch '{"memory":{"limit":33554432}}')
assert_ne 0 $? "update of an unknown id fails"
assert_contains "$out" "code 5:" "NotFound for an unknown id"

assert_ok "kill" ctr_ns task kill --signal SIGKILL "$id"
assert_eventually 10 "stopped" status_is "$id" STOPPED
out=$(update "$id" '{"memory":{"limit":33554432}}')
assert_ne 0 $? "update of a stopped task fails"
assert_contains "$out" "stopped" "error of update on a stopped task"

assert_ok "task rm" quiet ctr_ns task rm "$id"
assert_ok "container rm" ctr_ns container rm "$id"
no_leftovers "$id"
