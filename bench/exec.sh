#!/bin/bash
#
# bench/exec.sh [R=100]: exec round trip against one running container
# per shim, nanoshim against the Go shim.
#
# Two measurements, both interleaved between the shims:
#  1. `ctr task exec --exec-id eN <id> true`: R runs per shim, wall time
#     (includes ctr's own start-up and containerd, the same for both).
#  2. Straight to the shim socket (bench/exec_rpc.py, tools/ttrpc.py as a
#     library): Exec -> Wait (parked) -> Start -> Wait returns -> Delete,
#     R cycles per shim with null IO; the shim and runc are all that is
#     measured.  Also per call (Exec, Start, Wait, Delete).
#     Interleaved with them, the floor both shims share: runc alone, as
#     they run it (`runc exec --detach`, then reap the process); the
#     ttrpc time minus the floor is each shim's own share.
# Also the shims' RSS before and after all the execs.
# Prints median and p90 per shim and the ratio nanoshim/Go (< 1: faster).
#
# Environment: NANOSHIM, GO_SHIM, WARMUP (default 5), BENCH_KV.
# Exit: 0 ok, 1 failure, 77 not runnable here.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R=${1:-100}
WARMUP=${WARMUP:-5}
need_count "$R" "usage: $0 [R>0]"

bench_binary ""
bench_traps
START=$(now_us)
bench_setup

SHIM=$NANO ctr_run -d ex-nano sleep 1000 >/dev/null || die "ctr run ex-nano failed"
SHIM=$GO_SHIM ctr_run -d ex-go sleep 1000 >/dev/null || die "ctr run ex-go failed"
wait_until 20 status_is ex-nano RUNNING || die "ex-nano not RUNNING"
wait_until 20 status_is ex-go RUNNING || die "ex-go not RUNNING"

# shim_rss <id>: VmRSS (kB) of the shim daemon serving container id.
shim_rss() {
	local p
	p=$(bench_shims | awk -v id="$1" '$3 == id { print $1; exit }')
	[ -n "$p" ] && rss_kb_of "$p"
}
sleep 1
rss0_nano=$(shim_rss ex-nano) || die "no shim for ex-nano"
rss0_go=$(shim_rss ex-go) || die "no shim for ex-go"

# --- 1. ctr task exec --------------------------------------------------------
one_exec() { # <id> <exec-id>: prints microseconds
	local t0 t1 out
	t0=$(now_us)
	out=$(ctr_exec --exec-id "$2" "$1" true 2>&1) || {
		log "ctr task exec $2 in $1 failed: $out"
		return 1
	}
	t1=$(now_us)
	echo $((t1 - t0))
}

say "exec: ctr task exec, $WARMUP warm-up + $R timed per shim ..." >&2
for ((i = 1; i <= WARMUP; i++)); do
	one_exec ex-nano "w$i" >/dev/null || die "warm-up failed"
	one_exec ex-go "w$i" >/dev/null || die "warm-up failed"
done
: >"$D/ctr.nano"
: >"$D/ctr.go"
for ((i = 1; i <= R; i++)); do
	if ((i % 2)); then order="nano go"; else order="go nano"; fi
	for k in $order; do
		us=$(one_exec "ex-$k" "e$i") || die "exec $i ($k) failed"
		echo "$us" >>"$D/ctr.$k"
	done
done
read -r _ cnmed cnp90 _ _ <<<"$(stats <"$D/ctr.nano")"
read -r _ cgmed cgp90 _ _ <<<"$(stats <"$D/ctr.go")"

# --- 2. straight to the shim socket -------------------------------------------
say "exec: ttrpc Exec/Wait/Start/Delete, $R cycles per shim ..." >&2
addr_nano=$(cat "$BUNDLES/ex-nano/address") || die "no address file for ex-nano"
addr_go=$(cat "$BUNDLES/ex-go/address") || die "no address file for ex-go"
"$PY" "$BENCH_LIB_DIR/exec_rpc.py" --ns "$NS" --cycles "$R" --warmup "$WARMUP" \
	"nano=$addr_nano=ex-nano" "go=$addr_go=ex-go" \
	"runc=runc:$RUNC_STATE/$NS=ex-nano" >"$D/rpc.out" ||
	die "exec_rpc.py failed"
kv_of() { # <name> <key>
	awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$D/rpc.out"
}
rnmed=$(kv_of nano median_us)
rnp90=$(kv_of nano p90_us)
rgmed=$(kv_of go median_us)
rgp90=$(kv_of go p90_us)
rcmed=$(kv_of runc median_us)
rcp90=$(kv_of runc p90_us)
{ [ -n "$rnmed" ] && [ -n "$rgmed" ]; } || die "exec_rpc.py printed no result"

