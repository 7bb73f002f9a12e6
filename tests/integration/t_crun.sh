# shellcheck shell=bash
# crun instead of runc (runc option binary_name, spec 1.5 and 5): our shim
# drives crun for create, start, exec, kill and delete with runc's CLI.
#
# crun refuses this host's hybrid cgroup layout, so a private containerd
# runs in a private mount namespace where /sys/fs/cgroup/unified is
# unmounted (plain cgroup v1 there; ns_privd.sh).  ctr sends runc options
# only for the runtime name io.containerd.runc.v2, which containerd
# resolves to containerd-shim-runc-v2 in its cwd first: our shim is linked
# there, and /proc/<pid>/exe of the serving shim proves it is ours.
# --runc-binary is a wrapper that logs its argv and execs crun, so every
# runtime call made is on record; crun's own state layout (a "status"
# file where runc keeps state.json) and `crun state` confirm it.
#
# Checks: exit codes 0 and 3 and stdout of `ctr run --rm`; a detached task
# is RUNNING; exec gives its output and exit code; an exec of a missing
# binary fails with crun's message; kill and delete; nothing is left.

# shellcheck source=ns_privd.sh
. "$LIB_DIR/ns_privd.sh"

CRUN=$(command -v crun) || skip "crun not installed"
privd_start nounified --as-runc-v2

WRAP=$D/crun-logged
ARGV_LOG=$D/crun.argv
cat >"$WRAP" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>'$ARGV_LOG'
exec '$CRUN' "\$@"
EOF
chmod +x "$WRAP" || exit 1
: >"$ARGV_LOG"

crun_run() { # [run-flags...] ID CMD...: flags with values as --flag=value
	local -a flags=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
		flags+=("$1")
		shift
	done
	privd_note_id "$1"
	ctr_ns run --runtime io.containerd.runc.v2 --runc-binary "$WRAP" \
		--fifo-dir "$D/fifo" --env PATH=/bin "${flags[@]}" \
		--rootfs "$ROOTFS" "$@"
}

argv_has() { # <regex>: a logged crun call matches
	grep -Eq -- "$1" "$ARGV_LOG"
}

# 1. Foreground runs: stdout and exit codes.
out=$(crun_run --rm cr0 sh -c 'echo hello from crun' 2>"$T/cr0.err")
rc=$?
if [ "$rc" -ne 0 ] && ! argv_has ' create '; then
	fail "ctr run never reached crun (rc $rc): $(cat "$T/cr0.err")"
	exit 1
fi
# In the host's hybrid layout crun says "cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2".
if [ "$rc" -ne 0 ] && grep -q 'create failed.*cgroup' "$T/cr0.err"; then
	skip "crun refuses the cgroup layout even without the unified mount: $(cat "$T/cr0.err")"
fi
# containerd 2.x writes specs of OCI runtime-spec 1.2; Debian 12's crun
# (1.8.1) accepts ociVersion 1.0.x and 1.1.x only: "unknown version
# specified".
if [ "$rc" -ne 0 ] && grep -q 'unknown version specified' "$T/cr0.err"; then
	v=$("$CTR_BIN" oci spec 2>/dev/null | sed -n 's/.*"ociVersion": *"\([^"]*\)".*/\1/p')
	skip "$(crun --version | head -1) refuses ociVersion ${v:-?} of containerd $CTRD_VERSION's specs: $(cat "$T/cr0.err")"
fi
assert_eq 0 "$rc" "exit status of a successful run"
assert_eq "hello from crun" "$out" "stdout of the container"
crun_run --rm cr3 sh -c 'exit 3'
assert_eq 3 $? "exit status 3"
assert_ok "crun create of cr0" argv_has "^--root $RUNC_STATE/$NS --log $BUNDLES/cr0/log.json --log-format json create --bundle $BUNDLES/cr0 --pid-file $BUNDLES/cr0/init.pid cr0\$"
assert_ok "crun start of cr0" argv_has " start cr0\$"
assert_ok "crun delete of cr3" argv_has " delete cr3\$"

