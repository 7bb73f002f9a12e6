#!/bin/bash
#
# tools/demo.sh <absolute path to the nanoshim release binary>
#
# The README's demo (`make demo`): a busybox container through nanoshim,
# then one idle container on nanoshim and one on containerd's Go shim
# side by side with their memory and threads.  Installs nothing (`make
# deps` did); runs a private containerd (own sockets, state and
# namespace under a temp dir, tests/integration/lib.sh) and removes
# everything it started or created when it ends, also on ^C.
# Needs root.  Exit: 0 ok, 1 failure, 77 not runnable here.

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../bench/lib.sh
. "$HERE/../bench/lib.sh"

[ $# -eq 1 ] || die "usage: $0 /abs/path/to/containerd-shim-nanoshim-v2"
case "$1" in
/*) ;;
*) die "the shim path must be absolute: $1" ;;
esac

bench_binary "$1"
# The demo runs the binary itself, not a copy.
export BENCH_COPY=0
bench_traps

if [ -t 1 ]; then
	B=$'\e[1m' N=$'\e[0m'
else
	B='' N=''
fi
step() { printf '\n%s%s%s\n' "$B" "$*" "$N"; }

printf '%snanoshim demo%s: a containerd shim in C next to containerd'\''s Go shim\n' "$B" "$N"

step "[1/3] Starting a private containerd ..."
bench_setup || die "could not start containerd (root, and 'make deps' done?)"
say "  containerd $(containerd --version | awk '{ print $3 }'), pid $(containerd_pid), sockets and state in $D"

step "[2/3] A busybox container through nanoshim:"
say "  \$ ctr run --rm --runtime $NANO ... hello sh -c 'echo hello from nanoshim; uname -a'"
ctr_run --rm hello sh -c 'echo hello from nanoshim; uname -a' 2>&1 | sed 's/^/  | /'
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || die "the container failed (exit $rc); see $D/containerd.log"

step "[3/3] One idle container on each shim, side by side:"
SHIM=$NANO ctr_run -d demo-nano sleep 1000 >/dev/null || die "ctr run (nanoshim) failed"
SHIM=$GO_SHIM ctr_run -d demo-go sleep 1000 >/dev/null || die "ctr run (Go shim) failed"
wait_until 20 status_is demo-nano RUNNING || die "demo-nano is not running"
wait_until 20 status_is demo-go RUNNING || die "demo-go is not running"
sleep 1
pn=$(bench_shims | awk '$3 == "demo-nano" { print $1 }')
pg=$(bench_shims | awk '$3 == "demo-go" { print $1 }')
{ [ -n "$pn" ] && [ -n "$pg" ]; } || die "shim processes not found"
read -r nr np nd nt nf <<<"$(proc_mem "$pn")"
read -r gr gp gd gt gf <<<"$(proc_mem "$pg")"
{ [ -n "${nf:-}" ] && [ -n "${gf:-}" ]; } || die "cannot read /proc of the shims"
printf '  %-16s %14s %14s\n' "" "nanoshim" "Go shim"
printf '  %-16s %14s %14s\n' "shim pid" "$pn" "$pg"
printf '  %-16s %14s %14s\n' "RSS" "$(kb_human "$nr")" "$(kb_human "$gr")"
printf '  %-16s %14s %14s\n' "PSS" "$(kb_human "$np")" "$(kb_human "$gp")"
printf '  %-16s %14s %14s\n' "private dirty" "$(kb_human "$nd")" "$(kb_human "$gd")"
printf '  %-16s %14s %14s\n' "threads" "$nt" "$gt"
printf '  %-16s %14s %14s\n' "open fds" "$nf" "$gf"
say "  The Go shim takes $(awk -v a="$gr" -v b="$nr" 'BEGIN { printf "%.0f", a / b }')x the RSS and $(awk -v a="$gp" -v b="$np" 'BEGIN { printf "%.0f", a / b }')x the PSS of nanoshim, and $gt threads instead of $nt."
say "  (RSS/PSS from /proc/<pid>/smaps_rollup; 'make bench' measures more.)"

step "Cleaning up ..."
bench_teardown
say "  containers, shims, containerd and $D removed. Done."
