#!/bin/bash
#
# bench/density.sh: what a node pays per container for its shim, kernel
# included, nanoshim against the Go shim in the same run.
#
# Charged memory.  Every shim of a phase runs in one memory cgroup of the
# bench's own (cgroup v1 here: the host's memory controller is v1), so
# the kernel charges it everything the shims allocate: their anonymous
# pages, page tables, kernel stacks, task structs, sockets, pipes, epoll
# items (the v1 counter includes kernel memory; memory.kmem.usage_in_bytes
# is that part).  The shims are put there the way the runc option
# ShimCgroup does it, before they run: the runtime containerd starts is a
# small wrapper that joins the cgroup and execs the real shim, so the
# `start` process and the daemon it spawns are born inside.  Page cache
# (the binaries' text, shared by every shim on the node) is left out of
# the per-shim figure: it is reported apart ("cache").
#
# For each N in DENSITY_N (default "1 100 1000") and each shim: start N
# detached busybox `sleep` containers (DENSITY_P ctr clients at once),
# wait until all run and settle, read the cgroup, every shim's RSS, PSS
# and Private_Dirty, containerd's RSS; measure the shims' CPU while idle
# (IDLE_CPU_SECONDS, largest N only); stop them all and time it.  The Go
# shim runs only up to DENSITY_GO_MAX (default 100) containers: its
# figures at larger N are extrapolated (per-shim cost times N) and marked
# so.  Then LOG_N containers (default: the largest N; the Go shim
# min(LOG_N, DENSITY_GO_MAX), extrapolated) each print a line a second
# to a file:// log for LOG_SECONDS (60): the shims' CPU over that time.
#
# Also prints what single kernel objects cost (bench/kcost.c).
#
# Environment: NANOSHIM, GO_SHIM, DENSITY_N, DENSITY_GO_MAX, DENSITY_P,
# IDLE_CPU_SECONDS (20), LOG_N, LOG_SECONDS (60, 0: skip), BENCH_KV.
# Exit: 0 ok, 1 failure, 77 not runnable here.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DENSITY_N=${DENSITY_N:-1 100 1000}
GO_MAX=${DENSITY_GO_MAX:-100}
P=${DENSITY_P:-4}
IDLE_CPU_SECONDS=${IDLE_CPU_SECONDS:-20}
LOG_SECONDS=${LOG_SECONDS:-60}
SETTLE=${SETTLE:-3}
MCG=$CGROUP_ROOT/memory
NMAX=0
for n in $DENSITY_N; do
	need_count "$n" "DENSITY_N: positive numbers"
	[ "$n" -gt "$NMAX" ] && NMAX=$n
done
LOG_N=${LOG_N:-$NMAX}
need_count "$GO_MAX" "DENSITY_GO_MAX must be a positive number"
need_count "$P" "DENSITY_P must be a positive number"

bench_binary ""
if [ ! -w "$MCG" ] || [ ! -e "$MCG/memory.usage_in_bytes" ]; then
	skip "no writable cgroup v1 memory hierarchy at $MCG"
fi
command -v cc >/dev/null || skip "missing cc (for bench/kcost.c)"
bench_traps
START=$(now_us)
bench_setup

CG=$MCG/nanoshim-density-$$
mkdir "$CG" || die "cannot create $CG"
mkdir -p "$D/logs" "$D/rt-nano" "$D/rt-go" || die "mkdir in $D"
# Our own cgroups go after the containers and shims are gone.
cleanup() {
	local c
	bench_teardown
	for c in "$CG"/*/ "$CG"; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
}
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; cleanup; exit $rc' EXIT

# The ShimCgroup stand-in: join the cgroup named in the file next to us.
for k in nano go; do
	if [ $k = nano ]; then real=$NANO; else real=$GO_SHIM; fi
	cat >"$D/rt-$k/${real##*/}" <<EOF
#!/bin/sh
read -r cg <"$D/rt-$k/cgroup" && echo \$\$ >"\$cg/cgroup.procs" || exit 1
exec "$real" "\$@"
EOF
	chmod +x "$D/rt-$k/${real##*/}"
	eval "RT_$k=\$D/rt-\$k/\${real##*/}"
done

# --- what single kernel objects cost ------------------------------------------
cc -O2 -o "$D/bin/kcost" "$BENCH_LIB_DIR/kcost.c" || die "cannot build kcost"
mkdir "$CG/kcost" "$CG/kcost-other" || die "mkdir $CG/kcost"
"$D/bin/kcost" "$CG/kcost" 2000 "$CG/kcost-other" >"$D/kcost.out" ||
	die "kcost failed"
