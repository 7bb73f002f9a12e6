# shellcheck shell=bash
# valgrind memcheck, a second opinion next to the sanitizer pass: one
# shim (its `start`, and the daemon start spawns) runs under valgrind
# through a short lifecycle and an exec, driven over ttrpc without
# containerd (vg_drive.py: Create, Start, State, Pids, Stats, Exec, Wait,
# Delete, Kill, Shutdown).  Every valgrind log must say "ERROR SUMMARY: 0
# errors" (no invalid read or write, no use of uninitialised memory, no
# bad free; the heap is not used after startup) and the daemon must have
# exited by itself after Shutdown.  nanoshim only (the Go runtime is not
# valgrind-clean); run against the debug build in make test.
# TIMEOUT: 300

is_nanoshim || skip "valgrind pass is for nanoshim"
command -v valgrind >/dev/null || skip "valgrind not installed"
if [ -n "${VALGRIND_SHIM:-}" ]; then
	vshim=$VALGRIND_SHIM
elif ldd "$SHIM" 2>&1 | grep -q libasan; then
	skip "valgrind does not run a sanitizer build"
elif ldd "$SHIM" 2>&1 | grep -q "not a dynamic executable"; then
	skip "valgrind runs in the debug (glibc) pass; this shim is static"
else
	vshim=$SHIM
fi
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
WADDR=$T/containerd.sock
WNS=vg$$
. "$LIB_DIR/wire_lib.sh"
RROOT=$T/runc-root
mkdir -p "$RROOT"
trap '_rc=$?; runc --root "$RROOT" delete --force vg1 >/dev/null 2>&1;
	(exit $_rc); test_end' EXIT

run_checks /usr/bin/python3 "$LIB_DIR/vg_drive.py" --shim "$vshim" \
	--dir "$T/vg" --ns "$WNS" --address "$WADDR" --rootfs "$ROOTFS" \
	--runc-root "$RROOT"
# One log per process valgrind ran: `start`, the daemon, and the daemon's
# forks for runc (silent until their exec of runc, which is not traced:
# no summary in those).
n=0
for f in "$T"/vg/vg.*.log; do
	[ -e "$f" ] || continue
	grep -q 'ERROR SUMMARY' "$f" || continue
	n=$((n + 1))
	summary=$(grep 'ERROR SUMMARY' "$f" | tail -1)
	log "$(basename "$f"): $summary"
	case $summary in
	*"ERROR SUMMARY: 0 errors"*) pass ;;
	*) fail "valgrind in $f: $summary"$'\n'"$(head -60 "$f")" ;;
	esac
done
[ "$n" -ge 2 ] && pass || fail "expected logs of start and the daemon, got $n"
