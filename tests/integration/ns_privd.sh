# shellcheck shell=bash
#
# ns_privd.sh: a private containerd inside a private mount namespace, for
# the tests that need a cgroup layout this host does not have (t_crun.sh:
# cgroup v1 without the hybrid cgroup2 mount, which crun refuses;
# t_cgroup2.sh: cgroup2 at /sys/fs/cgroup, a unified host).  Sourced by a
# test after lib.sh (run.sh has already run test_begin).
#
#   privd_start <mode> [--as-runc-v2]
#       mode nounified: /sys/fs/cgroup/unified is unmounted in the
#                       namespace (the v1 controller mounts stay)
#       mode cgroup2:   the v1 tree under /sys/fs/cgroup is unmounted and
#                       cgroup2 is mounted at /sys/fs/cgroup
#       --as-runc-v2:   $SHIM is linked as containerd-shim-runc-v2 into
#                       containerd's cwd, where containerd looks first for
#                       the runtime io.containerd.runc.v2 (spec 10), so
#                       `ctr --runtime io.containerd.runc.v2 --runc-binary
#                       X` reaches our shim with binary_name=X
#     Skips (exit 77) with the reason when the namespace or containerd
#     cannot be set up.  Afterwards D, NS, CTR_ADDR, BUNDLES and CTR
#     describe the private containerd, so the ctr_* and task_* helpers of
#     lib.sh talk to it; the suite's values stay in SUITE_D, SUITE_NS,
#     SUITE_CTR_ADDR.  PRIVD_PID is containerd's pid, PRIVD_MNTNS its
#     mount namespace ("mnt:[inode]").
#
#   in_ns <cmd...>       run cmd in the private mount namespace
#   privd_procs          pids with the private containerd's address in
#                        argv (shims of any binary, their start/delete)
#   privd_shim_for <id>  pid of the serving shim of a container
#   privd_teardown       stop everything by pid, remove what the test
#                        made (cgroups, runc state, sockets, the dir) and
#                        assert that nothing is left: no process in the
#                        namespace (so its mounts are gone with it), the
#                        host's cgroup mounts unchanged.  Idempotent; it
#                        also runs from the EXIT trap.
#
# Everything started here is stopped by pid.  The host's mount table is
# never changed: all mounting happens in the unshared namespace.

PRIVD_MODE=
PRIVD_PID=
PRIVD_MNTNS=
PRIVD_DONE=
PRIVD_V2ROOT_HOST=/sys/fs/cgroup/unified

# _privd_mounts_of_interest: the host's mount lines this test could
# affect: the cgroup tree, our directories, runc's state.
_privd_mounts_of_interest() {
	awk -v d="$D" '
		$5 == "/sys/fs/cgroup" || index($5, "/sys/fs/cgroup/") == 1 ||
		$5 == d || index($5, d "/") == 1 ||
		index($5, "/run/containerd") == 1 { print }
	' /proc/self/mountinfo
}

# The script that becomes containerd: prepare the namespace, then exec.
# Reasons for failure go to $4 (the test reads them for its SKIP line).
# shellcheck disable=SC2016 # expanded by the inner sh
_PRIVD_INNER='
pidf=$1 cfg=$2 mode=$3 errf=$4
echo $$ >"$pidf"
fail() { echo "$*" >"$errf"; exit 97; }
case $mode in
nounified)
	if grep -q " /sys/fs/cgroup/unified " /proc/self/mountinfo; then
		out=$(umount /sys/fs/cgroup/unified 2>&1) ||
			fail "umount /sys/fs/cgroup/unified in a private mount namespace: $out"
	fi
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ] ||
		fail "/sys/fs/cgroup/unified is still cgroup2 after umount"
	;;
cgroup2)
	if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
		umount -R /sys/fs/cgroup 2>/dev/null
		out=$(mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>&1) ||
			fail "mount -t cgroup2 on /sys/fs/cgroup: $out"
	fi
	t=$(stat -f -c %T /sys/fs/cgroup)
	[ "$t" = cgroup2fs ] || fail "/sys/fs/cgroup is $t, not cgroup2fs"
	;;
*)	fail "unknown mode $mode" ;;
esac
: >"$errf"
exec "$CONTAINERD_BIN" --config "$cfg"
'

_privd_up_or_dead() {
	[ -s "$D/containerd.pid" ] && { containerd_ready || ! containerd_alive; }
}

