#!/bin/sh
# cgroup_decode_check.sh - do the Metrics we encode decode, with the
# UPSTREAM containerd/cgroups .proto files, to the numbers in the cgroup
# files they came from?
#
# Builds tests/unit/cgroup_dump.c against src/cgroup.c, fills Metrics from
# the fixture trees in tests/fixtures/cgroup, decodes the bytes with
# `protoc --decode`, flattens protoc's text output to "path value" lines
# and compares key fields with values read from the fixture files.  The
# v1 and v2 trees are checked twice: as captured, and widened (every
# counter in the container's files raised above 2^32), so a counter cut
# to 32 bits anywhere between the file and the wire shows.
# Run from the repository root.  Exit 0 pass, 1 fail, 77 skip (a tool or
# the upstream .proto files are missing).
#
# Another architecture (make ARCH=arm64|armhf): UNIT_CC is its compiler
# (the helper is linked static) and UNIT_RUN the qemu-user that runs it.
set -u

GO=/usr/share/gocode/src
V1PROTO=$GO/github.com/containerd/cgroups/stats/v1/metrics.proto
V2PROTO=$GO/github.com/containerd/cgroups/v2/stats/metrics.proto
GOGO=$GO/github.com/gogo/protobuf
FIX=tests/fixtures/cgroup
NANOPB=build/nanopb

cc=${UNIT_CC:-gcc}
run=${UNIT_RUN:-}
static=
[ -n "${UNIT_CC:-}" ] && static=-static

for t in "$cc" protoc awk; do
	command -v $t > /dev/null 2>&1 || { echo "skip: no $t"; exit 77; }
done
for f in "$V1PROTO" "$V2PROTO" "$GOGO/gogoproto/gogo.proto" \
    "$NANOPB/pb.h"; do
	[ -f "$f" ] || { echo "skip: no $f"; exit 77; }
done

tmp=$(mktemp -d /tmp/cgroup_decode.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

$cc -std=c11 -D_GNU_SOURCE -DPB_BUFFER_ONLY -DNS_NO_ALLOC_GUARD $static \
    -Wall -Wextra -Werror -Isrc -Igen -I$NANOPB -o "$tmp/dump" \
    tests/unit/cgroup_dump.c src/cgroup.c src/pbs.c src/log.c \
    src/scratch.c src/pool.c \
    gen/cgroups/v1/metrics.pb.c gen/cgroups/v2/metrics.pb.c \
    $NANOPB/pb_common.c $NANOPB/pb_encode.c $NANOPB/pb_decode.c || {
	echo "FAIL: building the dump helper"
	exit 1
}

fails=0

# decode <type> <proto> <bin> <out>: protoc text, flattened to
# "a.b.field value" lines ("memory.usage.usage 35471360").
decode() {
	protoc -I"$GOGO" -I"$GO" -I/usr/include --decode="$1" "$2" \
	    < "$3" > "$4.txt" || return 1
	awk '
	/\{$/ { stack[++d] = $1; next }
	/^ *\}$/ { d--; next }
	NF >= 2 {
		k = $1; sub(/:$/, "", k); p = ""
		for (i = 1; i <= d; i++) p = p stack[i] "."
		v = $2; for (i = 3; i <= NF; i++) v = v " " $i
		print p k " " v
	}' "$4.txt" > "$4"
}

# expect <flat> <path> <value>: a proto3 zero is not printed at all.
expect() {
	got=$(awk -v k="$2" '$1 == k { print $2; exit }' "$1")
	want=$3
	if [ "$want" = 0 ] && [ -z "$got" ]; then
		got=0
	fi
	if [ "$got" != "$want" ]; then
		echo "FAIL: $2: decoded '$got', fixture says '$want'"
		fails=$((fails + 1))
	fi
}

# expect_list <flat> <path> <values...>: every element, in order.
expect_list() {
	f=$1
	k=$2
	shift 2
	got=$(awk -v k="$k" '$1 == k { printf "%s ", $2 }' "$f")
	want=$(printf '%s ' "$@")
	if [ "$got" != "$want" ]; then
		echo "FAIL: $k: decoded '$got', fixture says '$want'"
		fails=$((fails + 1))
	fi
}

# nz <value>: the value, or nothing for 0 (protoc prints no zero field
# of a repeated message's element).
nz() {
	[ "$1" = 0 ] || echo "$1"
}

# kv <file> <key>: the value of "key value" in a flat-keyed file.
kv() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# widen <dir>: add 2^32 * (1..7) to every plain number in the files of a
# cgroup directory ("123", "key 123", "key=123"), numbers of 2^40 and
# more (the "unlimited" values) excepted, and rdma.* whose counters are
# 32-bit in the .proto.  Small multiples keep cpuacct.stat's ticks times
# 10^7 within the shell's arithmetic.
widen() {
	for w in "$1"/*; do
		[ -f "$w" ] || continue
		case ${w##*/} in rdma.*) continue ;; esac
		awk '{
			for (i = 1; i <= NF; i++) {
				pre = ""; v = $i
				if ((e = index(v, "=")) > 0) {
					pre = substr(v, 1, e); v = substr(v, e + 1)
				}
				if (v ~ /^[0-9]+$/ && v + 0 < 1099511627776)
					$i = pre sprintf("%.0f",
					    v + 4294967296 * (n++ % 7 + 1))
			}
			print
		}' "$w" > "$w.w" && mv "$w.w" "$w"
	done
}

