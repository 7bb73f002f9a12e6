#!/bin/bash
#
# bench/throughput.sh [R=3]: output throughput and the shim's own CPU,
# nanoshim against the Go shim, in the same run.
#
# A busybox container writes TP_BYTES (default 1 GiB) of zeros to stdout
# (`head -c N /dev/zero`), run in the foreground with `ctr run --rm`, the
# way a user tries it, three ways:
#   fifo    stdout through the FIFO to ctr, ctr's stdout to /dev/null
#   file    --log-uri file://  (a file on a private tmpfs, removed after)
#   binary  --log-uri binary:// (a logger that discards what it reads)
# R rounds, shims interleaved.  Reported per mode and shim: wall time of
# `ctr run --rm` (MB/s = bytes / wall), and the shim daemon's own CPU,
# utime+stime from /proc/<pid>/stat read at its exit (bench/reaper.py is
# the subreaper that catches it; runc's time is not in it), plus the
# scheduler's on-CPU nanoseconds as a finer check.  Medians.
#
# Environment: NANOSHIM, GO_SHIM, TP_BYTES, TP_MODES ("fifo file binary"),
# BENCH_KV.  Exit: 0 ok, 1 failure, 77 not runnable here.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R=${1:-3}
TP_BYTES=${TP_BYTES:-1073741824}
TP_MODES=${TP_MODES:-fifo file binary}
need_count "$R" "usage: $0 [R>0]"
need_count "$TP_BYTES" "TP_BYTES must be a positive number"

# Under the subreaper, or re-run under it.
if [ -z "${BENCH_REAPER_LOG:-}" ]; then
	BENCH_REAPER_LOG=$(mktemp /tmp/nanoshim-reaper.XXXXXX) || die "mktemp failed"
	export BENCH_REAPER_LOG
	"$PY" "$BENCH_LIB_DIR/reaper.py" "$BENCH_REAPER_LOG" -- "$0" "$@"
	rc=$?
	rm -f "$BENCH_REAPER_LOG"
	exit $rc
fi

bench_binary ""
bench_traps
START=$(now_us)
bench_setup

# A logger that reads both pipes and keeps nothing; ready at once.
cat >"$D/bin/null-logger" <<'EOF'
#!/bin/sh
exec 5>&-
cat <&4 >/dev/null &
cat <&3 >/dev/null
wait
EOF
chmod +x "$D/bin/null-logger"
mkdir -p "$D/logs" || die "mkdir $D/logs"
mount -t tmpfs -o size=$(((TP_BYTES >> 20) * 2 + 64))m nanoshim-bench "$D/logs" ||
	die "cannot mount a tmpfs for the file:// logs"
# shellcheck disable=SC2154 # rc is set inside the trap
trap 'rc=$?; umount -l "$D/logs" 2>/dev/null; bench_teardown; exit $rc' EXIT

# reaped_cpu <lines-before>: "utime+stime(ms) run_ms" of the one shim
# daemon reaped since that line count, waiting up to 15 s for it.
reaped_cpu() {
	local before=$1 line i
	for ((i = 0; i < 300; i++)); do
		line=$(tail -n +$((before + 1)) "$BENCH_REAPER_LOG" |
			awk '$2 ~ /^containerd-shim/ { print; exit }')
		[ -n "$line" ] && break
		sleep 0.05
	done
	[ -n "$line" ] || return 1
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ printf "%d %d\n", ($3 + $4) * 1000 / hz, $5 / 1e6 }' <<<"$line"
}

# one_run <mode> <kind> <shim> <id>: "wall_us cpu_ms run_ms"
one_run() {
	local mode=$1 kind=$2 bin=$3 id=$4 before t0 t1 cpu out
	local -a flags=(--rm) cmd=(head -c "$TP_BYTES" /dev/zero)
	case $mode in
	true) cmd=(true) ;;
	file) flags+=("--log-uri=file://$D/logs/$id.log") ;;
	binary) flags+=("--log-uri=binary://$D/bin/null-logger") ;;
	esac
	before=$(wc -l <"$BENCH_REAPER_LOG")
	t0=$(now_us)
	out=$(SHIM=$bin ctr_run "${flags[@]}" "$id" "${cmd[@]}" 2>&1 >/dev/null) || {
		log "ctr run $id ($kind, $mode) failed: $out"
		return 1
	}
	t1=$(now_us)
	cpu=$(reaped_cpu "$before") || {
		log "no reaped shim for $id"
		return 1
	}
	if [ "$mode" = file ]; then
		local sz
		sz=$(stat -c %s "$D/logs/$id.log" 2>/dev/null)
		rm -f "$D/logs/$id.log"
		[ "$sz" = "$TP_BYTES" ] || {
			log "$id: file log has ${sz:-no} bytes, expected $TP_BYTES"
			return 1
		}
	fi
	echo "$((t1 - t0)) $cpu"
}

