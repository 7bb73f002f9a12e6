# shellcheck shell=bash
# Every stack alignment survives the loop's first rest.  At rest the loop
# hands the stack pages below it back to the kernel (src/reactor.c,
# stack_rest); measured wrongly, that range once covered madvise's own
# return address for 2 of the 256 16-byte alignments a process stack can
# start at, so about one shim in 128 died on its first rest (containerd
# saw "connection refused" at start or "ttrpc: closed" on Create).  Here
# 256 daemons start with address randomisation off (setarch -R) and an
# environment 16 bytes longer each time, which walks the initial stack
# pointer through every alignment in a page; each must then accept a
# connection.  The first rest comes right after startup (no timer is
# armed), so a daemon that listens a moment later got through it.

is_nanoshim || skip "the stack given back at rest is nanoshim's"
command -v setarch >/dev/null || skip "setarch (util-linux) missing"

PY=/usr/bin/python3
WNS=sr$$
WADDR=$T/containerd.sock
: >"$T/sockets"

# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"
trap 'wire_cleanup; test_end' EXIT


# One FIFO (linked into every bundle) takes every daemon's log.
mkfifo "$T/log" || exit 1
cat 0<>"$T/log" >"$T/shims.log" 2>/dev/null &
echo $! >>"$T/bgpids"

# check_batch <first> <last>: the daemons b<first>..b<last> each accept a
# connection (a dead one leaves its socket file and refuses; a second look
# after 2 s for slow ones on a loaded machine), then end (SIGTERM).  In
# batches, so a sanitizer build's 256 daemons never live all at once.
check_batch() {
	local p
	sed -n "$(($1 + 1)),$(($2 + 1))p" "$T/sockets" >"$T/batch"
	sleep 0.3 # the last one's first rest
	run_checks "$PY" - "$T/batch" <<'EOF'
import socket, sys, time
paths = [l.strip() for l in open(sys.argv[1]) if l.strip()]

def probe(p):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p)
        return None
    except OSError as e:
        return str(e)
    finally:
        s.close()

res = {p: probe(p) for p in paths}
if any(res.values()):
    time.sleep(2)
    res = {p: (probe(p) if e else None) for p, e in res.items()}
bad = [(p, e) for p, e in sorted(res.items()) if e]
for p, e in bad:
    print("FAIL daemon for %s gone after its first rest: %s" % (p, e))
if not bad:
    print("ok %d daemons listen after their first rest" % len(paths))
EOF
	for p in $(our_daemons); do
		kill -TERM "$p"
	done
}

pad=
for i in $(seq 0 255); do
	b=$T/b$i
	mkdir "$b" && echo '{}' >"$b/config.json" && ln "$T/log" "$b/log" || exit 1
	out=$(cd "$b" && NANOSHIM_PAD=$pad setarch -R "$SHIM" -namespace "$WNS" \
		-address "$WADDR" -id "b$i" start </dev/null 2>&1)
	case $out in
	unix://*) echo "${out#unix://}" >>"$T/sockets" ;;
	*) fail "start b$i: $out" ;;
	esac
	pad=${pad}0123456789abcdef
	[ $((i % 32)) = 31 ] && check_batch $((i - 31)) "$i"
done
assert_eq 256 "$(wc -l <"$T/sockets")" "daemons started with 256 stack alignments"
no_daemons() { [ -z "$(our_daemons)" ]; }
assert_eventually 10 "every daemon ended on SIGTERM" no_daemons
