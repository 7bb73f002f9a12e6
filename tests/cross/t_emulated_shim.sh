# shellcheck shell=bash
# The shim under test is the arm64 or armhf build, run by qemu-user
# through binfmt_misc (tests/cross/smoke.sh sets that up and exports QEMU,
# the interpreter, and ELF_MACHINE, the binary's e_machine): containerd
# starts it by its path; the serving daemon,
# a re-execution of /proc/self/exe, is emulated too; it is the container
# init's parent (PR_SET_CHILD_SUBREAPER reaches the kernel), answers
# Connect with its own pid, and Stats gives the container's counters.

[ -n "${QEMU:-}" ] && [ -n "${ELF_MACHINE:-}" ] ||
	skip "QEMU or ELF_MACHINE unset (run through tests/cross/smoke.sh)"

# e_machine of the ELF header (offset 18, little-endian): 00b7 aarch64,
# 0028 arm.
assert_eq "$ELF_MACHINE" "$(od -An -tx2 -j18 -N2 "$SHIM" | tr -d ' ')" \
	"e_machine of $SHIM"

id=arm1
assert_ok "run -d" ctr_run -d "$id" sh -c 'sleep 1000 & wait' || exit 1
init=$(task_pid "$id")
shim=$(shim_pid_for "$id")
assert_ne "" "$shim" "shim pid" || exit 1

assert_eq "$(readlink -f "$QEMU")" "$(readlink "/proc/$shim/exe")" \
	"the daemon runs in qemu-user"
mapfile -d '' -t argv <"/proc/$shim/cmdline"
assert_eq "$(readlink -f "$SHIM")" "${argv[1]}" "qemu-user runs the shim"
assert_eq "$shim" "$(ppid_of "$init")" "the shim is the init's parent"
assert_eq "$shim $init" \
	"$(python3 "$LIB_DIR/shimrpc.py" "$(sha_socket "$id")" connect "$id")" \
	"Connect: the shim's pid and the init's"

out=$(ctr_exec --exec-id x1 "$id" sh -c 'echo from-exec; exit 5')
assert_eq 5 $? "exec exit status"
assert_eq from-exec "$out" "exec output"

ctr_ns task metrics --format json "$id" >"$T/m.json"
assert_eq 0 $? "metrics"
cur=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pids"]["current"])' "$T/m.json")
assert_eq 2 "$cur" "pids.current through the emulated shim"

kill_and_delete "$id"
no_leftovers "$id"
