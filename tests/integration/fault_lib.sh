# shellcheck shell=bash
# fault_lib.sh: helpers of the fault-injection tests (t_fault_*.sh),
# sourced after lib.sh.
#
# A runc wrapper stands in for runc (the runc option binary_name, reached
# through the runtime io.containerd.runc.v2, which the suite links to the
# shim under test in containerd's cwd).  It execs the real runc unless a
# control file in $FAULT_DIR asks for a fault on this subcommand; each
# control file is taken (renamed) by the first call it matches:
#
#   <cmd>.kill   content "pidfile" or "ms:N": run runc, then SIGKILL it and
#                the wrapper itself (the process the shim started) once
#                runc has written its --pid-file (create, exec: the
#                container process exists, runc has not finished) or N ms
#                into the call
#   <cmd>.hang   the wrapper becomes `sleep` (exec): runc never answers
#   <cmd>.fill   content DIR: fill DIR's file system (a file DIR/.fill)
#                before running runc
#
# Every call is logged in $FAULT_DIR/calls ("<cmd> <wrapper pid>"), every
# fault taken in $FAULT_DIR/taken ("<cmd> <kind> <pid>").

# FAULT_TESTS=0 skips them (make test runs them in the release pass only).
[ "${FAULT_TESTS:-1}" = 0 ] && skip "fault tests are off (FAULT_TESTS=0)"

FAULT_DIR=$T/fault
FAULT_WRAP=$T/runc-fault
FAULT_RUNC=$(command -v runc)

fault_setup() {
	mkdir -p "$FAULT_DIR" || return 1
	: >"$FAULT_DIR/calls"
	: >"$FAULT_DIR/taken"
	cat >"$FAULT_WRAP" <<EOF
#!/bin/sh
F='$FAULT_DIR'
RUNC='$FAULT_RUNC'
cmd= pidfile= skip= want=
for a in "\$@"; do
	if [ -n "\$skip" ]; then
		skip=
		continue
	fi
	if [ -n "\$want" ]; then
		pidfile=\$a
		want=
	fi
	if [ -z "\$cmd" ]; then
		case \$a in
		--root | --log | --log-format | --criu) skip=1 ;;
		-*) ;;
		*) cmd=\$a ;;
		esac
	elif [ "\$a" = --pid-file ]; then
		want=1
	fi
done
echo "\$cmd \$\$" >>"\$F/calls"
if mv "\$F/\$cmd.hang" "\$F/\$cmd.hang.taken" 2>/dev/null; then
	echo "\$cmd hang \$\$" >>"\$F/taken"
	exec sleep 100000
fi
if mv "\$F/\$cmd.fill" "\$F/\$cmd.fill.taken" 2>/dev/null; then
	echo "\$cmd fill \$\$" >>"\$F/taken"
	dd if=/dev/zero of="\$(cat "\$F/\$cmd.fill.taken")/.fill" bs=64k \\
	    >/dev/null 2>&1
fi
if mv "\$F/\$cmd.kill" "\$F/\$cmd.kill.taken" 2>/dev/null; then
	point=\$(cat "\$F/\$cmd.kill.taken")
	"\$RUNC" "\$@" &
	r=\$!
	echo "\$cmd kill \$\$ runc \$r" >>"\$F/taken"
	case \$point in
	pidfile)
		n=0
		while [ ! -s "\$pidfile" ] && kill -0 \$r 2>/dev/null &&
		    [ \$n -lt 2000 ]; do
			n=\$((n + 1))
			sleep 0.002
		done ;;
	ms:*)
		sleep "\$(echo "\${point#ms:}" | awk '{ printf "%.3f", \$1 / 1000 }')" ;;
	esac
	kill -KILL \$r 2>/dev/null
	kill -KILL \$\$
fi
exec "\$RUNC" "\$@"
EOF
	chmod +x "$FAULT_WRAP"
}

# fault_arm <cmd> <kill|hang|fill> [content]
fault_arm() {
	printf '%s\n' "${3:-}" >"$FAULT_DIR/$1.$2.new" &&
		mv "$FAULT_DIR/$1.$2.new" "$FAULT_DIR/$1.$2"
}

# fault_taken <cmd> <kind>: the armed fault was used.
fault_taken() {
	grep -q "^$1 $2 " "$FAULT_DIR/taken"
}

# fault_run [run-flags...] ID CMD...: ctr run through the wrapper (flags
# with values written --flag=value).
fault_run() {
	local -a flags=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
		flags+=("$1")
		shift
	done
	ctr_ns run --runtime io.containerd.runc.v2 --runc-binary "$FAULT_WRAP" \
		--fifo-dir "$D/fifo" --env PATH=/bin "${flags[@]}" \
		--rootfs "$ROOTFS" "$@"
}

# fd_count <pid>: open fds of a process.
fd_count() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		[ -e "$f" ] || [ -L "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# shim_serving <id>: the shim answers State for the container through
# containerd (ctr task ls lists it with a status).
shim_serving() {
	[ -n "$(task_status "$1")" ]
}

# assert_shim_steady <pid> <fds-before> <what>: the shim is alive, its fd
# count is back to what it was, and (nanoshim) its memory did not grow:
# the invariant sampler checks VmData and anonymous mappings all along.
assert_shim_steady() {
	local p=$1 fds=$2 what=$3
	assert_ok "$what: shim alive" pid_alive "$p" || return 1
	wait_until 10 _fds_are "$p" "$fds" && pass && return 0
	fail "$what: shim fds not back to $fds within 10 s: $(fd_count "$p"):" \
		"$(_fd_kinds "$p")"
}

# _fd_kinds <pid>: how many fds of each kind (socket, pipe, file...).
_fd_kinds() {
	find /proc/"$1"/fd -mindepth 1 -printf '%l\n' 2>/dev/null |
		sed 's/[0-9]*//g; s|^/.*|file|' | sort | uniq -c | tr '\n' ' '
}

_fds_are() {
	[ "$(fd_count "$1")" = "$2" ]
}

# processes_named <name>: pids whose comm is name.
processes_named() {
	local f c
	for f in /proc/[0-9]*/comm; do
		read -r c 2>/dev/null <"$f" || continue
		[ "$c" = "$1" ] && echo "${f//[^0-9]/}"
	done
}

# _status_in <id> <STATUS...>: the task's status is one of them.
_status_in() {
	local s x
	s=$(task_status "$1")
	shift
	for x in "$@"; do
		[ "$s" = "$x" ] && return 0
	done
	return 1
}
