# shellcheck shell=bash
# TIMEOUT: 180
# Fast output is cheap and leaves nothing running.  A container writes
# 64 MiB of zeros to stdout (`ctr run`, foreground, read into wc -c), once
# with the shim under test and once with the Go shim, twice each; the
# shim's own CPU while copying (the sum of its threads' schedstat run
# time, from just before the output starts until the container's shell
# has exec'd `sleep`) must be at most half the Go shim's (the goal is
# 0.3; the machine is noisy), every byte must arrive, and after the
# stream the nanoshim daemon holds no pipe larger than the kernel's
# default 64 KiB (the streaming pipes are given back) and makes no
# context switch while the container sleeps (no timer left behind).
# nanoshim only: against the Go shim it would compare the Go shim with
# itself.

is_nanoshim || skip "compares nanoshim with the Go shim"
GO=/usr/bin/containerd-shim-runc-v2
[ -x "$GO" ] || skip "no Go shim at $GO"
BYTES=$((64 << 20))
PY=/usr/bin/python3

# run_ns <pid>: nanoseconds on a CPU, all threads.
run_ns() {
	local f s=0 v
	for f in /proc/"$1"/task/*/schedstat; do
		read -r v _ 2>/dev/null <"$f" || continue
		s=$((s + v))
	done
	echo "$s"
}

ctx_switches() { # <pid>: voluntary + involuntary
	awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/"$1"/status
}

init_is_sleep() { # <id>
	local p
	p=$(task_pid "$1")
	[ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ]
}

# big_pipes <pid>: fds of pid that are pipes larger than 64 KiB.
big_pipes() {
	"$PY" - "$1" <<'EOF'
import fcntl, os, sys
pid = sys.argv[1]
for fd in os.listdir("/proc/%s/fd" % pid):
    p = "/proc/%s/fd/%s" % (pid, fd)
    try:
        if not os.readlink(p).startswith("pipe:"):
            continue
        f = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    try:
        sz = fcntl.fcntl(f, 1032)  # F_GETPIPE_SZ
        if sz > 65536:
            print("fd %s: %d" % (fd, sz))
    finally:
        os.close(f)
EOF
}

# one <shim> <id>: "copy_ns", after checking bytes, pipes and wakeups.
one() {
	local shim=$1 id=$2 pid spid c0 c1 n
	SHIM=$shim ctr_run --rm "$id" sh -c \
		"sleep 1; head -c $BYTES /dev/zero; exec sleep 60" \
		2>/dev/null | wc -c >"$T/$id.count" &
	echo $! >>"$T/bgpids"
	wait_until 20 status_is "$id" RUNNING || { fail "$id: not running"; return 1; }
	spid=$(SHIM=$shim shim_pid_for "$id")
	[ -n "$spid" ] || { fail "$id: no shim pid"; return 1; }
	c0=$(run_ns "$spid")
	wait_until 60 init_is_sleep "$id" || { fail "$id: output did not end"; return 1; }
	sleep 0.5
	c1=$(run_ns "$spid")
	if [ "$shim" != "$GO" ]; then
		assert_eq "" "$(big_pipes "$spid")" "$id: pipes larger than 64 KiB after the stream"
		n=$(ctx_switches "$spid")
		sleep 1
		assert_eq "$n" "$(ctx_switches "$spid")" "$id: context switches while the container sleeps"
	fi
	pid=$(task_pid "$id")
	quiet ctr_ns task kill -s SIGKILL "$id"
	wait_until 20 _gone "/proc/$pid"
	wait_until 20 no_task "$id"
	wait_until 10 test -s "$T/$id.count"
	assert_eq "$BYTES" "$(cat "$T/$id.count")" "$id: bytes through stdout"
	echo "$((c1 - c0))" >"$T/$id.ns"
}

for i in 1 2; do
	one "$SHIM" "sn$i" || exit 1
	one "$GO" "sg$i" || exit 1
done
nano=$(cat "$T"/sn1.ns "$T"/sn2.ns | sort -n | head -1)
go=$(cat "$T"/sg1.ns "$T"/sg2.ns | sort -n | head -1)
log "shim CPU for 64 MiB (best of 2): ${SHIM##*/} $((nano / 1000000)) ms," \
	"Go shim $((go / 1000000)) ms"
assert_ok "shim CPU ($((nano / 1000000)) ms) at most half the Go shim's ($((go / 1000000)) ms)" \
	test $((nano * 2)) -le "$go"
for id in sn1 sn2 sg1 sg2; do
	no_leftovers "$id"
done
