#!/bin/bash
#
# bench/lifecycle.sh [R=30]: latency of a whole container lifecycle,
# `ctr run --rm ... <id> true` (shim start, Create, Start, Wait, exit,
# Delete, shim shutdown), nanoshim against the Go shim.
#
# R timed runs per shim, interleaved (nanoshim, Go, nanoshim, Go, ...)
# after WARMUP untimed runs each, on one private containerd.  Between runs
# the script waits (untimed) until the previous run's shim has exited, so
# a shim winding down does not steal CPU from the next run.  Prints
# median, p90, min and max per shim and the ratio nanoshim/Go (< 1: we
# are faster).
#
# Environment: NANOSHIM, GO_SHIM, WARMUP (default 3), BENCH_KV.
# Exit: 0 ok, 1 failure, 77 not runnable here.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R=${1:-30}
WARMUP=${WARMUP:-3}
need_count "$R" "usage: $0 [R>0]"

bench_binary ""
bench_traps
START=$(now_us)
bench_setup

# one_run <kind> <shim> <id>: prints the latency in microseconds.
one_run() {
	local t0 t1 out
	t0=$(now_us)
	out=$(SHIM=$2 ctr_run --rm "$3" true 2>&1) || {
		log "ctr run --rm $3 ($1) failed: $out"
		return 1
	}
	t1=$(now_us)
	# Untimed: the shim exits after Delete/Shutdown; let it finish.
	wait_until 10 shim_gone "$3" || log "warning: shim of $3 still alive after 10 s"
	echo $((t1 - t0))
}

say "lifecycle: $WARMUP warm-up + $R timed runs per shim, interleaved ..." >&2
for ((i = 1; i <= WARMUP; i++)); do
	one_run nano "$NANO" "warm-nano-$i" >/dev/null || die "warm-up failed"
	one_run go "$GO_SHIM" "warm-go-$i" >/dev/null || die "warm-up failed"
done
: >"$D/lat.nano"
: >"$D/lat.go"
for ((i = 1; i <= R; i++)); do
	# Alternate which shim goes first, so neither always follows the other.
	if ((i % 2)); then
		order="nano go"
	else
		order="go nano"
	fi
	for k in $order; do
		if [ "$k" = nano ]; then s=$NANO; else s=$GO_SHIM; fi
		us=$(one_run "$k" "$s" "lc-$k-$i") || die "run $i ($k) failed"
		echo "$us" >>"$D/lat.$k"
	done
done

read -r _ nmed np90 nmax nmin <<<"$(stats <"$D/lat.nano")"
read -r _ gmed gp90 gmax gmin <<<"$(stats <"$D/lat.go")"
r_med=$(ratio "$nmed" "$gmed")
r_p90=$(ratio "$np90" "$gp90")
say "Lifecycle: ctr run --rm <id> true, $R runs per shim (interleaved), ms"
say ""
printf '%-10s %9s %9s %9s %9s\n' "" median p90 min max
printf '%-10s %9s %9s %9s %9s\n' nanoshim "$(ms "$nmed")" "$(ms "$np90")" "$(ms "$nmin")" "$(ms "$nmax")"
printf '%-10s %9s %9s %9s %9s\n' "Go shim" "$(ms "$gmed")" "$(ms "$gp90")" "$(ms "$gmin")" "$(ms "$gmax")"
printf '%-10s %9s %9s\n' "nano/Go" "$r_med" "$r_p90"
bench_kv "lifecycle_runs=$R" "lifecycle_nano_median_ms=$(ms "$nmed")" \
	"lifecycle_nano_p90_ms=$(ms "$np90")" "lifecycle_go_median_ms=$(ms "$gmed")" \
	"lifecycle_go_p90_ms=$(ms "$gp90")" "lifecycle_ratio_nano_over_go=$r_med" \
	"lifecycle_p90_ratio_nano_over_go=$r_p90"

bench_teardown
say "lifecycle.sh: done in $(ms $(($(now_us) - START))) ms" >&2
