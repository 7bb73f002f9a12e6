# shellcheck shell=bash
# The 2.x side of the start contract (spec 1.2): `start` prints the plain
# address, which containerd 2.x takes as a version-2 bootstrap and keeps in
# the bundle's bootstrap.json (containerd 1.6/1.7 read the `address` file
# the shim writes); and the shim serves containerd.task.v3.Task as well as
# v2 with the same messages: State, Pids and Connect answer byte for byte
# the same on both services.  The Go shim of 1.6 serves v2 only (noted,
# not failed); the bootstrap.json check runs on containerd 2.x only.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
id=v3a
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1
assert_eventually 10 "$id RUNNING" status_is "$id" RUNNING || exit 1

addr=$(cat "$BUNDLES/$id/address" 2>/dev/null)
if ctrd_at_least 2 0; then
	boot=$(cat "$BUNDLES/$id/bootstrap.json" 2>/dev/null)
	if is_nanoshim || [ "${boot#*\"version\":3}" = "$boot" ]; then
		assert_contains "$boot" '"version":2' "bootstrap.json version (plain address)"
	else
		# containerd 2.x's Go shim prints a version-3 bootstrap and
		# serves task v3 only.
		log "note: $SHIM prints a version-3 bootstrap: $boot"
		v3only=1
	fi
	assert_contains "$boot" '"protocol":"ttrpc"' "bootstrap.json protocol"
	baddr=$(printf '%s' "$boot" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p')
	assert_eq "unix://$(sha_socket "$id")" "$baddr" "bootstrap.json address"
	[ -n "$addr" ] && assert_eq "$addr" "$baddr" "address file = bootstrap.json"
	addr=$baddr
else
	assert_eq "unix://$(sha_socket "$id")" "$addr" "address file"
fi

# The request: field 1 (id) for all three methods.
req=0a$(printf '%02x' "${#id}")$(printf '%s' "$id" | od -An -v -tx1 | tr -d ' \n')
v3=1
if [ -n "${v3only:-}" ]; then
	for m in State Pids Connect; do
		b=$("$PY" "$LIB_DIR/wire_util.py" raw "$addr" containerd.task.v3.Task "$m" "$req")
		assert_contains "$b" "ok " "$m over task v3"
	done
	kill_and_delete "$id"
	no_leftovers "$id"
	exit 0
fi
for m in State Pids Connect; do
	a=$("$PY" "$LIB_DIR/wire_util.py" raw "$addr" containerd.task.v2.Task "$m" "$req")
	b=$("$PY" "$LIB_DIR/wire_util.py" raw "$addr" containerd.task.v3.Task "$m" "$req")
	assert_contains "$a" "ok " "$m over task v2"
	if [ "${b#code=12 }" != "$b" ] && ! is_nanoshim; then
		log "note: $SHIM does not serve task v3 ($b)"
		v3=0
		break
	fi
	assert_eq "$a" "$b" "$m: task v3 answers as v2"
done
is_nanoshim && assert_eq 1 "$v3" "nanoshim serves task v3"

kill_and_delete "$id"
no_leftovers "$id"
