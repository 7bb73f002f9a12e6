# shellcheck shell=bash
# TIMEOUT: 300
# Delete right after kill --all (issue 8; containerd's TestContainerKillAll):
# containers without a pid namespace of their own, a runc that keeps the
# cgroup frozen KILLALL_FREEZE seconds (default 0.5) in every `kill --all`
# as a loaded runc does while it signals, and a Delete sent the moment Wait
# returns.  The shim's own kill --all after the init's exit must be over
# before the exit is published and before the Delete runs runc (else:
# "cannot delete container that is not stopped: paused"), and a client's
# kill --all is answered only once its runc is done.  KILLALL_ROUNDS
# containers (default 4), init-kill and kill --all in turn.  Checked with
# the Go shim.

PY=/usr/bin/python3
WADDR=$T/containerd.sock
WNS=ka$$
: >"$T/sockets"
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"
cleanup() {
	local rc=$? id
	wire_cleanup
	for id in $(runc --root "$RUNC_STATE/$WNS" list -q 2>/dev/null); do
		runc --root "$RUNC_STATE/$WNS" delete --force "$id" >/dev/null 2>&1
	done
	rmdir "$RUNC_STATE/$WNS" 2>/dev/null
	find /sys/fs/cgroup/*/"$WNS" /sys/fs/cgroup/"$WNS" -depth -type d \
		-exec rmdir {} + 2>/dev/null
	# test_end reads the test's own status.
	(exit "$rc")
	test_end
}
trap cleanup EXIT

h=$(printf '%s' "$WADDR/$WNS/pod" | sha256sum)
echo "/run/containerd/s/${h%% *}" >>"$T/sockets"
run_checks "$PY" "$LIB_DIR/wire_killall.py" "$SHIM" "$ROOTFS" "$WNS" "$T" \
	"${KILLALL_ROUNDS:-4}" "${KILLALL_FREEZE:-0.5}"
assert_eq "" "$(runc --root "$RUNC_STATE/$WNS" list -q 2>/dev/null)" "no runc container left"
assert_eq "" "$(our_daemons)" "no shim left"
