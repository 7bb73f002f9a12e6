#!/bin/bash
#
# bench/run.sh [shim]: every benchmark, nanoshim against the Go shim, and
# a summary in bench/results/latest.txt (plain text, meant to be
# committed), which is also printed.
#
# shim: our binary, default build/containerd-shim-nanoshim-v2.
# Environment: FOOTPRINT_N (20), LIFECYCLE_R (30), EXEC_R (100), GO_SHIM,
# RESULTS (output file, default bench/results/latest.txt).
# Runs idle_rss.sh, footprint.sh, lifecycle.sh and exec.sh one after
# another (each with its own private containerd); a failing one is
# reported and the others still run.  Exit: 0 all ran, 1 one failed.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_binary "${1:-}"
FOOTPRINT_N=${FOOTPRINT_N:-20}
LIFECYCLE_R=${LIFECYCLE_R:-30}
EXEC_R=${EXEC_R:-100}
RESULTS=${RESULTS:-$BENCH_LIB_DIR/results/latest.txt}

W=$(mktemp -d /tmp/nanoshim-benchrun.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export BENCH_KV=$W/kv
: >"$BENCH_KV"
# One copy for all four scripts: a `make` running meanwhile cannot give
# them different binaries.
mkdir -p "$W/bin" || die "mkdir $W/bin failed"
cp -p "$NANO_SRC" "$W/bin/$NANO_BASENAME" || die "cannot copy $NANO_SRC"
NANO_ORIG=$NANO_SRC
NANO_SRC=$W/bin/$NANO_BASENAME
export NANOSHIM=$NANO_SRC

FAILED=()
declare -A SECS=()

# step <name> <script> [args]: run one benchmark, keep its output.
step() {
	local name=$1 t0 rc
	shift
	say "== $name" >&2
	t0=$(now_us)
	"$@" >"$W/$name.out" 2>"$W/$name.err"
	rc=$?
	SECS[$name]=$(awk -v u=$(($(now_us) - t0)) 'BEGIN { printf "%.0f", u / 1e6 }')
	if [ "$rc" -ne 0 ]; then
		FAILED+=("$name (exit $rc)")
		say "   FAILED (exit $rc):" >&2
		tail -5 "$W/$name.err" | sed 's/^/   /' >&2
	else
		say "   ok, ${SECS[$name]} s" >&2
	fi
}

step idle_rss "$BENCH_LIB_DIR/idle_rss.sh" "$NANO_SRC"
step footprint "$BENCH_LIB_DIR/footprint.sh" "$FOOTPRINT_N"
step lifecycle "$BENCH_LIB_DIR/lifecycle.sh" "$LIFECYCLE_R"
step exec "$BENCH_LIB_DIR/exec.sh" "$EXEC_R"

kv() { # <key>: its value, or "?"
	local v
	v=$(awk -F= -v k="$1" '$1 == k { v = $2 } END { print v }' "$BENCH_KV")
	echo "${v:-?}"
}

# verdict <value> <op> <limit>: "met" / "NOT met" / "?"
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v !~ /^[0-9.]+$/) { print "?"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
		print ok ? "met" : "NOT met"
	}'
}

summary() {
	local idle run lc ex exc
	idle=$(kv idle_rss_kb)
	run=$(kv footprint_nano_rss_median)
	lc=$(kv lifecycle_ratio_nano_over_go)
	ex=$(kv exec_rpc_ratio_nano_over_go)
	exc=$(kv exec_ctr_ratio_nano_over_go)
	say "nanoshim benchmark results (bench/run.sh)"
	say "=========================================="
	bench_versions
	say "params:     footprint N=$FOOTPRINT_N, lifecycle R=$LIFECYCLE_R, exec R=$EXEC_R;" \
		"containerd log level $BENCH_LOG_LEVEL; medians over interleaved runs"
	say ""
	say "Headline                                   nanoshim     Go shim   ratio  target"
	printf '%-40s %10s %11s %7s  %s\n' \
		"idle shim RSS (kB)" "$idle" "$(kv idle_go_rss_kb)" "" \
		"<=150 kB: $(verdict "$idle" "<=" 150)"
	printf '%-40s %10s %11s %7s  %s\n' \
		"RSS per shim, 1 running container (kB)" "$run" \
		"$(kv footprint_go_rss_median)" "$(kv footprint_rss_ratio_go_over_nano)x" \
		"<=200 kB: $(verdict "$run" "<=" 200)"
	printf '%-40s %10s %11s %7s\n' \
		"PSS per shim, $FOOTPRINT_N containers each (kB)" \
		"$(kv footprint_nano_pss_median)" "$(kv footprint_go_pss_median)" \
		"$(kv footprint_pss_ratio_go_over_nano)x"
	printf '%-40s %10s %11s\n' "threads per shim" \
		"$(kv footprint_nano_threads_median)" "$(kv footprint_go_threads_median)"
	printf '%-40s %10s %11s %7s  %s\n' "lifecycle ctr run --rm (ms, median)" \
		"$(kv lifecycle_nano_median_ms)" "$(kv lifecycle_go_median_ms)" "$lc" \
		"<=0.9: $(verdict "$lc" "<=" 0.9)"
	printf '%-40s %10s %11s %7s  %s\n' "exec round trip, ttrpc (ms, median)" \
		"$(kv exec_rpc_nano_median_ms)" "$(kv exec_rpc_go_median_ms)" "$ex" \
		"<=0.8: $(verdict "$ex" "<=" 0.8)"
	printf '%-40s %10s %11s %7s  %s\n' "  of it: shim's own share (ms)" \
		"$(kv exec_overhead_nano_ms)" "$(kv exec_overhead_go_ms)" \
		"$(kv exec_overhead_ratio_nano_over_go)" \
		"(runc exec alone: $(kv exec_runc_alone_median_ms) ms)"
	printf '%-40s %10s %11s %7s\n' "exec round trip, ctr (ms, median)" \
		"$(kv exec_ctr_nano_median_ms)" "$(kv exec_ctr_go_median_ms)" "$exc"
	say "(memory ratios: Go/nanoshim; latency ratios: nanoshim/Go)"
	for name in footprint lifecycle exec; do
		say ""
		say "--- $name (${SECS[$name]:-?} s) ---"
		cat "$W/$name.out" 2>/dev/null
	done
	say ""
	say "--- idle_rss (${SECS[idle_rss]:-?} s) ---"
	cat "$W/idle_rss.out" 2>/dev/null
	if [ "${#FAILED[@]}" -gt 0 ]; then
		say ""
		say "FAILED: ${FAILED[*]}"
	fi
	say ""
	say "--- raw key=value ---"
	cat "$BENCH_KV"
}

mkdir -p "$(dirname "$RESULTS")" || die "cannot create $(dirname "$RESULTS")"
summary >"$W/summary.txt"
cp "$W/summary.txt" "$RESULTS" || die "cannot write $RESULTS"
cat "$RESULTS"
say "" >&2
say "written to $RESULTS" >&2
[ "${#FAILED[@]}" -eq 0 ]
