# shellcheck shell=bash
# A foreground `ctr run --rm` returns the init's exit status: 0, 3, and
# 128+9 = 137 when the init is killed by SIGKILL from the host; with
# --null-io too.  Nothing is left behind.
#
# Note: `sh -c 'kill -9 $$'` cannot produce 137.  The init is pid 1 of its
# own pid namespace and the kernel drops SIGKILL sent to it from inside
# that namespace, so the shell simply exits 0 (same with the Go shim).
# A child shell killed that way gives 137 as a plain exit code instead.

ctr_run --rm ex0 true
assert_eq 0 $? "exit status of true"
ctr_run --rm ex3 sh -c 'exit 3'
assert_eq 3 $? "exit status of exit 3"
ctr_run --rm ex9c sh -c 'sh -c "kill -9 \$\$"; exit $?'
assert_eq 137 $? "exit status 137 passed on by the init"
ctr_run --rm --null-io exn sh -c 'echo hidden; exit 42' >"$T/null.out" 2>&1
assert_eq 42 $? "exit status with --null-io"
assert_eq "" "$(cat "$T/null.out")" "output with --null-io"

ctr_run --rm ex9 sh -c 'echo ready; exec sleep 1000' >"$T/ex9.out" 2>&1 &
runpid=$!
assert_eventually 10 "ex9 started" grep -q ready "$T/ex9.out" || exit 1
pid=$(task_pid ex9)
assert_ne "" "$pid" "pid of ex9"
kill -KILL "$pid"
wait "$runpid"
assert_eq 137 $? "exit status after host SIGKILL"

for id in ex0 ex3 ex9c exn ex9; do
	no_leftovers "$id"
done
