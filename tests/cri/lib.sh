# shellcheck shell=bash
#
# tests/cri/lib.sh: a private containerd with its CRI plugin on, for the
# CRI cases (tests/cri/run.sh) and the pods-per-node benchmark
# (bench/pods.sh).  Sourced; sources tests/integration/lib.sh for the
# generic helpers (wait_until, pid_alive, mounts_under, ...).
#
# Owns: the network namespace with a CNI bridge + host-local IPAM, the
# containerd config with the `nanoshim` runtime handler, the offline images
# (busybox and our pause, tests/cri/mkimage.py) imported into k8s.io, and
# the teardown of everything it made.  Does not own: the cases
# (cases.py) nor what the benchmark measures.
#
# Environment (inputs)
#   SHIM            the binary behind the handler `nanoshim` (absolute path;
#                   default: the Go shim /usr/bin/containerd-shim-runc-v2,
#                   as in tests/integration).  It is copied to
#                   $D/bin/containerd-shim-nanoshim-v2, so the handler's
#                   runtime_type io.containerd.nanoshim.v2 finds it on
#                   containerd's PATH: switching SHIM switches the shim and
#                   nothing else.
#   GO_SHIM         the Go shim, for the handler `runc` (io.containerd.runc.v2)
#   CRI_TRACE_GO    1: record the Go shim's invocations (see cri_setup)
#   CONTAINERD_BIN  containerd to run (default: containerd on PATH)
#   CTR_BIN         its ctr (default: ctr on PATH)
#   CTRD_CONFIG_VERSION  2 (containerd 1.6/1.7) or 3 (2.x); default from
#                   `$CONTAINERD_BIN --version`
#   CRI_LOG_LEVEL   containerd's log level (default debug)
#
# After cri_setup:
#   D         private directory (mktemp): root, state, sockets, logs, CNI
#   CTR_ADDR  containerd's gRPC socket (the CRI endpoint too)
#   NETNS     the network namespace containerd runs in (ip netns name)
#   CGROUP_PARENT  cgroup under which the pods' cgroups go
#   BUSYBOX_IMAGE PAUSE_IMAGE  image references

CRI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRI_REPO=$(cd "$CRI_DIR/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$CRI_REPO/tests/integration/lib.sh"

PY=/usr/bin/python3
GO_SHIM=${GO_SHIM:-/usr/bin/containerd-shim-runc-v2}
CONTAINERD_BIN=${CONTAINERD_BIN:-$(command -v containerd)}
CTR_BIN=${CTR_BIN:-$(command -v ctr)}
CNI_BIN_DIR=${CNI_BIN_DIR:-/usr/lib/cni}
CRI_LOG_LEVEL=${CRI_LOG_LEVEL:-debug}
CRI_PAUSE=${CRI_PAUSE:-$CRI_REPO/build/cri/pause}
export CRI_API_PY=${CRI_API_PY:-$CRI_REPO/build/cri-api/py}
BUSYBOX_IMAGE=nanoshim.test/busybox:1
PAUSE_IMAGE=nanoshim.test/pause:1
CRI_NS=k8s.io
export GO_SHIM CONTAINERD_BIN CTR_BIN BUSYBOX_IMAGE PAUSE_IMAGE CRI_NS PY

cri_ctr() {
	timeout -k 5 60 "$CTR_BIN" --address "$CTR_ADDR" --namespace "$CRI_NS" "$@"
}

# cri_config_version: 3 for containerd 2.x, else 2.
cri_config_version() {
	if [ -n "${CTRD_CONFIG_VERSION:-}" ]; then
		echo "$CTRD_CONFIG_VERSION"
		return
	fi
	case "$("$CONTAINERD_BIN" --version 2>/dev/null | awk '{print $3}')" in
	v2.* | 2.*) echo 3 ;;
	*) echo 2 ;;
	esac
}

