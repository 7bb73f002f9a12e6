#!/bin/sh
# run.sh - the fuzz targets of tests/fuzz, built by the Makefile.
#
#   tests/fuzz/run.sh replay BINDIR
#       Every input of tests/fuzz/corpus/<target>/ once through its target
#       (make test): deterministic, ASan + UBSan + the no-heap guard on.
#       Fails if any input crashes, trips a sanitizer or a check.
#   tests/fuzz/run.sh fuzz BINDIR SECONDS [TARGET...]
#       Fuzz each target for SECONDS (or FUZZ_RUNS executions, if that
#       comes first), starting from its committed corpus;
#       new inputs go to build/fuzz/new/<target>, crashes to
#       build/fuzz/crash/<target>-*.  Prints executions per target.
#
# Run from anywhere; paths are the repository's.  TMPDIR (default
# /dev/shm) holds each target's private directory, removed on exit.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
mode=${1:-}
bins=${2:-build/fuzz/bin}
corpus=$root/tests/fuzz/corpus
export FUZZ_FIXTURES="$root/tests/fixtures/cgroup"
# Inputs may be large (4 MiB frames); leaks are checked at every input.
opts="-rss_limit_mb=4096 -malloc_limit_mb=4096 -detect_leaks=1"

targets() {
	for b in "$bins"/*; do
		[ -x "$b" ] && basename "$b"
	done
}

case $mode in
replay)
	fail=0
	mkdir -p build/fuzz/crash
	total=0
	start=$(date +%s)
	for t in $(targets); do
		d=$corpus/$t
		n=$(find "$d" -type f 2>/dev/null | wc -l)
		if [ "$n" -eq 0 ]; then
			echo "FAIL $t: no corpus in $d"
			fail=1
			continue
		fi
		log=build/fuzz/replay-$t.log
		# -runs=0 with a directory: each input once, nothing mutated.
		if "$bins/$t" $opts -runs=0 -artifact_prefix="$root/build/fuzz/crash/$t-" \
		    "$d" >"$log" 2>&1; then
			echo "ok   $t: $n inputs"
		else
			echo "FAIL $t: see $log"
			grep -E "ERROR|check failed|runtime error|SUMMARY" "$log" |
			    head -5 | sed 's/^/    /'
			fail=1
		fi
		total=$((total + n))
	done
	echo "fuzz corpus replay: $total inputs in $(($(date +%s) - start)) s"
	exit $fail
	;;
fuzz)
	secs=${3:-60}
	shift 3 2>/dev/null || shift $#
	list=${*:-$(targets)}
	mkdir -p build/fuzz/crash
	for t in $list; do
		new=$root/build/fuzz/new/$t
		mkdir -p "$new"
		log=build/fuzz/fuzz-$t.log
		"$bins/$t" $opts -max_total_time="$secs" -print_final_stats=1 \
		    ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
		    -artifact_prefix="$root/build/fuzz/crash/$t-" "$new" \
		    "$corpus/$t" >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' \
		    "$log")
		echo "$t: ${runs:-?} executions in ${took:-$secs} s (exit $rc)"
		[ "$rc" -eq 0 ] || grep -E "ERROR|check failed|runtime error" \
		    "$log" | head -3 | sed 's/^/    /'
	done
	;;
*)
	echo "usage: $0 replay|fuzz BINDIR [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac
