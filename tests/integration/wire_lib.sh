# shellcheck shell=bash
# wire_lib.sh: helpers shared by the tests that start shim daemons of their
# own (t_binary_contract, t_wire_frames, t_limits, t_exec_cycles), sourced
# after lib.sh.  A test sets WADDR (the private containerd address its
# daemons get) and WNS (its namespace) before sourcing, and lists every
# shim socket it creates in $T/sockets.

# our_daemons: pids of serving shims started by this test (their argv
# carries our private -address; start and delete runs are not daemons).
our_daemons() {
	local f p
	local -a a
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' -t a 2>/dev/null <"$f" || continue
		[ "${#a[@]}" -gt 2 ] || continue
		case " ${a[*]} " in
		*" -address $WADDR "*) ;;
		*) continue ;;
		esac
		case "${a[-1]}" in
		start | delete) continue ;;
		esac
		p=${f#/proc/}
		p=${p%/cmdline}
		pid_alive "$p" && echo "$p"
	done
}

# wire_cleanup: stop our daemons (TERM, then KILL after 5 s), remove the
# sockets listed in $T/sockets and the namespace's runc state dir.
wire_cleanup() {
	local p s
	for p in $(our_daemons); do
		kill -TERM "$p" 2>/dev/null
		wait_gone 5 "$p" || kill -KILL "$p" 2>/dev/null
	done
	if [ -f "$T/sockets" ]; then
		while read -r s; do
			rm -f "$s"
		done <"$T/sockets"
	fi
	rmdir "$RUNC_STATE/$WNS" 2>/dev/null
	return 0
}

# run_checks <cmd...>: every "ok X" / "FAIL X: why" line the command
# prints becomes an assertion; other lines go to the test output.
run_checks() {
	local line rc
	"$@" >"$T/checks.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) log "$line" ;;
		esac
	done <"$T/checks.out"
	[ "$rc" = 0 ] || grep -q '^FAIL ' "$T/checks.out" ||
		fail "${2##*/} exited $rc"
}

# no_zombie_child <pid>: no child of pid is a zombie.
no_zombie_child() {
	! children_of "$1" | grep -q ' Z$'
}