# --- v1 (hybrid host, captured; hugetlb synthesized) -----------------
check_v1() {
d=$1
mem=$d/memory/nanoshim-fixture
cpu=$d/cpu/nanoshim-fixture
acct=$d/cpuacct/nanoshim-fixture
pids=$d/pids/nanoshim-fixture
blk=$d/blkio/nanoshim-fixture
huge=$d/hugetlb/nanoshim-fixture
url=$($run "$tmp/dump" "$d" "$FIX/v1-mountinfo-hugetlb" "$FIX/hugepages" \
    "$FIX/partitions" "$FIX/v1-proc-cgroup-hugetlb" "$tmp/v1.bin") || {
	echo "FAIL: dump v1"
	exit 1
}
[ "$url" = io.containerd.cgroups.v1.Metrics ] || {
	echo "FAIL: v1 type url '$url'"
	fails=$((fails + 1))
}
decode io.containerd.cgroups.v1.Metrics "$V1PROTO" "$tmp/v1.bin" \
    "$tmp/v1" || { echo "FAIL: protoc cannot decode v1"; exit 1; }
f=$tmp/v1
expect $f memory.usage.usage "$(cat $mem/memory.usage_in_bytes)"
expect $f memory.usage.limit "$(cat $mem/memory.limit_in_bytes)"
expect $f memory.usage.max "$(cat $mem/memory.max_usage_in_bytes)"
expect $f memory.usage.failcnt "$(cat $mem/memory.failcnt)"
expect $f memory.swap.usage "$(cat $mem/memory.memsw.usage_in_bytes)"
expect $f memory.kernel.usage "$(cat $mem/memory.kmem.usage_in_bytes)"
expect $f memory.rss "$(kv $mem/memory.stat rss)"
expect $f memory.cache "$(kv $mem/memory.stat cache)"
expect $f memory.total_rss "$(kv $mem/memory.stat total_rss)"
expect $f memory.total_inactive_file \
    "$(kv $mem/memory.stat total_inactive_file)"
expect $f memory.total_pg_fault "$(kv $mem/memory.stat total_pgfault)"
expect $f memory.hierarchical_swap_limit \
    "$(kv $mem/memory.stat hierarchical_memsw_limit)"
expect $f memory_oom_control.oom_kill "$(kv $mem/memory.oom_control oom_kill)"
expect $f cpu.usage.total "$(cat $acct/cpuacct.usage)"
# cpuacct.stat is in USER_HZ (100) ticks, Metrics in nanoseconds.
expect $f cpu.usage.user "$(($(kv $acct/cpuacct.stat user) * 10000000))"
expect $f cpu.usage.kernel "$(($(kv $acct/cpuacct.stat system) * 10000000))"
# shellcheck disable=SC2046
expect_list $f cpu.usage.per_cpu $(cat $acct/cpuacct.usage_percpu)
expect $f cpu.throttling.periods "$(kv $cpu/cpu.stat nr_periods)"
expect $f cpu.throttling.throttled_periods "$(kv $cpu/cpu.stat nr_throttled)"
expect $f cpu.throttling.throttled_time "$(kv $cpu/cpu.stat throttled_time)"
expect $f pids.current "$(cat $pids/pids.current)"
expect $f pids.limit "$(cat $pids/pids.max)"
# blkio on this kernel: the throttle files; Read is the first line.
expect $f blkio.io_serviced_recursive.value \
    "$(awk 'NF == 3 { print $3; exit }' $blk/blkio.throttle.io_serviced)"
expect $f blkio.io_service_bytes_recursive.value \
    "$(awk 'NF == 3 { print $3; exit }' $blk/blkio.throttle.io_service_bytes)"
expect $f blkio.io_serviced_recursive.device '"/dev/vda"'
# hugetlb: Go lists page sizes by directory name, so 1GB before 2MB.
expect_list $f hugetlb.pagesize '"1GB"' '"2MB"'
# shellcheck disable=SC2046
expect_list $f hugetlb.usage $(nz "$(cat $huge/hugetlb.1GB.usage_in_bytes)") \
    $(nz "$(cat $huge/hugetlb.2MB.usage_in_bytes)")
expect_list $f hugetlb.failcnt "$(cat $huge/hugetlb.1GB.failcnt)" \
    "$(cat $huge/hugetlb.2MB.failcnt)"
}

