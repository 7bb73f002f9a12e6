# shellcheck shell=bash
# Fault: runc hangs (the wrapper of fault_lib.sh becomes `sleep` instead
# of running runc).  While it hangs the shim keeps serving: State of the
# same container and of another one answer at once.  The hung call ends
# at the client's deadline (ctr --timeout 6s, which containerd passes to the
# shim as the request's timeout): the shim SIGKILLs the runc child then
# (so does the Go shim: exec.CommandContext), answers with an error, and
# nothing is left: no sleeping wrapper, no zombie, the shim's fds back
# where they were; the container keeps running and the next exec works.
# runc calls are serialised per container: a hung call holds up later
# runc calls of the same container until its deadline, never those of
# another container (Pids of fh2 answers while fh1's runc hangs).
#
#   exec (runc exec, Start of an exec): the deadline applies;
#   pause (runc pause): the deadline applies too; afterwards the
#     container is RUNNING again (not stuck PAUSING) and pause works.
# TIMEOUT: 120

. "$LIB_DIR/fault_lib.sh"
fault_setup || exit 1

assert_ok "run -d fh1" fault_run -d fh1 sleep 1000 || exit 1
assert_ok "run -d fh2" ctr_run -d fh2 sleep 1000 || exit 1
assert_eventually 10 "fh1 RUNNING" status_is fh1 RUNNING || exit 1
shim=$(shim_pid_for fh1)
assert_ne "" "$shim" "fh1: shim pid" || exit 1
out=$(ctr_exec --exec-id warm fh1 echo warm 2>&1)
assert_eq warm "$out" "exec before the fault"
sleep 0.5
fds=$(fd_count "$shim")

# hang_call <kind> <ctr args...>: run the call with a 3 s deadline in the
# background while checking the shim serves, then check how it ended.
hang_call() {
	local kind=$1 start took rc hung
	shift
	fault_arm "$kind" hang
	start=$(now_ms)
	timeout 30 "${CTR[@]}" --timeout 6s \
		"$@" >"$T/$kind.out" 2>&1 &
	local cpid=$!
	assert_eventually 5 "$kind: runc is hanging" fault_taken "$kind" hang
	hung=$(awk -v k="$kind" '$1 == k && $2 == "hang" { print $3 }' \
		"$FAULT_DIR/taken" | tail -1)
	assert_ok "$kind: still hanging" pid_alive "$hung"
	# The loop keeps serving while the runc child hangs.
	assert_ok "$kind: State of fh1 while runc hangs" shim_serving fh1
	assert_ok "$kind: State of fh2 while runc hangs" shim_serving fh2
	# runc calls are serialised per container: another container's
	# runc call (Pids: runc ps) does not wait for fh1's hung one.
	assert_ok "$kind: Pids of fh2 (runc ps) while fh1's runc hangs" \
		quiet ctr_bounded task ps fh2
	wait "$cpid"
	rc=$?
	took=$(($(now_ms) - start))
	log "$kind: ctr exit $rc after ${took} ms: $(head -c 300 "$T/$kind.out")"
	assert_ne 0 "$rc" "$kind: the hung call fails"
	[ "$took" -lt 15000 ] && pass || fail "$kind: the call took ${took} ms"
	assert_eventually 5 "$kind: the hung runc child is killed" \
		pid_dead "$hung"
}

hang_call exec task exec --fifo-dir "$D/fifo" --exec-id eh fh1 echo never
assert_eq RUNNING "$(task_status fh1)" "after exec: fh1 runs"
# ctr leaves the failed exec registered; a client deletes it (then the Go
# shim too closes its stdio).
quiet ctr_ns task delete --exec-id eh fh1
out=$(ctr_exec --exec-id e2 fh1 echo after 2>&1)
assert_eq after "$out" "exec after the hang"
assert_shim_steady "$shim" "$fds" "exec"

hang_call pause task pause fh1
assert_eventually 5 "after pause: fh1 RUNNING (not left PAUSING)" \
	status_is fh1 RUNNING
assert_ok "pause after the hang" ctr_ns task pause fh1
assert_eventually 5 "fh1 PAUSED" status_is fh1 PAUSED
assert_ok "resume" ctr_ns task resume fh1
assert_eventually 5 "fh1 RUNNING again" status_is fh1 RUNNING
assert_shim_steady "$shim" "$fds" "pause"
no_zombies

kill_and_delete fh1
kill_and_delete fh2
no_leftovers fh1
no_leftovers fh2
