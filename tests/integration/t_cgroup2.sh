# shellcheck shell=bash
# The shim's cgroup v2 code paths for real, as far as this host allows
# (spec 8 mode detection, Stats -> io.containerd.cgroups.v2.Metrics).
#
# A private containerd runs in a private mount namespace where the v1 tree
# under /sys/fs/cgroup is unmounted and cgroup2 is mounted at
# /sys/fs/cgroup (ns_privd.sh): runc and the shim see a unified host.
# That cgroup2 is the host's one cgroup2 hierarchy (also at
# /sys/fs/cgroup/unified outside), so every cgroup made is removed and the
# root's subtree_control, where runc enables controllers, is restored.
#
# Checks: a container runs with our shim; the shim's mode detection picked
# unified (Stats over ttrpc answers io.containerd.cgroups.v2.Metrics; ctr
# prints the v2 table and the v2 JSON shape); the values come from the
# container's own v2 cgroup (hugetlb.<size>.max/current, after setting a
# limit there; cpu usage_usec vs cpu.stat, memory and pids where those
# controllers exist in cgroup2); the Go shim gives the same shape in the
# same namespace; kill and delete remove the v2 cgroup.  On a hybrid host
# every controller but hugetlb is bound to a v1 hierarchy, so cpu, memory
# and pids are reported as SKIP-part lines (the shim, like Go's
# manager.go, reads cpu.stat and memory.stat only for enabled
# controllers).  On a pure v2 host (tests/vm) no private namespace is
# needed: the suite's own containerd runs the containers, and cpu, memory
# and pids are checked for real.

if [ "$CGROUP_V2" = 1 ]; then
	# The host is what the private namespace would make: use it as is.
	in_ns() { "$@"; }
	privd_shim_for() { shim_pid_for "$1"; }
	no_privd_shim_for() { no_shim_for "$1"; }
	privd_note_id() { echo "$1" >>"$T/ids"; }
	privd_teardown() { :; }
	PRIVD_PID=$$
	PRIVD_MNTNS=$(readlink /proc/self/ns/mnt)
	PRIVD_V2ROOT_HOST=$CGROUP_ROOT
	IDS=$T/ids
else
	# shellcheck source=ns_privd.sh
	. "$LIB_DIR/ns_privd.sh"
	privd_start cgroup2
	IDS=$D/ids
fi
GO_SHIM=/usr/bin/containerd-shim-runc-v2
# ctr 2.x shows what cgroups v3 added to the metrics (pressure, memory
# peaks): the reference there is the Go shim of the same release.
GO2_SHIM=$LIB_DIR/../../build/suites/sid/usr/bin/containerd-shim-runc-v2
is_nanoshim && ctrd_at_least 2 0 && [ -x "$GO2_SHIM" ] &&
	GO_SHIM=$(readlink -f "$GO2_SHIM")
V2=/sys/fs/cgroup # as seen in the namespace

assert_eq cgroup2fs "$(in_ns stat -f -c %T $V2)" "filesystem at $V2 in the namespace"
root_ctls=$(in_ns cat $V2/cgroup.controllers)
log "cgroup2 root controllers here: '${root_ctls}'"

v2_run() { # <runtime> [run-flags...] ID CMD...
	local rt=$1
	local -a flags=()
	shift
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
		flags+=("$1")
		shift
	done
	privd_note_id "$1"
	# The shim under test gets the cell's runtime options (runc's systemd
	# cgroup driver, crun: runtime_flags); the Go shim, run beside it for
	# comparison, its defaults.
	RUNTIME_FLAGS=(--runtime "$rt")
	[ "$rt" = "$SHIM" ] && runtime_flags "$1"
	# ctr's default --cpu-shares=1024 becomes cpu.weight under cgroup2,
	# which needs the cpu controller: 0 leaves the CPU unlimited.
	ctr_ns run "${RUNTIME_FLAGS[@]}" --fifo-dir "$D/fifo" --env PATH=/bin \
		--cpu-shares=0 "${flags[@]}" --rootfs "$ROOTFS" "$@"
}

