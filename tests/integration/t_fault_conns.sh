# shellcheck shell=bash
# Fault: 1,000 idle clients connect to the shim's socket, and a
# "slow-loris" client announces a 4 MiB request and sends it one byte
# every 0.4 s (fault_conns.py), while containerd goes on using the shim.
#
# What must hold while they are there: exec (output, exit status, each
# within 5 s), State and Pids answer; an exec whose process spec (a 20 KB
# argument) is larger than a connection's own buffer, so nanoshim needs
# the shared large-frame buffer the slow client holds, gets through
# within 10 s.  nanoshim serves NANOSHIM_CONNS (32) connections and
# answers one more with RESOURCE_EXHAUSTED; the rest are closed at once,
# so its fds stay bounded.  Afterwards a new client is served, and the
# shim's fds are back where they were.  The shims' fds and RSS with the
# clients connected are logged (the Go shim keeps every connection).
# TIMEOUT: 180

. "$LIB_DIR/fault_lib.sh"

nconn=${FAULT_CONNS:-1000}
id=fc1
assert_ok "run -d $id" ctr_run -d "$id" sleep 1000 || exit 1
assert_eventually 10 "$id RUNNING" status_is "$id" RUNNING || exit 1
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
out=$(ctr_exec --exec-id warm "$id" echo warm 2>&1)
assert_eq warm "$out" "exec before the fault"
sleep 0.5
fds=$(fd_count "$shim")
rss0=$(rss_kb_of "$shim")
addr=$(cat "$BUNDLES/$id/address")

mkfifo "$T/hold"
(
	ulimit -n $((nconn + 64))
	exec /usr/bin/python3 "$LIB_DIR/fault_conns.py" "${addr#unix://}" \
		"$nconn" <"$T/hold" >"$T/clients.out" 2>&1
) &
cpid=$!
echo "$cpid" >>"$T/bgpids"
exec 7>"$T/hold"
assert_eventually 60 "$nconn idle clients and the slow client connected" \
	grep -q '^ready' "$T/clients.out" || exit 1
fds1=$(fd_count "$shim")
rss1=$(rss_kb_of "$shim")
log "clients: $(head -1 "$T/clients.out"); shim fds $fds -> $fds1, RSS $rss0 -> $rss1 kB"
if is_nanoshim; then
	[ "$fds1" -le $((fds + 40)) ] && pass ||
		fail "nanoshim holds $fds1 fds with $nconn clients (was $fds)"
fi

timed() { # <limit-ms> <what> <cmd...>: cmd succeeds within the limit
	# (times SLOW: a TCG guest runs everything about 10x slower)
	local limit=$(($1 * ${SLOW:-1})) what=$2 start took
	shift 2
	start=$(now_ms)
	"$@"
	local rc=$?
	took=$(($(now_ms) - start))
	log "$what: ${took} ms (exit $rc)"
	assert_eq 0 "$rc" "$what: succeeds"
	[ "$took" -lt "$limit" ] && pass ||
		fail "$what took ${took} ms (limit $limit)"
}
exec_out() { # <exec-id> <want>
	[ "$(ctr_exec --exec-id "$1" "$id" echo "$2" 2>&1)" = "$2" ]
}
for i in 1 2 3 4 5; do
	timed 5000 "exec $i with the clients connected" exec_out "n$i" "out$i"
done
timed 5000 "State" shim_serving "$id"
timed 5000 "Pids" quiet ctr_ns task ps "$id"
big=$(head -c 20000 /dev/zero | tr '\0' x)
big_exec() {
	# shellcheck disable=SC2016 # expanded by the container's sh
	[ "$(ctr_exec --exec-id big "$id" sh -c 'echo ${#1}' sh "$big" \
		2>&1)" = 20000 ]
}
timed 10000 "exec with a 20 KB process spec" big_exec
assert_ok "shim alive" pid_alive "$shim"

exec 7>&-
wait "$cpid" 2>/dev/null
log "clients: $(tail -1 "$T/clients.out")"
out=$(/usr/bin/python3 "$LIB_DIR/shimrpc.py" "$addr" connect "$id" 2>&1)
assert_eq 0 $? "a new client is served afterwards: $out"
assert_contains "$out" "$shim" "Connect reports the shim's pid"
out=$(ctr_exec --exec-id after "$id" echo after 2>&1)
assert_eq after "$out" "exec after the clients left"
assert_shim_steady "$shim" "$fds" "after the clients left"
no_zombies
kill_and_delete "$id"
no_leftovers "$id"
