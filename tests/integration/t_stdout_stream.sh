# shellcheck shell=bash
# TIMEOUT: 300
# Fast output is cheap and leaves nothing running.  A container writes
# 64 MiB of zeros to stdout (`ctr run`, foreground), once with the shim
# under test and once with the Go shim, twice each, two ways: through the
# FIFO to ctr (read into wc -c) and to a file:// log (O_APPEND: no
# splice, big reads while streaming).  Each way, the shim's own CPU while
# copying (the sum of its threads' schedstat run time, from just before
# the output starts until the container's shell has exec'd `sleep`) must
# be at most half the Go shim's (the goal is 0.3; the machine is noisy),
# every byte must arrive, and after the stream the nanoshim daemon holds
# no pipe larger than the kernel's default 64 KiB (the streaming pipes
# are given back), has its anonymous memory back where it was (the
# file copy buffer is given back) and makes no context switch while the
# container sleeps (no timer left behind).
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

# one <shim> <id> <fifo|file>: "copy_ns", after checking bytes, pipes,
# memory and wakeups.
one() {
	local shim=$1 id=$2 how=$3 pid spid c0 c1 n a0 a1
	local cmd="sleep 1; head -c $BYTES /dev/zero; exec sleep 60"
	if [ "$how" = file ]; then
		mkdir -p "$T/logs"
		SHIM=$shim ctr_run --rm --log-uri="file://$T/logs/$id.log" "$id" \
			sh -c "$cmd" >/dev/null 2>&1 &
	else
		SHIM=$shim ctr_run --rm "$id" sh -c "$cmd" \
			2>/dev/null | wc -c >"$T/$id.count" &
	fi
	echo $! >>"$T/bgpids"
	wait_until 20 status_is "$id" RUNNING || { fail "$id: not running"; return 1; }
	spid=$(SHIM=$shim shim_pid_for "$id")
	[ -n "$spid" ] || { fail "$id: no shim pid"; return 1; }
	c0=$(run_ns "$spid")
	a0=$(rss_anon_kb_of "$spid")
	wait_until 60 init_is_sleep "$id" || { fail "$id: output did not end"; return 1; }
	sleep 0.5
	c1=$(run_ns "$spid")
	if [ "$shim" != "$GO" ]; then
		assert_eq "" "$(big_pipes "$spid")" "$id: pipes larger than 64 KiB after the stream"
		a1=$(rss_anon_kb_of "$spid")
		assert_ok "$id: anonymous memory back after the stream ($a0 -> $a1 kB)" \
			test "$a1" -le $((a0 + 16))
		n=$(ctx_switches "$spid")
		sleep 1
		assert_eq "$n" "$(ctx_switches "$spid")" "$id: context switches while the container sleeps"
	fi
	pid=$(task_pid "$id")
	quiet ctr_ns task kill -s SIGKILL "$id"
	wait_until 20 _gone "/proc/$pid"
	wait_until 20 no_task "$id"
	if [ "$how" = file ]; then
		assert_eq "$BYTES" "$(stat -c %s "$T/logs/$id.log")" "$id: bytes in the log"
		rm -f "$T/logs/$id.log"
	else
		wait_until 10 test -s "$T/$id.count"
		assert_eq "$BYTES" "$(cat "$T/$id.count")" "$id: bytes through stdout"
	fi
	echo "$((c1 - c0))" >"$T/$id.ns"
}

for how in fifo file; do
	p=${how:0:2}
	for i in 1 2; do
		one "$SHIM" "${p}n$i" "$how" || exit 1
		one "$GO" "${p}g$i" "$how" || exit 1
	done
	nano=$(cat "$T/${p}n1.ns" "$T/${p}n2.ns" | sort -n | head -1)
	go=$(cat "$T/${p}g1.ns" "$T/${p}g2.ns" | sort -n | head -1)
	log "$how: shim CPU for 64 MiB (best of 2): ${SHIM##*/} $((nano / 1000000)) ms," \
		"Go shim $((go / 1000000)) ms"
	assert_ok "$how: shim CPU ($((nano / 1000000)) ms) at most half the Go shim's ($((go / 1000000)) ms)" \
		test $((nano * 2)) -le "$go"
	for id in "${p}n1" "${p}n2" "${p}g1" "${p}g2"; do
		no_leftovers "$id"
	done
done