for k in nano go; do
	[ "$(task_status "ex-$k")" = RUNNING ] || die "ex-$k not RUNNING after the execs"
done

sleep 1
rss1_nano=$(shim_rss ex-nano) || die "no shim for ex-nano"
rss1_go=$(shim_rss ex-go) || die "no shim for ex-go"

say "Exec round trip, $R per shim (interleaved), ms"
say ""
printf '%-34s %9s %9s %9s %9s %9s\n' "" "nano med" "nano p90" "Go med" "Go p90" "nano/Go"
printf '%-34s %9s %9s %9s %9s %9s\n' "ctr task exec ... true" \
	"$(ms "$cnmed")" "$(ms "$cnp90")" "$(ms "$cgmed")" "$(ms "$cgp90")" "$(ratio "$cnmed" "$cgmed")"
printf '%-34s %9s %9s %9s %9s %9s\n' "ttrpc Exec+Wait+Start+Delete" \
	"$(ms "$rnmed")" "$(ms "$rnp90")" "$(ms "$rgmed")" "$(ms "$rgp90")" "$(ratio "$rnmed" "$rgmed")"
printf '%-34s %9s %9s\n' "runc exec alone, no shim (floor)" "$(ms "$rcmed")" "$(ms "$rcp90")"
ovn=$((${rnmed%.*} - ${rcmed%.*}))
ovg=$((${rgmed%.*} - ${rcmed%.*}))
printf '%-34s %9s %9s %9s %9s %9s\n' "shim's own share (ttrpc - floor)" \
	"$(ms "$ovn")" "" "$(ms "$ovg")" "" "$(ratio "$ovn" "$ovg")"
if [ "$ovn" -lt 0 ] || [ "$ovg" -lt 0 ]; then
	say "  (below zero: runc exec alone took longer than a whole round trip;"
	say "   the machine was too busy for this difference to mean anything)"
fi
say ""
say "per call, ttrpc (median ms)        nanoshim   Go shim   nano/Go"
for ph in exec start wait delete; do
	vn=$(kv_of nano "${ph}_median_us")
	vg=$(kv_of go "${ph}_median_us")
	printf '  %-30s %9s %9s %9s\n' "$ph" "$(ms2 "$vn")" "$(ms2 "$vg")" "$(ratio "$vn" "$vg")"
	bench_kv "exec_rpc_${ph}_nano_median_ms=$(ms2 "$vn")" "exec_rpc_${ph}_go_median_ms=$(ms2 "$vg")"
done
say "  (wait: from Start's reply until the parked Wait's reply)"
say ""
say "shim RSS before / after the $((2 * (R + WARMUP))) execs (kB): nanoshim $rss0_nano / $rss1_nano, Go shim $rss0_go / $rss1_go"
bench_kv "exec_nano_rss_before_kb=$rss0_nano" "exec_nano_rss_after_kb=$rss1_nano" \
	"exec_go_rss_before_kb=$rss0_go" "exec_go_rss_after_kb=$rss1_go"
bench_kv "exec_runs=$R" \
	"exec_ctr_nano_median_ms=$(ms "$cnmed")" "exec_ctr_go_median_ms=$(ms "$cgmed")" \
	"exec_ctr_nano_p90_ms=$(ms "$cnp90")" "exec_ctr_go_p90_ms=$(ms "$cgp90")" \
	"exec_ctr_ratio_nano_over_go=$(ratio "$cnmed" "$cgmed")" \
	"exec_rpc_nano_median_ms=$(ms "$rnmed")" "exec_rpc_go_median_ms=$(ms "$rgmed")" \
	"exec_rpc_nano_p90_ms=$(ms "$rnp90")" "exec_rpc_go_p90_ms=$(ms "$rgp90")" \
	"exec_rpc_ratio_nano_over_go=$(ratio "$rnmed" "$rgmed")" \
	"exec_runc_alone_median_ms=$(ms "$rcmed")" "exec_runc_alone_p90_ms=$(ms "$rcp90")" \
	"exec_overhead_nano_ms=$(ms "$ovn")" "exec_overhead_go_ms=$(ms "$ovg")" \
	"exec_overhead_ratio_nano_over_go=$(ratio "$ovn" "$ovg")"

bench_teardown
say "exec.sh: done in $(ms $(($(now_us) - START))) ms" >&2