# 2. A detached task, served by our shim, created by crun.
crun_run -d crd sleep 1000
assert_eq 0 $? "run -d" || exit 1
assert_eventually 10 "crd RUNNING" status_is crd RUNNING || exit 1
pid=$(task_pid crd)
shim=$(privd_shim_for crd)
assert_ne "" "$shim" "serving shim of crd" || exit 1
assert_eq "$(readlink -f "$SHIM")" "$(readlink "/proc/$shim/exe")" \
	"exe of the shim serving io.containerd.runc.v2"
is_nanoshim && assert_eq 1 "$(threads_of "$shim")" "threads of the shim"
_privd_argv "$shim"
log "serving shim: pid $shim, argv ${ARGV[*]}"
case "${ARGV[0]}" in
*/containerd-shim-runc-v2) pass ;;
*) fail "shim argv[0] ${ARGV[0]}: not the containerd-shim-runc-v2 in containerd's cwd" ;;
esac
assert_ok "crun create of crd" argv_has " create --bundle $BUNDLES/crd .* crd\$"
st=$RUNC_STATE/$NS/crd
assert_ok "crun state file $st/status" test -f "$st/status"
assert_fails "no runc state.json in $st" test -e "$st/state.json"
state=$(in_ns "$CRUN" --root "$RUNC_STATE/$NS" state crd)
assert_contains "$state" '"status": "running"' "crun state crd"
assert_contains "$state" "\"pid\": $pid," "crun state: the task's pid"
assert_eq "$(cat "$BUNDLES/crd/init.pid" 2>/dev/null)" "$pid" \
	"init.pid written by crun"
# crun made the cgroup (v1 here), where the init runs.
assert_contains "$(cat "/proc/$pid/cgroup")" ":pids:/$NS/crd" "cgroup of the init"

# 3. exec: output and exit code; a missing binary gives crun's error.
out=$(ctr_exec --exec-id e1 crd sh -c 'echo exec out; exit 5')
assert_eq 5 $? "exec exit status"
assert_eq "exec out" "$out" "exec stdout"
assert_ok "crun exec" argv_has " exec --process [^ ]+ --detach --pid-file $BUNDLES/crd/e1.pid crd\$"
pfile=$(sed -n "s/.* exec --process \([^ ]*\) .*e1\.pid crd\$/\1/p" "$ARGV_LOG")
assert_ne "" "$pfile" "process file of exec e1"
assert_eventually 5 "process file $pfile removed after the exec" _gone "$pfile"
err=$(ctr_exec --exec-id e2 crd /nonexistent 2>&1)
assert_ne 0 $? "exec of a missing binary fails"
assert_contains "$err" "OCI runtime exec failed" "exec error"
assert_contains "$err" "nonexistent" "exec error names the binary"
log "exec error: $err"

# 4. metrics through the shim: without the unified mount its mode
# detection says legacy v1, and crun made v1 cgroups.
m=$(ctr_ns task metrics crd)
assert_eq 0 $? "metrics"
assert_contains "$m" "pids.current" "v1 metrics table"
assert_contains "$m" "cpuacct.usage" "v1 metrics table"
url=$(python3 "$LIB_DIR/ns_stats.py" "$(cat "$BUNDLES/crd/address")" crd | head -1)
assert_eq io.containerd.cgroups.v1.Metrics "$url" "type URL of the Stats reply"

# 5. kill and delete.
assert_ok "kill crd" ctr_ns task kill --signal SIGKILL crd
assert_eventually 10 "crd STOPPED" status_is crd STOPPED
assert_ok "crun kill" argv_has " kill crd 9\$"
assert_ok "task rm crd" quiet ctr_ns task rm crd
assert_ok "container rm crd" ctr_ns container rm crd
assert_ok "crun delete of crd" argv_has " delete crd\$"

for id in cr0 cr3 crd; do
	assert_eventually 10 "$id: shim exited" no_privd_shim_for "$id"
	assert_eventually 5 "$id: bundle removed" _gone "$BUNDLES/$id"
	assert_eventually 5 "$id: crun state removed" _gone "$RUNC_STATE/$NS/$id"
	assert_eventually 5 "$id: pids cgroup removed" _gone "$CGROUP_ROOT/pids/$NS/$id"
	assert_eventually 5 "$id: shim socket removed" _gone "$(sha_socket "$id")"
done
log "crun calls: $(wc -l <"$ARGV_LOG")"
privd_teardown