# --- v2 (unified host, synthesized tree) --------------------------------
check_v2() {
d=$1
c=$d/default/ctr1
url=$($run "$tmp/dump" "$d" "$FIX/v2-mountinfo" "$FIX/hugepages" \
    "$FIX/partitions" "$FIX/v2-proc-cgroup" "$tmp/v2.bin") || {
	echo "FAIL: dump v2"
	exit 1
}
[ "$url" = io.containerd.cgroups.v2.Metrics ] || {
	echo "FAIL: v2 type url '$url'"
	fails=$((fails + 1))
}
decode io.containerd.cgroups.v2.Metrics "$V2PROTO" "$tmp/v2.bin" \
    "$tmp/v2" || { echo "FAIL: protoc cannot decode v2"; exit 1; }
f=$tmp/v2
max=18446744073709551615	# "max" in Go: math.MaxUint64
expect $f cpu.usage_usec "$(kv $c/cpu.stat usage_usec)"
expect $f cpu.user_usec "$(kv $c/cpu.stat user_usec)"
expect $f cpu.system_usec "$(kv $c/cpu.stat system_usec)"
expect $f cpu.nr_throttled "$(kv $c/cpu.stat nr_throttled)"
expect $f cpu.throttled_usec "$(kv $c/cpu.stat throttled_usec)"
expect $f memory.usage "$(cat $c/memory.current)"
[ "$(cat $c/memory.max)" = max ] && expect $f memory.usage_limit $max
expect $f memory.swap_usage "$(cat $c/memory.swap.current)"
expect $f memory.anon "$(kv $c/memory.stat anon)"
expect $f memory.inactive_file "$(kv $c/memory.stat inactive_file)"
expect $f memory.pgfault "$(kv $c/memory.stat pgfault)"
expect $f memory.pgmajfault "$(kv $c/memory.stat pgmajfault)"
expect $f memory.thp_collapse_alloc "$(kv $c/memory.stat thp_collapse_alloc)"
expect $f memory_events.oom_kill "$(kv $c/memory.events oom_kill)"
expect $f memory_events.oom "$(kv $c/memory.events oom)"
expect $f memory_events.max "$(kv $c/memory.events max)"
expect $f pids.current "$(cat $c/pids.current)"
[ "$(cat $c/pids.max)" = max ] && expect $f pids.limit $max
expect_list $f io.usage.rbytes $(sed 's/.*rbytes=\([0-9]*\).*/\1/' $c/io.stat)
expect_list $f io.usage.wios $(sed 's/.*wios=\([0-9]*\).*/\1/' $c/io.stat)
# shellcheck disable=SC2046
expect_list $f hugetlb.current $(nz "$(cat $c/hugetlb.1GB.current)") \
    $(nz "$(cat $c/hugetlb.2MB.current)")
expect_list $f rdma.current.hca_objects \
    "$(awk '{ sub(/.*hca_object=/, ""); print; exit }' $c/rdma.current)"
}

check_v1 "$FIX/v1"
check_v2 "$FIX/v2"
cp -R "$FIX/v1" "$tmp/w1" && cp -R "$FIX/v2" "$tmp/w2" || exit 1
for c in memory cpu cpuacct pids blkio hugetlb; do
	widen "$tmp/w1/$c/nanoshim-fixture"
done
widen "$tmp/w2/default/ctr1"
big=$(cat "$tmp/w1/memory/nanoshim-fixture/memory.usage_in_bytes")
[ "$big" -gt 4294967295 ] || {
	echo "FAIL: widening left memory.usage_in_bytes at $big"
	fails=$((fails + 1))
}
check_v1 "$tmp/w1"
check_v2 "$tmp/w2"

# --- v2 files captured from the hybrid unified mount ---------------------
printf '0::/nanoshim-fixture\n' > "$tmp/proc-cgroup"
$run "$tmp/dump" "$FIX/v1/unified" "$FIX/v2-mountinfo" "$FIX/hugepages" \
    "$FIX/partitions" "$tmp/proc-cgroup" "$tmp/v2c.bin" > /dev/null || {
	echo "FAIL: dump captured v2"
	exit 1
}
decode io.containerd.cgroups.v2.Metrics "$V2PROTO" "$tmp/v2c.bin" \
    "$tmp/v2c" || { echo "FAIL: protoc cannot decode captured v2"; exit 1; }
f=$tmp/v2c
c=$FIX/v1/unified/nanoshim-fixture
# Only "hugetlb" is enabled there: Go reads cpu.stat only for "cpu".
expect $f cpu.usage_usec 0
expect_list $f hugetlb.max "$(cat $c/hugetlb.1GB.max)" \
    "$(cat $c/hugetlb.2MB.max)"

if [ $fails -ne 0 ]; then
	echo "cgroup_decode_check: $fails mismatches"
	exit 1
fi
echo "cgroup_decode_check: ok"
exit 0
