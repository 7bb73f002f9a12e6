# shellcheck shell=bash
# `ctr task metrics` reads the container's cgroups through the shim
# (Stats): pids.current, the memory limit and usage, and cpu usage agree
# with the cgroup files.  On a v1 host the shim answers
# io.containerd.cgroups.v1.Metrics from the per-controller hierarchies; on
# a pure v2 host (tests/vm) io.containerd.cgroups.v2.Metrics from the one
# unified directory: pids.current/pids.max, memory.current/memory.max,
# cpu.stat usage_usec and memory.events.

id=mt1
assert_ok "run -d" ctr_run -d --memory-limit=67108864 "$id" \
	sh -c 'sleep 1000 & sleep 1001 & wait' || exit 1
pid=$(task_pid "$id")
pidscg=$(cgroup_of "$pid" pids)
pids_current_is() {
	[ "$(cat "$pidscg/pids.current")" = "$1" ]
}
assert_eventually 10 "3 processes" pids_current_is 3

table=$(ctr_ns task metrics "$id")
assert_eq 0 $? "metrics (table)"
row() { # <metric>: its value in the table
	printf '%s\n' "$table" | awk -v k="$1" '$1 == k { print $2 }'
}
assert_eq 3 "$(row pids.current)" "pids.current in table"

ctr_ns task metrics --format json "$id" >"$T/m.json"
assert_eq 0 $? "metrics (json)"
field() { # <python expression on m>
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($1)" "$T/m.json"
}
assert_eq "$(cat "$pidscg/pids.current")" "$(field 'm["pids"]["current"]')" "pids.current"

if [ "$CGROUP_V2" = 1 ]; then
	cg=$pidscg
	assert_eq "$(container_cgroup "$id")" "${cg#"$CGROUP_ROOT"}" "v2 cgroup of the init"
	assert_eq 67108864 "$(cat "$cg/memory.max")" "memory.max set by runc"
	assert_eq 67108864 "$(row memory.usage_limit)" "memory limit in the v2 table"
	assert_eq "" "$(row memory.limit_in_bytes)" "no v1 row in the v2 table"
	assert_eq 67108864 "$(field 'm["memory"]["usage_limit"]')" "memory usage_limit"
	usage=$(field 'm["memory"]["usage"]')
	assert_ok "memory usage $usage in (0, 64 MiB]" \
		test "$usage" -gt 0 -a "$usage" -le 67108864
	# pids.max is "max": Go's getPidValue makes that MaxUint64.
	pmax=$(cat "$cg/pids.max")
	[ "$pmax" = max ] && pmax=18446744073709551615
	assert_eq "$pmax" "$(field 'm["pids"].get("limit", 0)')" "pids limit vs pids.max"
	cpu=$(field 'm["cpu"]["usage_usec"]')
	now=$(sed -n 's/^usage_usec //p' "$cg/cpu.stat")
	assert_ok "cpu usage_usec $cpu in (0, $now]" test "$cpu" -gt 0 -a "$cpu" -le "$now"
	# memory.events: no OOM yet, and the shim's counters are the file's.
	assert_eq "$(sed -n 's/^oom_kill //p' "$cg/memory.events")" \
		"$(field 'm.get("memory_events", {}).get("oom_kill", 0)')" \
		"memory_events.oom_kill vs memory.events"
	assert_eq "$(sed -n 's/^max //p' "$cg/memory.events")" \
		"$(field 'm.get("memory_events", {}).get("max", 0)')" \
		"memory_events.max vs memory.events"
	url=$(python3 "$LIB_DIR/ns_stats.py" "$(cat "$BUNDLES/$id/address")" "$id" | head -1)
	assert_eq io.containerd.cgroups.v2.Metrics "$url" "type URL of the Stats reply"
else
	assert_eq 67108864 "$(row memory.limit_in_bytes)" "memory limit in table"
	mem=$(cgroup_of "$pid" memory)
	assert_eq "$(cat "$mem/memory.limit_in_bytes")" "$(field 'm["memory"]["usage"]["limit"]')" \
		"memory limit"
	usage=$(field 'm["memory"]["usage"]["usage"]')
	assert_ok "memory usage $usage is positive" test "$usage" -gt 0
	cpu=$(field 'm["cpu"]["usage"]["total"]')
	now=$(cat "$(cgroup_of "$pid" cpuacct)/cpuacct.usage")
	assert_ok "cpu usage $cpu in (0, $now]" test "$cpu" -gt 0 -a "$cpu" -le "$now"
fi

kill_and_delete "$id"
no_leftovers "$id"
