# shellcheck shell=bash
# The runc option ShimCgroup (spec 1.2 step 8; containerd's TestShimInCgroup):
# `start` reads the task options from stdin (a google.protobuf.Any holding
# containerd.runc.v1.Options, as containerd writes it) and moves the shim
# daemon into that cgroup before it prints the address.
#
# cgroup v1 (this host, hybrid): a cgroup made in every v1 hierarchy, named
# ones included (cpuset seeded from its parent, as containerd's cgroups.New
# does); after start the daemon is in each of them (containerd checks the
# devices hierarchy).  A cgroup that exists nowhere fails start with "failed
# to load cgroup X" and leaves no daemon and no socket behind.
# cgroup v2: the daemon joins the one unified cgroup, and a missing one
# fails start (on a hybrid host in a private mount namespace with cgroup2
# at /sys/fs/cgroup; on a pure v2 host, as in tests/vm, directly, and the
# v1 part is not run).
# nanoshim only: the type URL containerd 2.x writes
# ("type.googleapis.com/containerd.runc.v1.Options") works the same; other
# option types are not runc's and are ignored.

PY=/usr/bin/python3
TOOLS=$LIB_DIR/../../tools
WNS=sc$$
WADDR=$T/containerd.sock
CG=nanoshim-it-$$
: >"$T/sockets"

# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$LIB_DIR/wire_lib.sh"

V1DIRS=()
while read -r _ _ _ _ mnt _ rest; do
	case " $rest " in
	*" - cgroup "*) V1DIRS+=("$mnt") ;;
	esac
done </proc/self/mountinfo

cleanup() {
	local rc=$? d
	wire_cleanup
	for d in "${V1DIRS[@]}"; do
		rmdir "$d/$CG/shim" "$d/$CG" 2>/dev/null
	done
	rmdir "/sys/fs/cgroup/unified/$CG-v2" "/sys/fs/cgroup/$CG-v2" 2>/dev/null
	# test_end reads the test's own status.
	(exit "$rc")
	test_end
}
trap cleanup EXIT

# options_any <file> <shim_cgroup> [type-url]: the bytes containerd pipes
# into `start`.
options_any() {
	"$PY" - "$1" "$2" "${3:-containerd.runc.v1.Options}" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TOOLS"])
import ttrpc
from google.protobuf import any_pb2
pb = ttrpc.load()
o = pb.oci.Options(shim_cgroup=sys.argv[2])
a = any_pb2.Any(type_url=sys.argv[3], value=o.SerializeToString())
open(sys.argv[1], "wb").write(a.SerializeToString())
EOF
}
export TOOLS

bundle() { # <dir>
	mkdir -p "$1" && printf '{}\n' >"$1/config.json" && mkfifo "$1/log" || return 1
	cat 0<>"$1/log" >"$1.shimlog" 2>/dev/null &
	echo $! >>"$T/bgpids"
}

# shim_start <bundle> <id> <options-file> [wrapper...]: start's stdout in
# <bundle>.out, stderr in <bundle>.err; its exit status.
shim_start() {
	local b=$1 id=$2 opts=$3
	shift 3
	(cd "$b" && TTRPC_ADDRESS=$T/no-events.sock "$@" "$SHIM" -namespace "$WNS" \
		-address "$WADDR" -publish-binary /usr/bin/containerd -id "$id" start) \
		<"$opts" >"$b.out" 2>"$b.err"
}

expected_sock() { # <id>
	local h
	h=$(printf '%s' "$WADDR/$WNS/$1" | sha256sum)
	echo "/run/containerd/s/${h%% *}"
}

in_procs() { # <cgroup dir> <pid>
	grep -qx "$2" "$1/cgroup.procs"
}

stop_daemons() {
	local p
	for p in $(our_daemons); do
		kill -TERM "$p"
		wait_gone 5 "$p" || kill -KILL "$p"
	done
}

