#!/bin/bash
#
# run.sh: the CRI cases (tests/cri/cases.py) against a private containerd
# with its CRI plugin on, in a private network namespace with a CNI bridge,
# offline images, and our own CRI client (tests/cri/lib.sh says how).
#
# Usage
#   SHIM=/abs/path/to/shim tests/cri/run.sh [case-glob...]
#
#   SHIM is the binary behind the pods' runtime handler `nanoshim`; unset,
#   it is the Go shim /usr/bin/containerd-shim-runc-v2: every case passes
#   with both (that is how the cases were checked).
#
# Environment: CONTAINERD_BIN, CTR_BIN, CTRD_CONFIG_VERSION (see lib.sh),
#   CASE_TIMEOUT (per case, default 120 s), KEEP_D=1 keeps the directory
#   (containerd.log, pod logs).
# Needs root, containerd with CRI, runc, busybox-static,
# containernetworking-plugins, python3-grpcio, and what `make cri-deps`
# builds (build/cri/pause, build/cri-api/py).
# Exit: 0 all passed or skipped, 1 a case failed or leaked, 2 setup error,
# 77 not runnable here (with a SKIP: line).

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHIM=${SHIM:-/usr/bin/containerd-shim-runc-v2}
CRI_TRACE_GO=1
export SHIM CRI_TRACE_GO
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

trap cri_teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
t0=$(now_ms)
cri_setup
echo "CRI suite dir $D, netns $NETNS, containerd $("$CONTAINERD_BIN" --version | awk '{print $3}'), shim $SHIM (setup $(( $(now_ms) - t0 )) ms)"
# nanoshim: the integration suite's invariant sampler watches every shim
# (one thread, VmData and anonymous mappings never grow, no zombie
# children) while the cases run.
_sampler_wanted && sampler_start
"$PY" "$HERE/cases.py" "$@"
rc=$?
if [ -e "$D/sampler.pid" ]; then
	sampler_stop
	read -r samples nshims 2>/dev/null <"$D/sampler.stats"
	echo "invariant sampler: ${samples:-0} samples of ${nshims:-0} shim processes"
	if [ -s "$D/invariants.log" ]; then
		echo "FAIL (sampler): shim invariants violated:"
		head -50 "$D/invariants.log" | sed 's/^/    /'
		rc=1
	fi
fi
if [ "$rc" -ne 0 ] && [ "${KEEP_D:-0}" != 1 ]; then
	echo "--- containerd.log (errors, last 30) ---"
	grep -E 'level=(error|warning)' "$D/containerd.log" | tail -30 | cut -c1-400
fi
exit "$rc"