sleep 0.5
rmdir "$CG/kcost" "$CG/kcost-other"

# --- helpers ---------------------------------------------------------------------

cg_read() { # <dir> <file>
	cat "$1/$2" 2>/dev/null || echo 0
}

cg_stat() { # <dir> <key>: a memory.stat value
	awk -v k="$2" '$1 == k { print $2; exit }' "$1/memory.stat"
}

# start_many <kind> <prefix> <n> <flag> <cmd...>: n detached containers
# <prefix>-1..n running cmd, P ctr clients at once; flag: one more `ctr
# run` flag or "" ("{}" in it becomes the number).  A failed start is
# tried once more.
start_many() {
	local kind=$1 prefix=$2 n=$3 flag=$4 rt
	shift 4
	rt=RT_$kind
	# shellcheck disable=SC2016 # expanded by the inner bash
	seq 1 "$n" | xargs -P "$P" -I{} bash -c '
		. "$0/lib.sh"
		SHIM=$1 ctr_run -d ${4:+"$4"} "$2-{}" "${@:5}" >/dev/null 2>&1 ||
			SHIM=$1 ctr_run -d ${4:+"$4"} "$2-{}" "${@:5}" >/dev/null 2>"$3/start-{}.err"
	' "$BENCH_LIB_DIR" "${!rt}" "$prefix" "$D" "$flag" "$@"
}

running_count() { # <prefix>
	ctr_bounded task ls 2>/dev/null | awk -v p="$1-" \
		'NR > 1 && index($1, p) == 1 && $3 == "RUNNING"' | wc -l
}

all_running() { # <prefix> <n>
	[ "$(running_count "$1")" -eq "$2" ]
}

# stop_many <prefix>: kill and delete every task and container of the
# prefix, 50 ids per ctr call, P calls at once; wait for the shims.
stop_many() {
	local prefix=$1
	ctr_bounded task ls -q 2>/dev/null | grep "^$prefix-" >"$D/ids"
	xargs -P "$P" -n 50 timeout -k 5 300 ctr --address "$CTR_ADDR" \
		--namespace "$NS" task rm -f <"$D/ids" >/dev/null 2>&1
	ctr_bounded container ls -q 2>/dev/null | grep "^$prefix-" >"$D/ids"
	xargs -P "$P" -n 50 timeout -k 5 300 ctr --address "$CTR_ADDR" \
		--namespace "$NS" container rm <"$D/ids" >/dev/null 2>&1
	# Shims leave after containerd's Shutdown; 1,000 of them on a loaded
	# 2-CPU machine take minutes.
	wait_until $((120 + $(wc -l <"$D/ids") / 2)) no_shims_of "$prefix"
}

no_shims_of() { # <prefix>
	! bench_shims "$CTR_ADDR" all | awk -v p="$1-" \
		'index($3, p) == 1 { f = 1 } END { exit !f }'
}

shim_pids_of() { # <prefix>
	bench_shims | awk -v p="$1-" 'index($3, p) == 1 { print $1 }'
}