privd_start() {
	local mode=$1 as_runc=${2:-} reason
	_need unshare
	_need nsenter
	_need stat
	PRIVD_MODE=$mode
	SUITE_D=$D
	SUITE_NS=$NS
	SUITE_CTR_ADDR=$CTR_ADDR
	D=$T/pd
	NS=${SUITE_NS}${TEST_NAME#t_}
	CTR_ADDR=$D/containerd.sock
	BUNDLES=$D/state/io.containerd.runtime.v2.task/$NS
	export D NS CTR_ADDR BUNDLES SUITE_D SUITE_NS SUITE_CTR_ADDR
	_set_ctr_array
	mkdir -p "$D/fifo" || exit 1
	_privd_mounts_of_interest >"$D/mounts.before"
	[ -e "$PRIVD_V2ROOT_HOST/cgroup.subtree_control" ] &&
		cat "$PRIVD_V2ROOT_HOST/cgroup.subtree_control" >"$D/subtree.before"
	trap '_privd_exit' EXIT
	write_config
	if [ "$as_runc" = --as-runc-v2 ]; then
		ln -s "$SHIM" "$D/containerd-shim-runc-v2" || exit 1
	fi
	: >"$D/containerd.pid"
	: >"$D/ns.err"
	(
		cd "$D" || exit 1
		_close_inherited_fds
		setsid unshare --mount --propagation private \
			sh -c "$_PRIVD_INNER" sh "$D/containerd.pid" \
			"$D/config.toml" "$mode" "$D/ns.err" \
			>>"$D/containerd.log" 2>&1 </dev/null &
	)
	wait_until 30 _privd_up_or_dead
	PRIVD_PID=$(containerd_pid)
	PRIVD_MNTNS=$(readlink "/proc/$PRIVD_PID/ns/mnt" 2>/dev/null)
	if ! containerd_ready; then
		reason=$(cat "$D/ns.err" 2>/dev/null)
		[ -n "$reason" ] || reason="private containerd did not come up: $(tail -3 "$D/containerd.log" | tr '\n' ' ')"
		skip "$reason"
	fi
	[ "$PRIVD_MNTNS" != "$(readlink /proc/self/ns/mnt)" ] ||
		{ fail "containerd is not in a private mount namespace" && exit 1; }
	log "private containerd pid $PRIVD_PID in $PRIVD_MNTNS (mode $mode), namespace $NS"
}

in_ns() {
	nsenter --target "$PRIVD_PID" --mount -- "$@"
}

# _privd_argv <pid>: ARGV of a process of the private containerd.
_privd_argv() {
	ARGV=()
	mapfile -d '' -t ARGV 2>/dev/null </proc/"$1"/cmdline || return 1
	case " ${ARGV[*]} " in
	*" $CTR_ADDR "*) return 0 ;;
	esac
	return 1
}

privd_procs() {
	local f p
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		[ "$p" = "$PRIVD_PID" ] && continue
		_privd_argv "$p" && pid_alive "$p" && echo "$p"
	done
}

privd_shim_for() { # <id>
	local f p
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		[ "$p" = "$PRIVD_PID" ] && continue
		if ! { _privd_argv "$p" && _argv_is_daemon; }; then
			continue
		fi
		[ "$(_argv_id)" = "$1" ] && pid_alive "$p" && echo "$p" && return 0
	done
	return 1
}

no_privd_shim_for() {
	! privd_shim_for "$1" >/dev/null
}

# _privd_ns_procs: every process still in the private mount namespace.
_privd_ns_procs() {
	local f
	[ -n "$PRIVD_MNTNS" ] || return 0
	for f in /proc/[0-9]*; do
		[ "$(readlink "$f/ns/mnt" 2>/dev/null)" = "$PRIVD_MNTNS" ] &&
			echo "${f#/proc/}"
	done
}

_privd_no_ns_procs() {
	[ -z "$(_privd_ns_procs)" ]
}

_privd_no_procs() {
	[ -z "$(privd_procs)" ]
}