# _cri_runtimes <table-prefix>: the handlers.
#   nanoshim       the shim under test ($SHIM's copy in $D/bin, found on
#                  containerd's PATH as io.containerd.nanoshim.v2), with no
#                  options: both shims then run with the defaults (runc on
#                  PATH, cgroupfs), so either binary can be the handler's.
#   nanoshim-opts  the same with runc options: the CRI plugin decodes a
#                  handler's options as containerd.runc.v1.Options only for
#                  runtime_type io.containerd.runc.v2; for any other type it
#                  sends runtimeoptions.v1.Options and the runc keys are
#                  dropped (case options_by_runtime_type).
#   nanoshim-path  runtime_type io.containerd.runc.v2 with runtime_path
#                  naming the shim under test, options with runc's state
#                  under $D (case runtime_path).
#   runc           the Go shim, containerd-shim-runc-v2 on containerd's PATH
#                  ($D/bin: $GO_SHIM), for the benchmark.
_cri_runtimes() {
	cat <<EOF
  [$1.runtimes.nanoshim]
    runtime_type = "io.containerd.nanoshim.v2"
  [$1.runtimes.nanoshim-opts]
    runtime_type = "io.containerd.nanoshim.v2"
    [$1.runtimes.nanoshim-opts.options]
      BinaryName = "runc"
      Root = "$D/runc"
  [$1.runtimes.nanoshim-path]
    runtime_type = "io.containerd.runc.v2"
    runtime_path = "$D/bin/containerd-shim-nanoshim-v2"
    [$1.runtimes.nanoshim-path.options]
      BinaryName = "runc"
      Root = "$D/runc"
      SystemdCgroup = false
  [$1.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
EOF
}

cri_write_config() {
	local v
	v=$(cri_config_version)
	{
		cat <<EOF
version = $v
root = "$D/root"
state = "$D/state"
[grpc]
  address = "$CTR_ADDR"
[ttrpc]
  address = "$CTR_ADDR.ttrpc"
[debug]
  level = "$CRI_LOG_LEVEL"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
EOF
		if [ "$v" = 3 ]; then
			cat <<EOF
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins."io.containerd.cri.v1.runtime"]
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$CNI_BIN_DIR"]
    conf_dir = "$D/net.d"
[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "nanoshim"
EOF
			_cri_runtimes 'plugins."io.containerd.cri.v1.runtime".containerd'
			cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
		else
			cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  stats_collect_period = 1
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$D/net.d"
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "nanoshim"
  snapshotter = "overlayfs"
EOF
			_cri_runtimes 'plugins."io.containerd.grpc.v1.cri".containerd'
		fi
	} >"$D/config.toml"
}

# cri_write_cni: a bridge with host-local IPAM; its address records stay
# under $D (dataDir), not in /var/lib/cni.
cri_write_cni() {
	mkdir -p "$D/net.d" "$D/cni-ipam"
	cat >"$D/net.d/10-nanoshim.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "nanoshim-cri",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni-nano0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$D/cni-ipam",
        "ranges": [[{ "subnet": "10.77.0.0/16" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
EOF
}

# cri_images: the busybox and pause images as OCI archives, imported.
cri_images() {
	local -a args=() a bb
	bb=$(command -v busybox)
	[ -x /bin/busybox ] && bb=/bin/busybox
	for a in "${ROOTFS_APPLETS[@]}"; do
		args+=(--link "/bin/$a:busybox")
	done
	"$PY" "$CRI_DIR/mkimage.py" "$D/busybox.tar" "$BUSYBOX_IMAGE" \
		--file "$bb:/bin/busybox" "${args[@]}" --cmd /bin/sh \
		--dir /proc --dir /dev --dir /sys --dir /tmp --dir /etc \
		--text '/etc/passwd:root:x:0:0:root:/:/bin/sh
' --text '/etc/group:root:x:0:
' || return 1
	"$PY" "$CRI_DIR/mkimage.py" "$D/pause.tar" "$PAUSE_IMAGE" \
		--file "$CRI_PAUSE:/pause" --cmd /pause || return 1
	cri_ctr images import "$D/busybox.tar" >/dev/null || return 1
	cri_ctr images import "$D/pause.tar" >/dev/null || return 1
}

# cri_images_seen: the CRI plugin knows both images (it learns of
# imports from containerd's image events).
cri_images_seen() {
	"$PY" - "$CTR_ADDR" "$BUSYBOX_IMAGE" "$PAUSE_IMAGE" <<'EOF' 2>/dev/null
import sys
sys.path.insert(0, __import__("os").environ["CRI_DIR"])
from cri import Cri
c = Cri(sys.argv[1], timeout=5)
for ref in sys.argv[2:]:
    if not c.ImageStatus({"image": {"image": ref}}).image.id:
        sys.exit(1)
EOF
}

# containerd_start (replaces lib.sh's): containerd in $NETNS, its own
# session, PATH led by $D/bin (the handler's shim).
containerd_start() {
	: >"$D/containerd.pid"
	(
		cd "$D" || exit 1
		_close_inherited_fds
		# shellcheck disable=SC2016 # expanded by the inner sh
		PATH=$D/bin:$PATH setsid sh -c 'echo $$ >"$1"; shift
			exec nsenter --net="/run/netns/$1" "$2" --config "$3"' \
			sh "$D/containerd.pid" "$NETNS" "$CONTAINERD_BIN" \
			"$D/config.toml" >>"$D/containerd.log" 2>&1 </dev/null &
	)
	if ! wait_until 30 containerd_ready; then
		log "containerd did not come up; log tail:"
		tail -20 "$D/containerd.log" >&2
		return 1
	fi
}

containerd_ready() {
	containerd_alive &&
		"$CTR_BIN" --address "$CTR_ADDR" version >/dev/null 2>&1
}

cri_need() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -x "$CONTAINERD_BIN" ] || skip "missing containerd ($CONTAINERD_BIN)"
	[ -x "$CTR_BIN" ] || skip "missing ctr ($CTR_BIN)"
	_need runc
	_need busybox
	_need ip
	_need nsenter
	_need setsid
	local p
	for p in bridge host-local loopback; do
		[ -x "$CNI_BIN_DIR/$p" ] || skip "missing CNI plugin $CNI_BIN_DIR/$p (containernetworking-plugins)"
	done
	"$PY" -c 'import grpc' 2>/dev/null || skip "missing python3-grpcio"
	[ -s "$CRI_API_PY/api_pb2.py" ] || skip "no CRI stubs in $CRI_API_PY (tools/cri-api.sh)"
	[ -x "$CRI_PAUSE" ] || skip "no pause binary $CRI_PAUSE (make cri-deps)"
	case "$SHIM" in
	/*) ;;
	*) log "SHIM must be an absolute path: $SHIM" && exit 2 ;;
	esac
	[ -x "$SHIM" ] || { log "SHIM not executable: $SHIM" && exit 2; }
}

# cri_setup: everything up to a containerd whose CRI plugin has our images.
cri_setup() {
	cri_need
	D=$(mktemp -d /tmp/nanoshim-cri.XXXXXX) || exit 2
	NS=$CRI_NS
	CTR_ADDR=$D/containerd.sock
	NETNS=nanoshim-cri-$$
	CGROUP_PARENT=/nanoshim-cri-$$
	export D NS CTR_ADDR NETNS CGROUP_PARENT CRI_DIR
	_snapshot_host
	mkdir -p "$D/bin" "$D/logs" "$D/runc" || exit 2
	cp "$SHIM" "$D/bin/containerd-shim-nanoshim-v2" || exit 2
	# Written back now: dirty page-cache pages of the fresh copy would be
	# counted as the shims' Private_Dirty.
	sync "$D/bin/containerd-shim-nanoshim-v2"
	# containerd finds io.containerd.runc.v2 on its PATH as
	# containerd-shim-runc-v2: $GO_SHIM.  With CRI_TRACE_GO=1 (the cases)
	# a wrapper records each call in $D/go-shim-calls first, so a case can
	# tell which pods containerd gave the Go shim.
	if [ "${CRI_TRACE_GO:-0}" = 1 ]; then
		cat >"$D/bin/containerd-shim-runc-v2" <<EOF
#!/bin/sh
echo "\$*" >>"$D/go-shim-calls"
exec "$GO_SHIM" "\$@"
EOF
		chmod +x "$D/bin/containerd-shim-runc-v2"
	else
		ln -s "$GO_SHIM" "$D/bin/containerd-shim-runc-v2"
	fi
	ip netns add "$NETNS" || { log "ip netns add $NETNS failed" && exit 2; }
	echo "$NETNS" >"$D/netns"
	ip -n "$NETNS" link set lo up || exit 2
	cri_write_cni
	cri_write_config
	containerd_start || exit 2
	cri_images || { log "image import failed" && exit 2; }
	if ! wait_until 30 cri_images_seen; then
		log "the CRI plugin does not see the imported images"
		tail -20 "$D/containerd.log" >&2
		exit 2
	fi
}

# cri_shim_pids: shim daemons serving our containerd (any binary).
cri_shim_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		tr '\0' ' ' 2>/dev/null <"$f" | grep -q -- "-address $CTR_ADDR " || continue
		case "$(tr '\0' ' ' <"$f" 2>/dev/null)" in
		*" start " | *" delete ") continue ;;
		esac
		echo "$p"
	done
}

_cri_force_clean() {
	"$PY" - "$CTR_ADDR" <<'EOF' 2>/dev/null
import sys
sys.path.insert(0, __import__("os").environ["CRI_DIR"])
from cri import Cri
c = Cri(sys.argv[1], timeout=30)
for p in c.ListPodSandbox().items:
    try:
        c.StopPodSandbox({"pod_sandbox_id": p.id})
        c.RemovePodSandbox({"pod_sandbox_id": p.id})
    except Exception as e:
        print("cleanup %s: %s" % (p.id[:12], e), file=sys.stderr)
EOF
}

_cri_remove_cgroups() {
	local d
	for d in "$CGROUP_ROOT"/*"$CGROUP_PARENT" "$CGROUP_ROOT"/*/"$CRI_NS"; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		[ "${d##*/}" = "$CRI_NS" ] || rmdir "$d" 2>/dev/null
	done
}

# _cri_remove_created_dirs: the shared /run/containerd dirs that the run
# created and left empty (never another containerd's runc state).
_cri_remove_created_dirs() {
	local d
	[ -e "$D/dirs.created" ] || return 0
	sort -r "$D/dirs.created" | while read -r d; do
		rmdir "$d" 2>/dev/null
	done
}

# cri_teardown: idempotent, from a trap too.  KEEP_D=1 keeps $D.
cri_teardown() {
	local -a pids
	[ -n "${D:-}" ] && [ -d "$D" ] || return 0
	[ -e "$D/.teardown" ] && return 0
	: >"$D/.teardown"
	containerd_alive && _cri_force_clean
	mapfile -t pids < <(cri_shim_pids)
	if [ "${#pids[@]}" -gt 0 ]; then
		kill -TERM "${pids[@]}" 2>/dev/null
		wait_gone 5 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null
	fi
	containerd_stop
	unmount_under "$D"
	remove_new_sockets
	_cri_remove_cgroups
	_cri_remove_created_dirs
	[ -e "$D/netns" ] && ip netns delete "$(cat "$D/netns")" 2>/dev/null
	if [ -n "$(mounts_under "$D")" ]; then
		log "teardown: still mounted under $D, not removing it"
		return 1
	fi
	if [ "${KEEP_D:-0}" = 1 ]; then
		log "teardown: kept $D"
	else
		rm -rf --one-file-system "$D"
	fi
}
