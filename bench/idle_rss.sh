#!/bin/bash
#
# bench/idle_rss.sh [shim]: RSS of an idle nanoshim daemon, printed as
# one line on stdout: idle_rss_kb=<n>
#
# The shim is started the way containerd starts it (spec 1.2): `<shim>
# -namespace .. -address .. -id .. start` in a bundle directory holding
# a `{}` config.json and a `log` FIFO that is drained, TTRPC_ADDRESS set.
# The daemon `start` spawns is measured (VmRSS) 1 s later, before any
# call reaches it, then stopped with Shutdown over ttrpc (SIGKILL by pid
# if that fails).  No containerd is needed.  The median of IDLE_RUNS
# (default 3) shims is printed; diagnostics go to stderr.
#
# shim: default $NANOSHIM, else build/containerd-shim-nanoshim-v2.
# Exit: 0 ok, 1 failure, 77 not runnable here (not root).

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${IDLE_RUNS:-3}
need_count "$RUNS" "IDLE_RUNS must be a positive number"

bench_binary "${1:-}"
bench_traps
bench_dir

: >"$D/idle.rss"
for ((i = 1; i <= RUNS; i++)); do
	m=$(idle_measure "$NANO" "idle$i" 1) || die "idle measurement $i failed"
	read -r rss _ <<<"$m"
	echo "$rss" >>"$D/idle.rss"
done
read -r _ med _ _ _ <<<"$(stats <"$D/idle.rss")"
bench_kv "idle_rss_kb=$med"
echo "idle_rss_kb=$med"
