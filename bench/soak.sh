#!/bin/bash
#
# bench/soak.sh [CYCLES=100000] [STEP=10000]: exec cycles against one
# running container until CYCLES, the shim's RSS, Private_Dirty, VmData
# and open fds after every STEP.  nanoshim allocates nothing after
# startup, so every row must equal the first; exit 1 if the last differs.
#
# Cycles go straight to the shim's socket over ttrpc
# (tests/integration/wire_exec.py: Exec, Wait parked first, Start, Wait's
# reply, Delete; `sh -c 'exit <i % 7>'`, each status checked), four
# connections at a time, after a warm-up of 200 cycles at eight (so every
# pool's high-water mark is reached before the first row).  A bench, not
# a test: at runc's ~15 ms per exec, 100,000 cycles take 15-30 minutes.
#
# Environment: NANOSHIM, SOAK_CONC (4), BENCH_KV.
# Exit: 0 ok, 1 failure or growth, 77 not runnable here.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CYCLES=${1:-100000}
STEP=${2:-10000}
CONC=${SOAK_CONC:-4}
need_count "$CYCLES" "usage: $0 [CYCLES>0] [STEP>0]"
need_count "$STEP" "usage: $0 [CYCLES>0] [STEP>0]"
WE=$REPO/tests/integration/wire_exec.py

bench_binary ""
bench_traps
START=$(now_us)
bench_setup

SHIM=$NANO ctr_run -d soak sleep 1000000 >/dev/null || die "ctr run failed"
wait_until 20 status_is soak RUNNING || die "container not running"
pid=$(bench_shims | awk '$3 == "soak" { print $1; exit }')
[ -n "$pid" ] || die "no shim for the container"
addr=unix://$(sha_socket soak)

# row <cycles> <seconds>: one line of the table, and into $D/rows.
row() {
	local m rss pd data fds
	m=$(proc_mem "$pid") || die "cannot read /proc/$pid"
	read -r rss _ pd _ fds <<<"$m"
	data=$(vmdata_kb_of "$pid")
	printf '%9s %8s %8s %13s %9s %5s %10s\n' "$1" "$rss" "$pd" "$data" "$fds" \
		"$(threads_of "$pid")" "$2"
	echo "$1 $rss $pd $data $fds" >>"$D/rows"
}

"$PY" "$WE" "$addr" "$NS" soak 200 $((CONC * 2)) warm >"$D/warm.out" 2>&1 ||
	die "warm-up failed: $(grep FAIL "$D/warm.out" | head -3)"
say "Soak: $CYCLES exec cycles against one container (nanoshim, $CONC connections), every $STEP"
say ""
printf '%9s %8s %8s %13s %9s %5s %10s\n' cycles "RSS kB" "Priv kB" "VmData kB" fds thr "cycles/s"
: >"$D/rows"
row 0 -
done_=0
t0=$(now_us)
while [ "$done_" -lt "$CYCLES" ]; do
	n=$STEP
	[ $((done_ + n)) -gt "$CYCLES" ] && n=$((CYCLES - done_))
	ts=$(now_us)
	"$PY" "$WE" "$addr" "$NS" soak "$n" "$CONC" "s$done_-" >"$D/step.out" 2>&1 ||
		die "cycles $done_..$((done_ + n)) failed: $(grep FAIL "$D/step.out" | head -3)"
	done_=$((done_ + n))
	row "$done_" "$(awk -v n="$n" -v us=$(($(now_us) - ts)) 'BEGIN { printf "%.0f", n / (us / 1e6) }')"
done
secs=$((($(now_us) - t0) / 1000000))
first=$(head -1 "$D/rows" | cut -d' ' -f2-)
last=$(tail -1 "$D/rows" | cut -d' ' -f2-)
say ""
say "$CYCLES cycles in $secs s; status: $(status_is soak RUNNING && echo RUNNING || echo NOT RUNNING)"
bench_kv "soak_cycles=$CYCLES" "soak_seconds=$secs" \
	"soak_rss_kb_first=$(echo "$first" | cut -d' ' -f1)" "soak_rss_kb_last=$(echo "$last" | cut -d' ' -f1)" \
	"soak_vmdata_kb_first=$(echo "$first" | cut -d' ' -f3)" "soak_vmdata_kb_last=$(echo "$last" | cut -d' ' -f3)" \
	"soak_fds_first=$(echo "$first" | cut -d' ' -f4)" "soak_fds_last=$(echo "$last" | cut -d' ' -f4)"
if [ "$first" = "$last" ]; then
	say "RSS, Private_Dirty, VmData and fds end where they started."
	rc=0
else
	say "GROWTH: first row ($first) differs from the last ($last)"
	rc=1
fi
say "soak.sh: done in $(ms $(($(now_us) - START))) ms" >&2
exit $rc
