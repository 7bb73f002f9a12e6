# shellcheck shell=bash
# Fault: runc SIGKILLed in the middle of create, start, exec and delete
# (a runc wrapper, fault_lib.sh, runs the real runc and kills it and
# itself at a chosen point).  What must survive, each time: the call
# ends with an error (no hang), the shim serving the container stays
# alive and answers, the container (when it exists) is intact, nothing is
# left a zombie, the shim's fds come back to where they were, and the
# events of the processes that did run are delivered.
#
#   create: killed once runc has written init.pid (the container's init
#     exists, runc has not finished).  ctr run fails; containerd cleans up
#     (the shim binary's delete action: runc delete --force); nothing of
#     the container is left.
#   start: killed 5 ms into runc start.  ctr run fails or not (runc may
#     have got the container going); either way the task can be killed
#     and deleted afterwards and nothing is left.
#   exec: killed once runc exec has written the exec's pid file.  The
#     exec fails; the container keeps running, a new exec works, the
#     shim's fds are back where they were.
#   delete: killed 5 ms into runc delete.  Whatever the first delete
#     answered, a second one succeeds, the container's events
#     (/tasks/exit, /tasks/delete) are delivered and nothing is left.
# TIMEOUT: 150

. "$LIB_DIR/fault_lib.sh"
fault_setup || exit 1
events_start || exit 1

# --- create -----------------------------------------------------------
fault_arm create kill pidfile
out=$(fault_run -d fk1 sleep 1000 2>&1)
rc=$?
log "create killed: rc $rc: $out"
assert_ok "create: the fault was used" fault_taken create kill
assert_ne 0 "$rc" "create: ctr run fails"
assert_eventually 10 "create: no task" no_task fk1
quiet ctr_ns container rm fk1
no_leftovers fk1 --socket-may-stay
no_zombies

# --- start ------------------------------------------------------------
fault_arm start kill ms:5
out=$(fault_run -d fk2 sleep 1000 2>&1)
rc=$?
log "start killed: rc $rc: $out"
assert_ok "start: the fault was used" fault_taken start kill
if [ "$rc" -ne 0 ]; then
	assert_contains "$out" "start" "start: the error names the start"
fi
# The task may be left CREATED, RUNNING, or gone (ctr cleans up); what
# is left can be killed and deleted.
if [ -n "$(task_status fk2)" ]; then
	assert_ok "start: the shim answers" shim_serving fk2
	quiet ctr_ns task kill --all --signal SIGKILL fk2
	assert_eventually 10 "start: task stopped or created" \
		_status_in fk2 STOPPED CREATED
	assert_ok "start: task rm" quiet ctr_ns task rm -f fk2
fi
quiet ctr_ns container rm fk2
no_leftovers fk2 --socket-may-stay
no_zombies

# --- exec -------------------------------------------------------------
assert_ok "run -d fk3" fault_run -d fk3 sleep 1000 || exit 1
assert_eventually 10 "fk3 RUNNING" status_is fk3 RUNNING || exit 1
init=$(task_pid fk3)
shim=$(shim_pid_for fk3)
assert_ne "" "$shim" "fk3: shim pid" || exit 1
# A first exec, so the fds of everything exec sets up once are counted.
out=$(ctr_exec --exec-id warm fk3 echo warm 2>&1)
assert_eq warm "$out" "exec before the fault"
sleep 0.5
fds=$(fd_count "$shim")
fault_arm exec kill pidfile
out=$(ctr_exec --exec-id ek fk3 sleep 1000 2>&1)
rc=$?
log "exec killed: rc $rc: $out"
assert_ok "exec: the fault was used" fault_taken exec kill
assert_ne 0 "$rc" "exec: ctr task exec fails"
assert_ok "exec: the shim answers" shim_serving fk3
assert_eq RUNNING "$(task_status fk3)" "exec: the container still runs"
assert_ok "exec: the init is alive" pid_alive "$init"
out=$(ctr_exec --exec-id e2 fk3 sh -c 'echo after; exit 3' 2>&1)
assert_eq 3 $? "exec after the fault: exit status"
assert_eq after "$out" "exec after the fault: output"
# ctr leaves the failed exec registered; a client deletes it.
quiet ctr_ns task delete --exec-id ek fk3
assert_shim_steady "$shim" "$fds" "exec"
no_zombies

# --- delete -----------------------------------------------------------
assert_ok "kill fk3" ctr_ns task kill --all --signal SIGKILL fk3
assert_eventually 10 "fk3 STOPPED" status_is fk3 STOPPED || exit 1
fault_arm delete kill ms:5
out=$(ctr_ns task rm fk3 2>&1)
rc=$?
log "delete killed: rc $rc: $out"
assert_ok "delete: the fault was used" fault_taken delete kill
if [ "$rc" -ne 0 ]; then
	assert_ok "delete: the shim answers after it" shim_serving fk3
	assert_ok "delete: a second delete succeeds" quiet ctr_ns task rm fk3
fi
assert_eventually 10 "delete: task gone" no_task fk3
assert_ok "container rm fk3" ctr_ns container rm fk3
assert_eventually 10 "fk3: /tasks/exit delivered" has_event fk3 /tasks/exit
assert_eventually 10 "fk3: /tasks/delete delivered" has_event fk3 \
	/tasks/delete
assert_eq 1 "$(event_topics fk3 | grep -cx /tasks/delete)" \
	"fk3: one /tasks/delete"
no_leftovers fk3
no_zombies
# The real runc children the wrapper started are gone too.
while read -r cmd kind _ _ r; do
	[ "$kind" = kill ] && [ -n "$r" ] &&
		assert_ok "$cmd: the killed runc $r is gone" wait_gone 5 "$r"
done <"$FAULT_DIR/taken"
