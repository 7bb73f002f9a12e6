# shellcheck shell=bash
# TIMEOUT: 900
# Many exec cycles leave nothing behind.  One running container; EXEC_CYCLES
# (default 10000) cycles of Exec -> Wait -> Start -> Delete go straight to
# its shim's socket (wire_exec.py), 4 connections at a time, each exec
# running `sh -c 'exit <i % 7>'`; every cycle's Wait and Delete must report
# that status.  Before and after: the same files in the bundle (no
# <exec-id>.pid, no .nanoshim-exec-*.json), the task still RUNNING, no
# zombie child.  nanoshim only: after a warm-up of 100 cycles (at twice
# the concurrency, so that every pool's high-water mark is already above
# what the measured run reaches; a page first written late shows once, so
# after growth a second batch of N/2 must not move it), the shim's resident anonymous memory
# (RssAnon: pools, scratch, stack), VmData and fd count are exactly the
# same after the cycles, once the shim is at rest (it gives pages back
# when its loop goes idle).  File pages (text, libc) may be touched for
# the first time during the run: they are logged, not compared.  The Go shim runs
# min(EXEC_CYCLES, 200) cycles, for correctness only.  Prints the rate.

PY=/usr/bin/python3
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"
WE=$LIB_DIR/wire_exec.py
N=${EXEC_CYCLES:-10000}
CONC=4
is_nanoshim || { [ "$N" -gt 200 ] && N=200; }


fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}


id=ec1
assert_ok "run -d" ctr_run -d "$id" sleep 100000 || exit 1
spid=$(shim_pid_for "$id")
assert_ne "" "$spid" "shim pid" || exit 1
addr=unix://$(sha_socket "$id")
files0=$(ls -A "$BUNDLES/$id")

if is_nanoshim; then
	run_checks "$PY" "$WE" "$addr" "$NS" "$id" 100 $((CONC * 2)) warm
	assert_eventually 5 "no zombie child after the warm-up" no_zombie_child "$spid"
	rss0=$(rss_kb_of "$spid")
	anon0=$(rss_anon_kb_of "$spid")
	data0=$(vmdata_kb_of "$spid")
	fds0=$(fd_count "$spid")
fi

start=$(now_ms)
run_checks "$PY" "$WE" "$addr" "$NS" "$id" "$N" "$CONC"
ms=$(($(now_ms) - start))
log "$N exec cycles in $((ms / 1000)).$((ms % 1000 / 100)) s:" \
	"$((N * 1000 / (ms > 0 ? ms : 1))) cycles/s (shim ${SHIM##*/})"

assert_eq RUNNING "$(task_status "$id")" "task still RUNNING"
assert_eventually 5 "no zombie child of the shim" no_zombie_child "$spid"
assert_eq "$files0" "$(ls -A "$BUNDLES/$id")" "bundle files unchanged"
assert_eq "" "$(find "$BUNDLES/$id" -maxdepth 1 \( -name '*.pid' ! -name init.pid \
	-o -name '.nanoshim-exec-*' \))" "no exec pid or spec file left"
if is_nanoshim; then
	anon_back() { [ "$(rss_anon_kb_of "$spid")" = "$anon0" ]; }
	if ! wait_until 5 anon_back; then
		# A page first written late (a libc data page, a deeper stack
		# frame) shows once; a leak grows with every batch.  A second
		# batch must then leave the anonymous memory where the first
		# left it.
		first=$anon0
		anon0=$(rss_anon_kb_of "$spid")
		log "resident anonymous memory $first -> $anon0 kB after the" \
			"first batch: $((N / 2)) more cycles must not move it"
		run_checks "$PY" "$WE" "$addr" "$NS" "$id" $((N / 2)) "$CONC"
		wait_until 5 anon_back
	fi
	rss1=$(rss_kb_of "$spid")
	anon1=$(rss_anon_kb_of "$spid")
	data1=$(vmdata_kb_of "$spid")
	fds1=$(fd_count "$spid")
	log "shim $spid: RSS $rss0 -> $rss1 kB (anonymous $anon0 -> $anon1)," \
		"VmData $data0 -> $data1 kB, fds $fds0 -> $fds1"
	assert_eq "$anon0" "$anon1" "RssAnon (kB) after the cycles"
	assert_eq "$data0" "$data1" "VmData (kB) after $N cycles"
	assert_eq "$fds0" "$fds1" "fd count after $N cycles"
	assert_eq 1 "$(threads_of "$spid")" "threads"
fi
kill_and_delete "$id"
no_leftovers "$id"
