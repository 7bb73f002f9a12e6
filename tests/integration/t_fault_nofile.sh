# shellcheck shell=bash
# Fault: the shim runs out of file descriptors.  prlimit lowers the
# running shim's RLIMIT_NOFILE (the soft limit: raising a hard limit back
# needs privileges a sandbox may not grant) to 4 above the fds it has
# open, then:
#   - 16 clients connect to its socket (accept: EMFILE, or the reserve);
#   - an exec needs pipes, FIFO opens, a pidfd and runc's output pipe.
# What must survive: the shim is alive and keeps answering containerd on
# its existing connection (State), the exec fails with an error instead
# of hanging, nothing is left a zombie.  Once the limit is back and the
# clients are gone: an exec works, and the shim's fds are exactly what
# they were (nothing leaked by the failed opens and refused accepts).
# TIMEOUT: 120

. "$LIB_DIR/fault_lib.sh"
_need prlimit

id=fn1
assert_ok "run -d $id" ctr_run -d "$id" sleep 1000 || exit 1
assert_eventually 10 "$id RUNNING" status_is "$id" RUNNING || exit 1
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
out=$(ctr_exec --exec-id warm "$id" echo warm 2>&1)
assert_eq warm "$out" "exec before the fault"
sleep 0.5
fds=$(fd_count "$shim")
soft=$(prlimit --pid "$shim" --nofile --output SOFT --noheadings | tr -d ' ')
hard=$(prlimit --pid "$shim" --nofile --output HARD --noheadings | tr -d ' ')
limit=$soft:$hard
addr=$(cat "$BUNDLES/$id/address")
log "shim $shim: $fds fds, RLIMIT_NOFILE $limit, address $addr"

low=$((fds + 4))
assert_ok "lower RLIMIT_NOFILE to $low" \
	prlimit --pid "$shim" --nofile="$low:$hard" || exit 1

# 16 clients connect and stay until their stdin closes.
mkfifo "$T/hold"
cat >"$T/clients.py" <<'EOF'
import socket, sys
path, n = sys.argv[1], int(sys.argv[2])
socks, refused = [], 0
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        socks.append(s)
    except OSError:
        refused += 1
print("connected %d refused %d" % (len(socks), refused), flush=True)
sys.stdin.read()
EOF
/usr/bin/python3 "$T/clients.py" "${addr#unix://}" 16 <"$T/hold" \
	>"$T/clients.out" 2>&1 &
cpid=$!
echo "$cpid" >>"$T/bgpids"
exec 7>"$T/hold"
assert_eventually 10 "clients connected" grep -q connected "$T/clients.out"
log "clients: $(cat "$T/clients.out")"

assert_ok "the shim answers State with no fd to spare" shim_serving "$id"
out=$(timeout 30 "${CTR[@]}" task exec \
	--fifo-dir "$D/fifo" --exec-id ex "$id" echo never 2>&1)
rc=$?
log "exec with no fds: rc $rc: $out"
assert_ne 124 "$rc" "exec without fds does not hang"
assert_ne 0 "$rc" "exec without fds fails"
assert_ok "shim alive" pid_alive "$shim"
assert_ok "the shim still answers State" shim_serving "$id"
assert_eq RUNNING "$(task_status "$id")" "the container still runs"
no_zombies

# Back to normal.
assert_ok "restore RLIMIT_NOFILE" prlimit --pid "$shim" --nofile="$limit"
exec 7>&-
wait "$cpid" 2>/dev/null
quiet ctr_ns task delete --exec-id ex "$id"
out=$(ctr_exec --exec-id e2 "$id" sh -c 'echo again; exit 6' 2>&1)
assert_eq 6 $? "exec with fds again: exit status"
assert_eq again "$out" "exec with fds again: output"
assert_shim_steady "$shim" "$fds" "after the fd drought"
kill_and_delete "$id"
no_leftovers "$id"
