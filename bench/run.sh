#!/bin/bash
#
# bench/run.sh [shim]: every benchmark, nanoshim against the Go shim, and
# a summary in bench/results/latest.txt (plain text, meant to be
# committed), which is also printed.
#
# shim: our binary, default build/containerd-shim-nanoshim-v2.
# Environment: FOOTPRINT_N (20), LIFECYCLE_R (30), EXEC_R (100), TP_R (3),
# GO_SHIM, RESULTS (output file, default bench/results/latest.txt),
# BENCH_LOCK (a lock file: each step runs holding it, `flock -o`, so a
# shared machine is held one bench at a time), and
# those of throughput.sh (TP_BYTES, TP_MODES) and density.sh (DENSITY_N,
# DENSITY_GO_MAX, LOG_SECONDS, ...); SKIP="density throughput" leaves
# steps out.
# Runs idle_rss.sh, footprint.sh, lifecycle.sh, exec.sh, throughput.sh
# and density.sh one after another (each with its own private
# containerd); a failing one is reported and the others still run.  Then
# bench/plot.py draws the charts next to RESULTS (density.png,
# throughput.png).  Exit: 0 all ran, 1 one failed.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_binary "${1:-}"
FOOTPRINT_N=${FOOTPRINT_N:-20}
LIFECYCLE_R=${LIFECYCLE_R:-30}
EXEC_R=${EXEC_R:-100}
TP_R=${TP_R:-3}
SKIP=${SKIP:-}
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
	case " $SKIP " in
	*" $name "*) say "== $name: skipped (SKIP)" >&2 && return 0 ;;
	esac
	say "== $name" >&2
	t0=$(now_us)
	${BENCH_LOCK:+flock -o "$BENCH_LOCK"} "$@" >"$W/$name.out" 2>"$W/$name.err"
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
step throughput "$BENCH_LIB_DIR/throughput.sh" "$TP_R"
step density "$BENCH_LIB_DIR/density.sh"

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

# The largest N density.sh ran for both shims, and for nanoshim.
density_top() { # <kind>
	awk -F= -v k="$1" '$1 ~ "^density_" k "_[0-9]+_charged_kib$" {
		split($1, a, "_"); if (a[3] + 0 > m) m = a[3] + 0 } END { print m + 0 }' "$BENCH_KV"
}

headline_density() {
	local n g
	n=$(density_top nano)
	g=$(density_top go)
	[ "$n" -gt 0 ] || return 0
	printf '%-40s %10s %11s %7s  %s\n' "charged per shim, N=$n (KiB, kernel incl.)" \
		"$(kv "density_nano_${n}_charged_kib")" \
		"$(if [ "$g" = "$n" ]; then kv "density_go_${n}_charged_kib"; else echo "$(kv "density_go_${g}_charged_kib")*"; fi)" \
		"$(ratio "$(kv "density_go_${g}_charged_kib")" "$(kv "density_nano_${n}_charged_kib")")x" \
		"<=100 KiB: $(verdict "$(kv "density_nano_${n}_charged_kib")" "<=" 100)"
	printf '%-40s %10s %11s\n' "  of it kernel (kmem, KiB)" \
		"$(kv "density_nano_${n}_kmem_kib")" "$(kv "density_go_${g}_kmem_kib")"
	printf '%-40s %10s %11s\n' "$n containers: start / stop (s)" \
		"$(kv "density_nano_${n}_start_s") / $(kv "density_nano_${n}_stop_s")" \
		"$(if [ "$g" = "$n" ]; then echo "$(kv "density_go_${g}_start_s") / $(kv "density_go_${g}_stop_s")"; else echo "(N=$g) $(kv "density_go_${g}_start_s") / $(kv "density_go_${g}_stop_s")"; fi)"
	printf '%-40s %10s %11s\n' "  containerd RSS at N (MiB)" \
		"$(kv "density_nano_${n}_containerd_rss_mib")" "$(kv "density_go_${g}_containerd_rss_mib")"
	printf '%-40s %10s %11s\n' "idle shims' CPU (ms/min per shim)" \
		"$(awk -v t="$(kv "density_nano_${n}_idle_cpu_ms_per_min")" -v n="$n" 'BEGIN { if (t ~ /^[0-9.]+$/) printf "%.2f", t / n; else print "?" }')" \
		"$(awk -v t="$(kv "density_go_${g}_idle_cpu_ms_per_min")" -v n="$g" 'BEGIN { if (t ~ /^[0-9.]+$/) printf "%.2f", t / n; else print "?" }')"
	printf '%-40s %10s %11s\n' "a line a second: CPU (ms/min per shim)" \
		"$(kv log_nano_cpu_ms_per_min_per_shim)" "$(kv log_go_cpu_ms_per_min_per_shim)"
	[ "$g" = "$n" ] || say "(* Go shim measured at N=$g)"
}

headline_throughput() {
	local m
	for m in fifo file binary; do
		[ "$(kv "tp_${m}_nano_mbs")" != "?" ] || continue
		printf '%-40s %10s %11s %7s  %s\n' "$(kv tp_mib) MiB stdout, $m: MB/s" \
			"$(kv "tp_${m}_nano_mbs")" "$(kv "tp_${m}_go_mbs")" \
			"$(kv "tp_${m}_throughput_ratio_nano_over_go")" \
			">=1: $(verdict "$(kv "tp_${m}_throughput_ratio_nano_over_go")" ">=" 1)"
		printf '%-40s %10s %11s %7s  %s\n' "  shim CPU (s)" \
			"$(kv "tp_${m}_nano_cpu_s")" "$(kv "tp_${m}_go_cpu_s")" \
			"$(kv "tp_${m}_cpu_ratio_nano_over_go")" \
			"$([ "$m" = binary ] && echo "(neither copies)" || echo "<=0.3: $(verdict "$(kv "tp_${m}_cpu_ratio_nano_over_go")" "<=" 0.3)")"
	done
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
		"(runc exec alone: $(kv exec_runc_alone_median_ms) ms$(case "$(kv exec_overhead_nano_ms)$(kv exec_overhead_go_ms)" in *-*) echo '; below zero: a busy machine' ;; esac))"
	printf '%-40s %10s %11s %7s\n' "exec round trip, ctr (ms, median)" \
		"$(kv exec_ctr_nano_median_ms)" "$(kv exec_ctr_go_median_ms)" "$exc"
	headline_density
	headline_throughput
	say "(memory ratios: Go/nanoshim; latency ratios: nanoshim/Go)"
	for name in footprint lifecycle exec throughput density; do
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
bench_kv "bench_stamp=$(date -u '+%Y-%m-%d'), $(uname -sr) $(uname -m), $(nproc) CPUs, containerd $(containerd --version 2>/dev/null | awk '{ print $3 }'), runc $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }'), commit $(_commit)"
summary >"$W/summary.txt"
cp "$W/summary.txt" "$RESULTS" || die "cannot write $RESULTS"
cat "$RESULTS"
say "" >&2
say "written to $RESULTS" >&2
if "$PY" "$BENCH_LIB_DIR/plot.py" "$BENCH_KV" "$(dirname "$RESULTS")"; then
	say "charts: $(dirname "$RESULTS")/density.png, throughput.png" >&2
else
	say "charts: not drawn (plot.py exit $?)" >&2
fi
[ "${#FAILED[@]}" -eq 0 ]