# --- cgroup v1 (hybrid host) ----------------------------------------------
if [ "$CGROUP_V2" = 0 ]; then
	assert_ne 0 "${#V1DIRS[@]}" "v1 hierarchies on this host" || exit 1
	for d in "${V1DIRS[@]}"; do
		mkdir -p "$d/$CG/shim" || fail "mkdir $d/$CG/shim"
		if [ -e "$d/cpuset.cpus" ]; then
			cat "$d/cpuset.cpus" >"$d/$CG/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/$CG/cpuset.mems"
			cat "$d/cpuset.cpus" >"$d/$CG/shim/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/$CG/shim/cpuset.mems"
		fi
	done

	options_any "$T/opts" "/$CG/shim" || fail "encode options"
	bundle "$T/b1"
	expected_sock b1 >>"$T/sockets"
	shim_start "$T/b1" b1 "$T/opts"
	assert_eq 0 $? "start with ShimCgroup exits 0 ($(cat "$T/b1.err"))"
	d1=$(our_daemons)
	assert_ne "" "$d1" "a daemon serves b1" || exit 1
	for d in "${V1DIRS[@]}"; do
		assert_ok "daemon $d1 in $d/$CG/shim" in_procs "$d/$CG/shim" "$d1"
	done
	assert_ok "daemon no longer in the root devices cgroup" \
		grep -q "devices:/$CG/shim\$" "/proc/$d1/cgroup"
	stop_daemons

	if is_nanoshim; then
		options_any "$T/opts2" "/$CG/shim" type.googleapis.com/containerd.runc.v1.Options
		bundle "$T/b2"
		expected_sock b2 >>"$T/sockets"
		shim_start "$T/b2" b2 "$T/opts2"
		assert_eq 0 $? "start with a type.googleapis.com URL ($(cat "$T/b2.err"))"
		d2=$(our_daemons)
		assert_ok "daemon $d2 joined through the 2.x type URL" \
			in_procs "${V1DIRS[0]}/$CG/shim" "$d2"
		stop_daemons

		options_any "$T/opts3" "/$CG/shim" containerd.runc.v1.SomethingElse
		bundle "$T/b3"
		expected_sock b3 >>"$T/sockets"
		shim_start "$T/b3" b3 "$T/opts3"
		assert_eq 0 $? "start with another option type"
		d3=$(our_daemons)
		assert_ne "" "$d3" "daemon for b3"
		assert_ok "another option type moves nothing" \
			grep -q "devices:/\$" "/proc/$d3/cgroup"
		stop_daemons
	fi
fi

# A cgroup that does not exist: start fails and leaves nothing.
options_any "$T/opts4" "/$CG/missing"
bundle "$T/b4"
s4=$(expected_sock b4)
echo "$s4" >>"$T/sockets"
shim_start "$T/b4" b4 "$T/opts4"
assert_ne 0 $? "start with a missing ShimCgroup fails"
assert_contains "$(cat "$T/b4.err")" "/$CG/missing" "the error names the cgroup"
assert_eventually 5 "no daemon left after the failed start" test -z "$(our_daemons)"
assert_ok "socket removed after the failed start" test ! -e "$s4"

# --- cgroup v2 -----------------------------------------------------------
V2=/sys/fs/cgroup
if [ "$CGROUP_V2" = 0 ]; then
	# Hybrid: a private mount namespace with cgroup2 at /sys/fs/cgroup.
	if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ]; then
		log "no cgroup2 mount on this host: v2 part not run"
		exit 0
	fi
	V2=/sys/fs/cgroup/unified
fi
mkdir "$V2/$CG-v2" || fail "mkdir v2 cgroup"
bundle "$T/b5"
expected_sock b5 >>"$T/sockets"
options_any "$T/opts5" "/$CG-v2"
options_any "$T/opts6" "/$CG-v2-missing"
bundle "$T/b6"
s6=$(expected_sock b6)
echo "$s6" >>"$T/sockets"
if [ "$CGROUP_V2" = 1 ]; then
	shim_start "$T/b5" b5 "$T/opts5"
	echo "b5 $?" >"$T/v2.rc"
	shim_start "$T/b6" b6 "$T/opts6"
	echo "b6 $?" >>"$T/v2.rc"
else
	# The daemon stays in the namespace (it holds its mounts); the test
	# stops it by pid like every other.
	unshare -m --propagation private sh -c '
		umount -R /sys/fs/cgroup 2>/dev/null
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 97
		"$@"' sh bash -c '
		. "$LIB_DIR/lib.sh"
		SHIM=$1 WNS=$2 WADDR=$3 T=$4
		'"$(declare -f shim_start)"'
		shim_start "$T/b5" b5 "$T/opts5"; echo "b5 $?" >"$T/v2.rc"
		shim_start "$T/b6" b6 "$T/opts6"; echo "b6 $?" >>"$T/v2.rc"' \
		bash "$SHIM" "$WNS" "$WADDR" "$T"
	rc=$?
	[ "$rc" != 97 ] || skip "cannot mount cgroup2 in a private mount namespace"
fi
assert_eq "b5 0" "$(head -1 "$T/v2.rc")" "v2: start with ShimCgroup ($(cat "$T/b5.err"))"
d5=$(our_daemons)
assert_ne "" "$d5" "v2: a daemon serves b5"
assert_ok "v2: daemon $d5 in the unified cgroup" \
	in_procs "$V2/$CG-v2" "$d5"
assert_ne "b6 0" "$(tail -1 "$T/v2.rc")" "v2: a missing cgroup fails start"
assert_contains "$(cat "$T/b6.err")" "/$CG-v2-missing" "v2: the error names the cgroup"
assert_ok "v2: socket removed after the failed start" test ! -e "$s6"
stop_daemons
assert_eq "" "$(our_daemons)" "no daemon left"
