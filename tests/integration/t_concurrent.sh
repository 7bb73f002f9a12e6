# shellcheck shell=bash
# 20 containers started in parallel (`run -d`) all reach RUNNING with
# distinct pids, each with its own shim; killed and deleted in parallel,
# they leave no shim, zombie, mount, cgroup or socket file behind.

n=20
ids=()
for i in $(seq 1 "$n"); do
	ids+=("par$i")
done

for id in "${ids[@]}"; do
	ctr_run -d "$id" sleep 1000 >"$T/$id.run" 2>&1 &
done
wait
for id in "${ids[@]}"; do
	assert_eventually 20 "$id running" status_is "$id" RUNNING
done
pids=$(for id in "${ids[@]}"; do task_pid "$id"; done | sort -u | wc -l)
assert_eq "$n" "$pids" "distinct init pids"
assert_eq "$n" "$(shim_pids | wc -l)" "one shim per container"
no_zombies

for id in "${ids[@]}"; do
	ctr_ns task kill --signal SIGKILL "$id" &
done
wait
for id in "${ids[@]}"; do
	assert_eventually 20 "$id stopped" status_is "$id" STOPPED
done
for id in "${ids[@]}"; do
	{ ctr_ns task rm "$id" && ctr_ns container rm "$id"; } >"$T/$id.rm" 2>&1 &
done
wait
assert_eq "" "$(ctr_ns task ls -q)" "no task left"
assert_eq "" "$(ctr_ns container ls -q)" "no container left"
for id in "${ids[@]}"; do
	no_leftovers "$id"
done
no_zombies
assert_eventually 10 "no shim process" no_shims
