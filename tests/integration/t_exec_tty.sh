# shellcheck shell=bash disable=SC2016 # container scripts in single quotes
# `ctr task exec --tty`: the exec gets a terminal (tty names a pty), its
# exit status comes back, and text typed on ctr's terminal reaches it
# through the pty master.  ctr needs a terminal itself, so it runs under
# ptyrun.py.

id=xt1
assert_ok "run -d" ctr_run -d "$id" sleep 1000 || exit 1

pty() {
	python3 "$LIB_DIR/ptyrun.py" -t 30 "$@"
}

out=$(pty -- "${CTR[@]}" task exec --fifo-dir "$D/fifo" -t --exec-id t1 "$id" \
	sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; exit 3')
assert_eq 3 $? "exit status of tty exec"
assert_contains "$out" "/dev/pts/" "tty in the exec"
assert_contains "$out" "both-tty" "stdin and stdout are the terminal"

out=$(pty -w READY -i $'typed-line\r' -- "${CTR[@]}" task exec \
	--fifo-dir "$D/fifo" -t --exec-id t2 "$id" \
	sh -c 'echo READY; read -r l; echo "got:$l"')
assert_eq 0 $? "exit status of interactive tty exec"
assert_contains "$out" "got:typed-line" "typed input reached the exec"

assert_eq RUNNING "$(task_status "$id")" "task still RUNNING"
kill_and_delete "$id"
no_leftovers "$id"