# A busy loop first, so that the cgroup has used some CPU.
# shellcheck disable=SC2016 # expanded by the container's sh
CMD=(sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo spun; exec sleep 1000')

if ! err=$(v2_run "$SHIM" -d c2 "${CMD[@]}" 2>&1); then
	# Our shim failed: a bug, unless the reference shim fails too.
	if [ "$SHIM" != "$GO_SHIM" ] && [ -x "$GO_SHIM" ] &&
		! goerr=$(v2_run "$GO_SHIM" -d c2go "${CMD[@]}" 2>&1); then
		quiet ctr_ns container rm c2 c2go
		skip "runc cannot run a container on cgroup2 here (the Go shim fails as well): $goerr"
	fi
	[ "$SHIM" = "$GO_SHIM" ] && skip "runc cannot run a container on cgroup2 here: $err"
	fail "run on cgroup2 with our shim: $err"
	exit 1
fi
pass
assert_eventually 10 "c2 RUNNING" status_is c2 RUNNING || exit 1
pid=$(task_pid c2)
shim=$(privd_shim_for c2)
assert_ne "" "$shim" "serving shim of c2" || exit 1
assert_eq "$(readlink -f "$SHIM")" "$(readlink "/proc/$shim/exe")" "exe of the serving shim"
assert_eq "$PRIVD_MNTNS" "$(readlink "/proc/$shim/ns/mnt")" \
	"the shim runs in the private namespace"
is_nanoshim && assert_eq 1 "$(threads_of "$shim")" "threads of the shim"

rel=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
assert_eq "$(container_cgroup c2)" "$rel" "v2 cgroup of the init (0:: line)" || exit 1
cg=$V2$rel
ctls=$(in_ns cat "$cg/cgroup.controllers")
log "controllers of $rel: '$ctls'"
has_ctl() { # <list> <controller>
	case " $1 " in *" $2 "*) return 0 ;; esac
	return 1
}

# The type URL straight from the shim: its mode detection said unified.
sock=$(cat "$BUNDLES/c2/address" 2>/dev/null)
assert_contains "$sock" "unix://" "shim address file"
stats=$(python3 "$LIB_DIR/ns_stats.py" "$sock" c2)
assert_eq 0 $? "Stats over ttrpc"
url=$(printf '%s\n' "$stats" | head -1)
assert_eq io.containerd.cgroups.v2.Metrics "$url" "type URL of the Stats reply"
log "Stats: $url, fields $(printf '%s\n' "$stats" | sed -n 2p)"

# ctr's table: printCgroup2MetricsTable has these rows, the v1 one not.
table=$(ctr_ns task metrics c2)
assert_eq 0 $? "metrics (table)"
assert_contains "$table" "cpu.usage_usec" "v2 table"
assert_contains "$table" "memory.usage_limit" "v2 table"
assert_not_contains "$table" "memory.limit_in_bytes" "v2 table"
assert_not_contains "$table" "cpuacct.usage" "v2 table"

