# shellcheck shell=bash
# The shim is SIGKILLed under a running container: containerd sees the
# connection drop and runs the shim binary's `delete` action, which
# force-deletes the container with runc (its init dies) and answers exit
# status 137; containerd publishes /tasks/exit and /tasks/delete for it and
# forgets the task.  The container record deletes and nothing is left
# but the socket file (nobody removes it: not the dead shim, not the Go
# shim's `delete`, not containerd 1.6), which no one listens on.

id=sk1
events_start || exit 1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
init=$(task_pid "$id")
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid"

mark=$(wc -l <"$D/containerd.log")
kill -KILL "$shim"
assert_ok "init killed by the delete action" wait_gone 10 "$init"
assert_eventually 10 "task forgotten" no_task "$id"
assert_eventually 10 "/tasks/delete" has_event "$id" /tasks/delete
ev=$(event_line "$id" /tasks/exit)
assert_contains "$ev" "\"pid\":$init," "pid in /tasks/exit"
assert_contains "$ev" '"exit_status":137' "status in /tasks/exit"
assert_contains "$(tail -n +"$((mark + 1))" "$D/containerd.log")" \
	"cleaning up dead shim" "containerd ran the delete action"
assert_ok "container rm" ctr_ns container rm "$id"
no_leftovers "$id" --socket-may-stay
sock=$(sha_socket "$id")
if [ -e "$sock" ]; then
	assert_eq "" "$(awk -v s="$sock" '$8 == s' /proc/net/unix)" \
		"nobody listens on the stale socket"
	rm -f "$sock"
fi
