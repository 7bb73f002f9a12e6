#!/bin/bash
#
# bench/pods.sh [shim]: pods per node through Kubernetes' CRI: N pods
# (sandbox + 2 containers each) on nanoshim and on the Go shim, on one
# private containerd with its CRI plugin on (tests/cri/lib.sh: own
# sockets and state, a network namespace with a CNI bridge, offline
# images), in the same run.  bench/pods.py measures and prints.
#
# shim: our binary, default build/containerd-shim-nanoshim-v2.
# Environment: PODS (50), ROUNDS (1), RESULTS (default
# bench/results/pods.txt; "-" prints only), BENCH_KV, GO_SHIM,
# CONTAINERD_BIN/CTR_BIN (tests/cri/lib.sh).  containerd logs at "info",
# so the shims run without -debug, as in production.
# Needs root.  Exit: 0 measured, 1 failed, 77 not runnable here.

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHIM=${1:-${NANOSHIM:-$HERE/../build/containerd-shim-nanoshim-v2}}
case "$SHIM" in
/*) ;;
*) SHIM=$PWD/$SHIM ;;
esac
export SHIM
PODS=${PODS:-50}
ROUNDS=${ROUNDS:-1}
RESULTS=${RESULTS:-$HERE/results/pods.txt}
CRI_LOG_LEVEL=${CRI_LOG_LEVEL:-info}
export PODS ROUNDS CRI_LOG_LEVEL
# shellcheck source-path=SCRIPTDIR source=../tests/cri/lib.sh
. "$HERE/../tests/cri/lib.sh"

case "$PODS$ROUNDS" in
*[!0-9]*) log "PODS and ROUNDS must be whole numbers" && exit 2 ;;
esac
trap cri_teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cri_setup
out=$D/pods.out
{
	echo "nanoshim pods-per-node benchmark (bench/pods.sh)"
	echo "================================================"
	echo "host:       $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%d MB", $2/1024}' /proc/meminfo)"
	echo "containerd: $("$CONTAINERD_BIN" --version | awk '{print $3}'); runc $(runc --version | awk 'NR==1 {print $3}')"
	echo "shims:      nanoshim $SHIM; Go $GO_SHIM"
	echo ""
} >"$out"
"$PY" "$HERE/pods.py" >>"$out"
rc=$?
cat "$out"
if [ "$RESULTS" != - ] && [ "$rc" -eq 0 ]; then
	mkdir -p "$(dirname "$RESULTS")" && cp "$out" "$RESULTS" &&
		echo "written to $RESULTS" >&2
fi
exit "$rc"
