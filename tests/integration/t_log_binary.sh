# shellcheck shell=bash
# --log-uri binary:///abs/logger?k=v: the shim starts the logger with the
# query as arguments, CONTAINER_ID and CONTAINER_NAMESPACE in its
# environment, the container's stdout on fd 3 and stderr on fd 4, and
# waits for it to signal readiness on fd 5 (by writing a byte, or by just
# closing it).  The logger receives the output and is gone after delete.

cat >"$T/logger" <<'SH'
#!/bin/sh
# logger: argv "dir" <dir> "ready" <write|close> (any order)
PATH=/usr/bin:/bin
while [ $# -ge 2 ]; do
	case $1 in
	dir) dir=$2 ;;
	ready) ready=$2 ;;
	esac
	shift 2
done
echo $$ >"$dir/pid"
env | sort >"$dir/env"
# The copies must not inherit fd 5, or closing it would not signal.
cat <&3 >"$dir/stdout" 4<&- 5>&- &
cat <&4 >"$dir/stderr" 3<&- 5>&- &
exec 3<&- 4<&-
[ "$ready" = write ] && echo ready >&5
exec 5>&-
wait
SH
chmod +x "$T/logger"

for mode in write close; do
	dir="$T/$mode"
	mkdir -p "$dir"
	id="lb-$mode"
	ctr_run --rm --log-uri="binary://$T/logger?dir=$dir&ready=$mode" "$id" \
		sh -c 'echo out1; echo err1 >&2; exit 4'
	assert_eq 4 $? "exit status ($mode)"
	assert_eventually 10 "stdout logged ($mode)" grep -qx out1 "$dir/stdout"
	assert_eventually 10 "stderr logged ($mode)" grep -qx err1 "$dir/stderr"
	assert_contains "$(cat "$dir/env")" "CONTAINER_ID=$id" "logger env ($mode)"
	assert_contains "$(cat "$dir/env")" "CONTAINER_NAMESPACE=$NS" "logger env ($mode)"
	assert_ok "logger gone ($mode)" wait_gone 15 "$(cat "$dir/pid")"
	no_leftovers "$id"
done
