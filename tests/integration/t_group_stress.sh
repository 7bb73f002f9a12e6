# shellcheck shell=bash
# TIMEOUT: 600
# A pod's shim under the stop/delete race of Kubernetes (issue 8): one
# grouped shim serves a sandbox and, per round, GROUP_NCTR containers
# (default 8) each on a connection of its own; every round stops them all
# at once the way CRI does (Wait parked, Kill, then Delete, Shutdown and
# close as soon as the exit is seen), with a runc whose kill lingers
# GROUP_KILL_DELAY seconds after signalling, so every exit arrives while
# its Kill is still in flight.  GROUP_ROUNDS rounds (default 12; the
# matrix runs hundreds).  Every Kill, Wait, Delete and Shutdown must be
# answered, the Kill before the Delete (else containerd's close fails it
# with "ttrpc: closed"), with the right statuses and one TaskExit each;
# the sandbox runs throughout; the shim exits after the pod; nanoshim's
# VmData does not grow after the first round.  Checked with the Go shim.

PY=/usr/bin/python3
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
WADDR=$T/containerd.sock
WNS=gs$$
: >"$T/sockets"
. "$LIB_DIR/wire_lib.sh"
cleanup() {
	local rc=$? id
	wire_cleanup
	# Whatever a failed run left: runc state and cgroups of our namespace.
	for id in $(runc --root "$RUNC_STATE/$WNS" list -q 2>/dev/null); do
		runc --root "$RUNC_STATE/$WNS" delete --force "$id" >/dev/null 2>&1
	done
	rmdir "$RUNC_STATE/$WNS" 2>/dev/null
	find /sys/fs/cgroup/*/"$WNS" -depth -type d -exec rmdir {} + 2>/dev/null
	# test_end reads the test's own status.
	(exit "$rc")
	test_end
}
trap cleanup EXIT

h=$(printf '%s' "$WADDR/$WNS/pod" | sha256sum)
echo "/run/containerd/s/${h%% *}" >>"$T/sockets"
is_nanoshim && export NANOSHIM=1
run_checks "$PY" "$LIB_DIR/wire_group.py" "$SHIM" "$ROOTFS" "$WNS" "$T" \
	"${GROUP_ROUNDS:-12}" "${GROUP_NCTR:-8}" "${GROUP_KILL_DELAY:-0.2}"
assert_eq "" "$(runc --root "$RUNC_STATE/$WNS" list -q 2>/dev/null)" "no runc container left"
assert_eq "" "$(our_daemons)" "no shim left"
