# shellcheck shell=bash
# The serving shim process looks as containerd expects (spec 1.2, 1.3, 7):
# its socket is /run/containerd/s/sha256(<address>/<ns>/<id>) and the
# bundle's `address` file names it; Connect answers the shim's and the
# init's pid (0 for an unknown id); it runs detached (not containerd's
# child, own process group), with cwd = bundle, fds 0/1 = /dev/null, fd 2
# = the bundle's log FIFO, oom_score_adj = containerd's + 1; it is the
# init's parent (subreaper) and the init starts with no blocked or ignored
# signals.  nanoshim only: one thread, no transparent huge pages and every
# other fd close-on-exec.

id=sp1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
init=$(task_pid "$id")
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1
bundle="$BUNDLES/$id"
sock=$(sha_socket "$id")

assert_eq "unix://$sock" "$(cat "$bundle/address")" "address file"
assert_ok "socket $sock exists" test -S "$sock"
assert_eq "$shim $init" "$(python3 "$LIB_DIR/shimrpc.py" "$sock" connect "$id")" \
	"Connect: shim pid, task pid"
assert_eq "$shim 0" "$(python3 "$LIB_DIR/shimrpc.py" "$sock" connect nosuch)" \
	"Connect with an unknown id"

assert_ne "$(containerd_pid)" "$(ppid_of "$shim")" "shim is not containerd's child"
read -r -a st <"/proc/$shim/stat"
assert_eq "$shim" "${st[4]}" "shim leads its own process group"
want=$(($(cat "/proc/$(containerd_pid)/oom_score_adj") + 1))
[ "$want" -gt 1000 ] && want=1000
assert_eq "$want" "$(cat "/proc/$shim/oom_score_adj")" "oom_score_adj"
assert_eq "$bundle" "$(readlink "/proc/$shim/cwd")" "cwd"
assert_eq /dev/null "$(readlink "/proc/$shim/fd/0")" "fd 0"
assert_eq /dev/null "$(readlink "/proc/$shim/fd/1")" "fd 1"
assert_eq "$bundle/log" "$(readlink "/proc/$shim/fd/2")" "fd 2"

assert_eq "$shim" "$(ppid_of "$init")" "shim is the init's parent"
assert_eq 0000000000000000 "$(_status_field "$init" SigBlk)" "init's blocked signals"
assert_eq 0000000000000000 "$(_status_field "$init" SigIgn)" "init's ignored signals"

log "shim $shim: threads $(threads_of "$shim"), rss $(rss_kb_of "$shim") kB," \
	"vmdata $(vmdata_kb_of "$shim") kB, fds $(find "/proc/$shim/fd" -mindepth 1 | wc -l)"
if is_nanoshim; then
	assert_eq 1 "$(threads_of "$shim")" "threads"
	# No transparent huge page in the reserved pools: with THP "always"
	# (Debian's kernels, tests/vm) one write would map 2 MiB of RSS.
	log "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
	assert_eq 0 "$(awk '$1 == "AnonHugePages:" { print $2 }' "/proc/$shim/smaps_rollup")" \
		"AnonHugePages of the shim (kB)"
	for f in /proc/"$shim"/fdinfo/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] || continue
		flags=$(awk '$1 == "flags:" { print $2 }' "$f")
		assert_ne 0 $((8#$flags & 02000000)) "O_CLOEXEC on fd $n ($(readlink "/proc/$shim/fd/$n"))"
	done
fi

kill_and_delete "$id"
no_leftovers "$id"