# Set a hugetlb limit in the container's cgroup: the shim must read it.
hp_sizes=""
hp_kb=()
for h in /sys/kernel/mm/hugepages/hugepages-*kB; do
	[ -d "$h" ] || continue
	kb=${h##*-}
	kb=${kb%kB}
	hp_kb+=("$kb")
	if [ "$kb" -ge 1048576 ]; then
		hp_sizes+=" $((kb / 1048576))GB"
	elif [ "$kb" -ge 1024 ]; then
		hp_sizes+=" $((kb / 1024))MB"
	else
		hp_sizes+=" ${kb}KB"
	fi
done
hp_sizes=${hp_sizes# }
hp_set=""
if has_ctl "$ctls" hugetlb && [ -n "$hp_sizes" ]; then
	hp_set=${hp_sizes%% *}
	# Two pages of the first size, in bytes.
	limit=$((2 * hp_kb[0] * 1024))
	assert_ok "set hugetlb.$hp_set.max" in_ns sh -c "echo $limit >$cg/hugetlb.$hp_set.max"
fi

ctr_ns task metrics --format json c2 >"$T/m.json"
assert_eq 0 $? "metrics (json)"
usage_now=$(in_ns sed -n 's/^usage_usec //p' "$cg/cpu.stat")
# One python pass over the JSON; it prints "ok <what>" or "FAIL <what>"
# lines and the facts for the SKIP-part lines.
python3 - "$T/m.json" "$hp_sizes" "$hp_set" "${limit:-0}" "$cg" "$PRIVD_PID" \
	"$ctls" "${usage_now:-0}" >"$T/m.check" 2>&1 <<'EOF'
import json, subprocess, sys

path, sizes, hp_set, limit, cg, nspid, ctls, usage_now = sys.argv[1:]
m = json.load(open(path))
ctls = ctls.split()

def ok(cond, what):
    print(("ok " if cond else "FAIL ") + what)

def ns_read(name):
    r = subprocess.run(["nsenter", "--target", nspid, "--mount", "--",
                        "cat", cg + "/" + name], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None

def num(s):
    return 2**64 - 1 if s == "max" else int(s)

v1_only = {"blkio", "cgroup_stats", "memory_oom_control", "network"}
v2_keys = {"pids", "cpu", "memory", "rdma", "io", "hugetlb",
           "memory_events"}
ok(not (set(m) & v1_only), "no v1-only field in %s" % sorted(m))
ok(set(m) <= v2_keys, "only v2 fields: %s" % sorted(m))
ok("usage" not in m.get("cpu", {}), "cpu has no v1 'usage' object")
ok(not isinstance(m.get("memory", {}).get("usage", 0), dict),
   "memory.usage is not the v1 object")

if "hugetlb" in ctls and sizes:
    got = {h.get("pagesize"): h for h in m.get("hugetlb", [])}
    ok(sorted(got) == sorted(sizes.split()),
       "hugetlb page sizes %s == %s" % (sorted(got), sizes.split()))
    for size, h in got.items():
        fmax, fcur = ns_read("hugetlb.%s.max" % size), \
            ns_read("hugetlb.%s.current" % size)
        ok(fmax is not None and h.get("max", 0) == num(fmax),
           "hugetlb %s max %s == file %s" % (size, h.get("max"), fmax))
        ok(fcur is not None and h.get("current", 0) == num(fcur),
           "hugetlb %s current %s == file %s" % (size, h.get("current", 0),
                                                  fcur))
    ok(got.get(hp_set, {}).get("max") == int(limit),
       "hugetlb %s max is the limit set, %s" % (hp_set, limit))
else:
    print("SKIP-part: no hugetlb controller or no huge page sizes here")

cpu = m.get("cpu", {}).get("usage_usec", 0)
if "cpu" in ctls:
    ok(0 < cpu <= int(usage_now),
       "cpu usage_usec %d in (0, cpu.stat %s]" % (cpu, usage_now))
else:
    ok(cpu == 0, "cpu usage_usec not reported without the cpu controller "
       "(Go parity), got %d" % cpu)
    print("SKIP-part: cpu controller not available in cgroup2 here (bound "
          "to the v1 hierarchy): the shim, like Go's manager.go, reads "
          "cpu.stat only for an enabled cpu controller, so usage_usec is "
          "not reported (the cgroup's cpu.stat says usage_usec %s)"
          % usage_now)

mem = m.get("memory", {})
if "memory" in ctls:
    cur, mx = ns_read("memory.current"), ns_read("memory.max")
    ok(mem.get("usage", 0) > 0, "memory usage %s > 0" % mem.get("usage"))
    ok(mx is not None and mem.get("usage_limit", 0) == num(mx),
       "memory usage_limit %s == memory.max %s" % (mem.get("usage_limit"), mx))
    # Every memory.stat counter Metrics carries that is set in the file
    # (read after the Stats call; the container only sleeps by now) is set
    # in the reply too.  Which ones are set depends on the container's
    # history (page cache, faults), so ours and the Go shim's container
    # are compared on this, not on each other.
    stat_fields = set("""anon file kernel_stack slab sock shmem file_mapped
        file_dirty file_writeback anon_thp inactive_anon active_anon
        inactive_file active_file unevictable slab_reclaimable
        slab_unreclaimable pgfault pgmajfault workingset_refault
        workingset_activate workingset_nodereclaim pgrefill pgscan pgsteal
        pgactivate pgdeactivate pglazyfree pglazyfreed thp_fault_alloc
        thp_collapse_alloc""".split())
    st = ns_read("memory.stat") or ""
    missing = [k for k, v in (l.split() for l in st.splitlines() if l)
               if k in stat_fields and int(v) > 0 and not mem.get(k)]
    ok(st != "" and not missing,
       "memory.stat counters set in the file but not in Stats: %s" % missing)
else:
    # memory.pressure exists with PSI whatever the controllers (containerd
    # 2.x reports it), so only the controller's own values must be absent.
    own = {k: v for k, v in mem.items() if k != "psi"}
    ok(not own, "no memory values without the memory controller: %s" % mem)
    print("SKIP-part: memory controller not available in cgroup2 here "
          "(bound to the v1 hierarchy), so the v2 OOM path runs only in "
          "unit tests (fixtures + real inotify on a real file, "
          "tests/unit/test_oom.c)")

pids = m.get("pids", {})
if "pids" in ctls:
    cur = ns_read("pids.current")
    ok(cur is not None and pids.get("current", 0) == int(cur),
       "pids.current %s == file %s" % (pids.get("current"), cur))
else:
    own = {k: v for k, v in pids.items() if k != "psi"}
    ok(not own, "no pids values without the pids controller: %s" % pids)
    print("SKIP-part: pids controller not available in cgroup2 here (bound "
          "to the v1 hierarchy)")
EOF
assert_eq 0 $? "metrics check ran"
while IFS= read -r line; do
	case $line in
	"ok "*) pass ;;
	"FAIL "*) fail "metrics: ${line#FAIL }" ;;
	SKIP-part:*) log "$line" ;;
	*) fail "metrics check: $line" ;;
	esac