# _privd_cgroup_dirs: where the container cgroups of our namespace live
# on the host (v1 controllers, and the one cgroup2 hierarchy: the cgroup2
# mounted in the namespace is the host's /sys/fs/cgroup/unified).
_privd_cgroup_dirs() {
	local d
	for d in "$CGROUP_ROOT"/*/"$NS"; do
		[ -d "$d" ] && echo "$d"
	done
}

_privd_kill_container_procs() {
	local d f p
	for d in $(_privd_cgroup_dirs); do
		for f in "$d"/*/cgroup.procs; do
			[ -e "$f" ] || continue
			[ -e "${f%/cgroup.procs}/cgroup.freeze" ] &&
				echo 0 >"${f%/cgroup.procs}/cgroup.freeze" 2>/dev/null
			while read -r p; do
				kill -KILL "$p" 2>/dev/null
			done <"$f"
		done
	done
	for f in "$CGROUP_ROOT"/freezer/"$NS"/*/freezer.state; do
		[ -e "$f" ] && echo THAWED >"$f" 2>/dev/null
	done
	return 0
}

_privd_remove_cgroups() {
	local d
	for d in $(_privd_cgroup_dirs); do
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	return 0
}

# _privd_restore_subtree: take back the controllers that runc or the
# shim enabled in the cgroup2 root's subtree_control (runc enables every
# available controller on the way down to the container's cgroup).  A
# controller someone else uses meanwhile cannot be disabled (EBUSY); that
# is theirs then, and only logged.
_privd_restore_subtree() {
	local f=$PRIVD_V2ROOT_HOST/cgroup.subtree_control c
	[ -e "$D/subtree.before" ] && [ -e "$f" ] || return 0
	# shellcheck disable=SC2013 # one line of words
	for c in $(cat "$f"); do
		grep -qw -- "$c" "$D/subtree.before" && continue
		if ! echo "-$c" 2>/dev/null >"$f"; then
			log "note: could not disable $c in $f again (in use elsewhere)"
			echo "$c" >>"$D/subtree.inuse"
		fi
	done
}

_privd_subtree_restored() {
	local c
	# shellcheck disable=SC2013 # one line of words
	for c in $(cat "$PRIVD_V2ROOT_HOST/cgroup.subtree_control"); do
		grep -qw -- "$c" "$D/subtree.before" "$D/subtree.inuse" \
			2>/dev/null || return 1
	done
	return 0
}

privd_teardown() {
	local -a pids
	local id s
	[ -n "$PRIVD_MODE" ] && [ -z "$PRIVD_DONE" ] || return 0
	PRIVD_DONE=1
	if containerd_alive && containerd_ready; then
		ns_force_clean
	fi
	mapfile -t pids < <(privd_procs)
	if [ "${#pids[@]}" -gt 0 ]; then
		log "teardown: stopping processes ${pids[*]}"
		kill -TERM "${pids[@]}" 2>/dev/null
		wait_gone 5 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null
		wait_gone 5 "${pids[@]}"
	fi
	_privd_kill_container_procs
	containerd_stop
	assert_ok "private containerd stopped" pid_dead "$PRIVD_PID"
	assert_eventually 10 "no process of the private containerd left" \
		_privd_no_procs
	assert_eventually 10 "no process left in $PRIVD_MNTNS (its mounts are gone with it)" \
		_privd_no_ns_procs
	# Sockets of our shims that a killed shim could not remove.
	for id in $(ls "$BUNDLES" 2>/dev/null) $(cat "$D/ids" 2>/dev/null); do
		s=$(sha_socket "$id")
		[ -S "$s" ] && rm -f "$s"
	done
	rm -rf "${RUNC_STATE:?}/${NS:?}"
	_privd_remove_cgroups
	assert_eq "" "$(_privd_cgroup_dirs | tr '\n' ' ')" "cgroup dirs of $NS left"
	if [ "$PRIVD_MODE" = cgroup2 ]; then
		_privd_restore_subtree
		assert_ok "cgroup2 root subtree_control restored to '$(cat "$D/subtree.before" 2>/dev/null)'" \
			_privd_subtree_restored
	fi
	_privd_mounts_of_interest >"$D/mounts.after"
	assert_file_eq "$D/mounts.before" "$D/mounts.after" \
		"host mount table (cgroup tree, /run/containerd, our dirs)"
	# Keep the logs for KEEP_D=1; run.sh removes $T with the suite dir.
	rm -rf "$D/root" "$D/state" "$D/fifo" "$D/containerd.sock" \
		"$D/containerd.sock.ttrpc" "$D/containerd-shim-runc-v2"
}

# privd_note_id <id>: remember a container id for the socket clean-up.
privd_note_id() {
	echo "$1" >>"$D/ids"
}

_privd_set_rc() {
	return "$1"
}

_privd_exit() {
	local rc=$?
	privd_teardown
	_privd_set_rc "$rc"
	test_end
}