# cpu_ticks <pidfile>: utime+stime summed over the pids (clock ticks).
cpu_ticks() {
	local p s=0 line
	local -a f
	while read -r p; do
		read -r line 2>/dev/null <"/proc/$p/stat" || continue
		# shellcheck disable=SC2206 # numbers after the comm field
		f=(${line##*) })
		s=$((s + f[11] + f[12]))
	done <"$1"
	echo "$s"
}

HZ=$(getconf CLK_TCK)

# --- memory at N ----------------------------------------------------------------

# phase <kind> <n>
phase() {
	local kind=$1 n=$2 prefix cg t0 t1 tstop mem kmem cache rss mapped procs tasks
	local rsum psum pdsum ctrd c0 c1 m
	prefix=m$kind$n
	cg=$CG/$kind-$n
	mkdir "$cg" || die "mkdir $cg"
	echo "$cg" >"$D/rt-$kind/cgroup"
	say "  $kind N=$n: starting ..." >&2
	t0=$(now_us)
	start_many "$kind" "$prefix" "$n" "" sleep 100000
	t1=$(now_us)
	wait_until 120 all_running "$prefix" "$n" ||
		die "$kind N=$n: only $(running_count "$prefix") of $n running ($(cat "$D"/start-*.err 2>/dev/null | head -3))"
	sleep "$SETTLE"
	mem=$(cg_read "$cg" memory.usage_in_bytes)
	kmem=$(cg_read "$cg" memory.kmem.usage_in_bytes)
	cache=$(cg_stat "$cg" cache)
	rss=$(cg_stat "$cg" rss)
	mapped=$(cg_stat "$cg" mapped_file)
	procs=$(wc -l <"$cg/cgroup.procs")
	tasks=$(wc -l <"$cg/tasks")
	shim_pids_of "$prefix" >"$D/pids.$prefix"
	[ "$(wc -l <"$D/pids.$prefix")" -eq "$n" ] ||
		die "$kind N=$n: $(wc -l <"$D/pids.$prefix") shim daemons, expected $n"
	[ "$procs" -eq "$n" ] ||
		die "$kind N=$n: $procs processes in $cg, expected the $n shims"
	rsum=0 psum=0 pdsum=0
	while read -r p; do
		m=$(proc_mem "$p") || die "cannot read /proc/$p"
		read -r r ps pd _ <<<"$m"
		rsum=$((rsum + r)) psum=$((psum + ps)) pdsum=$((pdsum + pd))
	done <"$D/pids.$prefix"
	ctrd=$(rss_kb_of "$(containerd_pid)")
	c0=- c1=-
	if [ "$n" -eq "$NMAX" ] || { [ "$kind" = go ] && [ "$n" -eq "$GO_TOP" ]; }; then
		c0=$(cpu_ticks "$D/pids.$prefix")
		sleep "$IDLE_CPU_SECONDS"
		c1=$(cpu_ticks "$D/pids.$prefix")
	fi
	say "  $kind N=$n: stopping ..." >&2
	tstop=$(now_us)
	stop_many "$prefix" || die "$kind N=$n: shims still alive after stop"
	tstop=$(($(now_us) - tstop))
	sleep 1
	echo "$kind $n $(((t1 - t0) / 1000)) $((tstop / 1000)) $mem $kmem $cache $rss $mapped" \
		"$tasks $rsum $psum $pdsum $ctrd $c0 $c1 $(cg_read "$cg" memory.usage_in_bytes)" \
		>>"$D/density.out"
	rmdir "$cg" 2>/dev/null || log "cannot remove $cg yet"
}

GO_TOP=0
for n in $DENSITY_N; do
	[ "$n" -le "$GO_MAX" ] && [ "$n" -gt "$GO_TOP" ] && GO_TOP=$n
done
: >"$D/density.out"
say "density: N = $DENSITY_N (Go shim up to $GO_MAX), $P ctr clients at once ..." >&2
for n in $DENSITY_N; do
	phase nano "$n"
	[ "$n" -le "$GO_MAX" ] && phase go "$n"
done

# --- 1 line a second each -----------------------------------------------------

# logphase <kind> <n>: "kind n cpu_ticks seconds lines"
logphase() {
	local kind=$1 n=$2 prefix=l$1$2 c0 c1 t0 t1 lines
	echo "$CG" >"$D/rt-$kind/cgroup"
	say "  logging, $kind N=$n: starting ..." >&2
	# The logger forks nothing: its second is `read -t 1` on a FIFO no
	# one writes (one, in the shared rootfs), not /bin/sleep, whose
	# thousand fork+execs a second would load the node (load average
	# about 900 at N=1,000) and measure the scheduler, not the shims.
	# shellcheck disable=SC2016 # the container's shell expands it
	start_many "$kind" "$prefix" "$n" "--log-uri=file://$D/logs/$prefix-{}.log" \
		sh -c 'mkfifo /tmp/.tick 2>/dev/null; exec 3<>/tmp/.tick; i=0; while :; do i=$((i+1)); echo "line $i of a container that logs once a second"; read -t 1 x <&3; done'
	# A start lost on a loaded machine costs the memory figures nothing:
	# the loggers that run are measured, and counted as they are.
	if ! wait_until 120 all_running "$prefix" "$n"; then
		n=$(running_count "$prefix")
		log "logging $kind: only $n of $2 running; measuring those"
		[ "$n" -gt 0 ] || die "logging $kind: none running"
	fi
	shim_pids_of "$prefix" >"$D/pids.$prefix"
	sleep "$SETTLE"
	t0=$(now_us)
	c0=$(cpu_ticks "$D/pids.$prefix")
	sleep "$LOG_SECONDS"
	c1=$(cpu_ticks "$D/pids.$prefix")
	t1=$(now_us)
	lines=$(cat "$D"/logs/"$prefix"-*.log | wc -l)
	# Measured: recorded before the stop, which a loaded machine may not
	# finish in time (the exit trap stops what is left).
	echo "$kind $n $((c1 - c0)) $(((t1 - t0) / 1000)) $lines" >>"$D/log.out"
	say "  logging, $kind N=$n: stopping ..." >&2
	stop_many "$prefix" || log "logging $kind N=$n: shims still alive after the stop"
	rm -f "$D"/logs/"$prefix"-*.log
}

: >"$D/log.out"
if [ "$LOG_SECONDS" -gt 0 ]; then
	logphase nano "$LOG_N"
	gn=$LOG_N
	[ "$gn" -gt "$GO_MAX" ] && gn=$GO_MAX
	logphase go "$gn"
fi

# --- report --------------------------------------------------------------------
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }

say "Density: N busybox sleep containers, one shim each, every shim in one memory cgroup (v1)"
say "charged = memory.usage_in_bytes - page cache (the shared binaries), per shim;"
say "kmem = memory.kmem.usage_in_bytes (kernel objects) per shim; anon = memory.stat rss per shim"
say "(the kernel charges ahead in per-CPU batches of up to 256 KiB: at N=1 the charged figures"
say " are within 512 KiB, at N=100 within 5 KiB, at N=1000 within 0.5 KiB per shim)"
say ""
printf '%-9s %5s %9s %8s %8s %8s %8s %8s %8s %8s %10s %9s %9s\n' shim N \
	"charged" kmem anon "RSS" "PSS" "Priv" "threads" "start s" "stop s" \
	"ctrd MB" "cache MB"
printf '%-9s %5s %9s %8s %8s %8s %8s %8s %8s %8s %10s %9s %9s\n' "" "" \
	"KiB/shim" KiB KiB KiB KiB KiB "/shim" "" "" "" ""
while read -r kind n tstart tstop mem kmem cache rss mapped tasks rsum psum pdsum ctrd c0 c1 after; do
	ch=$(((mem - cache) / n))
	printf '%-9s %5d %9s %8s %8s %8s %8s %8s %8s %8.1f %10.1f %9.1f %9.1f\n' \
		"$([ "$kind" = nano ] && echo nanoshim || echo 'Go shim')" "$n" \
		"$(kib "$ch")" "$(kib $((kmem / n)))" "$(kib $((rss / n)))" \
		$((rsum / n)) $((psum / n)) $((pdsum / n)) \
		"$(awk -v t="$tasks" -v n="$n" 'BEGIN { printf "%.1f", t / n }')" \
		"$(awk -v t="$tstart" 'BEGIN { print t / 1000 }')" \
		"$(awk -v t="$tstop" 'BEGIN { print t / 1000 }')" \
		"$(awk -v k="$ctrd" 'BEGIN { print k / 1024 }')" \
		"$(awk -v b="$cache" 'BEGIN { print b / 1048576 }')"
	bench_kv "density_${kind}_${n}_charged_kib=$(kib "$ch")" \
		"density_${kind}_${n}_kmem_kib=$(kib $((kmem / n)))" \
		"density_${kind}_${n}_anon_kib=$(kib $((rss / n)))" \
		"density_${kind}_${n}_total_charged_mib=$(awk -v b="$((mem - cache))" 'BEGIN { printf "%.1f", b / 1048576 }')" \
		"density_${kind}_${n}_rss_kib=$((rsum / n))" "density_${kind}_${n}_pss_kib=$((psum / n))" \
		"density_${kind}_${n}_private_kib=$((pdsum / n))" \
		"density_${kind}_${n}_start_s=$(awk -v t="$tstart" 'BEGIN { print t / 1000 }')" \
		"density_${kind}_${n}_stop_s=$(awk -v t="$tstop" 'BEGIN { print t / 1000 }')" \
		"density_${kind}_${n}_containerd_rss_mib=$(awk -v k="$ctrd" 'BEGIN { printf "%.1f", k / 1024 }')"
	[ "$after" -gt $((1 << 20)) ] &&
		say "  (note: $kind N=$n: $(kib "$after") KiB still charged after stop: page cache)"
	if [ "$c0" != - ]; then
		bench_kv "density_${kind}_${n}_idle_cpu_ms_per_min=$(awk -v d="$((c1 - c0))" -v hz="$HZ" -v s="$IDLE_CPU_SECONDS" \
			'BEGIN { printf "%.0f", d * 1000 / hz * 60 / s }')"
		echo "$kind $n $((c1 - c0))" >>"$D/idle.out"
	fi
done <"$D/density.out"

say ""
say "Node totals (shims only; Go shim beyond N=$GO_MAX extrapolated from its N=$GO_TOP per-shim figures):"
printf '%-6s %22s %22s %14s %14s\n' N "charged MiB nano / Go" "PSS MiB nano / Go" "containerd MiB" "Go/nano"
for n in $DENSITY_N; do
	read -r nmem ncache npsum nctrd <<<"$(awk -v n="$n" '$1 == "nano" && $2 == n { print $5, $7, $12, $14 }' "$D/density.out")"
	if [ "$n" -le "$GO_MAX" ]; then
		read -r gmem gcache gpsum <<<"$(awk -v n="$n" '$1 == "go" && $2 == n { print $5, $7, $12 }' "$D/density.out")"
		gch=$((gmem - gcache)) gp=$gpsum mark=""
	else
		read -r gmem gcache gpsum <<<"$(awk -v n="$GO_TOP" '$1 == "go" && $2 == n { print $5, $7, $12 }' "$D/density.out")"
		gch=$(((gmem - gcache) * n / GO_TOP)) gp=$((gpsum * n / GO_TOP)) mark="*"
		bench_kv "density_go_${n}_charged_kib_extrapolated=$(kib $(((gmem - gcache) / GO_TOP)))"
	fi
	nch=$((nmem - ncache))
	printf '%-6s %22s %22s %14s %14s\n' "$n" \
		"$(awk -v a="$nch" -v b="$gch" -v m="$mark" 'BEGIN { printf "%.1f / %.1f%s", a / 1048576, b / 1048576, m }')" \
		"$(awk -v a="$npsum" -v b="$gp" -v m="$mark" 'BEGIN { printf "%.1f / %.1f%s", a / 1024, b / 1024, m }')" \
		"$(awk -v k="$nctrd" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$gch" "$nch")"
