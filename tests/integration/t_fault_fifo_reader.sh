# shellcheck shell=bash
# Fault: the reader of a container's stdout FIFO goes away in the middle
# of a large stream, and comes back only after containerd restarted.
#
# The container prints lines 1..M, waits for a file, then prints M+1..N
# (FIFO_MB of output in all: 8 in make test, 100 in make test-matrix).
# `ctr run` reads the first part, then is SIGKILLed; the rest is written
# with no reader: the container blocks once the FIFO and pipe are full
# (back-pressure).  What must survive: the shim (same pid throughout),
# its memory (nanoshim: the invariant sampler sees no VmData or anonymous
# growth; both shims: RSS grows by less than 2 MiB while the container is
# blocked: no unbounded buffering), and the data: after containerd
# restarts, `ctr task attach` (a new reader on the same FIFOs) gets
# exactly lines M+1..N, nothing lost, nothing twice, and the exit status.
# (containerd 1.6 then deletes the task by itself, with either shim.)
# TIMEOUT: 300

. "$LIB_DIR/fault_lib.sh"

mb=${FIFO_MB:-8}
# seq prints ~8 bytes a line at these sizes.
n=$((mb * 1024 * 1024 / 8))
m=$((n / 10))
id=fr1
go=$ROOTFS/tmp/fr1-go
rm -f "$go"

# ctr itself in the background (not a function's subshell): its pid is
# the reader's.
"${CTR[@]}" run --runtime "$SHIM" --fifo-dir "$D/fifo" --env PATH=/bin \
	--rootfs "$ROOTFS" "$id" sh -c \
	"seq 1 $m; while [ ! -e /tmp/fr1-go ]; do usleep 20000; done; seq $((m + 1)) $n" \
	>"$T/part1" 2>"$T/run.err" &
rpid=$!
echo "$rpid" >>"$T/bgpids"
seq 1 "$m" >"$T/want1"
want1=$(wc -c <"$T/want1")
_part1_done() {
	[ "$(wc -c <"$T/part1")" -ge "$want1" ]
}
assert_eventually 60 "the first $m lines read by ctr run" _part1_done || exit 1
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
rss0=$(rss_kb_of "$shim")
kill -KILL "$rpid"
wait "$rpid" 2>/dev/null
assert_file_eq "$T/want1" "$T/part1" "lines 1..$m"

# The rest goes out with nobody reading: the container must block.
touch "$go"
sleep 3
assert_eq RUNNING "$(task_status "$id")" "the container is blocked (RUNNING)"
assert_ok "shim alive with no reader" pid_alive "$shim"
rss1=$(rss_kb_of "$shim")
log "shim RSS ${rss0} kB with a reader, ${rss1} kB blocked with none"
[ $((rss1 - rss0)) -lt 2048 ] && pass ||
	fail "shim RSS grew from $rss0 to $rss1 kB with no reader"

assert_ok "containerd stopped" containerd_stop || exit 1
assert_ok "containerd restarted" containerd_start || exit 1
assert_eventually 10 "the task is back" status_is "$id" RUNNING
assert_eq "$shim" "$(shim_pid_for "$id")" "the same shim after restart"

timeout 240 "${CTR[@]}" task attach "$id" \
	>"$T/part2" 2>"$T/attach.err"
rc=$?
log "attach: exit $rc, $(wc -c <"$T/part2") bytes; $(head -c 200 "$T/attach.err")"
assert_eq 0 "$rc" "attach: the container's exit status"
seq $((m + 1)) "$n" >"$T/want2"
assert_file_eq "$T/want2" "$T/part2" "lines $((m + 1))..$n after the restart"
# containerd 1.6 deletes the task itself once it exits after containerd
# was restarted (the same with both shims); else it is STOPPED.
_stopped_or_gone() {
	status_is "$id" STOPPED || no_task "$id"
}
assert_eventually 10 "$id STOPPED or deleted by containerd" _stopped_or_gone
no_task "$id" || assert_ok "task rm" quiet ctr_ns task rm "$id"
assert_ok "container rm" ctr_ns container rm "$id"
rm -f "$go" "$T/part1" "$T/part2" "$T/want1" "$T/want2"
no_leftovers "$id"
