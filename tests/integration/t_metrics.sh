# shellcheck shell=bash
# `ctr task metrics` reads the container's cgroups through the shim
# (Stats): pids.current, the memory limit and usage, and cpu usage agree
# with the v1 cgroup files.

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
assert_eq 3 "$(printf '%s\n' "$table" | awk '$1 == "pids.current" { print $2 }')" \
	"pids.current in table"
assert_eq 67108864 "$(printf '%s\n' "$table" | awk '$1 == "memory.limit_in_bytes" { print $2 }')" \
	"memory limit in table"

ctr_ns task metrics --format json "$id" >"$T/m.json"
assert_eq 0 $? "metrics (json)"
field() { # <python expression on m>
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($1)" "$T/m.json"
}
assert_eq "$(cat "$pidscg/pids.current")" "$(field 'm["pids"]["current"]')" "pids.current"
mem=$(cgroup_of "$pid" memory)
assert_eq "$(cat "$mem/memory.limit_in_bytes")" "$(field 'm["memory"]["usage"]["limit"]')" \
	"memory limit"
usage=$(field 'm["memory"]["usage"]["usage"]')
assert_ok "memory usage $usage is positive" test "$usage" -gt 0
cpu=$(field 'm["cpu"]["usage"]["total"]')
now=$(cat "$(cgroup_of "$pid" cpuacct)/cpuacct.usage")
assert_ok "cpu usage $cpu in (0, $now]" test "$cpu" -gt 0 -a "$cpu" -le "$now"

kill_and_delete "$id"
no_leftovers "$id"
