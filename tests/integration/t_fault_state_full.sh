# shellcheck shell=bash
# Fault: the bundle directory's file system is full.  The test mounts a
# 4 MiB tmpfs over the namespace's bundle directory (where containerd
# makes each task's bundle) for its duration.
#
#   create: the runc wrapper fills the file system just before runc
#     create runs (containerd and the shim's start have written their
#     files; runc's log.json and init.pid, the shim's reads of them, do
#     not fit).  ctr run fails with an error, nothing of the container is
#     left, and once there is room again a container runs.
#   exec: the file system is filled under a running container.  The exec
#     fails with an error (nanoshim: writing the exec's process spec into
#     the bundle; the Go shim: runc's pid file), the shim keeps serving,
#     the container keeps running; once there is room the next exec
#     works, no half-written spec file is left and the shim's fds are
#     back where they were.
# TIMEOUT: 120

. "$LIB_DIR/fault_lib.sh"
fault_setup || exit 1

mkdir -p "$BUNDLES" || exit 1
assert_ok "tmpfs on the bundle directory" \
	mount -t tmpfs -o size=4m,mode=0711 nanoshim-fault "$BUNDLES" || exit 1
# Unmount on the way out, whatever happens (the runner checks mounts).
# shellcheck disable=SC2154 # _rc is set by the trap itself
trap '_rc=$?; rm -f "$BUNDLES/.fill"; umount "$BUNDLES" 2>/dev/null ||
	umount -l "$BUNDLES" 2>/dev/null; (exit $_rc); test_end' EXIT

# --- create -----------------------------------------------------------
fault_arm create fill "$BUNDLES"
out=$(fault_run -d ff1 sleep 1000 2>&1)
rc=$?
log "create on a full file system: rc $rc: $out"
assert_ok "create: the fault was used" fault_taken create fill
assert_ne 0 "$rc" "create: ctr run fails"
assert_eventually 10 "create: no task" no_task ff1
rm -f "$BUNDLES/.fill"
quiet ctr_ns container rm ff1
no_leftovers ff1 --socket-may-stay
no_zombies

# --- room again: a container runs ---------------------------------------
assert_ok "run -d ff2" fault_run -d ff2 sleep 1000 || exit 1
assert_eventually 10 "ff2 RUNNING" status_is ff2 RUNNING || exit 1
shim=$(shim_pid_for ff2)
assert_ne "" "$shim" "ff2: shim pid" || exit 1
out=$(ctr_exec --exec-id warm ff2 echo warm 2>&1)
assert_eq warm "$out" "exec before the fault"
sleep 0.5
fds=$(fd_count "$shim")

# --- exec on a full file system ---------------------------------------
dd if=/dev/zero of="$BUNDLES/.fill" bs=64k >/dev/null 2>&1
assert_eq 0 "$(df --output=avail "$BUNDLES" | tail -1 | tr -d ' ')" \
	"the bundle file system is full"
out=$(ctr_exec --exec-id ef ff2 echo never 2>&1)
rc=$?
log "exec on a full file system: rc $rc: $out"
assert_ne 0 "$rc" "exec: fails"
assert_ok "exec: the shim answers" shim_serving ff2
assert_eq RUNNING "$(task_status ff2)" "exec: the container still runs"
rm -f "$BUNDLES/.fill"
# ctr leaves a failed exec registered (Go shim: Exec worked, Start did
# not); a client deletes it.
quiet ctr_ns task delete --exec-id ef ff2
out=$(ctr_exec --exec-id e2 ff2 sh -c 'echo room; exit 4' 2>&1)
assert_eq 4 $? "exec with room again: exit status"
assert_eq room "$out" "exec with room again: output"
assert_eq "" "$(find "$BUNDLES/ff2" -name '.nanoshim-exec-*' 2>/dev/null)" \
	"no exec spec file left"
assert_shim_steady "$shim" "$fds" "exec"
no_zombies

kill_and_delete ff2
no_leftovers ff2
