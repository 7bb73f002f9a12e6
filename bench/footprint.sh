#!/bin/bash
#
# bench/footprint.sh [N=20]: memory and thread footprint of nanoshim
# against the Go shim (containerd-shim-runc-v2), in the same run.
#
# Starts N detached `sleep 1000` busybox containers with nanoshim and N
# with the Go shim (one private containerd, interleaved, separate ids),
# waits until all are RUNNING and idle, then reads every shim daemon's
# RSS, PSS and Private_Dirty (/proc/<pid>/smaps_rollup), threads and open
# fds, and prints median and max per shim type with the Go/nanoshim
# ratios.  Also measures one idle shim of each kind: started by `start`
# in a bundle with no container, the way containerd starts it (see
# bench/idle_rss.sh).  Everything is torn down at the end.
#
# Environment: NANOSHIM (binary under test, default
# build/containerd-shim-nanoshim-v2), GO_SHIM, IDLE_SECONDS (default 2),
# BENCH_KV (file for key=value results, see run.sh).
# Exit: 0 ok, 1 failure, 77 not runnable here (not root, tool missing).

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${1:-20}
IDLE_SECONDS=${IDLE_SECONDS:-2}
need_count "$N" "usage: $0 [N>0]"

bench_binary ""
bench_traps
START=$(now_us)
bench_setup

# --- idle shims (no container) ---------------------------------------------
idle_nano=$(idle_measure "$NANO" idle-nano 1) || die "idle nanoshim failed"
idle_go=$(idle_measure "$GO_SHIM" idle-go 1) || die "idle Go shim failed"

# --- N + N running containers ----------------------------------------------
say "starting $N + $N containers (nanoshim / Go shim) ..." >&2
for ((i = 1; i <= N; i++)); do
	SHIM=$NANO ctr_run -d "nano-$i" sleep 1000 >/dev/null ||
		die "ctr run nano-$i failed"
	SHIM=$GO_SHIM ctr_run -d "go-$i" sleep 1000 >/dev/null ||
		die "ctr run go-$i failed"
done

all_running() {
	[ "$(ctr_bounded task ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"' | wc -l)" -eq $((2 * N)) ]
}
wait_until 60 all_running || die "not all $((2 * N)) tasks RUNNING"
sleep "$IDLE_SECONDS"

# --- measure ----------------------------------------------------------------
bench_shims >"$D/shims"
: >"$D/mem.nano"
: >"$D/mem.go"
while read -r pid kind id; do
	m=$(proc_mem "$pid") || die "cannot read /proc/$pid ($kind $id)"
	echo "$m" >>"$D/mem.$kind"
done <"$D/shims"
n_nano=$(wc -l <"$D/mem.nano")
n_go=$(wc -l <"$D/mem.go")
[ "$n_nano" -eq "$N" ] || die "found $n_nano nanoshim daemons, expected $N"
[ "$n_go" -eq "$N" ] || die "found $n_go Go shim daemons, expected $N"

col() { # <kind> <column 1..5> -> "median max"
	awk -v c="$2" '{ print $c }' "$D/mem.$1" | stats | awk '{ print $2, $4 }'
}

say "Footprint: $N running containers per shim (busybox sleep), idle ${IDLE_SECONDS}s"
say ""
printf '%-22s %12s %12s %12s %12s %9s\n' "" "nanoshim" "" "Go shim" "" "Go/nano"
printf '%-22s %12s %12s %12s %12s %9s\n' "per shim process" median max median max "(median)"
names=(RSS PSS Private_Dirty threads fds)
units=("kB" "kB" "kB" "" "")
for c in 1 2 3 4 5; do
	read -r nmed nmax <<<"$(col nano $c)"
	read -r gmed gmax <<<"$(col go $c)"
	r=$(ratio "$gmed" "$nmed")
	u=${units[$((c - 1))]}
	printf '%-22s %12s %12s %12s %12s %9s\n' "${names[$((c - 1))]}${u:+ ($u)}" \
		"$nmed" "$nmax" "$gmed" "$gmax" "$r"
	key=$(echo "${names[$((c - 1))]}" | tr '[:upper:]' '[:lower:]')
	bench_kv "footprint_nano_${key}_median=$nmed" "footprint_nano_${key}_max=$nmax" \
		"footprint_go_${key}_median=$gmed" "footprint_go_${key}_max=$gmax"
	case $c in
	1 | 2) bench_kv "footprint_${key}_ratio_go_over_nano=$r" ;;
	esac
done
say ""
read -r inr inp ind int inf <<<"$idle_nano"
read -r igr igp igd igt igf <<<"$idle_go"
say "Idle shim (started by 'start', no container), after 1 s:"
printf '%-22s %12s %12s %9s\n' "" "nanoshim" "Go shim" "Go/nano"
printf '%-22s %12s %12s %9s\n' "RSS (kB)" "$inr" "$igr" "$(ratio "$igr" "$inr")"
printf '%-22s %12s %12s %9s\n' "PSS (kB)" "$inp" "$igp" "$(ratio "$igp" "$inp")"
printf '%-22s %12s %12s %9s\n' "Private_Dirty (kB)" "$ind" "$igd" "$(ratio "$igd" "$ind")"
printf '%-22s %12s %12s\n' "threads" "$int" "$igt"
printf '%-22s %12s %12s\n' "fds" "$inf" "$igf"
bench_kv "idle_nano_rss_kb=$inr" "idle_nano_pss_kb=$inp" "idle_nano_private_dirty_kb=$ind" \
	"idle_nano_threads=$int" "idle_go_rss_kb=$igr" "idle_go_pss_kb=$igp" \
	"idle_go_private_dirty_kb=$igd" "idle_go_threads=$igt"

# Totals: what N containers cost in shim memory (sum of PSS).
tn=$(awk '{ s += $2 } END { print s }' "$D/mem.nano")
tg=$(awk '{ s += $2 } END { print s }' "$D/mem.go")
say ""
say "Sum of PSS over the $N shims: nanoshim $(kb_human "$tn"), Go shim $(kb_human "$tg")"
bench_kv "footprint_n=$N" "footprint_nano_pss_sum_kb=$tn" "footprint_go_pss_sum_kb=$tg"

say "tearing down ..." >&2
bench_teardown
say "footprint.sh: done in $(ms $(($(now_us) - START))) ms" >&2