done <"$T/m.check"
log "metrics JSON: $(tr -d ' \n' <"$T/m.json")"

# The reference shim in the same namespace gives the same shape.
# (memory.stat counters aside: which of those are set depends on what the
# container did, and is checked against the file above.)
shape() { # <json file>: keys, hugetlb page sizes and which values are set
	python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
limits = {"usage", "usage_limit", "swap_usage", "swap_limit"}
def walk(v, p):
    if isinstance(v, dict):
        for k in sorted(v):
            if p == ".memory" and k not in limits:
                continue
            walk(v[k], p + "." + k)
    elif isinstance(v, list):
        for e in sorted(v, key=lambda e: json.dumps(e, sort_keys=True)):
            walk(e, p + "[" + str(e.get("pagesize", "")) + "]")
    elif ".psi." not in p:
        # Pressure totals are what each container happened to wait for
        # (an idle one has none, and empty values are left out): not
        # compared.
        print(p)
walk(m, "")' "$1"
}
if [ "$SHIM" != "$GO_SHIM" ] && [ -x "$GO_SHIM" ]; then
	v2_run "$GO_SHIM" -d c2go "${CMD[@]}"
	assert_eq 0 $? "run -d with the Go shim"
	assert_eventually 10 "c2go RUNNING" status_is c2go RUNNING
	if [ -n "$hp_set" ]; then
		in_ns sh -c "echo $limit >$V2/$NS/c2go/hugetlb.$hp_set.max"
	fi
	gosock=$(cat "$BUNDLES/c2go/address" 2>/dev/null)
	# The 2.x Go shim writes no address file; containerd 2.x keeps it in
	# bootstrap.json.
	[ -n "$gosock" ] || gosock=$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' \
		"$BUNDLES/c2go/bootstrap.json" 2>/dev/null)
	# ... and serves task v3 only (its bootstrap says version 3).
	svc=containerd.task.v2.Task
	grep -q '"version":3' "$BUNDLES/c2go/bootstrap.json" 2>/dev/null &&
		svc=containerd.task.v3.Task
	assert_eq "$stats" "$(SHIMRPC_SERVICE=$svc python3 "$LIB_DIR/ns_stats.py" "$gosock" c2go)" \
		"Stats type URL and fields: ours vs the Go shim"
	ctr_ns task metrics --format json c2go >"$T/mgo.json"
	assert_eq "$(shape "$T/mgo.json")" "$(shape "$T/m.json")" \
		"metrics JSON shape: ours vs the Go shim"
	kill_and_delete c2go
fi

# exec joins the v2 cgroup; ps, pause and resume on cgroup2 (runc uses
# cgroup.procs and cgroup.freeze there).
out=$(ctr_exec --exec-id e1 c2 sh -c 'cat /proc/self/cgroup; exit 4')
assert_eq 4 $? "exec exit status"
assert_contains "$out" "0::$(container_cgroup c2)" "cgroup of the exec"
ps=$(ctr_ns task ps c2)
assert_eq 0 $? "task ps"
assert_contains "$ps" "$pid" "task ps lists the init"
assert_ok "pause" ctr_ns task pause c2
assert_eventually 10 "c2 PAUSED" status_is c2 PAUSED
assert_eq "frozen 1" "$(in_ns grep '^frozen' "$cg/cgroup.events")" "cgroup.events while paused"
assert_ok "resume" ctr_ns task resume c2
assert_eventually 10 "c2 RUNNING again" status_is c2 RUNNING
assert_eq "frozen 0" "$(in_ns grep '^frozen' "$cg/cgroup.events")" "cgroup.events after resume"

kill_and_delete c2
for id in c2 c2go; do
	grep -qx "$id" "$IDS" || continue
	assert_eventually 10 "$id: shim exited" no_privd_shim_for "$id"
	assert_eventually 5 "$id: bundle removed" _gone "$BUNDLES/$id"
	assert_eventually 5 "$id: runc state removed" _gone "$RUNC_STATE/$NS/$id"
	rel=/$NS/$id
	[ "$id" = c2 ] && rel=$(container_cgroup c2)
	assert_eventually 5 "$id: v2 cgroup removed" _gone "$PRIVD_V2ROOT_HOST$rel"
	assert_eventually 5 "$id: shim socket removed" _gone "$(sha_socket "$id")"
done
privd_teardown