bench_kv "tp_mib=$((TP_BYTES >> 20))"
say "throughput: $((TP_BYTES >> 20)) MiB, modes: $TP_MODES, $R rounds ..." >&2
# One small warm-up per shim: page cache, containerd's first-run costs.
for k in nano go; do
	if [ "$k" = nano ]; then s=$NANO; else s=$GO_SHIM; fi
	SHIM=$s ctr_run --rm "warm-$k" true >/dev/null 2>&1 || die "warm-up ($k) failed"
	wait_until 10 shim_gone "warm-$k"
done
for mode in true $TP_MODES; do
	: >"$D/tp.$mode.nano"
	: >"$D/tp.$mode.go"
	for ((i = 1; i <= R; i++)); do
		if ((i % 2)); then order="nano go"; else order="go nano"; fi
		for k in $order; do
			if [ "$k" = nano ]; then s=$NANO; else s=$GO_SHIM; fi
			r=$(one_run "$mode" "$k" "$s" "tp-$mode-$k-$i") || die "run $i ($mode, $k) failed"
			echo "$r" >>"$D/tp.$mode.$k"
			say "  $mode $k $i: $r" >&2
		done
	done
done

med() { # <file> <column>
	awk -v c="$2" '{ print $c }' "$1" | stats | awk '{ print $2 }'
}

say "Output throughput: $((TP_BYTES >> 20)) MiB of zeros to stdout (busybox head -c), ctr run --rm, $R runs each, medians"
say "shim CPU: utime+stime of the shim daemon over its whole life (/proc/<pid>/stat at its exit);"
say "copy CPU: shim CPU minus that of \`ctr run --rm ... true\` (startup, Create, Start, Delete)"
say ""
printf '%-8s %-9s %9s %8s %13s %13s\n' mode shim "wall (s)" "MB/s" "shim CPU (s)" "copy CPU (s)"
for k in nano go; do
	c=$(med "$D/tp.true.$k" 2)
	printf '%-8s %-9s %9.2f %8s %13.2f %13s\n' true \
		"$([ $k = nano ] && echo nanoshim || echo 'Go shim')" \
		"$(awk -v w="$(med "$D/tp.true.$k" 1)" 'BEGIN { print w / 1e6 }')" "" \
		"$(awk -v c="$c" 'BEGIN { print c / 1000 }')" ""
	bench_kv "tp_true_${k}_cpu_s=$(awk -v c="$c" 'BEGIN { printf "%.3f", c / 1000 }')"
done
for mode in $TP_MODES; do
	for k in nano go; do
		w=$(med "$D/tp.$mode.$k" 1)
		c=$(med "$D/tp.$mode.$k" 2)
		c0=$(med "$D/tp.true.$k" 2)
		mbs=$(awk -v b="$TP_BYTES" -v w="$w" 'BEGIN { printf "%.0f", b / 1e6 / (w / 1e6) }')
		printf '%-8s %-9s %9.2f %8s %13.2f %13.2f\n' "$mode" \
			"$([ $k = nano ] && echo nanoshim || echo 'Go shim')" \
			"$(awk -v w="$w" 'BEGIN { print w / 1e6 }')" "$mbs" \
			"$(awk -v c="$c" 'BEGIN { print c / 1000 }')" \
			"$(awk -v c="$c" -v z="$c0" 'BEGIN { print (c - z) / 1000 }')"
		bench_kv "tp_${mode}_${k}_wall_s=$(awk -v w="$w" 'BEGIN { printf "%.2f", w / 1e6 }')" \
			"tp_${mode}_${k}_mbs=$mbs" \
			"tp_${mode}_${k}_cpu_s=$(awk -v c="$c" 'BEGIN { printf "%.3f", c / 1000 }')"
	done
	wn=$(med "$D/tp.$mode.nano" 1)
	wg=$(med "$D/tp.$mode.go" 1)
	cn=$(med "$D/tp.$mode.nano" 2)
	cg=$(med "$D/tp.$mode.go" 2)
	rt=$(ratio "$wg" "$wn")
	rc=$(ratio "$cn" "$cg")
	say "  $mode: throughput nanoshim/Go ${rt}x, shim CPU nanoshim/Go ${rc}x"
	bench_kv "tp_${mode}_throughput_ratio_nano_over_go=$rt" "tp_${mode}_cpu_ratio_nano_over_go=$rc"
done
say ""
say "raw (wall_us cpu_ms oncpu_ms per run; on-CPU: the main thread's schedstat):"
for f in "$D"/tp.*; do
	say "  ${f##*/tp.}: $(tr '\n' ';' <"$f")"
done

say "tearing down ..." >&2
umount -l "$D/logs" 2>/dev/null
bench_teardown
say "throughput.sh: done in $(ms $(($(now_us) - START))) ms" >&2