done
say "(* extrapolated: the Go shim ran up to N=$GO_TOP)"

if [ -s "$D/idle.out" ]; then
	say ""
	say "Idle shims' CPU (utime+stime over ${IDLE_CPU_SECONDS} s, per minute):"
	while read -r kind n d; do
		say "  $([ "$kind" = nano ] && echo nanoshim || echo 'Go shim') N=$n: $(awk -v d="$d" -v hz="$HZ" -v s="$IDLE_CPU_SECONDS" -v n="$n" \
			'BEGIN { t = d * 1000 / hz * 60 / s; printf "%.0f ms/min in total, %.2f ms/min per shim", t, t / n }')"
	done <"$D/idle.out"
fi

if [ -s "$D/log.out" ]; then
	say ""
	say "Logging: N containers each printing a line a second to a file:// log, shims' CPU (utime+stime):"
	while read -r kind n d ms lines; do
		per=$(awk -v d="$d" -v hz="$HZ" -v ms="$ms" -v n="$n" \
			'BEGIN { printf "%.2f", d * 1000 / hz * 60000 / ms / n }')
		tot=$(awk -v p="$per" -v n="$LOG_N" 'BEGIN { printf "%.0f", p * n }')
		say "  $([ "$kind" = nano ] && echo nanoshim || echo 'Go shim') N=$n over $((ms / 1000)) s, $lines lines:" \
			"$per ms/min per shim; for $LOG_N containers: $tot ms of CPU per minute$([ "$n" -lt "$LOG_N" ] && echo ' (extrapolated)')"
		bench_kv "log_${kind}_cpu_ms_per_min_per_shim=$per" "log_${kind}_cpu_ms_per_min_total_${LOG_N}=$tot"
	done <"$D/log.out"
fi

say ""
say "What single kernel objects cost here (bench/kcost.c; bytes charged per object, total / kernel):"
sed 's/^/  /' "$D/kcost.out"
while read -r line; do
	key=$(echo "$line" | awk '{ $NF = ""; $(NF-1) = ""; print }' | tr -c 'a-zA-Z0-9\n' '_' | sed 's/_*$//; s/__*/_/g')
	bench_kv "kcost_${key}=$(echo "$line" | awk '{ print $(NF-1) }')"
done <"$D/kcost.out"

say "tearing down ..." >&2
say "density.sh: done in $(ms $(($(now_us) - START))) ms" >&2
